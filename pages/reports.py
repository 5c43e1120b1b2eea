"""Monthly report pack 月度报表: appendices 1–7 of 002 §6.5 / §6.6.3 as one Excel workbook."""
import streamlit as st

from lib import fmt, reports, ui

ctx = ui.guard("pages/reports.py")
t = ctx.t
K = ui.Keys.Reports
pack = ui.cached(reports.pack_overview)(ctx.engine, ctx.scope, ctx.month)

st.title(t("page.reports"))
st.caption(ui.md(t, "overview.subtitle", scope=ui.scope_name(ctx), month=ctx.month))
card = pack["plan"]["personal_card"]
c1, c2, c3, c4 = st.columns(4, border=True)
c1.metric(t("pack.tracked"), fmt.count(pack["tracked"], ctx.lang), help=t("pack.tracked_help"))
c2.metric(t("pack.inst_volume"), fmt.tonnes(pack["volume_t"], ctx.lang))
c3.metric(t("pack.inst_lost"), fmt.count(pack["lost"], ctx.lang))
c4.metric(t("overview.plan_card"), fmt.pct(card["completion"], ctx.lang),
          help=ui.md(t, "overview.plan_help", actual=card["actual"], target=card["target"]))
st.info(ui.md(t, "pack.due", due=reports.pack_due(ctx.month).isoformat()))

st.subheader(t("pack.contents"))
st.dataframe(reports.contents(pack["rows"], t), hide_index=True, key=K.CONTENTS)
if st.button(t("pack.build"), type="primary", key=K.BUILD, icon=":material/description:"):
    with st.spinner(t("pack.building")):
        st.session_state[K.FILE] = (ctx.scope, ctx.month, reports.monthly_pack(ctx.engine, ctx.scope, ctx.month))
built = st.session_state.get(K.FILE)
if built and built[:2] == (ctx.scope, ctx.month):
    st.download_button(t("pack.download"), data=built[2], file_name=reports.pack_name(ctx.month),
                       mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", key=K.DOWNLOAD,
                       on_click="ignore", icon=":material/download:", type="primary")
