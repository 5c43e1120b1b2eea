"""Monthly report pack 月度报表: appendices 1–7 of 002 §6.5 / §6.6.3 as one Excel workbook, and the
month close 月份关账 (lib.months: a closed month's figures and sheets never change; admins close it)."""
import streamlit as st

from lib import auth, fmt, months, reports, ui

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


# --- month close 月份关账 (lib.months; DOMAIN §3 History, 002 §6.6.3) ----------------------------------


def _close_result() -> None:
    done = st.session_state.pop(K.CLOSE_RESULT, None)
    if done:
        st.success(ui.md(t, f"close.done_{done[0]}", first=done[1][0], last=done[1][-1], n=len(done[1])))


def _close_controls(state: dict) -> None:
    action = "reopen" if state["closed"] else "close"
    if st.button(t(f"close.{action}", month=ctx.month), key=K.CLOSE,
                 icon=":material/lock_open:" if state["closed"] else ":material/lock:"):
        st.session_state[K.CLOSE_ASK] = (action, ctx.month)
    asked = st.session_state.get(K.CLOSE_ASK)
    if asked != (action, ctx.month):
        return
    st.warning(ui.md(t, f"close.confirm_{action}", month=ctx.month))
    yes, no = st.columns([1, 4])
    if yes.button(t("close.yes"), key=K.CLOSE_YES, type="primary"):
        st.session_state.pop(K.CLOSE_ASK, None)
        try:
            done = (months.close_month if action == "close" else months.reopen_month)(ctx.engine, ctx.user, ctx.month)
        except ValueError:
            st.error(ui.md(t, "close.not_ended", month=ctx.month))
            return
        if done:
            st.session_state[K.CLOSE_RESULT] = (action, done)
        st.rerun()
    if no.button(t("close.cancel"), key=K.CLOSE_NO):
        st.session_state.pop(K.CLOSE_ASK, None)
        st.rerun()


st.divider()
st.subheader(t("close.title"))
st.caption(t("close.caption"))
_close_result()
state = months.close_state(ctx.engine, ctx.month)
if state["closed"]:
    st.info(ui.md(t, "close.is_closed", month=ctx.month, by=state["by"], at=state["at"]) if state["by"]
            else ui.md(t, "close.is_closed_earlier", month=ctx.month, last=state["last_closed"]), icon=":material/lock:")
else:
    st.info(ui.md(t, "close.is_open_last", month=ctx.month, last=state["last_closed"]) if state["last_closed"]
            else ui.md(t, "close.is_open", month=ctx.month), icon=":material/lock_open:")
if auth.can(ctx.user, "months.close"):
    _close_controls(state)
