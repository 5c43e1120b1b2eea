"""Setup checklist 数据完整性 / 设置清单: for a scope and month, whether each dashboard has the data it needs.

One line per check: the dashboard 看板 (a page of lib.ui.navigation.PAGES, by name), the check,
its status — "ok" (all there), "partial" (some units lack it), "missing" (none) — the counts
(`done` of `total` units: stations, districts, customers or months), and what fills it: the page
file and the import kind (lib.importer.KINDS) a link can point at. Examples of what it says:
"四率: no traffic for 2026-11 at 23 of 151 stations", "开发计划: no targets for 2026-11 in 3 of 16
districts", "no station sales → every station is regular grade" (001 Chongqing), "no grids in 4
districts" (000 §2 全覆盖), "12 stations without a customer manager" (003).

Issue 13 §4: no dashboard may depend on data only lib/demo can write; this module tells a new
company, dashboard by dashboard, which of its data is still to bring. Counting only: every query
is scoped in SQL (queries.scoped / in_scope) and portable (SQLite and PostgreSQL).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd
from sqlalchemy import Connection, Engine, text

from lib import months, surveys
from lib.kpis import FOUR_RATES
from lib.queries import Cond, on_books, scoped, station_scope

STATUSES = ("missing", "partial", "ok")
UNITS = ("stations", "districts", "customers", "months", "records")  # what a check counts
COLUMNS = ("dashboard", "check", "status", "done", "total", "missing", "unit", "page", "kind")
_MEMO = "lib.checklist.memo"  # Connection.info key of the counts shared by two checks within one run
LOOKBACK_MONTHS = 12  # tiers 客户分级 (002 §6.3) and station daily sales 日销量 read the last 12 months


@dataclass(frozen=True)
class Check:
    """One check of the checklist: which dashboard needs it, the unit counted, the count function
    `count(conn, scope, month) -> (done, total)`, and the page file and import kind that fill it."""

    dashboard: str
    key: str
    unit: str  # stations / districts / customers / months / records
    page: str
    kind: str | None
    count: Callable[[Connection, str, str], tuple[int, int]]

    @property
    def presence(self) -> bool:
        """A check of presence only (any stations, customers, competitor stations at all)."""
        return self.count in _PRESENCE


def status(done: int, total: int) -> str:
    """Return "ok" when every one of `total` units has the data, "missing" when none has (or there
    is nothing to count), else "partial"."""
    if total <= 0 or done <= 0:
        return "missing"
    return "ok" if done >= total else "partial"


# --- the units counted ------------------------------------------------------------------------------


def _stations(scope: str) -> Cond:
    """Stations 加油站 of `scope` (a customer manager's scope: their station)."""
    return scoped("s.org_path", station_scope(scope), "sscope")


def _districts(scope: str) -> Cond:
    """Districts 区县/片区 inside `scope`, or the one holding it (a station's scope lies inside a district)."""
    inside = scoped("d.path", station_scope(scope), "dscope")
    return Cond(f"d.level = 'district' AND ({inside.sql} OR SUBSTR(:draw, 1, LENGTH(d.path)) = d.path)",
                inside.params | {"draw": station_scope(scope)})


def _one(conn: Connection, sql: str, params: dict) -> tuple[int, int]:
    done, total = conn.execute(text(sql), params).one()
    return int(done or 0), int(total or 0)


def _per_station(conn: Connection, scope: str, having: str, params: dict | None = None) -> tuple[int, int]:
    """(stations of scope for which the EXISTS-condition `having` on `s` holds, stations of scope)."""
    where = _stations(scope)
    return _one(conn, f"SELECT COALESCE(SUM(CASE WHEN {having} THEN 1 ELSE 0 END), 0), COUNT(*) "
                      f"FROM station s WHERE {where.sql}", where.params | (params or {}))


def _per_district(conn: Connection, scope: str, having: str, params: dict | None = None) -> tuple[int, int]:
    where = _districts(scope)
    return _one(conn, f"SELECT COALESCE(SUM(CASE WHEN {having} THEN 1 ELSE 0 END), 0), COUNT(*) "
                      f"FROM org_unit d WHERE {where.sql}", where.params | (params or {}))


def _present(conn: Connection, sql: str, params: dict) -> tuple[int, int]:
    n = int(conn.execute(text(sql), params).scalar_one() or 0)
    return n, n


def _months_known(conn: Connection, scope: str, month: str, n: int) -> tuple[int, int]:
    """(months among the `n` up to `month` with consumption of scope's customers, n), read from the
    monthly summary (lib.summary: one row per station, month, tier, kind and path with consumption)."""
    where = scoped("sm.org_path", scope)
    known = conn.execute(text(
        f"SELECT COUNT(DISTINCT sm.month) FROM station_monthly sm "
        f"WHERE {where.sql} AND sm.month > :start AND sm.month <= :month"),
        where.params | {"start": months.shift(month, -n), "month": month}).scalar_one()
    return int(known or 0), n


# --- the checks ------------------------------------------------------------------------------------


def _stations_present(conn, scope, month):
    where = _stations(scope)
    return _present(conn, f"SELECT COUNT(*) FROM station s WHERE {where.sql}", where.params)


def _books(conn: Connection, scope: str, month: str) -> tuple[int, int]:
    """(customers on the books 在册 at the end of `month` with coordinates, customers on the books),
    counted once per checklist (remembered on the connection while `checklist` runs)."""
    memo = conn.info.get(_MEMO, {})  # only while checklist() runs: never stale on a pooled connection
    if ("books", scope, month) not in memo:
        where = scoped("c.org_path", scope) & on_books(month)
        memo["books", scope, month] = _one(
            conn, f"SELECT COALESCE(SUM(CASE WHEN c.lon IS NOT NULL AND c.lat IS NOT NULL THEN 1 ELSE 0 END), 0), "
                  f"COUNT(*) FROM customer c WHERE {where.sql}", where.params)
    return memo["books", scope, month]


def _customers_present(conn, scope, month):
    n = _books(conn, scope, month)[1]
    return n, n


def _consumption(conn, scope, month):
    # a station counts when any of its customers (in scope) has consumption for the month (summary table)
    cust = scoped("sm.org_path", scope)
    return _per_station(conn, scope, f"EXISTS (SELECT 1 FROM station_monthly sm WHERE sm.station_id = s.id "
                                     f"AND sm.month = :month AND {cust.sql})", cust.params | {"month": month})


def _tier_history(conn, scope, month):
    return _months_known(conn, scope, month, LOOKBACK_MONTHS)


def _targets(kind: str, level: str):
    def count(conn, scope, month):
        having = ("EXISTS (SELECT 1 FROM development_plan dp WHERE dp.org_unit_id = {unit} "
                  "AND dp.month = :month AND dp.kind = :pkind)")
        params = {"month": month, "pkind": kind}
        if level == "district":
            return _per_district(conn, scope, having.format(unit="d.id"), params)
        return _per_station(conn, scope, having.format(unit="s.org_unit_id"), params)
    return count


def _surveys(conn, scope, month):
    # 002 §6.5.1: the survey due at or before the month (July, December)
    return _per_station(conn, scope, "EXISTS (SELECT 1 FROM survey_submission ss WHERE ss.org_unit_id = "
                                     "s.org_unit_id AND ss.period = :period)",
                        {"period": surveys.survey_period(month)})


def _traffic(conn, scope, month):
    # by day range: the primary key (station_id, day) answers it without reading the month's rows
    return _per_station(conn, scope, "EXISTS (SELECT 1 FROM station_traffic tr WHERE tr.station_id = s.id "
                                     "AND tr.day >= :first AND tr.day <= :last)",
                        {"first": months.first_day(month), "last": months.last_day(month)})


def _rate_targets(conn, scope, month):
    # FOUR_RATES.md: a station without its own targets is measured against rules.toml's defaults
    return _per_station(conn, scope, "(SELECT COUNT(*) FROM four_rate_target ft WHERE ft.station_id = s.id) "
                                     ">= :nrates", {"nrates": len(FOUR_RATES)})


def _station_sales(conn, scope, month):
    # 001 Chongqing: daily sales 日销量 from the last 12 known months; without any, grade stays regular
    return _per_station(conn, scope, "EXISTS (SELECT 1 FROM station_sales ss WHERE ss.station_id = s.id "
                                     "AND ss.month > :start AND ss.month <= :month)",
                        {"start": months.shift(month, -LOOKBACK_MONTHS), "month": month})


def _churn_history(conn, scope, month):
    # tracking: a warning compares the month with the 3 months before it (config [churn])
    return _months_known(conn, scope, month, 4)


def _boundaries(conn, scope, month):
    return _per_district(conn, scope, "d.boundary IS NOT NULL AND d.boundary <> ''")


def _grids(conn, scope, month):
    # 000 §2: the grids of a district cover it (全覆盖); a district without any grid shows nothing
    return _per_district(conn, scope, "EXISTS (SELECT 1 FROM grid g JOIN station gs ON gs.id = g.station_id "
                                      "JOIN org_unit gu ON gu.id = gs.org_unit_id WHERE gu.parent_id = d.id)")


def _competitors(conn, scope, month):
    where = scoped("cs.org_path", station_scope(scope))
    return _present(conn, f"SELECT COUNT(*) FROM competitor_station cs WHERE {where.sql}", where.params)


def _coordinates(conn, scope, month):
    return _books(conn, scope, month)


def _managers(conn, scope, month):
    # 003: customer managers 客户经理 work at a station (their org_path is the station's)
    return _per_station(conn, scope, "EXISTS (SELECT 1 FROM customer_manager cm WHERE cm.org_unit_id = "
                                     "s.org_unit_id AND cm.active = :active)", {"active": True})


def _visits(conn, scope, month):
    return _per_station(conn, scope, "EXISTS (SELECT 1 FROM visit v JOIN customer vc ON vc.id = v.customer_id "
                                     "WHERE vc.station_id = s.id AND v.done_on >= :first AND v.done_on <= :last)",
                        {"first": months.first_day(month), "last": months.last_day(month)})


def _users(conn, scope, month):
    return _per_station(conn, scope, "EXISTS (SELECT 1 FROM app_user u WHERE u.org_unit_id = s.org_unit_id "
                                     "AND u.active = :active)", {"active": True})


_PRESENCE = (_stations_present, _customers_present, _competitors)

CHECKS: tuple[Check, ...] = (
    Check("overview", "stations", "stations", "pages/stations.py", "stations", _stations_present),
    Check("overview", "customers", "customers", "pages/customers.py", "customers", _customers_present),
    Check("overview", "consumption", "stations", "pages/imports.py", "consumption", _consumption),
    Check("tiers", "tier_history", "months", "pages/imports.py", "consumption", _tier_history),
    Check("plan", "targets_institutional", "districts", "pages/plan.py", "targets", _targets("institutional", "district")),
    Check("plan", "targets_card", "stations", "pages/plan.py", "targets", _targets("personal_card", "station")),
    Check("plan", "surveys", "stations", "pages/surveys.py", "surveys", _surveys),
    Check("four_rates", "traffic", "stations", "pages/imports.py", "traffic", _traffic),
    Check("four_rates", "rate_targets", "stations", "pages/four_rates.py", "rate_targets", _rate_targets),
    Check("churn", "churn_history", "months", "pages/imports.py", "consumption", _churn_history),
    Check("churn", "station_sales", "stations", "pages/stations.py", "station_sales", _station_sales),
    Check("grid_map", "boundaries", "districts", "pages/setup.py", "org_units", _boundaries),
    Check("grid_map", "grids", "districts", "pages/grid_edit.py", "grids", _grids),
    Check("grid_map", "competitors", "records", "pages/stations.py", "competitor_stations", _competitors),
    Check("customer_map", "coordinates", "customers", "pages/customers.py", "customers", _coordinates),
    Check("managers", "managers", "stations", "pages/managers.py", "managers", _managers),
    Check("visits", "visits", "stations", "pages/visits.py", "visits", _visits),
    Check("admin_users", "users", "stations", "pages/admin_users.py", "users", _users),
)
CHECK_KEYS = tuple(c.key for c in CHECKS)


def checklist(engine: Engine, scope: str, month: str) -> pd.DataFrame:
    """Return the setup checklist 设置清单 of `scope` for `month`: one row per check of `CHECKS`.

    Columns: dashboard (page name), check, status (missing / partial / ok), done, total, missing
    (= total − done), unit (what is counted), page (the page file that fills it), kind (the import
    kind that fills it, or None). Rows in `CHECKS` order (the dashboards' navigation order).
    """
    month = months.check(month)
    rows = []
    with engine.connect() as conn:
        conn.info[_MEMO] = {}
        try:
            counts = [c.count(conn, scope, month) for c in CHECKS]
        finally:
            conn.info.pop(_MEMO, None)
        for c, (done, total) in zip(CHECKS, counts):
            rows.append({"dashboard": c.dashboard, "check": c.key, "status": status(done, total), "done": done,
                         "total": total, "missing": max(total - done, 0), "unit": c.unit, "page": c.page,
                         "kind": c.kind})
    return pd.DataFrame(rows, columns=list(COLUMNS))


def open_items(items: pd.DataFrame) -> dict[str, int]:
    """Count the checklist's lines by status: {"missing": n, "partial": n, "ok": n}."""
    counts = items["status"].value_counts()
    return {s: int(counts.get(s, 0)) for s in STATUSES}


def line_text(item: dict, month: str, t: Callable[..., str]) -> str:
    """Return one checklist line as people read it, e.g. "车流数据 (2026-11): 151 个加油站中 23 个缺少"
    / "Traffic counts (2026-11): missing at 23 of 151 stations", from a row of `checklist()` for `month`."""
    values = {"label": t(f"checklist.check.{item['check']}", month=month),
              "unit": t(f"checklist.unit.{item['unit']}"), "done": item["done"], "total": item["total"],
              "missing": item["missing"]}
    presence = next(c for c in CHECKS if c.key == item["check"]).presence
    if item["status"] == "ok":
        return t("checklist.line_count" if presence else "checklist.line_ok", **values)
    if presence or item["total"] <= 0:
        return t("checklist.line_none", **values)
    return t("checklist.line_gap", **values)
