"""Overview 总览: the headline figures for the chosen scope and month."""
import streamlit as st

from lib import auth, charts, checklist, fmt, queries, ui
from lib.kpis import change

ctx = ui.guard("pages/overview.py")
t = ctx.t
K = ui.Keys.Overview
overview = ui.cached(queries.overview)(ctx.engine, ctx.scope, ctx.month)
trend = ui.cached(queries.volume_trend)(ctx.engine, ctx.scope, ctx.month)

st.title(t("page.overview"))
st.caption(ui.md(t, "overview.subtitle", scope=ui.scope_name(ctx), month=ctx.month))
if auth.can(ctx.user, "page.checklist"):  # issue 13: the setup checklist's short version, when data is missing
    gaps = checklist.open_items(ui.cached(checklist.checklist)(ctx.engine, ctx.scope, ctx.month))
    if gaps["missing"] + gaps["partial"]:
        st.info(ui.md(t, "checklist.short", missing=gaps["missing"], partial=gaps["partial"]), icon=":material/checklist:")
        ui.page_link("pages/checklist.py", t("checklist.open"), ctx.user)

vol, vol_ly = overview["volume"], overview["volume_last_year"]
plan = overview["plan"]
c1, c2, c3, c4 = st.columns(4, border=True)
c1.metric(t("overview.volume"), fmt.tonnes(vol["total_t"], ctx.lang),
          delta=fmt.pct(change(vol["total_t"], vol_ly["total_t"]), ctx.lang, signed=True),
          help=ui.md(t, "overview.volume_help", last=fmt.tonnes(vol_ly["total_t"], ctx.lang)))
c2.metric(t("overview.customers"), fmt.count(overview['customers'], ctx.lang),
          help=t("overview.customers_help"))
card_plan = plan["personal_card"]
c3.metric(t("overview.plan_card"), fmt.pct(card_plan["completion"], ctx.lang),
          help=ui.md(t, "overview.plan_help", actual=card_plan["actual"], target=card_plan["target"]))
c4.metric(t("overview.churned"), fmt.count(overview['churned'], ctx.lang), help=t("overview.churned_help"))

links = st.columns(4)
for col, (path, key) in zip(links, [("pages/tiers.py", "overview.to_tiers"), ("pages/plan.py", "overview.to_plan"),
                                    ("pages/four_rates.py", "overview.to_four_rates"),
                                    ("pages/churn.py", "overview.to_churn")]):
    with col:
        ui.page_link(path, t(key), ctx.user)

inst_plan = plan["institutional"]
st.caption(ui.md(t, "overview.plan_line", inst_actual=inst_plan["actual"], inst_target=inst_plan["target"],
             inst_pct=fmt.pct(inst_plan["completion"], ctx.lang), card_actual=card_plan["actual"],
             card_target=card_plan["target"]))
if inst_plan["no_agreement"]:  # 002 §6.5.4.5: developed without agreement, shown apart, not counted
    st.caption(ui.md(t, "dev.inst_no_agreement", n=inst_plan["no_agreement"], month=ctx.month))

st.subheader(t("overview.four_rates"))
cols = st.columns(4)
for col, (rate, value) in zip(cols, overview["four_rates"].items()):
    col.metric(t(f"rate.{rate}"), fmt.pct(value, ctx.lang))
    col.caption(t(f"rate.{rate}_formula"))

left, right = st.columns(2)
with left:
    st.plotly_chart(charts.tier_kind_bar(overview["tier_kind"], t), width="stretch", key=K.TIER_KIND_CHART)
    st.caption(" · ".join(f"{t(f'tier.{k}')} {v:,}" for k, v in overview["by_tier"].items()))
with right:
    st.plotly_chart(charts.volume_trend(trend, t), width="stretch", key=K.TREND_CHART)
    st.caption(ui.md(t, "overview.volume_split", gasoline=fmt.tonnes(vol["gasoline_t"], ctx.lang),
                 diesel=fmt.tonnes(vol["diesel_t"], ctx.lang)))
