"""Demo province generator (演示数据): Shandong on the real map, `python -m lib.demo`.

Builds, deterministically for a seed, the whole organisation on Shandong's real cities and districts
(lib.regions: official names, adcodes, real boundaries; province → 16 cities → 136 districts →
stations, or a subset: `cities`, see lib.demo.geography.select; small demos default to 16 districts of
5 cities), grids 网格 that partition each real district exactly (全覆盖、无交叉, 000 §2), patches 包区,
customer managers 客户经理, customers classified and tiered by the rule book (lib.rules), monthly
consumption 月度消费, daily station traffic for the four rates 四率, competitor stations, and a
modest amount of work: development cases 客户开发, visits 维护回访 and matters 事项.

The stages, one module each, take plain values and return frames of rows:
`geography` → `stations` → `customers` → `consumption` → `traffic` → `work` + `matters` →
`dashboards`. `generate` below is the driver: it runs them in order on one random generator per
seed (the stages after customers have their own streams) and writes every frame in one write
transaction in large batches (lib.db.bulk_insert: `executemany` on SQLite, COPY on PostgreSQL).

    python -m lib.demo [--seed 7] [--customers 30000] [--months 24] [--db URL]
                       [--end-month YYYY-MM] [--cities all|3701,3702,370102] [--replace]
"""
from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterable

import numpy as np
import pandas as pd
from sqlalchemy import Connection, Engine, text

from lib import db, rules
from lib import models as m
from lib.demo import consumption, customers, dashboards, geography, matters, stations, traffic, work
from lib.demo.cli import main
from lib.demo.common import Ids, Period, Progress, Reporter, clear, reset_sequences, write
from lib.demo.stations import station_count
from lib.months import check as check_month
from lib.months import of as month_of
from lib.months import shift as shift_month
from lib.summary import refresh_customer_monthly, refresh_station_monthly

STEPS = ("org", "grids", "customers", "consumption", "traffic", "work", "summary", "done")

__all__ = ["STEPS", "DemoExistsError", "Progress", "default_end_month", "generate", "main", "station_count"]


class DemoExistsError(RuntimeError):
    """The database already holds an organisation; pass replace=True (--replace) to overwrite it."""


def default_end_month(today: dt.date | None = None) -> str:
    """The month before today's month (e.g. 2026-10 on 2026-11-25)."""
    return shift_month(month_of(today or dt.date.today()), -1)


def generate(engine: Engine, *, seed: int = 7, customers: int = 30_000, months: int = 24,
             end_month: str | None = None, progress: Progress | None = None, replace: bool = False,
             cities: str | Iterable[str] | None = None) -> dict:
    """Generate the demo province into `engine`'s database and return counts of what was written.

    `cities`: which of Shandong's cities/districts (lib.demo.geography.select): None → all 136 districts
    when there are at least that many stations (≥ 27,200 customers), else 16 districts of 5 cities;
    "all"; or city codes ("3701") and district codes ("370102"). Raises ValueError for an unknown code.

    `progress(fraction, step)` is called some 20+ times; `step` is one of STEPS. Raises
    DemoExistsError if the database already has org units and `replace` is False; with `replace`
    every row of every table is deleted first. Migrates the schema to head first.
    """
    if customers < 1:
        raise ValueError("customers must be at least 1")
    if not 1 <= months <= 240:
        raise ValueError("months must be between 1 and 240")
    geography.select(cities, station_count(customers))  # an unknown code fails before anything is written
    period = Period.ending(check_month(end_month or default_end_month()), months, dt.date.today())
    t0 = time.perf_counter()
    report = Reporter(progress)
    db.upgrade(engine)
    with db.write(engine) as conn:
        if conn.exec_driver_sql("SELECT COUNT(*) FROM org_unit").scalar_one():
            if not replace:
                raise DemoExistsError("the database already has an organisation (org units); use --replace to overwrite it")
            clear(conn, m.Base.metadata)
        sqlite = conn.dialect.name == "sqlite"
        if sqlite:
            conn.exec_driver_sql("PRAGMA cache_size=-262144")  # 256 MB page cache for the bulk load
        try:
            counts = _run(conn, seed, customers, period, report, cities)
        finally:
            if sqlite:  # back to SQLite's default for this pooled connection
                conn.exec_driver_sql("PRAGMA cache_size=-2000")
    counts["seconds"] = round(time.perf_counter() - t0, 2)
    report(1.0, "done")
    return counts


def _run(conn: Connection, seed: int, n_customers: int, period: Period, report: Reporter, cities=None) -> dict:
    """Every stage in order, each stage's rows written as soon as their foreign keys exist."""
    rng = np.random.default_rng(seed)
    ids = Ids.after_existing(conn)
    counts: dict = {"first_month": period.month_list[0], "end_month": period.end_month,
                    "as_of": period.as_of.isoformat()}
    report(0.0, "org")
    org, managers, patches = _organisation(conn, rng, ids, n_customers, period, counts, report, cities)
    report(0.08, "customers")
    cust = customers.build(rng, ids, org, period, n_customers, report)
    mgr_rows = customers.manager_rows(rng, managers, cust.attrs, period.as_of)
    write(conn, m.CustomerManager.__table__, mgr_rows)
    levels = pd.Series(mgr_rows["level"].tolist()).value_counts().to_dict()
    counts["manager_levels"] = {k: int(levels.get(k, 0)) for k in rules.MANAGER_LEVELS}
    write(conn, m.Patch.__table__, patches)
    report(0.18, "customers")
    for a in range(0, n_customers, 100_000):
        write(conn, m.Customer.__table__, cust.rows.iloc[a:a + 100_000])
    counts.update(cust.counts)
    report(0.22, "consumption")
    _consumption(conn, seed, org, cust.attrs, period, counts, report)
    report(0.70, "traffic")
    _traffic(conn, seed, org, period, counts, report)
    report(0.86, "work")
    counts["competitor_stations"] = write(conn, m.CompetitorStation.__table__,
                                          traffic.competitor_rows(seed, ids, org.stations))
    _work(conn, np.random.default_rng([seed, 404]), ids, org, cust.attrs, managers, period, counts)
    report(0.90, "summary")
    refresh_station_monthly(conn)
    counts["station_monthly"] = conn.exec_driver_sql("SELECT COUNT(*) FROM station_monthly").scalar_one()
    report(0.93, "summary")
    counts["customer_monthly"] = refresh_customer_monthly(conn)
    reset_sequences(conn)
    report(0.99, "summary")
    _after_summary(conn, seed, period, counts)
    return counts


