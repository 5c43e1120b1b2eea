"""Tiers 客户分级: distribution, owners, migration, promotion/demotion candidates, overrides, load check."""
import streamlit as st

from lib import auth, fmt, months, tiers, ui, validation
from lib import charts_dashboards as charts

ctx = ui.guard("pages/tiers.py")
t = ctx.t
K = ui.Keys.Tiers
# the headline from the same cached tables the tabs show (each read once)
summary = tiers.headline(ui.cached(tiers.distribution)(ctx.engine, ctx.scope, ctx.month),
                         ui.cached(tiers.candidate_counts)(ctx.engine, ctx.scope, ctx.month),
                         ui.cached(tiers.load_check)(ctx.engine, ctx.scope, ctx.month),
                         ui.cached(tiers.overrides)(ctx.engine, ctx.scope))

st.title(t("page.tiers"))
st.caption(ui.md(t, "overview.subtitle", scope=ui.scope_name(ctx), month=ctx.month))
if flash := st.session_state.pop(K.FLASH, None):
    st.success(flash)
c1, c2, c3, c4 = st.columns(4, border=True)
c1.metric(t("tiers.customers"), fmt.count(summary["customers"], ctx.lang), help=t("overview.customers_help"))
c2.metric(t("tiers.promote"), fmt.count(summary["promote"], ctx.lang), help=t("tiers.candidates_help"))
c3.metric(t("tiers.demote"), fmt.count(summary["demote"], ctx.lang), help=t("tiers.candidates_help"))
c4.metric(t("tiers.flagged_units"), fmt.count(summary["flagged_units"], ctx.lang), help=t("tiers.load_help"))
st.caption(" · ".join(f"{t(f'tier.{k}')} {v:,}" for k, v in reversed(summary["by_tier"].items()))
           + " · " + t("tiers.overrides_line", n=summary["overrides"]))

# Lazy tabs: only the open tab runs its queries (a province holds a million customers).
tab_dist, tab_move, tab_cand, tab_load = st.tabs(
    [t("tiers.tab_distribution"), t("tiers.tab_migration"), t("tiers.tab_candidates"), t("tiers.tab_load")],
    key=K.TAB, on_change="rerun")
with tab_dist:
    if tab_dist.open:
        dim = st.segmented_control(t("tiers.dimension"), tiers.DIMENSIONS, default="tier", key=K.DIMENSION,
                                   format_func=lambda d: t(f"col.{d}")) or "tier"
        dist = ui.cached(tiers.distribution)(ctx.engine, ctx.scope, ctx.month)
        left, right = st.columns([2, 3])
        left.plotly_chart(charts.dimension_bar(tiers.by_dimension(dist, dim), dim, t), key=K.DIST_CHART)
        with right:
            st.subheader(t("tiers.owners"))
            st.caption(t("tiers.owners_help"))
            ui.table(ui.cached(tiers.owners)(ctx.engine, ctx.scope, ctx.month), t, "tier_owners", K.OWNERS,
                     ["tier", "owner_body", "unit", "manager_name", "customers", "volume_t"])
with tab_move:
    if tab_move.open:
        months = ui.months(ctx.engine, ctx.scope)
        earlier = [m for m in months if m < ctx.month] or [ctx.month]
        month_from = st.selectbox(t("tiers.month_from"), earlier, index=min(11, len(earlier) - 1), key=K.MONTH_FROM)
        everyone = st.toggle(t("tiers.migration_all"), value=False, key=K.MIGRATION_ALL)
        flows = ui.cached(tiers.migration)(ctx.engine, ctx.scope, month_from, ctx.month, not everyone)
        st.plotly_chart(charts.migration_sankey(flows, t, month_from, ctx.month), key=K.SANKEY)
        st.caption(t("tiers.migration_help"))
with tab_cand:
    if tab_cand.open:
        st.caption(t("tiers.candidates_help"))
        ui.table(ui.cached(tiers.candidates)(ctx.engine, ctx.scope, ctx.month), t, "tier_candidates", K.CANDIDATES,
                 ["code", "name", "kind", "station", "tier_in_force", "measured_tier", "direction", "rule", "section",
                  "gasoline_t", "diesel_t", "card_cny"])
        st.subheader(t("tiers.overrides"))
        ui.table(ui.cached(tiers.overrides)(ctx.engine, ctx.scope), t, "tier_overrides", K.OVERRIDES,
                 ["code", "name", "station", "computed_tier", "tier_in_force", "reason", "changed_by", "changed_at"])
        if auth.can(ctx.user, "tiers.override"):
            with st.form(K.OVERRIDE_FORM):
                st.markdown(f"**{t('tiers.override_title')}**")
                code = st.text_input(t("col.code"), key=K.OVERRIDE_CODE)
                new = st.selectbox(t("tiers.new_tier"), [None, *tiers.settable_tiers(ctx.user)], key=K.OVERRIDE_TIER,
                                   format_func=lambda x: t("tiers.clear") if x is None else t(f"tier.{x}"))
                reason = st.text_area(t("tiers.reason"), key=K.OVERRIDE_REASON)
                since = st.selectbox(t("close.effective"), months.effective_choices(ctx.engine, ctx.month),
                                     key=K.OVERRIDE_MONTH, help=t("close.effective_help"))
                submitted = st.form_submit_button(t("tiers.apply"), type="primary", key=K.OVERRIDE_SUBMIT)
            if submitted:
                customer = tiers.customer_by_code(ctx.engine, ctx.scope, code)
                try:
                    if customer is None:
                        raise ValueError(t("tiers.no_customer", code=code))
                    tiers.set_override(ctx.engine, ctx.user, customer["id"], new, reason, month=since)
                except ValueError as exc:
                    st.error(ui.md(t, "common.invalid", reason=validation.describe(exc, t)))
                else:
                    ui.invalidate("customers")
                    st.session_state[K.FLASH] = ui.md(t, "tiers.override_saved", name=customer["name"])
                    st.rerun()  # the figures at the top change too
with tab_load:
    if tab_load.open:
        st.caption(t("tiers.load_help"))
        ui.table(ui.cached(tiers.load_check)(ctx.engine, ctx.scope, ctx.month), t, "tier_load", K.LOAD,
                 ["unit", "level", "staff", "customers", "per_staff", "min_per_staff", "max_per_staff", "status"],
                 {"per_staff": st.column_config.NumberColumn(format="%.1f")})
