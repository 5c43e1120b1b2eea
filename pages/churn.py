"""Tracking and churn 跟踪与流失: warnings with owner, last visit and win-back task; the open win-back
tasks and their closing (002 §6.6.2); the win-back rate; tracking detail; lost customers; station grades."""
import datetime as dt

import streamlit as st

from lib import auth, fmt, tracking, ui
from lib import charts_dashboards as charts

ctx = ui.guard("pages/churn.py")
t = ctx.t
K = ui.Keys.Churn
st.title(t("page.churn"))
st.caption(ui.md(t, "overview.subtitle", scope=ui.scope_name(ctx), month=ctx.month))
if flash := st.session_state.pop(K.FLASH, None):
    st.success(flash)
if hint := st.session_state.pop(K.HINT, None):  # a won-back customer still marked lost
    st.warning(hint)
kind = st.segmented_control(t("churn.kind"), ["institutional", "personal", "all"], default="institutional",
                            key=K.KIND, format_func=lambda k: t(f"churn.kind_{k}")) or "institutional"
kind_arg = None if kind == "all" else kind
warnings = ui.cached(tracking.churn_warnings)(ctx.engine, ctx.scope, ctx.month, kind_arg)
# the headline from the same cached tables the tabs show (each read once)
summary = tracking.headline(ui.cached(tracking.institutional_totals)(ctx.engine, ctx.scope, ctx.month), warnings,
                            ui.cached(tracking.lost_customers)(ctx.engine, ctx.scope, ctx.month, 1, kind_arg))

c1, c2, c3, c4 = st.columns(4, border=True)
c1.metric(t("churn.warnings"), fmt.count(summary["warnings"], ctx.lang), help=t("churn.warnings_help"))
c2.metric(t("churn.without_task"), fmt.count(summary["without_task"], ctx.lang))
c3.metric(t("churn.lost"), fmt.count(summary["lost"], ctx.lang), help=t("churn.lost_help"))
c4.metric(t("churn.inst_volume"), fmt.tonnes(summary["volume_t"], ctx.lang),
          delta=fmt.pct(summary["vs_avg3"], ctx.lang, signed=True), help=t("churn.inst_volume_help"))

# Lazy tabs: only the open tab runs its queries (a province holds a million customers).
tab_warn, tab_tasks, tab_track, tab_lost, tab_grade = st.tabs(
    [t("churn.tab_warnings"), t("churn.tab_tasks"), t("churn.tab_tracking"), t("churn.tab_lost"),
     t("churn.tab_grades")], key=K.TAB, on_change="rerun")
with tab_warn:
    if tab_warn.open:
        ui.table(warnings, t, "churn_warnings", K.WARNINGS,
                 ["code", "name", "kind", "tier", "station", "owner", "reason", "volume_t", "avg3_t", "vs_avg3",
                  "last_fuel_month", "last_visit", "task_state", "task_due"],
                 {"vs_avg3": st.column_config.NumberColumn(format="percent")})
        todo = tracking.without_open_task(warnings)
        if auth.can(ctx.user, "churn.task") and len(todo):
            with st.form(K.TASK_FORM):
                st.markdown(f"**{t('churn.task_title')}**")
                pick = st.selectbox(t("col.name"), todo.to_dict("records"), key=K.TASK_CUSTOMER,
                                    format_func=lambda r: f"{r['name']} · {r['code']}")
                due = st.date_input(t("col.task_due"), value=dt.date.today() + dt.timedelta(days=7), key=K.TASK_DUE)
                note = st.text_input(t("churn.task_note"), key=K.TASK_NOTE)
                submitted = st.form_submit_button(t("churn.task_create"), type="primary", key=K.TASK_SUBMIT)
            if submitted and pick:
                try:
                    tracking.create_task(ctx.engine, ctx.user, pick["customer_id"], ctx.month, pick["reason"], due, note)
                except ValueError as exc:
                    st.error(ui.md(t, "common.invalid", reason=str(exc)))
                else:
                    ui.invalidate("tasks")
                    st.session_state[K.FLASH] = t("common.saved")
                    st.rerun()  # the figures at the top change too
