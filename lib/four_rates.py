"""The four rates 四率 by station, district and city, over time, against targets (FOUR_RATES.md).

The return rate 顾客回头率 counts customers, not visits (issue 15): archive customers 档案客户 with ≥ 2
fuelling visits 加油次数 in the month ÷ those with ≥ 1, from the monthly consumption's visit counts
(lib.queries.customer_visit_counts on customer_monthly); beside it the retention rate 留存率 (last
month's active customers active again) and the traffic file's vehicle return rate 车辆回头率
(returning ÷ identified vehicles), labelled as the vehicle-level figure (lib.kpis.SIDE_RATES).

Every figure goes through lib.kpis.four_rates on summed counts (ratio of sums over days, stations
and areas, never a mean of ratios); a zero or missing denominator is "no data" (None).

- Target per station 目标: its `four_rate_target` row, else config `[four_rates.targets]`.
  Status: green at or above target, amber below it by at most `amber_band` of the target (10 %
  → 0.9 × target), red further below.
- District median 区县中位数: the median of the station rates of the station's district. A station
  manager's scope holds one station, so the benchmark reads the stations of the viewer's district
  — only the median leaves that query, never another station's name or figures.
- By vehicle class 车型: the data holds passing counts by class (小车/中型车/大货车/客车) but entering
  counts only in total, so the entry rate by class cannot be computed: the passing mix is shown
  instead, and said so. Shift and attendant 班次/加油员 are not in the data either.
- Peak-hour throughput 高峰小时单枪服务量: nozzle lifts in the peak hour ÷ (nozzles × days), the other
  sense of "pass-through" in practice, shown beside the pass-through rate.
"""
from __future__ import annotations

import pandas as pd
from sqlalchemy import Engine, text

from lib import vocab
from lib.config import rules as config
from lib.kpis import FOUR_RATES, SIDE_RATES, four_rates, side_rates
from lib.months import check as _check_month
from lib.queries import (
    CUSTOMER_KEYS,
    CUSTOMER_SUMS,
    customer_visit_counts,
    in_list,
    in_scope,
    read_df,
    scope_like,
    shift_month,
)

RATES = tuple(FOUR_RATES)
SIDES = tuple(SIDE_RATES)  # retention 留存率, vehicle return 车辆回头率
TRAFFIC_KEYS = ("passing", "entering", "fuelled", "transactions", "full_tank", "identified", "returning")
COUNT_KEYS = TRAFFIC_KEYS + CUSTOMER_KEYS
CLASSES = vocab.VEHICLE_CLASSES  # 小车 中型车 大货车 客车
LEVELS = ("station", "district", "city")
STATUSES = vocab.RATE_STATUSES

_SUMS = """SUM(t.passing_car + t.passing_medium + t.passing_truck + t.passing_bus) AS passing,
           SUM(t.entering) AS entering, SUM(t.fuelled) AS fuelled, SUM(t.transactions) AS transactions,
           SUM(t.full_tank) AS full_tank, SUM(t.identified) AS identified, SUM(t.returned) AS returned,
           SUM(t.passing_car) AS passing_car, SUM(t.passing_medium) AS passing_medium,
           SUM(t.passing_truck) AS passing_truck, SUM(t.passing_bus) AS passing_bus,
           SUM(t.peak_nozzle_lifts) AS peak_lifts, COUNT(*) AS days"""


def _df(engine: Engine, sql: str, **params) -> pd.DataFrame:
    # "returning" is an SQL keyword: the column comes back as "returned"
    return read_df(engine, sql, **params).rename(columns={"returned": "returning"})


def add_rates(df: pd.DataFrame) -> pd.DataFrame:
    """Add the four rate columns and the SIDES to rows of summed counts (lib.kpis on each row)."""
    counts = [{k: (None if pd.isna(r[k]) else float(r[k])) for k in COUNT_KEYS}
              for r in df[list(COUNT_KEYS)].to_dict("records")]
    rates = [four_rates(c) | side_rates(c) for c in counts]
    for rate in RATES + SIDES:
        df[rate] = [x[rate] for x in rates]
    return df


_STATIONS = """SELECT s.id AS station_id, s.name AS station, s.org_path AS station_path,
                      du.name AS district, du.path AS district_path, cu.name AS city, cu.path AS city_path, s.nozzles
               FROM station s JOIN org_unit su ON su.id = s.org_unit_id JOIN org_unit du ON du.id = su.parent_id
               JOIN org_unit cu ON cu.id = du.parent_id"""


