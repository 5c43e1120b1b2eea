"""Visits 维护回访 (002 §6.7): due and overdue per owner, plans and records, 日跟踪、周通报、月考核."""
import datetime as dt

import streamlit as st

from lib import auth, customers, fmt, ui, validation, visits

ctx = ui.guard("pages/visits.py")
t = ctx.t
K = ui.Keys.Visits
today = dt.date.today()
st.title(t("page.visits"))
st.caption(ui.md(t, "visit.subtitle", scope=ui.scope_name(ctx), today=today.isoformat()))
owners = ui.cached(visits.by_owner)(ctx.engine, ctx.scope, today)
plans = ui.cached(visits.planned)(ctx.engine, ctx.scope, today)
m = st.columns(3, border=True)
m[0].metric(t("visit.planned_7d"), fmt.count(int(owners["planned"].sum()), ctx.lang))
m[1].metric(t("visit.overdue_plans"), fmt.count(int(owners["overdue_plans"].sum()), ctx.lang))
m[2].metric(t("visit.due_customers"), fmt.count(int(owners["due_customers"].sum()), ctx.lang),
            help=t("visit.due_help"))
writer = auth.can(ctx.user, "visits.write")
MODE = {"mode": "mode"}

tab_due, tab_rec, tab_day, tab_week, tab_month = st.tabs(
    [t("visit.tab_due"), t("visit.tab_record"), t("visit.tab_daily"), t("visit.tab_weekly"), t("visit.tab_monthly")])
with tab_due:
    st.subheader(t("visit.by_owner"))
    ui.table(owners.fillna({"owner": t("visit.no_owner")}), t, "visits_by_owner", K.OWNERS,
             ["owner", "planned", "overdue_plans", "due_customers"])
    st.subheader(t("visit.plans"))
    ui.table(plans, t, "visit_plans", K.PLANS, ["planned_on", "code", "customer", "mode", "owner", "overdue",
                                                     "days_late"], values=MODE | {"overdue": "bool"})
    st.caption(ui.md(t, "tpl.visits_caption", month=ctx.month))  # the month's visits as the visit import reads them
    ui.import_downloads(ctx, "visits", K.PLANS_IMPORT, ctx.month)
    st.subheader(t("visit.due_list"))
    due = ui.cached(visits.due_customers)(ctx.engine, ctx.scope, today)
    ui.table(due, t, "visits_due", K.DUE, ["code", "name", "tier", "last_done", "due_on", "owner"])


def attempt(action, *args, **kwargs) -> None:
    try:
        action(ctx.engine, ctx.user, *args, **kwargs)
    except ValueError as exc:
        st.error(ui.md(t, "common.invalid", reason=validation.describe(exc, t)))
        return
    ui.invalidate("visits")
    st.success(t("common.saved"))


with tab_rec:
    if not writer:
        st.info(t("cust.read_only"))
    else:
        open_plans = dict(zip(plans["id"], plans["planned_on"].astype(str) + " · " + plans["code"] + " · "
                              + plans["customer"]))
        with st.form(K.DONE_FORM, clear_on_submit=True):
            st.markdown(f"**{t('visit.complete_plan')}**")
            plan_id = st.selectbox(t("visit.plan"), list(open_plans), format_func=open_plans.get, key=K.DONE_PLAN)
            mode = st.selectbox(t("col.mode"), visits.MODES, format_func=lambda x: t(f"val.mode.{x}"), key=K.DONE_MODE)
            done_on = st.date_input(t("col.done_on"), today, max_value=today, key=K.DONE_ON)
            note = st.text_area(t("col.note"), key=K.DONE_NOTE)
            if st.form_submit_button(t("visit.save"), type="primary") and plan_id is not None:
                cid = int(plans.set_index("id").at[plan_id, "customer_id"])
                attempt(visits.record, cid, mode, done_on, note, visit_id=int(plan_id))
        with st.form(K.NEW_FORM, clear_on_submit=True):
            st.markdown(f"**{t('visit.new')}**")
            code = st.text_input(t("col.code"), key=K.NEW_CODE)
            what = st.radio(t("visit.what"), ["record", "plan"], horizontal=True, key=K.NEW_WHAT,
                            format_func=lambda x: t(f"visit.what_{x}"))
            mode = st.selectbox(t("col.mode"), visits.MODES, format_func=lambda x: t(f"val.mode.{x}"), key=K.NEW_MODE)
            day = st.date_input(t("visit.day"), today, key=K.NEW_DAY)
            note = st.text_area(t("col.note"), key=K.NEW_NOTE)
            if st.form_submit_button(t("visit.save"), type="primary"):
                customer = customers.by_code(ctx.engine, ctx.scope, code)
                if customer is None:
                    st.error(ui.md(t, "common.invalid", reason=t("visit.no_customer", code=code)))
                elif what == "plan":
                    attempt(visits.plan, customer["id"], mode, day, note)
                else:
                    attempt(visits.record, customer["id"], mode, day, note)
with tab_day:
    day = st.date_input(t("visit.day"), today, key=K.LOG_DAY)
    log = ui.cached(visits.daily_log)(ctx.engine, ctx.scope, day)
    ui.table(log, t, f"daily_log_{day}", K.LOG, ["kind", "who", "customer", "what", "detail"],
             values={"kind": "log_kind"})
    if writer:
        with st.form(K.LOG_FORM, clear_on_submit=True):
            content = st.text_area(t("visit.log_entry"), key=K.LOG_CONTENT)
            if st.form_submit_button(t("visit.add_log")):
                attempt(visits.add_log, day, content)
with tab_week:
    c1, c2 = st.columns(2)
    pick = c1.date_input(t("visit.week_of"), today - dt.timedelta(days=7), key=K.WEEK_DAY)
    by = c2.radio(t("visit.by"), ["station", "district"], horizontal=True, key=K.WEEK_BY,
                  format_func=lambda x: t(f"level.{x}"))
    start, end = visits.week_of(pick)
    st.caption(ui.md(t, "visit.week_line", start=start.isoformat(), end=(end - dt.timedelta(days=1)).isoformat()))
    bulletin = ui.cached(visits.weekly_bulletin)(ctx.engine, ctx.scope, start, by)
    ui.table(bulletin.drop(columns="unit_id"), t, f"weekly_bulletin_{start}", K.WEEK)
    totals = bulletin[list(visits.BULLETIN_COLUMNS)].sum()
    st.caption(" · ".join(f"{t(f'col.{k}')} {int(v):,}" for k, v in totals.items()))
with tab_month:
    st.caption(ui.md(t, "visit.assessment_help", month=ctx.month))
    assess = ui.cached(visits.monthly_assessment)(ctx.engine, ctx.scope, ctx.month)
    ui.table(assess, t, f"assessment_{ctx.month}", K.MONTH,
             ["rank", "owner", "station", "score", "plans", "plans_done", "visits_done", "scheduled",
              "overdue_customers", "matters_closed", "matters_on_time_n", "plan_done", "coverage", "matters_on_time"])