with tab_tasks:
    if tab_tasks.open:
        win_back = ui.cached(tracking.win_back_rate)(ctx.engine, ctx.scope, ctx.month, kind_arg)
        tasks = ui.cached(tracking.open_tasks)(ctx.engine, ctx.scope, dt.date.today())
        w1, w2, w3, w4 = st.columns(4, border=True)
        w1.metric(t("churn.win_back_rate"), fmt.pct(win_back["rate"], ctx.lang),
                  help=ui.md(t, "churn.win_back_rate_help", lost=win_back["lost"], won=win_back["won_back"]))
        w2.metric(t("churn.lost_12"), fmt.count(win_back["lost"], ctx.lang))
        w3.metric(t("churn.won_back_n"), fmt.count(win_back["won_back"], ctx.lang))
        w4.metric(t("churn.overdue_tasks"), fmt.count(int(tasks["overdue"].sum()), ctx.lang))
        st.caption(t("churn.tasks_help"))
        if tasks.empty:
            st.info(t("churn.no_open_tasks"))
        ui.table(tasks, t, "win_back_tasks", K.TASKS,
                 ["code", "name", "customer_status", "reason", "month", "due_on", "assignee", "overdue"],
                 values={"overdue": "bool"})
        if auth.can(ctx.user, "churn.task") and len(tasks):
            with st.form(K.CLOSE_FORM):
                st.markdown(f"**{t('churn.close_title')}**")
                task = st.selectbox(t("churn.close_task"), tasks.to_dict("records"), key=K.CLOSE_TASK,
                                    format_func=lambda r: f"{r['name']} · {r['code']} · {r['due_on']}")
                outcome = st.text_input(t("churn.outcome"), key=K.CLOSE_OUTCOME)
                won = st.checkbox(t("churn.won_back"), key=K.CLOSE_WON)
                won_on = st.date_input(t("churn.won_back_on"), value=dt.date.today(), max_value=dt.date.today(),
                                       key=K.CLOSE_ON)
                closing = st.form_submit_button(t("churn.close_submit"), type="primary", key=K.CLOSE_SUBMIT)
            if closing and task:
                try:
                    done = tracking.close_task(ctx.engine, ctx.user, task["task_id"], outcome, won, won_on)
                except ValueError as exc:
                    st.error(ui.md(t, "common.invalid", reason=str(exc)))
                else:
                    ui.invalidate("tasks")
                    st.session_state[K.FLASH] = t("common.saved")
                    if done["still_lost"]:
                        st.session_state[K.HINT] = ui.md(t, "churn.still_lost", name=task["name"])
                    st.rerun()  # the rate at the top changes too
with tab_track:
    if tab_track.open:
        st.caption(t("churn.tracking_help"))
        ui.table(ui.cached(tracking.tracking_detail)(ctx.engine, ctx.scope, ctx.month), t, "tracking_detail",
                 K.TRACKING, ["code", "name", "tier", "station", "owner", "volume_t", "visits", "cycle_days",
                                 "avg3_t", "vs_avg3", "last_year_t", "vs_last_year", "last_visit"],
                 {c: st.column_config.NumberColumn(format="percent") for c in ("vs_avg3", "vs_last_year")}
                 | {"cycle_days": st.column_config.NumberColumn(format="%.1f")})
with tab_lost:
    if tab_lost.open:
        lost = ui.cached(tracking.lost_customers)(ctx.engine, ctx.scope, ctx.month, 12, kind_arg)
        if len(lost):
            by_reason, by_competitor = tracking.lost_breakdown(lost, t("churn.no_competitor"))
            left, right = st.columns(2)
            left.plotly_chart(charts.count_bar(by_reason, t("churn.by_reason")), key=K.BY_REASON)
            right.plotly_chart(charts.count_bar(by_competitor, t("churn.by_competitor"), "#2f4f6f"), key=K.BY_COMPETITOR)
        ui.table(lost, t, "lost_customers", K.LOST, ["lost_month", "code", "name", "kind", "tier", "station",
                 "owner", "avg_before_t", "lost_reason", "competitor"])
with tab_grade:
    if tab_grade.open:
        grades = ui.cached(tracking.station_grades)(ctx.engine, ctx.scope)
        st.caption(t("churn.grades_help"))
        if len(grades):
            counts = tracking.grade_counts(grades).rename(lambda g: t(f"val.grade.{g}"))
            st.plotly_chart(charts.count_bar(counts, t("churn.grade_counts"), "#4a90c2"), key=K.GRADE_COUNTS)
        ui.table(grades, t, "station_grades", K.GRADES,
                 ["grade", "code", "name", "district", "nozzles", "daily_sales_t", "yearly_t", "large_target"])
