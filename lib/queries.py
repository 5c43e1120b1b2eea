"""Scoped query layer (按权限范围查询): every customer or figure query takes the viewer's scope.

A scope is an org path ("/37/3701/"); queries filter rows whose `org_path` starts with it, in SQL,
with bound parameters. Nothing here loads a whole table to filter it in pandas. Callers in the UI
cache these functions keyed on (database, scope, month).
"""
from __future__ import annotations

from typing import NamedTuple

import pandas as pd
from sqlalchemy import Connection, Engine, text

from lib.config import rules
from lib.kpis import completion, four_rates

# Month checks and arithmetic live in lib.months; these two names stay here because many callers use them.
from lib.months import check as check_month  # noqa: F401
from lib.months import shift as shift_month
from lib.rules import TIERS


def scope_like(scope: str) -> str:
    """Return the LIKE pattern for rows inside `scope` (escaping LIKE wildcards in the path)."""
    if not scope.startswith("/") or not scope.endswith("/"):
        raise ValueError(f"scope must be an org path like '/37/3701/', got {scope!r}")
    return scope.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


class Cond(NamedTuple):
    """A SQL condition and the bound parameters it needs: the unit the builders below return.

    `a & b` joins two conditions with AND and merges their parameters (a parameter bound to two
    different values is an error, never a silent overwrite); `sql, params = cond` unpacks one.
    """

    sql: str
    params: dict

    def __and__(self, other: Cond) -> Cond:
        clash = {k for k in self.params.keys() & other.params.keys() if self.params[k] != other.params[k]}
        if clash:
            raise ValueError(f"parameter(s) {sorted(clash)} bound to two different values")
        return Cond(f"{self.sql} AND {other.sql}", self.params | other.params)


def in_scope(col: str, param: str = "scope") -> str:
    """Return the SQL condition "`col` lies inside the scope" using the bound parameter `:param`
    (bind it to `scope_like(scope)`; `scoped()` returns both). `col` is a column name from code,
    never from user input."""
    return f"{col} LIKE :{param} ESCAPE '\\'"


def scoped(col: str, scope: str, param: str = "scope") -> Cond:
    """Return the condition "`col` lies inside `scope`" 权限范围 with its bound parameter named
    `param`: two scopes in one query (a customer manager's customers and their station's
    managers) are two parameter names, not an edited string."""
    return Cond(in_scope(col, param), {param: scope_like(scope)})


def station_scope(scope: str) -> str:
    """Return the station path of a customer manager's scope ("/37/…/370102001/m7/" → its station's
    path); any other scope unchanged. Station-level rows (managers, stations) carry the station path."""
    return scope if "/m" not in scope else scope[: scope.rindex("/m") + 1]


def scope_manager_id(scope: str) -> int | None:
    """Return the customer manager id of a customer manager's scope ("…/m7/" → 7), else None."""
    return int(scope.rstrip("/").rsplit("/m", 1)[1]) if "/m" in scope else None


_in = in_scope


