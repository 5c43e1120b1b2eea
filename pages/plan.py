"""Development plan 开发计划: targets and completion rolled up, the appendix 1 plan (one target, or a
unit × month grid of them), pipeline, survey."""
import datetime as dt

import streamlit as st

from lib import auth, fmt, surveys, targets, ui, validation
from lib import charts_dashboards as charts
from lib import development as dev

ctx = ui.guard("pages/plan.py")
t = ctx.t
K = ui.Keys.Plan
summary = ui.cached(dev.summary)(ctx.engine, ctx.scope, ctx.month)
card, inst = summary["plan"]["personal_card"], summary["plan"]["institutional"]

st.title(t("page.plan"))
st.caption(ui.md(t, "overview.subtitle", scope=ui.scope_name(ctx), month=ctx.month))
if flash := st.session_state.pop(K.FLASH, None):
    st.success(flash)
c1, c2, c3, c4 = st.columns(4, border=True)
c1.metric(t("overview.plan_card"), fmt.pct(card["completion"], ctx.lang),
          help=ui.md(t, "overview.plan_help", actual=card["actual"], target=card["target"]))
c2.metric(t("plan.inst_completion"), fmt.pct(inst["completion"], ctx.lang),
          help=ui.md(t, "plan.inst_help", actual=inst["actual"], target=inst["target"]))
c3.metric(t("plan.open_cases"), fmt.count(summary["open_cases"], ctx.lang), help=t("plan.open_cases_help"))
c4.metric(t("plan.survey_late"), fmt.count(summary["survey_late"], ctx.lang),
          help=ui.md(t, "plan.survey_late_help", period=summary["survey_period"], stations=summary["stations"]))
c1.caption(ui.md(t, "plan.formula", actual=card["actual"], target=card["target"]))
c2.caption(ui.md(t, "plan.formula", actual=inst["actual"], target=inst["target"]))
if inst["no_agreement"]:  # 002 §6.5.4.5: developed without agreement, shown apart, not counted
    c2.caption(ui.md(t, "dev.inst_no_agreement", n=inst["no_agreement"], month=ctx.month))


def development_cases(cases) -> None:
    """Open targets 待摘牌目标 (002 §6.5.4.6) and the case forms (lib.ui.cases): open a case for a customer
    (type to search), move a case with its date and note, take an open target; lib checks the same rights."""
    targets = ui.cached(dev.open_targets)(ctx.engine, ctx.scope)
    st.markdown(f"**{t('dev.targets_title')}**")
    ui.table(targets, t, "dev_targets", K.TARGETS, ["id", "code", "customer", "station", "stage", "team", "started_on"])
    if not auth.can(ctx.user, "development.edit"):
        return
    day0 = dev.default_case_day(ctx.month)  # a case opened inside the month the pipeline shows
    who = ui.cases.customer_labels(ui.cached(dev.case_candidates)(ctx.engine, ctx.scope))
    left, mid, right = st.columns(3)
    with left:
        done = ui.cases.open_form(ctx, K.CASE, who, day0)
    today = dt.date.today()  # a move is dated when it happens (never before the case's last change)
    with mid:
        done = ui.cases.move_form(ctx, K.CASE, ui.cases.labels(t, cases), today) or done
    with right:
        done = ui.cases.take_form(ctx, K.CASE, ui.cases.labels(t, targets), today) or done
    if done:
        st.session_state[K.FLASH] = done
        st.rerun()  # the pipeline, the cases and the figures at the top change


tab_done, tab_plan, tab_pipe, tab_survey = st.tabs(
    [t("plan.tab_completion"), t("plan.tab_plan"), t("plan.tab_pipeline"), t("plan.tab_survey")])
progress = {c: st.column_config.ProgressColumn(format="percent", min_value=0.0, max_value=1.5)
            for c in ("inst_completion", "card_completion")}
with tab_done:
    levels = dev.levels_for(ctx.scope)
    default = "district" if "district" in levels else levels[-1]
    level = st.segmented_control(t("plan.level"), levels, default=default, key=K.LEVEL,
                                 format_func=lambda x: t(f"level.{x}")) or default
    roll = ui.cached(dev.rollup)(ctx.engine, ctx.scope, ctx.month, level)
    if len(roll):
        left, right = st.columns(2)
        left.plotly_chart(charts.completion_bars(roll, t, "card"), key=K.CARD_CHART)
        if level != "station":
            right.plotly_chart(charts.completion_bars(roll, t, "inst"), key=K.INST_CHART)
    ui.table(roll, t, "plan_completion", K.ROLLUP, ["card_rank", "unit", "card_target", "card_actual",
             "card_completion", "inst_rank", "inst_target", "inst_actual", "inst_completion", "inst_no_agreement"],
             progress)
