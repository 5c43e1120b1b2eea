"""Surveys 客户调查 (002 §6.5.1–6.5.2): the potential customer survey's status per district and station,
the appendix 2 form and the special survey form, the appendix 2 list, the surveys recorded."""
import datetime as dt

import streamlit as st

from lib import auth, fmt, months, surveys, ui, validation

ctx = ui.guard("pages/surveys.py")
t = ctx.t
K = ui.Keys.Surveys
today = dt.date.today()
period = surveys.survey_period(ctx.month)
stations = ui.cached(surveys.survey_status)(ctx.engine, ctx.scope, ctx.month)
districts = ui.cached(surveys.district_status)(ctx.engine, ctx.scope, ctx.month)

st.title(t("page.surveys"))
st.caption(ui.md(t, "overview.subtitle", scope=ui.scope_name(ctx), month=ctx.month))
if flash := st.session_state.pop(K.FLASH, None):
    st.success(flash)
st.info(ui.md(t, "surveys.line", period=period, due=months.last_day(period).isoformat(),
              next=surveys.next_survey_period(ctx.month)))
cells = st.columns(4, border=True)
for cell, state, col in zip(cells, ("on_time", "late", "missing", "pending"),
                            ("on_time", "reported_late", "missing", "pending")):
    cell.metric(t(f"surveys.{state}"), fmt.count(int(districts[col].sum()), ctx.lang),
                help=ui.md(t, "surveys.stations_help", stations=len(stations)))

tab_status, tab_record, tab_list, tab_done = st.tabs(
    [t("surveys.tab_status"), t("surveys.tab_record"), t("surveys.tab_list"), t("surveys.tab_recorded")])
with tab_status:
    st.markdown(f"**{t('surveys.by_district')}**")
    ui.table(districts, t, "survey_districts", K.DISTRICTS,
             ["district", "period", "stations", "on_time", "reported_late", "missing", "pending"])
    st.markdown(f"**{t('surveys.by_station')}**")
    ui.table(stations, t, "survey_stations", K.STATIONS, ["status", "station", "district", "period", "due_on",
                                                          "submitted_on", "submitted_by", "potential_customers"])


def object_inputs(key: str) -> dict[str, int]:
    """One count per object type 调查对象 (lib.surveys.OBJECTS), three to a row."""
    st.markdown(t("surveys.objects"))
    cols = st.columns(3)
    return {o: cols[i % 3].number_input(t(f"val.survey_object.{o}"), min_value=0, max_value=surveys.MAX_COUNT,
                                        value=0, step=1, key=ui.Keys.row(key, o))
            for i, o in enumerate(surveys.OBJECTS)}


def save(action, message: str, *args, **kwargs) -> None:
    """Run a lib write as the user; the reason on bad input, else invalidate and say so."""
    try:
        action(ctx.engine, ctx.user, *args, **kwargs)
    except ValueError as exc:
        st.error(ui.md(t, "common.invalid", reason=validation.describe(exc, t)))
        return
    ui.invalidate("plans")
    st.session_state[K.FLASH] = message
    st.rerun()


with tab_record:
    if not auth.can(ctx.user, "surveys.record"):
        st.info(t("cust.read_only"))
    else:
        units = ui.cached(surveys.recordable_units)(ctx.engine, ctx.scope)
        names = dict(zip(units["id"].astype(int), units["name"] + " · " + units["level"].map(lambda x: t(f"level.{x}"))))
        station_ids = [int(i) for i in units.loc[units["level"] == "station", "id"]]
        left, right = st.columns(2)
        with left.form(K.P_FORM):
            st.markdown(f"**{t('surveys.periodic_title')}**")
            st.caption(t("surveys.periodic_help"))
            station = st.selectbox(t("col.station"), station_ids, format_func=names.get, key=K.P_STATION,
                                   placeholder=t("surveys.no_station"))
            p_period = st.selectbox(t("col.period"), surveys.recent_periods(today), key=K.P_PERIOD)
            p_day = st.date_input(t("col.submitted_on"), today, max_value=today, key=K.P_DAY)
            p_objects = object_inputs(K.P_OBJECT)
            p_found = st.number_input(t("col.potential_customers"), min_value=0, value=0, step=1, key=K.P_FOUND)
            p_note = st.text_area(t("col.note"), max_chars=2000, key=K.P_NOTE)
            p_go = st.form_submit_button(t("surveys.save_periodic"), type="primary", key=K.P_SUBMIT)
        with right.form(K.S_FORM):
            st.markdown(f"**{t('surveys.special_title')}**")
            st.caption(t("surveys.special_help"))
            unit = st.selectbox(t("col.unit"), list(names), format_func=names.get, key=K.S_UNIT)
            topic = st.text_input(t("col.topic"), max_chars=surveys.TEXT_MAX, key=K.S_TOPIC)
            group = st.text_input(t("col.target_group"), max_chars=surveys.TEXT_MAX, key=K.S_GROUP)
            s_start = st.date_input(t("col.started_on"), today, max_value=today, key=K.S_START)
            s_end = st.date_input(t("col.ended_on"), today, max_value=today, key=K.S_END)
            s_objects = object_inputs(K.S_OBJECT)
            s_found = st.number_input(t("col.potential_customers"), min_value=0, value=0, step=1, key=K.S_FOUND)
            s_note = st.text_area(t("col.note"), max_chars=2000, key=K.S_NOTE)
            s_go = st.form_submit_button(t("surveys.save_special"), type="primary", key=K.S_SUBMIT)
        if p_go and station is not None:
            save(surveys.record_survey, ui.md(t, "surveys.saved_periodic", station=names[station], period=p_period),
                 station, p_period, int(p_found), p_note, p_day, objects={k: int(v) for k, v in p_objects.items() if v})
        if s_go and unit is not None:
            save(surveys.record_special_survey, ui.md(t, "surveys.saved_special", topic=topic), unit, topic=topic,
                 group=group, objects={k: int(v) for k, v in s_objects.items() if v}, started_on=s_start,
                 ended_on=s_end, customers_found=int(s_found), note=s_note)
with tab_list:
    st.caption(t("surveys.list_help"))
    ui.table(ui.cached(surveys.potential_customers)(ctx.engine, ctx.scope), t, "appendix2_potential_customers", K.LIST,
             ["code", "name", "station", "kind", "sub_type", "fuel", "gasoline_t", "diesel_t", "competitor", "contact",
              "phone", "status", "stage"], values={"status": "customer_status"})
with tab_done:
    st.caption(t("surveys.recorded_help"))
    ui.table(ui.cached(surveys.recorded)(ctx.engine, ctx.scope), t, "surveys_recorded", K.RECORDED,
             ["survey_type", "unit", "period", "topic", "target_group", "started_on", "ended_on", "submitted_on",
              *surveys.OBJECT_COLUMNS, "potential_customers", "note", "recorded_by", "recorded_at"])
    ui.import_downloads(ctx, "surveys", K.EXPORT)
