"""Audit log 审计日志 (province admins): who changed what, before and after, when; filterable."""
import datetime as dt

import streamlit as st

from lib import audit_log, fmt, ui

ctx = ui.guard("pages/audit.py")
t = ctx.t
K = ui.Keys.Audit
st.title(t("page.audit"))
st.caption(t("audit.subtitle"))
choices = ui.cached(audit_log.choices)(ctx.engine, ctx.user.scope)
with st.form(K.FILTER_FORM):
    a, b, c, d = st.columns(4)
    actor = a.selectbox(t("col.actor"), [None, *choices["actors"]], key=K.ACTOR,
                        format_func=lambda x: t("cust.any") if x is None else x)
    entity = b.selectbox(t("col.entity"), [None, *choices["entities"]], key=K.ENTITY,
                         format_func=lambda x: t("cust.any") if x is None else x)
    action = c.selectbox(t("col.action"), [None, *choices["actions"]], key=K.ACTION,
                         format_func=lambda x: t("cust.any") if x is None else x)
    days = d.date_input(t("audit.period"), (dt.date.today() - dt.timedelta(days=30), dt.date.today()),
                        key=K.DAYS)
    entity_id = a.text_input(t("col.entity_id"), key=K.ENTITY_ID)
    st.form_submit_button(t("cust.search"), type="primary")
start, end = (days[0], days[-1]) if isinstance(days, (tuple, list)) and days else (None, None)
log = ui.cached(audit_log.search)(ctx.engine, ctx.user.scope, actor=actor, entity=entity, action=action,
                                  entity_id=entity_id.strip() or None, start=start, end=end)
st.metric(t("audit.rows"), fmt.count(len(log), ctx.lang), help=ui.md(t, "audit.rows_help", limit=audit_log.LIMIT))
ui.table(log, t, "audit_log", K.LOG, ["at", "actor", "action", "entity", "entity_id", "before", "after", "org_path"])