def side_by_side(engine: Engine, jobs: dict) -> dict:
    """Run independent reads at once on pooled connections and return {key: result}: `jobs` maps a
    key to (function, *args), called as function(engine, *args). SQLite WAL readers and PostgreSQL
    backends both serve them concurrently (the grid map and the slides read eight to ten tables)."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = {k: pool.submit(f, engine, *args) for k, (f, *args) in jobs.items()}
        return {k: f.result() for k, f in futures.items()}


def in_list(name: str, values) -> tuple[str, dict]:
    """Return ("(:name0, :name1, …)", {"name0": v0, …}): a bound `col IN` list, the values never in
    the SQL text. Callers keep lists to a few thousand values (drivers limit parameters)."""
    keys = [f"{name}{i}" for i in range(len(values))]
    return "(" + ", ".join(":" + k for k in keys) + ")", dict(zip(keys, values))


def read_df(bind: Engine | Connection, sql, **params) -> pd.DataFrame:
    """Run `sql` (text or a statement) with bound `params` on an engine or an open connection and
    return the rows as a DataFrame: the one way every lib module reads query results."""
    stmt = text(sql) if isinstance(sql, str) else sql
    if isinstance(bind, Connection):
        return pd.read_sql_query(stmt, bind, params=params)
    with bind.connect() as conn:
        return pd.read_sql_query(stmt, conn, params=params)


_df = read_df


def _scalar(engine: Engine, sql: str, **params):
    with engine.connect() as conn:
        return conn.execute(text(sql), params).scalar()


# --- Organisation ------------------------------------------------------------------------------


def default_scope_and_month(engine: Engine) -> tuple[str, str]:
    """Return the whole organisation's scope (the root unit's path) and the latest month with data.

    This is what a province admin sees first.
    """
    with engine.connect() as conn:
        scope = conn.execute(text("SELECT path FROM org_unit WHERE parent_id IS NULL ORDER BY id LIMIT 1")).scalar()
        month = conn.execute(text("SELECT MAX(month) FROM station_monthly")).scalar()
        if month is None:
            month = conn.execute(text("SELECT MAX(month) FROM monthly_consumption")).scalar()
    if scope is None or month is None:
        raise LookupError("the database holds no organisation or no monthly data yet")
    return scope, month


def org_units(engine: Engine, scope: str) -> pd.DataFrame:
    """Return the org units inside `scope` (id, code, name, name_en, level, path, parent_id)."""
    return _df(
        engine,
        f"SELECT id, code, name, name_en, level, path, parent_id FROM org_unit "
        f"WHERE {_in('path')} ORDER BY path",
        scope=scope_like(scope),
    )


def unit_by_path(engine: Engine, path: str) -> dict | None:
    """Return one org unit as a dict, or None."""
    with engine.connect() as conn:
        row = conn.execute(
            text("SELECT id, code, name, name_en, level, path, parent_id FROM org_unit WHERE path = :p"),
            {"p": path},
        ).mappings().first()
    return dict(row) if row else None


def months(engine: Engine, scope: str) -> list[str]:
    """Return the months with consumption data in `scope`, newest first."""
    df = _df(
        engine,
        f"SELECT DISTINCT month FROM station_monthly WHERE {_in('org_path')} ORDER BY month DESC",
        scope=scope_like(scope),
    )
    return df["month"].tolist()


# --- Overview figures (总览) ---------------------------------------------------------------------

def _col(alias: str, name: str) -> str:
    return f"{alias}.{name}" if alias else name


def on_books(month: str, alias: str = "c", param: str = "month") -> Cond:
    """Return "customer `alias` is on the books 在册 at the end of `month`": existing 存量, or lost
    only after it, and not developed after it (the same rule as lib.summary's customer_monthly)."""
    c = lambda n: _col(alias, n)  # noqa: E731
    return Cond(f"({c('status')} = 'existing' OR ({c('status')} = 'lost' AND {c('lost_month')} > :{param})) "
                f"AND ({c('developed_month')} IS NULL OR {c('developed_month')} <= :{param})", {param: month})


def tier_in_force(alias: str = "c") -> str:
    """Return the SQL of the tier in force 执行分级: the manual override, else the computed tier (002 §6.1.1)."""
    return f"COALESCE({_col(alias, 'tier_override')}, {_col(alias, 'computed_tier')})"


def scheduled(alias: str = "c") -> Cond:
    """Return "customer `alias` is under scheduled maintenance visits" 定期回访 (002 §6.7.1.1): existing,
    and institutional or of a tier in force above station level (personal station-level customers
    are kept on site when they fuel)."""
    return Cond(f"{_col(alias, 'status')} = 'existing' AND ({_col(alias, 'kind')} = 'institutional' "
                f"OR {tier_in_force(alias)} <> 'station')", {})


def new_card_customer(alias: str = "c") -> Cond:
    """Return "customer `alias` counts as a personal fuel-card customer" 个人加油卡客户 for the
    development plan (002 §6.5.3): personal, paying by fuel card. Combine it with the developed
    month (`developed_month = :month`) to count the month's new ones 新开发."""
    return Cond(f"{_col(alias, 'kind')} = 'personal' AND {_col(alias, 'payment')} = 'fuel_card'", {})


def developed_institution(alias: str = "c") -> Cond:
    """Return "customer `alias` counts as a developed institutional customer" 机构客户 for the
    development plan: institutional with its supply agreement on record (002 §6.5.4.5: 单位客户开发成功后
    均须与其签订供油协议). Combine it with `developed_month = :month`; the institutions developed that
    month without an agreement are shown apart (lib.development), never counted."""
    return Cond(f"{_col(alias, 'kind')} = 'institutional' AND {_col(alias, 'agreement')} IS NOT NULL "
                f"AND {_col(alias, 'agreement')} <> ''", {})


def customers_by_tier_kind(engine: Engine, scope: str, month: str) -> pd.DataFrame:
    """Return customer counts on the books at the end of `month` by tier in force and kind.

    Columns: tier, kind, customers. Tier in force = manual override, else computed (002 §6.1.1).
    """
    where = scoped("c.org_path", scope) & on_books(month)
    return _df(
        engine,
        f"SELECT {tier_in_force()} AS tier, c.kind, COUNT(*) AS customers "
        f"FROM customer c WHERE {where.sql} GROUP BY 1, 2",
        **where.params,
    )


def volume(engine: Engine, scope: str, month: str) -> dict[str, float]:
    """Return gasoline, diesel and total tonnes and card CNY sold to scope's customers in `month`."""
    with engine.connect() as conn:
        row = conn.execute(
            text(
                f"SELECT COALESCE(SUM(gasoline_t), 0), COALESCE(SUM(diesel_t), 0), COALESCE(SUM(card_cny), 0) "
                f"FROM station_monthly WHERE {_in('org_path')} AND month = :month"
            ),
            {"scope": scope_like(scope), "month": month},
        ).one()
    g, d, c = (float(v) for v in row)
    return {"gasoline_t": g, "diesel_t": d, "total_t": g + d, "card_cny": c}


def plan_targets(engine: Engine, scope: str, month: str) -> dict[str, int]:
    """Return the development targets 开发目标 for `month` summed over `scope`.

    002 §6.5.3: each district ≥ 1 new institutional customer a month, each station ≥ 10 new
    personal card customers a month; a unit's edited plan row (appendix 1) replaces the default.
    """
    p = rules()["development"]
    params = {"scope": scope_like(scope), "month": month}
    sql = f"""
        SELECT u.level, COALESCE(dp.target, :default) AS target
        FROM org_unit u
        LEFT JOIN development_plan dp ON dp.org_unit_id = u.id AND dp.month = :month AND dp.kind = :kind
        WHERE {_in('u.path')} AND u.level = :level
    """
    with engine.connect() as conn:
        inst = conn.execute(
            text(f"SELECT COALESCE(SUM(target), 0) FROM ({sql}) t"),
            params | {"default": p["institutional_per_district_month"], "kind": "institutional", "level": "district"},
        ).scalar_one()
        card = conn.execute(
            text(f"SELECT COALESCE(SUM(target), 0) FROM ({sql}) t"),
            params | {"default": p["personal_card_per_station_month"], "kind": "personal_card", "level": "station"},
        ).scalar_one()
    return {"institutional": int(inst), "personal_card": int(card)}


def new_customers(engine: Engine, scope: str, month: str) -> dict[str, int]:
    """Return customers developed 新开发 in `month`: institutional ones with their supply agreement
    (developed_institution, 002 §6.5.4.5), personal card holders, and apart ("institutional_no_agreement")
    the institutions developed that month without an agreement, which are not counted."""
    with engine.connect() as conn:
        row = conn.execute(
            text(
                f"SELECT COALESCE(SUM(CASE WHEN {developed_institution().sql} THEN 1 ELSE 0 END), 0), "
                f"COALESCE(SUM(CASE WHEN {new_card_customer().sql} THEN 1 ELSE 0 END), 0), "
                f"COALESCE(SUM(CASE WHEN c.kind = 'institutional' THEN 1 ELSE 0 END), 0) "
                f"FROM customer c WHERE {_in('c.org_path')} AND c.developed_month = :month"
            ),
            {"scope": scope_like(scope), "month": month},
        ).one()
    return {"institutional": int(row[0]), "personal_card": int(row[1]),
            "institutional_no_agreement": int(row[2]) - int(row[0])}


def plan_completion(engine: Engine, scope: str, month: str) -> dict[str, dict]:
    """Return {kind: {target, actual, completion}} for institutional and personal card development; the
    institutional entry also holds `no_agreement`, the institutions developed without one (not counted)."""
    targets, actual = plan_targets(engine, scope, month), new_customers(engine, scope, month)
    out = {
        k: {"target": targets[k], "actual": actual[k], "completion": completion(actual[k], targets[k])}
        for k in ("institutional", "personal_card")
    }
    out["institutional"]["no_agreement"] = actual["institutional_no_agreement"]
    return out


def traffic_counts(engine: Engine, scope: str, month: str) -> dict[str, float]:
    """Return the four-rates counts summed over scope's stations and the days of `month`."""
    with engine.connect() as conn:
        row = conn.execute(
            text(
                f"SELECT SUM(passing_car + passing_medium + passing_truck + passing_bus), SUM(entering), "
                f"SUM(fuelled), SUM(transactions), SUM(full_tank), SUM(identified), SUM(returned) "
                f"FROM station_traffic WHERE {_in('org_path')} AND month = :month"
            ),
            {"scope": scope_like(scope), "month": month},
        ).one()
    keys = ("passing", "entering", "fuelled", "transactions", "full_tank", "identified", "returning")
    return {k: (float(v) if v is not None else None) for k, v in zip(keys, row)}


# Customer counts of the return rate 顾客回头率 and its retention form 留存率 (FOUR_RATES.md, issue 15).
CUSTOMER_KEYS = ("active_customers", "repeat_customers", "prev_active", "retained")


CUSTOMER_SUMS = """SUM(CASE WHEN visits >= 1 THEN 1 ELSE 0 END) AS active_customers,
                   SUM(CASE WHEN visits >= 2 THEN 1 ELSE 0 END) AS repeat_customers"""


def customer_visit_counts(engine: Engine, scope: str, month: str, retention: bool = True) -> pd.DataFrame:
    """Return per station the archive customers 档案客户 (customers on the books: customer_monthly)
    inside `scope` counted by their fuelling visits 加油次数 (monthly consumption's visits).

    Columns: station_id, active_customers (≥ 1 visit in `month`), repeat_customers (≥ 2 visits),
    prev_active (active in the month before — active means ≥ 1 visit, one definition for both
    rates), retained (of those, active again in `month`; counted at last month's station).
    One GROUP BY on the month's rows and, unless `retention` is False (its two columns then
    missing), one on last month's joined to this month's by primary key."""
    month = check_month(month)
    out = _df(engine, f"""SELECT station_id, {CUSTOMER_SUMS} FROM customer_monthly
                          WHERE month = :month AND {_in('org_path')} GROUP BY station_id""",
              scope=scope_like(scope), month=month)
    if not retention:
        return out.astype({"station_id": "int64"})
    prev = _df(engine, f"""SELECT p.station_id, COUNT(*) AS prev_active,
                                  SUM(CASE WHEN c.visits >= 1 THEN 1 ELSE 0 END) AS retained
                           FROM customer_monthly p LEFT JOIN customer_monthly c
                             ON c.customer_id = p.customer_id AND c.month = :month
                           WHERE p.month = :prev AND p.visits >= 1 AND {_in('p.org_path')}
                           GROUP BY p.station_id""", scope=scope_like(scope), month=month, prev=shift_month(month, -1))
    out = out.merge(prev, on="station_id", how="outer")
    return out.fillna(0).astype({k: "int64" for k in CUSTOMER_KEYS} | {"station_id": "int64"})


def customer_totals(engine: Engine, scope: str, month: str, retention: bool = False) -> dict[str, float]:
    """Return the CUSTOMER_KEYS of the whole scope (sums over its stations; the retention counts
    only with `retention`)."""
    df = customer_visit_counts(engine, scope, month, retention)
    return {k: float(df[k].sum()) for k in CUSTOMER_KEYS if k in df.columns}


def scope_four_rates(engine: Engine, scope: str, month: str) -> dict[str, float | None]:
    """Return the four rates 四率 of `scope` in `month` (ratio of sums, lib.kpis.four_rates): the
    traffic file's counts and the customers' visit counts (return rate)."""
    return four_rates(traffic_counts(engine, scope, month) | customer_totals(engine, scope, month))


def churn_count(engine: Engine, scope: str, month: str) -> int:
    """Return the number of customers lost 流失 in `month` within `scope`."""
    return int(
        _scalar(
            engine,
            f"SELECT COUNT(*) FROM customer WHERE {_in('org_path')} AND lost_month = :month",
            scope=scope_like(scope),
            month=month,
        )
    )


def overview(engine: Engine, scope: str, month: str) -> dict:
    """Return the overview page's headline figures for `scope` and `month` in one dict."""
    tiers = customers_by_tier_kind(engine, scope, month)
    by_tier = {t: int(tiers.loc[tiers["tier"] == t, "customers"].sum()) for t in TIERS}
    by_kind = {k: int(tiers.loc[tiers["kind"] == k, "customers"].sum()) for k in ("institutional", "personal")}
    vol = volume(engine, scope, month)
    vol_ly = volume(engine, scope, shift_month(month, -12))
    return {
        "customers": int(tiers["customers"].sum()),
        "by_tier": by_tier,
        "by_kind": by_kind,
        "tier_kind": tiers,
        "volume": vol,
        "volume_last_year": vol_ly,
        "plan": plan_completion(engine, scope, month),
        "four_rates": scope_four_rates(engine, scope, month),
        "churned": churn_count(engine, scope, month),
    }


def volume_trend(engine: Engine, scope: str, month: str, n: int = 24) -> pd.DataFrame:
    """Return monthly gasoline and diesel tonnes for the `n` months up to `month` (for the trend chart)."""
    return _df(
        engine,
        f"SELECT month, SUM(gasoline_t) AS gasoline_t, SUM(diesel_t) AS diesel_t FROM station_monthly "
        f"WHERE {_in('org_path')} AND month > :start AND month <= :month GROUP BY month ORDER BY month",
        scope=scope_like(scope),
        start=shift_month(month, -n),
        month=month,
    )


# --- Users and audit (用户与审计) ------------------------------------------------------------------


def users(engine: Engine, scope: str) -> pd.DataFrame:
    """Return the users whose unit lies inside `scope` (no password hashes)."""
    return _df(
        engine,
        f"SELECT u.id, u.login, u.display_name, u.role, o.name AS unit, u.org_path, u.org_unit_id, "
        f"u.manager_id, u.active, u.failed_attempts, u.locked_until FROM app_user u "
        f"JOIN org_unit o ON o.id = u.org_unit_id WHERE {_in('u.org_path')} ORDER BY u.org_path, u.login",
        scope=scope_like(scope),
    )


def audit_log(engine: Engine, scope: str, entity: str | None = None, limit: int = 200) -> pd.DataFrame:
    """Return the newest audit-log rows inside `scope` (optionally of one entity type)."""
    where = f"{_in('org_path')}" + (" AND entity = :entity" if entity else "")
    return _df(
        engine,
        f"SELECT at, actor, action, entity, entity_id, before, after FROM audit_log WHERE {where} "
        f"ORDER BY at DESC, id DESC LIMIT :limit",
        scope=scope_like(scope), entity=entity, limit=limit,
    )


def managers(engine: Engine, scope: str) -> pd.DataFrame:
    """Return the customer managers 客户经理 inside `scope` (id, name, station unit)."""
    return _df(
        engine,
        f"SELECT m.id, m.name, m.org_unit_id, o.name AS unit FROM customer_manager m "
        f"JOIN org_unit o ON o.id = m.org_unit_id WHERE {_in('m.org_path')} ORDER BY m.org_path, m.name",
        scope=scope_like(scope),
    )