def station_counts(engine: Engine, scope: str, month: str, *, customers: bool = True,
                   retention: bool = True) -> pd.DataFrame:
    """Return the four-rates counts of each station inside `scope` for `month`: the traffic file's
    counts summed over the days, and the customer counts of lib.queries.customer_visit_counts
    (`customers=False`: none; `retention=False`: without the retention join, its counts missing).
    A station with either appears (the other's counts missing: "no data").

    Columns: station_id, station, station_path, district, district_path, city, city_path, nozzles,
    the COUNT_KEYS, passing by class, peak_lifts, days.
    """
    month = _check_month(month)
    traffic = _df(engine, f"""SELECT t.station_id, {_SUMS} FROM station_traffic t
                              WHERE {in_scope('t.org_path')} AND t.month = :month GROUP BY t.station_id""",
                  scope=scope_like(scope), month=month)
    cust = (customer_visit_counts(engine, scope, month, retention=retention) if customers
            else pd.DataFrame(columns=["station_id"]))
    both = traffic.merge(cust, on="station_id", how="outer")
    stations = _df(engine, f"{_STATIONS} WHERE {in_scope('s.org_path')}", scope=scope_like(scope))
    df = stations.merge(both, on="station_id", how="inner").sort_values("station_path").reset_index(drop=True)
    df = df.reindex(columns=[*df.columns, *(k for k in COUNT_KEYS if k not in df.columns)])
    return df.astype({k: "float64" for k in COUNT_KEYS})


def _sum_counts(df: pd.DataFrame) -> dict[str, float | None]:
    if df.empty:
        return {k: None for k in COUNT_KEYS}
    return {k: (float(df[k].sum()) if df[k].notna().any() else None) for k in COUNT_KEYS}


def scope_rates(engine: Engine, scope: str, month: str) -> dict[str, float | None]:
    """Return the four rates of the whole scope (ratio of sums; equals lib.queries.scope_four_rates
    for a scope of whole stations)."""
    return four_rates(_sum_counts(station_counts(engine, scope, month)))


def targets(engine: Engine, station_ids: list[int]) -> pd.DataFrame:
    """Return each station's target per rate: its `four_rate_target` row, else the config default.
    Index: station_id; columns: the four rates."""
    defaults = config()["four_rates"]["targets"]
    out = pd.DataFrame({r: float(defaults[r]) for r in RATES}, index=pd.Index(station_ids, name="station_id"))
    if not station_ids:
        return out
    sql, bound = in_list("s", [int(s) for s in station_ids])
    with engine.connect() as conn:
        rows = conn.execute(text(f"SELECT station_id, rate, target FROM four_rate_target WHERE station_id IN {sql}"),
                            bound).all()
    for sid, rate, target in rows:
        if rate in out.columns:
            out.loc[sid, rate] = float(target)
    return out


def status(value: float | None, target: float | None) -> str | None:
    """Return "green" (≥ target), "amber" (below by at most amber_band × target), "red", or None."""
    if value is None or target is None or value != value:
        return None
    band = float(config()["four_rates"]["targets"]["amber_band"])
    if value >= target:
        return "green"
    return "amber" if value >= target * (1 - band) else "red"


def _benchmark_scope(scope: str) -> str:
    """The district around a scope below district level; the scope itself otherwise."""
    parts = [p for p in scope.strip("/").split("/") if p]
    return "/" + "/".join(parts[:3]) + "/" if len(parts) > 3 else scope


def district_medians(engine: Engine, scope: str, month: str, rated: pd.DataFrame | None = None) -> pd.DataFrame:
    """Return the median station rate of each district touched by `scope` (index: district_path);
    `rated`: the scope's stations with their rates already, used when the scope is its own benchmark."""
    bench = _benchmark_scope(scope)
    df = rated if rated is not None and bench == scope else add_rates(
        station_counts(engine, bench, month, retention=False))
    if df.empty:
        return pd.DataFrame(columns=list(RATES))
    # the median of the stations with data (pandas skips "no data"; a district without any gives NaN)
    return df[["district_path", *RATES]].astype({r: "float64" for r in RATES}).groupby("district_path").median()


def station_table(engine: Engine, scope: str, month: str) -> pd.DataFrame:
    """Return one row per station: the four rates, each with its target, status and the district
    median, and peak-hour throughput per nozzle. Columns: station_id, station, district, city, the
    four rates, `<rate>_target`, `<rate>_status`, `<rate>_median`, throughput."""
    df = add_rates(station_counts(engine, scope, month))
    tg = targets(engine, df["station_id"].tolist())
    med = district_medians(engine, scope, month, df)
    for rate in RATES:
        df[f"{rate}_target"] = df["station_id"].map(tg[rate])
        df[f"{rate}_status"] = [status(v, t) for v, t in zip(df[rate], df[f"{rate}_target"])]
        df[f"{rate}_median"] = df["district_path"].map(med[rate]) if len(med) else None
    df["throughput"] = [lifts / (n * d) if n and d else None for lifts, n, d in
                        zip(df["peak_lifts"], df["nozzles"], df["days"])]
    return df


