"""Stations 加油站: the stations of the scope with daily sales 日销量 and grade 站级 (001 Chongqing),
downloads in the import format, one station created or edited, competitor stations 竞争对手加油站,
and the monthly sales 月销量 of one station × month (the grade is recomputed on save)."""
import datetime as dt

import streamlit as st

from lib import auth, stations, ui, validation
from lib.vocab import labelled

ctx = ui.guard("pages/stations.py")
t = ctx.t
K = ui.Keys.Stations
st.title(t("page.stations"))
st.caption(ui.md(t, "stn.subtitle", scope=ui.scope_name(ctx)))
if flash := st.session_state.pop(K.FLASH, None):
    st.success(flash)
table = ui.cached(stations.table)(ctx.engine, ctx.scope)
rivals = ui.cached(stations.competitors)(ctx.engine, ctx.scope)
editor = auth.can(ctx.user, "stations.edit")
districts = ui.cached(stations.districts)(ctx.engine, ctx.user.scope)
district_names = dict(zip(districts["code"], districts["code"] + " · " + districts["name"]))
STATION_LABELS = {"col.code": t("stn.code"), "col.name": t("stn.name")}  # not the customer's code and name
RIVAL_LABELS = {"col.name": t("stn.competitor_name")}
FIRST_DAY = dt.date(1950, 1, 1)


def labels(over: dict):
    """The translator with some column labels of this page's entities put in."""
    return lambda key, **values: over.get(key) or t(key, **values)


def saved(message: str) -> None:
    ui.invalidate("org")
    st.session_state[K.FLASH] = message
    st.rerun()


def spec_form(fields, values: dict, form_key: str, field_key: str, submit_key: str, label: str, lt, locked=()
              ) -> dict | None:
    """The fields of a spec as one form (district as a pick list, coordinates typed), labelled by `lt`;
    the entered values on submit."""
    with st.form(form_key):
        entered = {}
        for f in fields:
            if f.key in locked:
                continue
            key = ui.Keys.row(field_key, values.get("id") or "new", f.key)
            if f.key in ("lon", "lat"):  # typed as text: a number input would round them to 2 decimals
                value = values.get(f.key)
                entered[f.key] = st.text_input(ui.field_label(lt, f), "" if value is None else f"{value:.6f}", key=key)
            elif f.check == "date":  # stations opened long ago: the date picker's default range is 10 years
                entered[f.key] = st.date_input(ui.field_label(lt, f), values.get(f.key), min_value=FIRST_DAY,
                                               max_value=dt.date.today(), key=key)
            elif f.key == "district_code":
                codes = list(district_names)
                index = codes.index(values[f.key]) if values.get(f.key) in codes else 0
                entered[f.key] = st.selectbox(ui.field_label(lt, f), codes, index, format_func=district_names.get, key=key)
            else:
                entered[f.key] = ui.field_widget(st, f, values.get(f.key), lt, key)
        return entered if st.form_submit_button(label, key=submit_key, type="primary") else None


tab_list, tab_edit, tab_rivals, tab_sales = st.tabs(
    [t("stn.tab_list"), t("stn.tab_edit"), t("stn.tab_competitors"), t("stn.tab_sales")])
with tab_list:
    st.caption(ui.md(t, "stn.list_help", n=len(table)))
    st.dataframe(labelled(table, labels(STATION_LABELS), ["code", "name", "district", "nozzles", "daily_sales_t", "grade", "sales_months"]),
                 hide_index=True, key=ui.Keys.table(K.LIST))
    st.caption(ui.md(t, "exp.caption", kind=t("imp.kind.stations")))  # daily sales and grade ride along (ignored on import)
    ui.import_downloads(ctx, "stations", K.LIST)
