"""Matters 事项 (000 §3.1): what waits on me, what is overdue, every matter, registering one, and acting
on it along its kind's route with the full history."""
import streamlit as st

from lib import auth, customers, fmt, matters, ui

ctx = ui.guard("pages/matters.py")
t = ctx.t
K = ui.Keys.Matters
level = auth.level_of(ctx.user)
now = matters.now_minute()
st.title(t("page.matters"))
st.caption(ui.md(t, "matter.subtitle", scope=ui.scope_name(ctx), level=t(f"level.{level}")))
counts = ui.cached(matters.counts)(ctx.engine, ctx.scope, now)
waiting = ui.cached(matters.waiting_on)(ctx.engine, ctx.scope, level)
late = ui.cached(matters.overdue)(ctx.engine, ctx.scope, now)
m = st.columns(4, border=True)
m[0].metric(t("matter.waiting_on_me"), fmt.count(len(waiting), ctx.lang))
m[1].metric(t("matter.open"), fmt.count(counts["open"], ctx.lang))
m[2].metric(t("matter.overdue"), fmt.count(counts["overdue"], ctx.lang), help=t("matter.due_help"))
m[3].metric(t("matter.closed_this_month"), fmt.count(counts["closed_this_month"], ctx.lang))
COLS = ["id", "kind", "title", "customer", "step", "acting_level", "escalation", "raised_at", "due_at", "state"]
VOC = {"kind": "matter_kind", "step": "step", "acting_level": "level", "state": "state"}
writer = auth.can(ctx.user, "matters.write")


def show(df, name: str, key: str) -> None:
    ui.table(df, t, name, key, COLS, values=VOC)


tab_wait, tab_late, tab_all, tab_new = st.tabs(
    [t("matter.tab_waiting"), t("matter.tab_overdue"), t("matter.tab_all"), t("matter.tab_new")])
with tab_wait:
    show(waiting, "matters_waiting", key=K.WAITING)
with tab_late:
    show(late, "matters_overdue", key=K.OVERDUE)
    if auth.can(ctx.user, "matters.escalate_overdue"):
        if st.button(t("matter.escalate_overdue"), key=K.ESCALATE, help=t("matter.escalate_help")):
            n = matters.escalate_overdue(ctx.engine, ctx.user)
            ui.invalidate("matters")
            st.success(ui.md(t, "matter.escalated", n=n))
with tab_all:
    state = st.segmented_control(t("col.state"), matters.STATES, key=K.STATE_FILTER,
                                 format_func=lambda x: t(f"val.state.{x}"))
    everything = ui.cached(matters.matters)(ctx.engine, ctx.scope, state)
    show(everything, "matters", key=K.ALL)
with tab_new:
    if not writer:
        st.info(t("cust.read_only"))
    else:
        with st.form(K.NEW_FORM, clear_on_submit=True):
            kind = st.selectbox(t("col.kind"), matters.KINDS, format_func=lambda x: t(f"val.matter_kind.{x}"),
                                key=K.NEW_KIND)
            title = st.text_input(t("col.title"), key=K.NEW_TITLE)
            code = st.text_input(t("matter.customer_code"), key=K.NEW_CODE)
            description = st.text_area(t("matter.description"), key=K.NEW_DESCRIPTION)
            submitted = st.form_submit_button(t("matter.register"), type="primary")
        st.caption(t("matter.routes_help"))
        if submitted:
            customer = customers.by_code(ctx.engine, ctx.scope, code) if code.strip() else None
            grid = ui.cached(customers.choices)(ctx.engine, ctx.scope)["grids"]["id"].head(1).tolist()
            try:
                if code.strip() and customer is None:
                    raise ValueError(t("visit.no_customer", code=code))
                mid = matters.register(ctx.engine, ctx.user, kind, title, description,
                                       customer_id=customer["id"] if customer else None,
                                       grid_id=None if customer or not grid else int(grid[0]))
            except ValueError as exc:
                st.error(ui.md(t, "common.invalid", reason=str(exc)))
            else:
                ui.invalidate("matters")
                st.success(ui.md(t, "matter.registered", id=mid))

st.divider()
known = {**dict(zip(waiting["id"], waiting["title"])), **dict(zip(everything["id"], everything["title"]))}
chosen = st.selectbox(t("matter.open_one"), list(known), format_func=lambda i: f"#{i} {known[i]}", key=K.PICK)
matter = ui.cached(matters.get)(ctx.engine, ctx.scope, chosen) if chosen is not None else None
if matter is not None:
    steps = matters.route_steps(matter["kind"])
    route = " → ".join((f"**{t(f'val.step.{s}')}**" if s == matter["step"] else t(f"val.step.{s}"))
                       + f"（{t(f'level.{lv}')}）" for s, lv in steps)
    st.markdown(t("matter.route_line", kind=t(f"val.matter_kind.{matter['kind']}"), route=route,  # catalog only:
                  closed=t("val.step.closed")))  # the current step in bold
    st.caption(ui.md(t, "matter.detail_line", state=t(f"val.state.{matter['state']}"), due=str(matter["due_at"])[:16],
                 level=t(f"level.{matter['acting_level']}") if matter["acting_level"] else "—",
                 escalation=int(matter["escalation"])))
    history = ui.cached(matters.history)(ctx.engine, ctx.scope, chosen)
    ui.table(history, t, f"matter_{chosen}_history", K.HISTORY, ["at", "actor", "action", "state", "note"],
             values={"action": "action", "state": "state"})
    actions = matters.available_actions(matter, ctx.user)
    if actions:
        with st.form(K.ACT_FORM, clear_on_submit=True):
            action = st.radio(t("matter.action"), actions, horizontal=True, key=K.ACT_ACTION,
                              format_func=lambda a: t(f"val.action.{a}"))
            note = st.text_input(t("col.note"), key=K.ACT_NOTE)
            if st.form_submit_button(t("matter.do"), type="primary"):
                try:
                    matters.act(ctx.engine, ctx.user, chosen, action, note)
                except ValueError as exc:
                    st.error(ui.md(t, "common.invalid", reason=str(exc)))
                else:
                    ui.invalidate("matters")
                    st.rerun()
    elif matter["state"] != "closed":
        st.caption(ui.md(t, "matter.not_yours", level=t(f"level.{matter['acting_level']}")))
