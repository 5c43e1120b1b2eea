"""Monthly report pack 月度报表: appendices 1–7 of 002 §6.5 / §6.6.3 as one Excel workbook."""
import streamlit as st

from lib import fmt, reports, ui

ctx = ui.guard("pages/reports.py")
t = ctx.t
tables = ui.cached(reports.appendix_tables)(ctx.engine, ctx.scope, ctx.month)

st.title(t("page.reports"))
st.caption(t("overview.subtitle", scope=ui.scope_name(ctx), month=ctx.month))
totals7 = tables[7][1]
c1, c2, c3, c4 = st.columns(4, border=True)
c1.metric(t("pack.tracked"), fmt.count(len(tables[6][0]), ctx.lang), help=t("pack.tracked_help"))
c2.metric(t("pack.inst_volume"), fmt.tonnes(tables[6][1].get("volume_t", 0.0), ctx.lang))
c3.metric(t("pack.inst_lost"), fmt.count(len(tables[3][0]), ctx.lang))
c4.metric(t("overview.plan_card"), fmt.pct(totals7["card_completion"], ctx.lang),
          help=t("overview.plan_help", actual=totals7["card_actual"], target=totals7["card_target"]))
st.info(t("pack.due", due=reports.pack_due(ctx.month).isoformat()))

st.subheader(t("pack.contents"))
st.dataframe(reports.contents(tables, t), hide_index=True, key="pack_contents")
if st.button(t("pack.build"), type="primary", key="pack_build", icon=":material/description:"):
    with st.spinner(t("pack.building")):
        st.session_state["pack_file"] = (ctx.scope, ctx.month, reports.monthly_pack(ctx.engine, ctx.scope, ctx.month))
built = st.session_state.get("pack_file")
if built and built[:2] == (ctx.scope, ctx.month):
    st.download_button(t("pack.download"), data=built[2], file_name=reports.pack_name(ctx.month),
                       mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", key="pack_download",
                       on_click="ignore", icon=":material/download:", type="primary")