with tab_edit:
    if not editor:
        st.info(t("stn.read_only"))
    else:
        names = {None: t("stn.new")} | dict(zip(table["id"], table["code"] + " · " + table["name"]))
        pick = st.selectbox(t("stn.pick"), list(names), format_func=names.get, key=K.PICK)
        values = (ui.cached(stations.station_values)(ctx.engine, ctx.user.scope, int(pick)) or {}) if pick is not None else {}
        entered = spec_form(stations.FIELDS, values, K.FORM, K.FIELD, K.SAVE, t("stn.save"), labels(STATION_LABELS),
                            locked=("code",) if pick is not None else ())
        if entered is not None:
            try:
                if pick is None:
                    stations.create_station(ctx.engine, ctx.user, entered)
                else:
                    stations.update_station(ctx.engine, ctx.user, int(pick), entered)
            except ValueError as exc:
                st.error(ui.md(t, "common.invalid", reason=validation.describe(exc, t)))
            else:
                saved(t("common.saved"))
with tab_rivals:
    st.dataframe(labelled(rivals, labels(RIVAL_LABELS), ["name", "brand", "district", "lon", "lat"]), hide_index=True,
                 key=ui.Keys.table(K.COMPETITORS))
    st.caption(ui.md(t, "exp.caption", kind=t("imp.kind.competitor_stations")))
    ui.import_downloads(ctx, "competitor_stations", K.COMPETITORS)
    if editor:
        names = {None: t("stn.new")} | dict(zip(rivals["id"], rivals["name"] + " · " + rivals["district"]))
        pick = st.selectbox(t("stn.pick_competitor"), list(names), format_func=names.get, key=K.COMP_PICK)
        values = rivals[rivals["id"] == pick].iloc[0].to_dict() if pick is not None else {}
        entered = spec_form(stations.COMPETITOR_FIELDS, values, K.COMP_FORM, K.COMP_FIELD, K.COMP_SAVE, t("stn.save"),
                            labels(RIVAL_LABELS))
        if entered is not None:
            try:
                stations.save_competitor(ctx.engine, ctx.user, entered, None if pick is None else int(pick))
            except ValueError as exc:
                st.error(ui.md(t, "common.invalid", reason=validation.describe(exc, t)))
            else:
                saved(t("common.saved"))
with tab_sales:
    st.caption(t("stn.sales_help"))
    names = dict(zip(table["code"], table["code"] + " · " + table["name"]))
    code = st.selectbox(t("col.station"), list(names), format_func=names.get, key=K.SALES_STATION)
    if code is not None and auth.can(ctx.user, "stations.sales"):
        with st.form(K.SALES_FORM):
            month = st.text_input(t("col.month"), ctx.month, placeholder="YYYY-MM", key=K.SALES_MONTH)
            gasoline = st.number_input(t("col.gasoline_t"), 0.0, 1e6, None, key=K.SALES_GASOLINE)
            diesel = st.number_input(t("col.diesel_t"), 0.0, 1e6, None, key=K.SALES_DIESEL)
            if st.form_submit_button(t("stn.save_sales"), key=K.SALES_SAVE, type="primary"):
                try:
                    daily, grade = stations.set_sales(ctx.engine, ctx.user, code, month, gasoline, diesel)
                except ValueError as exc:
                    st.error(ui.md(t, "common.invalid", reason=validation.describe(exc, t)))
                else:
                    saved(t("stn.sales_saved", daily=f"{daily:,.2f}", grade=t(f"val.grade.{grade}")))
    if code is not None:
        sid = int(table.loc[table["code"] == code, "id"].iloc[0])
        monthly = ui.cached(stations.sales)(ctx.engine, ctx.scope, sid)
        st.dataframe(labelled(monthly, t, ["month", "gasoline_t", "diesel_t", "volume_t"]), hide_index=True,
                     key=ui.Keys.table(K.SALES))
    st.caption(ui.md(t, "exp.caption", kind=t("imp.kind.station_sales")))  # every station and month of the scope
    ui.import_downloads(ctx, "station_sales", K.SALES)