with tab_plan:
    nxt = dev.next_month(ctx.month)
    st.info(ui.md(t, "plan.due_line", month=nxt, due=dev.plan_due(nxt).isoformat()))
    ui.table(ui.cached(dev.plan_status)(ctx.engine, ctx.scope, nxt), t, "plan_rows", K.ROWS,
             ["unit", "plan_kind", "target", "updated_by", "updated_at", "due_on", "late"])
    if auth.can(ctx.user, "plans.edit"):
        units = ui.cached(dev.editable_units)(ctx.engine, ctx.scope)
        with st.form(K.EDIT_FORM):
            st.markdown(f"**{t('plan.edit_title', month=nxt)}**")
            unit = st.selectbox(t("col.unit"), units.to_dict("records"), key=K.EDIT_UNIT,
                                format_func=lambda u: f"{u['name']} · " + t(f"level.{u['level']}"))
            target = st.number_input(t("col.target"), min_value=0, max_value=dev.MAX_TARGET, value=10, step=1,
                                     key=K.EDIT_TARGET)
            submitted = st.form_submit_button(t("plan.save"), type="primary", key=K.EDIT_SUBMIT)
        if submitted and unit:
            try:
                dev.set_target(ctx.engine, ctx.user, unit["id"], nxt, dev.kind_for(unit["level"]), int(target))
            except ValueError as exc:  # a plan floor (002 §6.5.3) names its rule in the user's language
                st.error(ui.md(t, "common.invalid", reason=validation.describe(exc, t)))
            else:
                ui.invalidate("plans")
                st.session_state[K.FLASH] = t("common.saved")
                st.rerun()  # the figures at the top change too
        st.markdown(f"**{t('people.grid_title')}**")  # targets in bulk, any month (back-fills never late)
        st.caption(t("people.grid_help"))
        g_kind = st.segmented_control(t("people.grid_kind"), dev.KINDS, default="personal_card", key=K.GRID_KIND,
                                      format_func=lambda k: t(f"val.plan_kind.{k}")) or "personal_card"
        year = int(st.number_input(t("people.grid_year"), 2000, 2100, int(ctx.month[:4]), key=K.GRID_YEAR))
        months = [f"{year}-{m:02d}" for m in range(1, 13)]
        grid = ui.cached(targets.target_grid)(ctx.engine, ctx.scope, g_kind, months)
        edited = st.data_editor(grid, hide_index=True, disabled=["code", "unit"], key=ui.Keys.row(K.GRID, g_kind, year),
                                column_config={"code": t("col.org_code"), "unit": t("col.unit")} | {
                                    m: st.column_config.NumberColumn(m, min_value=0, max_value=dev.MAX_TARGET, step=1)
                                    for m in months})
        if st.button(t("people.grid_save"), key=K.GRID_SAVE, icon=":material/save:"):
            try:
                n = targets.save_target_grid(ctx.engine, ctx.user, g_kind, grid, edited)
            except ValueError as exc:
                st.error(ui.md(t, "common.invalid", reason=validation.describe(exc, t)))
            else:
                ui.invalidate("plans")
                st.session_state[K.FLASH] = t("people.grid_saved", n=n) if n else t("people.grid_unchanged")
                st.rerun()
        st.caption(ui.md(t, "exp.caption", kind=t("imp.kind.targets")))  # every month's targets of the scope
        ui.import_downloads(ctx, "targets", K.TARGETS_EXPORT)
with tab_pipe:
    pipe = ui.cached(dev.pipeline)(ctx.engine, ctx.scope, ctx.month)
    left, right = st.columns([3, 2])
    left.plotly_chart(charts.pipeline_funnel(pipe, t), key=K.FUNNEL)
    with right:
        st.caption(t("plan.pipeline_help"))
        ui.table(pipe, t, "pipeline", K.PIPELINE, ["stage", "cases", "reached"])
    cases = ui.cached(dev.open_cases)(ctx.engine, ctx.scope)
    st.markdown(f"**{t('dev.cases_title')}**")
    ui.table(cases, t, "dev_cases", K.CASES, ["id", "code", "customer", "stage", "team", "developer", "started_on",
                                              "stage_on"])
    development_cases(cases)
with tab_survey:  # the surveys are recorded and followed on pages/surveys.py (002 §6.5.1–6.5.2)
    st.info(ui.md(t, "plan.survey_line", period=summary["survey_period"], next=surveys.next_survey_period(ctx.month)))
    ui.page_link("pages/surveys.py", t("surveys.plan_link"), ctx.user)
