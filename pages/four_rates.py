"""Four rates 四率 (FOUR_RATES.md): formulas on screen, by station/district/city, trend, targets (and their
editor), medians; beside the return rate (customers) the retention rate and the vehicle return rate."""
import streamlit as st

from lib import auth, fmt, targets, ui, validation
from lib import charts_dashboards as charts
from lib import development as dev
from lib import four_rates as fr
from lib.kpis import change

ctx = ui.guard("pages/four_rates.py")
t = ctx.t
K = ui.Keys.FourRates
st.title(t("page.four_rates"))
st.caption(ui.md(t, "overview.subtitle", scope=ui.scope_name(ctx), month=ctx.month))
try:
    summary = ui.cached(fr.summary)(ctx.engine, ctx.scope, ctx.month)
except ValueError as exc:  # counts that give a rate above 100 %: bad data, shown as such
    st.error(ui.md(t, "common.invalid", reason=str(exc)))
    st.stop()

cols = st.columns(4, border=True)
for col, rate in zip(cols, fr.RATES):
    value, prev, target = summary["rates"][rate], summary["previous"][rate], summary["targets"][rate]
    delta = change(value, prev) if value is not None and prev is not None else None
    col.metric(t(f"rate.{rate}"), fmt.pct(value, ctx.lang), delta=fmt.pct(delta, ctx.lang, signed=True),
               help=t("fr.delta_help"))
    col.caption(t(f"rate.{rate}_formula"))
    col.caption(ui.md(t, "fr.target_line", target=fmt.pct(target, ctx.lang), red=summary["red"][rate],
                  stations=summary["stations"]))
    if rate == "return_rate":  # beside it: retention 留存率 and the traffic file's vehicle return rate 车辆回头率
        for side in fr.SIDES:
            col.caption(ui.md(t, "fr.side_line", rate=t(f"rate.{side}"), value=fmt.pct(summary["sides"][side], ctx.lang),
                              formula=t(f"rate.{side}_formula")), help=t("fr.sides_help"))
st.caption(ui.md(t, "fr.throughput_line", value="—" if summary["throughput"] is None else f"{summary['throughput']:.2f}")
           + " · " + t("fr.status_rule"))

tab_station, tab_level, tab_trend, tab_class = st.tabs(
    [t("fr.tab_station"), t("fr.tab_level"), t("fr.tab_trend"), t("fr.tab_class")])
pct = {c: st.column_config.NumberColumn(format="percent") for c in
       [*fr.RATES, *fr.SIDES, *(f"{r}_{x}" for r in fr.RATES for x in ("target", "median"))]}
with tab_station:
    table = summary["table"]  # the station table the figures above were summed from
    rate = st.segmented_control(t("fr.rate"), fr.RATES, default="entry_rate", key=K.RATE,
                                format_func=lambda r: t(f"rate.{r}")) or "entry_rate"
    st.plotly_chart(charts.station_rate_bars(table, rate, t), key=K.STATION_CHART)
    ui.table(table, t, "four_rates_stations", K.STATIONS,
             ["station", "district", rate, f"{rate}_target", f"{rate}_status", f"{rate}_median", *fr.RATES,
              *fr.SIDES, "throughput"], pct | {"throughput": st.column_config.NumberColumn(format="%.2f")})
with tab_level:
    levels = [lv for lv in dev.levels_for(ctx.scope) if lv in fr.LEVELS]
    default = "district" if "district" in levels else levels[-1]
    level = st.segmented_control(t("plan.level"), levels, default=default, key=K.LEVEL,
                                 format_func=lambda x: t(f"level.{x}")) or default
    ui.table(fr.rollup(table, level), t, "four_rates_units", K.UNITS,
             ["unit", *fr.RATES, *fr.SIDES, "throughput", *fr.COUNT_KEYS], pct)
with tab_trend:
    trend = ui.cached(fr.trend)(ctx.engine, ctx.scope, ctx.month)
    st.plotly_chart(charts.rate_trend(trend, t), key=K.TREND_CHART)
    ui.table(trend, t, "four_rates_trend", K.TREND, ["month", *fr.RATES, "vehicle_return_rate"], pct)
with tab_class:
    st.info(t("fr.class_note"))
    mix = ui.cached(fr.vehicle_mix)(ctx.engine, ctx.scope, ctx.month)
    left, right = st.columns(2)
    left.plotly_chart(charts.vehicle_mix(mix, t), key=K.MIX_CHART)
    with right:
        ui.table(mix, t, "vehicle_mix", K.MIX, ["vehicle_class", "passing", "share"],
                 {"share": st.column_config.NumberColumn(format="percent")})

if auth.can(ctx.user, "rates.targets"):  # each station's four targets 四率目标 (lib.targets: the import's checks)
    with st.expander(t("people.rates_title"), icon=":material/flag:"):
        st.caption(t("people.rates_help"))
        grid = ui.cached(targets.rate_grid)(ctx.engine, ctx.scope)
        edited = st.data_editor(grid, hide_index=True, disabled=["code", "station"], key=K.TARGETS,
                                column_config={"code": t("col.station_code"), "station": t("col.station")} | {
                                    r: st.column_config.NumberColumn(t(f"rate.{r}"), min_value=0.0, max_value=1.0,
                                                                     format="percent") for r in targets.RATES})
        if st.button(t("people.rates_save"), key=K.TARGETS_SAVE, icon=":material/save:"):
            try:
                n = targets.save_rate_grid(ctx.engine, ctx.user, grid, edited)
            except ValueError as exc:
                st.error(ui.md(t, "common.invalid", reason=validation.describe(exc, t)))
            else:
                ui.invalidate("org")
                st.success(ui.md(t, "people.rates_saved", n=n) if n else t("people.grid_unchanged"))
        st.caption(ui.md(t, "exp.caption", kind=t("imp.kind.rate_targets")))  # the stations' own targets, as percentages
        ui.import_downloads(ctx, "rate_targets", K.TARGETS_EXPORT)