def by_level(engine: Engine, scope: str, month: str, level: str) -> pd.DataFrame:
    """Return the four rates per station, district or city inside `scope` (ratio of sums per unit).
    Columns: unit, path, the COUNT_KEYS, the four rates, the SIDES, throughput."""
    if level not in LEVELS:
        raise ValueError(f"level must be one of {LEVELS}, got {level!r}")
    return rollup(station_counts(engine, scope, month), level)


def rollup(stations: pd.DataFrame, level: str) -> pd.DataFrame:
    """`by_level` from rows of `station_counts` (or `station_table`, which the page has already)."""
    if level not in LEVELS:
        raise ValueError(f"level must be one of {LEVELS}, got {level!r}")
    df = stations.copy()
    name, path = {"station": ("station", "station_path"), "district": ("district", "district_path"),
                  "city": ("city", "city_path")}[level]
    df["nozzle_days"] = df["nozzles"] * df["days"]
    g = df.groupby([path, name], as_index=False)[list(COUNT_KEYS) + ["peak_lifts", "nozzle_days"]].sum()
    g = g.rename(columns={path: "path", name: "unit"})
    g = add_rates(g.astype({k: "float64" for k in COUNT_KEYS}))
    g["throughput"] = [lifts / nd if nd else None for lifts, nd in zip(g["peak_lifts"], g["nozzle_days"])]
    return g[["unit", "path", *COUNT_KEYS, *RATES, *SIDES, "throughput"]].sort_values("path").reset_index(drop=True)


def trend(engine: Engine, scope: str, month: str, n: int = 12) -> pd.DataFrame:
    """Return the four rates and the vehicle return rate of `scope` per month for the `n` months up
    to `month` (retention, a join per month, is left out of the trend), with the scope's mean target
    (the mean of its stations' targets). Columns: month, the four rates, vehicle_return_rate,
    `<rate>_target`."""
    month = _check_month(month)
    params = dict(scope=scope_like(scope), start=shift_month(month, -n), month=month)
    df = _df(engine, f"SELECT t.month, {_SUMS} FROM station_traffic t WHERE {in_scope('t.org_path')} "
                     f"AND t.month > :start AND t.month <= :month GROUP BY t.month", **params)
    cust = _df(engine, f"""SELECT month, {CUSTOMER_SUMS} FROM customer_monthly
                           WHERE {in_scope('org_path')} AND month > :start AND month <= :month GROUP BY month""",
               **params)
    df = cust.merge(df, on="month", how="outer").sort_values("month").reset_index(drop=True)
    df = add_rates(df.reindex(columns=[*df.columns, "prev_active", "retained"]).astype(
        {k: "float64" for k in COUNT_KEYS}))
    ids = _df(engine, f"SELECT id FROM station WHERE {in_scope('org_path')}", scope=scope_like(scope))["id"].tolist()
    tg = targets(engine, ids)
    for rate in RATES:
        df[f"{rate}_target"] = float(tg[rate].mean()) if len(tg) else None
    return df[["month", *RATES, "vehicle_return_rate", *(f"{r}_target" for r in RATES)]]


def vehicle_mix(engine: Engine, scope: str, month: str) -> pd.DataFrame:
    """Return the passing vehicles by class 车型 and their share (the entry rate by class needs
    entering counts by class, which the data does not hold). Columns: vehicle_class, passing, share."""
    df = station_counts(engine, scope, month, customers=False)
    total = float(sum(df[f"passing_{c}"].sum() for c in CLASSES)) if len(df) else 0.0
    return pd.DataFrame([{"vehicle_class": c, "passing": int(df[f"passing_{c}"].sum()) if len(df) else 0,
                          "share": (float(df[f"passing_{c}"].sum()) / total) if total else None} for c in CLASSES])


def summary(engine: Engine, scope: str, month: str) -> dict:
    """Return the four-rates page's key figures: the scope's four rates and the SIDES (retention,
    vehicle return), the previous month's, the scope's mean targets, the peak-hour throughput, and
    how many stations are red on each rate."""
    table = station_table(engine, scope, month)
    prev_counts = _sum_counts(station_counts(engine, scope, shift_month(month, -1), retention=False))
    nozzle_days = float((table["nozzles"] * table["days"]).sum()) if len(table) else 0.0
    counts = _sum_counts(table)
    return {
        "rates": four_rates(counts),
        "sides": side_rates(counts),
        "previous": four_rates(prev_counts),
        "table": table,  # the station table (the page shows it and rolls it up: lib.four_rates.rollup)
        "targets": {r: (float(table[f"{r}_target"].mean()) if len(table) else None) for r in RATES},
        "throughput": float(table["peak_lifts"].sum()) / nozzle_days if nozzle_days else None,
        "red": {r: int((table[f"{r}_status"] == "red").sum()) if len(table) else 0 for r in RATES},
        "stations": int(len(table)),
    }