def _organisation(conn: Connection, rng: np.random.Generator, ids: Ids, n_customers: int, period: Period,
                  counts: dict, report: Reporter, cities=None) -> tuple[stations.Org, list[dict], pd.DataFrame]:
    """Geography and stations: org units, stations and grids written; managers and patches returned
    (they are written after the customers, whose volumes set the managers' levels)."""
    cities = geography.build(rng, station_count(n_customers), cities)
    org = stations.build_org(rng, ids, cities)
    write(conn, m.OrgUnit.__table__, org.units)
    write(conn, m.Station.__table__, stations.station_rows(rng, ids, org))
    counts.update(org_units=len(org.units), cities=len(cities), districts=len(org.districts),
                  stations=org.n_stations)
    report(0.04, "grids")
    write(conn, m.Grid.__table__, stations.grid_rows(ids, org))
    report(0.05, "grids")
    managers = stations.managers(rng, ids, org, period.as_of)
    patches = stations.patch_rows(rng, ids, org)
    counts.update(grids=org.n_stations, patches=len(patches), customer_managers=len(managers))
    report(0.07, "grids")
    return org, managers, patches


def _consumption(conn: Connection, seed: int, org: stations.Org, attrs: dict, period: Period, counts: dict,
                 report: Reporter) -> None:
    """Monthly consumption in chunks, then each station's daily sales and grade."""
    n_chunks, rows = consumption.chunk_count(attrs), 0
    station_t = np.zeros(org.n_stations)
    for k, (chunk, tonnes) in enumerate(consumption.chunks(seed, attrs, period, org.n_stations), start=1):
        rows += write(conn, m.MonthlyConsumption.__table__, chunk)
        station_t += tonnes
        report(0.22 + (0.70 - 0.22) * k / n_chunks, "consumption")
    counts["monthly_consumption"] = rows
    grades = consumption.station_grades(org.stations, station_t, period)
    conn.execute(text("UPDATE station SET daily_sales_t = :t, grade = :g WHERE id = :i"),
                 [{"t": t, "g": g, "i": i} for i, t, g in zip(*(grades[k].tolist() for k in ("id", "daily_sales_t", "grade")))])
    by_grade = pd.Series(grades["grade"].tolist()).value_counts().to_dict()
    counts["station_grades"] = {k: int(v) for k, v in by_grade.items()}


def _traffic(conn: Connection, seed: int, org: stations.Org, period: Period, counts: dict,
             report: Reporter) -> None:
    n_chunks, rows = traffic.chunk_count(org.stations, period), 0
    sqlite = conn.dialect.name == "sqlite"
    for k, chunk in enumerate(traffic.chunks(seed, org.stations, period, sqlite), start=1):
        rows += write(conn, m.StationTraffic.__table__, chunk)
        report(0.70 + (0.86 - 0.70) * k / n_chunks, "traffic")
    counts["station_traffic"] = rows
    counts["traffic_months"] = traffic.window_months(period)


def _work(conn: Connection, rng: np.random.Generator, ids: Ids, org: stations.Org, attrs: dict,
          managers: list[dict], period: Period, counts: dict) -> None:
    """Plans, development cases, visits and matters, one random stream in this order."""
    plans = work.plan_rows(rng, ids, org, period)
    write(conn, m.DevelopmentPlan.__table__, plans)
    cases = work.case_rows(rng, ids, org, attrs, period)
    write(conn, m.Development.__table__, cases)
    write(conn, m.DevelopmentStage.__table__, work.stage_log_rows(cases, period.as_of))
    visits = work.visit_rows(rng, ids, org, attrs, managers, period.as_of)
    write(conn, m.Visit.__table__, visits)
    mats, events = matters.matter_rows(rng, ids, org, attrs, period.as_of)
    write(conn, m.Matter.__table__, mats)
    write(conn, m.MatterEvent.__table__, events)
    counts.update(development_plans=len(plans), developments=len(cases), visits=len(visits), matters=len(mats),
                  matter_events=len(events))


def _after_summary(conn: Connection, seed: int, period: Period, counts: dict) -> None:
    """Tables read back from what is written: matter routes, work logs, the dashboards' rows."""
    flows = matters.flow_rows(conn)
    if len(flows):
        conn.execute(text("INSERT INTO matter_flow (matter_id, step, escalation, step_since, outcome) "
                          "VALUES (:matter_id, :step, :escalation, :step_since, :outcome)"), flows.to_dict("records"))
    logs = work.work_log_rows(conn, seed, period.as_of)
    if len(logs):
        conn.execute(text("INSERT INTO work_log (org_path, manager_id, author, day, content, created_at) "
                          "VALUES (:org_path, :manager_id, :author, :day, :content, :created_at)"),
                     logs.to_dict("records"))
    counts.update(matter_flows=len(flows), work_logs=len(logs))
    counts.update(dashboards.generate(conn, seed=seed, first_month=period.month_list[0],
                                      end_month=period.end_month, as_of=period.as_of))

