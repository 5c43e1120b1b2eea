"""Customer archive 客户档案 (DOMAIN §2–§4): search, profile, create and edit, duplicate check.

Search pages in SQL with a keyset on the customer code (`code > :after ORDER BY code LIMIT n`), so
page 1,000 costs what page 1 costs, and every filter is an indexed condition where it can be:

* name 名称: prefix by default (`LIKE 'q%'`; on SQLite also the range `name >= q AND name < q‖U+10FFFF`
  so the B-tree index on `name` is used — SQLite's LIKE never uses a BINARY index); "contains"
  (`LIKE '%q%'`) is offered as a slower option;
* code 客户代码: prefix, upper-cased, the same way on the unique index on `code`;
* phone 电话: exact, on its index;
* scope: `org_path LIKE scope%` (plus, on SQLite, the equivalent range so `ix_customer_scope` is used).

Writes check the actor's scope in this module, not in the page: a user can only read, create or edit
customers whose org path lies inside their own scope (a customer manager's scope is their own
"m<id>/" segment). Codes 客户代码 are assigned once, at creation (001 Dalian 客户代码制: unique and
stable); tier 分级, tier rule and size 规模 are recomputed on every write (002 §6.3.1, §3.2), and the
station summary is refreshed in the same transaction when tier, kind, station or path change.
"""
from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass, field

import pandas as pd
from sqlalchemy import Connection, Engine, text

from lib import rules
from lib.auth import SessionUser, audit, can, manager_scope
from lib.db import write
from lib.queries import in_scope, scope_like
from lib.summary import refresh_customer_monthly, refresh_station_monthly

KINDS = ("institutional", "personal")
STATUSES = ("existing", "potential", "competitor", "lost")  # 存量 潜在 竞争对手 流失
FUELS = ("gasoline", "diesel", "both")
PAYMENTS = ("fuel_card", "bank_card", "cash")
LOYALTIES = ("fixed", "floating", "potential", "lost")
AGREEMENTS = ("province", "city", "district")
PAGE_SIZE = 50
COUNT_CAP = 10_000  # counts above this show as "10,000+" (counting 1M rows for a label is not worth it)

# Every rule id lib.rules.tier_decision can return (their explanations are catalog keys tier_rule.<id>).
TIER_RULES = ("province.procurement", "province.agreement", "province.card", "city.gasoline", "city.diesel",
              "city.agreement", "city.card", "district.gasoline", "district.diesel", "district.agreement",
              "district.card", "station.institution", "station.personal")

_MAX_CHAR = "\U0010ffff"


class DuplicateError(ValueError):
    """Likely duplicates 疑似重复 exist (same name, phone or credit code); `duplicates` lists them."""

    def __init__(self, duplicates: dict):
        self.duplicates = duplicates
        n = len(duplicates["inside"]) + int(duplicates["outside"]["customers"].sum() if len(duplicates["outside"]) else 0)
        super().__init__(f"likely duplicates: {n} customer(s) with the same name, phone or credit code")


# --- search ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Filters:
    """Archive filters; empty values mean "any". `name_mode` is "prefix" (fast) or "contains"."""

    name: str = ""
    name_mode: str = "prefix"
    code: str = ""
    phone: str = ""
    tier: str | None = None
    kind: str | None = None
    status: str | None = None
    grid_id: int | None = None
    manager_id: int | None = None
    station_id: int | None = None


@dataclass
class SearchPage:
    """One page of the archive: rows, the key of the next page (None on the last) and a capped total."""

    rows: pd.DataFrame
    next_after: str | None
    total: int
    total_capped: bool = False
    params: dict = field(default_factory=dict, repr=False)


def _like_escape(s: str) -> str:
    return s.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def scope_condition(col: str, dialect: str) -> str:
    """SQL for "`col` lies inside :scope", indexable on SQLite too (bound :scope, :scope_lo, :scope_hi)."""
    cond = in_scope(col)
    if dialect == "sqlite":  # paths are ASCII and end in "/"; "0" is the character after "/"
        cond += f" AND {col} >= :scope_lo AND {col} < :scope_hi"
    return cond


def scope_params(scope: str) -> dict:
    """Bound parameters for `scope_condition`."""
    return {"scope": scope_like(scope), "scope_lo": scope, "scope_hi": scope[:-1] + "0"}


def _prefix(col: str, param: str, value: str, dialect: str, params: dict) -> tuple[str, str]:
    """Return (driving form, filtering form) of "`col` starts with `value`"."""
    params[param] = _like_escape(value) + "%"
    cond = f"{col} LIKE :{param} ESCAPE '\\'"
    filt = f"{col} || '' LIKE :{param} ESCAPE '\\'"  # an expression: no index (SQLite would use one)
    if dialect != "sqlite":
        return cond, filt
    params[param + "_lo"], params[param + "_hi"] = value, value + _MAX_CHAR
    return f"{cond} AND {col} >= :{param}_lo AND {col} < :{param}_hi", filt


def _conditions(f: Filters, scope: str, dialect: str) -> tuple[dict[str, tuple[str, str]], list[str], dict]:
    """Return ({filter: (driving form, filtering form)}, always-on filters, params).

    The driving form of a condition can use an index; the filtering form cannot (on SQLite, where
    the planner has no statistics to choose by), so the query runs on the index `search` picked.
    """
    params = scope_params(scope)
    conds: dict[str, tuple[str, str]] = {
        "scope": (scope_condition("c.org_path", dialect), in_scope("c.org_path || ''"))}
    plain: list[str] = []
    name = (f.name or "").strip()
    if name:
        if f.name_mode == "contains":
            params["name_any"] = "%" + _like_escape(name) + "%"
            # the covering index on name is scanned (60 ms at 1M rows), not the table
            conds["name"] = ("c.id IN (SELECT n.id FROM customer n WHERE n.name LIKE :name_any ESCAPE '\\')",
                             "c.name || '' LIKE :name_any ESCAPE '\\'")
        else:
            conds["name"] = _prefix("c.name", "name_q", name, dialect, params)
    code = (f.code or "").strip().upper()
    if code:
        conds["code"] = _prefix("c.code", "code_q", code, dialect, params)
    phone = normalise_phone(f.phone) if f.phone else ""
    if phone:
        conds["phone"] = ("c.phone = :phone", "c.phone || '' = :phone")
        params["phone"] = phone
    if f.tier:
        conds["tier"] = ("COALESCE(c.tier_override, c.computed_tier) = :tier",
                         "COALESCE(c.tier_override, c.computed_tier, '') = :tier")
        params["tier"] = f.tier
    for col in ("grid_id", "manager_id", "station_id"):
        value = getattr(f, col)
        if value is not None and value != "":
            conds[col] = (f"c.{col} = :{col}", f"c.{col} + 0 = :{col}")
            params[col] = int(value)
    if f.kind:
        plain.append("c.kind = :kind")
        params["kind"] = f.kind
    if f.status:  # index (status, kind, org_path, code)
        conds["status"] = ("c.status = :status" + (" AND c.kind = :kind" if f.kind else ""),
                           "c.status || '' = :status")
        params["status"] = f.status
    return conds, plain, params


DRIVER_CAP = 20_000  # a driving index matching fewer rows than this is read whole and sorted


def _choose_driver(conn: Connection, conds: dict, params: dict) -> str:
    """Pick the condition matching the fewest rows (counted on its index, capped) to drive the query.

    The scope drives when nothing is selective: its index (org_path, code) is walked in display order
    and the LIMIT stops the walk early.
    """
    counts = {}
    for key, (drive, _) in conds.items():
        if key == "name" and "name_any" in params:
            continue  # "contains" is counted by scanning the name index: do it only when it must drive
        counts[key] = conn.execute(
            text(f"SELECT COUNT(*) FROM (SELECT 1 FROM customer c WHERE {drive} LIMIT :cap) x"),
            params | {"cap": DRIVER_CAP}).scalar_one()
    best = min(counts, key=lambda k: (counts[k], k != "scope"))
    if counts[best] >= DRIVER_CAP and "name_any" in params:
        return "name"
    return best


def _where(conn: Connection, f: Filters, scope: str) -> tuple[str, dict, str]:
    conds, plain, params = _conditions(f, scope, conn.dialect.name)
    driver = _choose_driver(conn, conds, params)
    parts = [drive if key == driver else filt for key, (drive, filt) in conds.items()] + plain
    return " AND ".join(parts), params, driver


def _after_key(after: str | None) -> dict:
    if not after:
        return {}
    path, _, code = after.partition("\t")
    return {"after_path": path, "after_code": code}


def search(engine: Engine, scope: str, filters: Filters = Filters(), after: str | None = None,
           limit: int = PAGE_SIZE, count: bool = True) -> SearchPage:
    """Return one page of customers inside `scope` matching `filters`, in (org path, code) order.

    Columns: id, code, name, kind, sub_type, phone, status, tier, station, grid, manager, org_path.
    `after` is the previous page's `next_after` (keyset paging: every page costs the same).
    `total` counts matches up to COUNT_CAP (`total_capped` when there are more); with count=False
    (later pages) it is -1.
    """
    if not 1 <= limit <= 500:
        raise ValueError("limit: 1–500")
    with engine.connect() as conn:
        where, params, driver = _where(conn, filters, scope)
        keyset = _after_key(after)
        page_where = where + (" AND (c.org_path, c.code) > (:after_path, :after_code)" if keyset else "")
        sql = f"""
            SELECT c.id, c.code, c.name, c.kind, c.sub_type, c.phone, c.status,
                   COALESCE(c.tier_override, c.computed_tier) AS tier, s.name AS station, g.name AS grid,
                   cm.name AS manager, c.org_path
            FROM (SELECT c.* FROM customer c WHERE {page_where} ORDER BY c.org_path, c.code LIMIT :lim) c
            JOIN station s ON s.id = c.station_id
            LEFT JOIN grid g ON g.id = c.grid_id
            LEFT JOIN customer_manager cm ON cm.id = c.manager_id
            ORDER BY c.org_path, c.code"""
        rows = pd.read_sql_query(text(sql), conn, params=params | keyset | {"lim": limit + 1})
        total = -1
        if count:
            total = conn.execute(text(f"SELECT COUNT(*) FROM (SELECT 1 FROM customer c WHERE {where} LIMIT :cap) x"),
                                 params | {"cap": COUNT_CAP + 1}).scalar_one()
    more = len(rows) > limit
    rows = rows.iloc[:limit].reset_index(drop=True)
    last = rows.iloc[-1] if more else None
    return SearchPage(rows, f"{last['org_path']}\t{last['code']}" if more else None, min(int(total), COUNT_CAP),
                      int(total) > COUNT_CAP, params | {"driver": driver})


def choices(engine: Engine, scope: str) -> dict[str, pd.DataFrame]:
    """Return the stations, grids and customer managers inside `scope` (for filter and form pickers).

    A customer manager's scope lies below their station: they get their own station, grid and record.
    """
    station_scope = scope if "/m" not in scope else scope[: scope.rindex("/m") + 1]
    params = {"scope": scope_like(station_scope)}
    with engine.connect() as conn:
        stations = pd.read_sql_query(text(
            f"SELECT s.id, s.code, s.name, s.org_path FROM station s WHERE {in_scope('s.org_path')} ORDER BY s.code"),
            conn, params=params)
        grids = pd.read_sql_query(text(
            f"SELECT g.id, g.code, g.name, g.station_id FROM grid g WHERE {in_scope('g.org_path')} ORDER BY g.code"),
            conn, params=params)
        managers = pd.read_sql_query(text(
            f"SELECT m.id, m.name, m.org_path, s.id AS station_id FROM customer_manager m "
            f"JOIN station s ON s.org_unit_id = m.org_unit_id WHERE {in_scope('m.org_path')} "
            f"ORDER BY m.org_path, m.name"), conn, params=params)
    if station_scope != scope:  # customer manager: only their own record
        mid = int(scope.rstrip("/").rsplit("/m", 1)[1])
        managers = managers[managers["id"] == mid].reset_index(drop=True)
    return {"stations": stations, "grids": grids, "managers": managers}


# --- profile -----------------------------------------------------------------------------------


def tier_explanation(row: dict) -> rules.TierDecision:
    """Return the computed tier decision (tier, rule id, seed section) for a customer row."""
    return rules.tier_decision(
        float(row["gasoline_t"] or 0), float(row["diesel_t"] or 0), float(row["card_cny"] or 0),
        institutional=row["kind"] == "institutional", agreement=row["agreement"] or None,
        province_procurement=bool(row["province_procurement"]), stable=bool(row["stable"]))


def get(engine: Engine, scope: str, customer_id: int) -> dict | None:
    """Return one customer row as a dict when it lies inside `scope`, else None (not found or not yours)."""
    with engine.connect() as conn:
        return _get(conn, scope, customer_id)


def by_code(engine: Engine, scope: str, code: str) -> dict | None:
    """Return the customer with customer code `code` when it lies inside `scope`, else None."""
    with engine.connect() as conn:
        row = conn.execute(text(f"SELECT * FROM customer c WHERE c.code = :code AND {in_scope('c.org_path')}"),
                           {"code": (code or "").strip().upper(), "scope": scope_like(scope)}).mappings().first()
    return dict(row) if row else None


def _get(conn: Connection, scope: str, customer_id: int) -> dict | None:
    row = conn.execute(text(f"SELECT * FROM customer c WHERE c.id = :id AND {in_scope('c.org_path')}"),
                       {"id": int(customer_id), "scope": scope_like(scope)}).mappings().first()
    return dict(row) if row else None


def profile(engine: Engine, scope: str, customer_id: int, months: int = 24) -> dict | None:
    """Return a customer's profile 客户档案 (None when outside `scope`).

    Keys: customer (row dict), tier (in force), decision (lib.rules.TierDecision of the computed tier),
    consumption (month, gasoline_t, diesel_t, card_cny, visits; last `months` months), visits,
    matters, owner (manager dict or None), grid (dict or None), station (dict).
    """
    with engine.connect() as conn:
        c = _get(conn, scope, customer_id)
        if c is None:
            return None
        consumption = pd.read_sql_query(text(
            "SELECT month, gasoline_t, diesel_t, card_cny, visits FROM monthly_consumption "
            "WHERE customer_id = :id ORDER BY month DESC LIMIT :n"), conn, params={"id": c["id"], "n": months})
        visits = pd.read_sql_query(text(
            "SELECT v.id, v.mode, v.planned_on, v.done_on, v.note, m.name AS manager, v.created_by FROM visit v "
            "LEFT JOIN customer_manager m ON m.id = v.manager_id WHERE v.customer_id = :id "
            "ORDER BY COALESCE(v.done_on, v.planned_on) DESC"), conn, params={"id": c["id"]})
        matters = pd.read_sql_query(text(
            "SELECT m.id, m.kind, m.title, m.state, f.step, m.raised_at, m.due_at, m.closed_at FROM matter m "
            "LEFT JOIN matter_flow f ON f.matter_id = m.id WHERE m.customer_id = :id ORDER BY m.raised_at DESC"),
            conn, params={"id": c["id"]})
        owner = conn.execute(text("SELECT id, name, phone, level FROM customer_manager WHERE id = :m"),
                             {"m": c["manager_id"]}).mappings().first() if c["manager_id"] else None
        grid = conn.execute(text("SELECT id, code, name, owner_name, owner_phone FROM grid WHERE id = :g"),
                            {"g": c["grid_id"]}).mappings().first() if c["grid_id"] else None
        station = conn.execute(text("SELECT id, code, name, org_path FROM station WHERE id = :s"),
                               {"s": c["station_id"]}).mappings().first()
    return {
        "customer": c, "tier": rules.effective_tier(c["computed_tier"], c["tier_override"]),
        "decision": tier_explanation(c), "consumption": consumption.sort_values("month").reset_index(drop=True),
        "visits": visits, "matters": matters, "owner": dict(owner) if owner else None,
        "grid": dict(grid) if grid else None, "station": dict(station),
    }


# --- validation --------------------------------------------------------------------------------

_PHONE = re.compile(r"^\+?[0-9]{5,20}$")
_CC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # GB 32100-2015 统一社会信用代码
_CC_W = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]
_MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


def normalise_phone(value) -> str:
    """Return a phone number as text without spaces or hyphens ("0531-8888 6666" → "053188886666")."""
    return re.sub(r"[\s\-()]", "", str(value or "")).strip()


def credit_code_ok(code: str) -> bool:
    """True for an 18-character unified social credit code with a valid check character (GB 32100)."""
    if len(code) != 18 or any(ch not in _CC_CHARS for ch in code):
        return False
    s = sum(_CC_CHARS.index(ch) * w for ch, w in zip(code[:17], _CC_W))
    return code[17] == _CC_CHARS[(31 - s % 31) % 31]


def _text(data: dict, key: str, max_len: int, required: bool = False) -> str:
    value = data.get(key)
    value = "" if value is None or (isinstance(value, float) and math.isnan(value)) else str(value).strip()
    if required and not value:
        raise ValueError(f"{key}: required")
    if len(value) > max_len:
        raise ValueError(f"{key}: at most {max_len} characters")
    return value


def _choice(data: dict, key: str, options, default=None, optional: bool = False):
    value = data.get(key, default)
    if value in ("", None) or (isinstance(value, float) and math.isnan(value)):
        value = default
    if value is None and optional:
        return None
    if value not in options:
        raise ValueError(f"{key}: one of {', '.join(map(str, options))}, got {value!r}")
    return value


def _number(data: dict, key: str, default: float = 0.0, lo: float = 0.0, hi: float = 1e12) -> float:
    value = data.get(key, default)
    if value in ("", None):
        value = default
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{key}: must be a number, got {value!r}") from None
    if math.isnan(value) or math.isinf(value) or not lo <= value <= hi:
        raise ValueError(f"{key}: must be between {lo:g} and {hi:g}")
    return value


def _flag(data: dict, key: str) -> bool:
    value = data.get(key, False)
    if isinstance(value, str):
        value = value.strip().lower()
        if value in ("1", "true", "yes", "y", "是"):
            return True
        if value in ("", "0", "false", "no", "n", "否"):
            return False
        raise ValueError(f"{key}: yes or no, got {value!r}")
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return False
    return bool(value)


def _month(data: dict, key: str) -> str | None:
    value = data.get(key)
    if value in ("", None) or (isinstance(value, float) and math.isnan(value)):
        return None
    value = str(value).strip()
    if not _MONTH.match(value):
        raise ValueError(f"{key}: a month YYYY-MM, got {value!r}")
    return value


def validate(data: dict) -> dict:
    """Return the customer fields of `data` checked and normalised; ValueError names the first bad field.

    Checks only what needs no database (references are checked in `_resolve`).
    """
    out: dict = {"name": _text(data, "name", 200, required=True)}
    out["kind"] = _choice(data, "kind", KINDS)
    sub_types = tuple(rules.CLASS_CODES[out["kind"]])
    out["sub_type"] = _choice(data, "sub_type", sub_types, default="other")
    out["fuel"] = _choice(data, "fuel", FUELS, default="gasoline")
    out["fuel_segment"] = _text(data, "fuel_segment", 30)
    out["payment"] = _choice(data, "payment", PAYMENTS, default="cash")
    out["industry"] = _text(data, "industry", 30)
    phone = normalise_phone(data.get("phone"))
    if phone and not _PHONE.match(phone):
        raise ValueError(f"phone: 5–20 digits, got {data.get('phone')!r}")
    out["phone"] = phone
    credit = _text(data, "credit_code", 30).upper()
    if credit and not credit_code_ok(credit):
        raise ValueError(f"credit_code: not a valid 18-character unified social credit code: {credit!r}")
    out["credit_code"] = credit
    out["contact"] = _text(data, "contact", 50)
    lon, lat = data.get("lon"), data.get("lat")
    lon = None if lon in ("", None) or (isinstance(lon, float) and math.isnan(lon)) else lon
    lat = None if lat in ("", None) or (isinstance(lat, float) and math.isnan(lat)) else lat
    if (lon is None) != (lat is None):
        raise ValueError("lon: give both longitude and latitude, or neither")
    out["lon"] = None if lon is None else _number(data, "lon", lo=73.0, hi=136.0)  # China's extent
    out["lat"] = None if lat is None else _number(data, "lat", lo=3.0, hi=54.0)
    out["status"] = _choice(data, "status", STATUSES, default="existing")
    vc = data.get("value_class", 4)
    try:
        vc = int(vc) if vc not in ("", None) else 4
    except (TypeError, ValueError):
        raise ValueError(f"value_class: 1–4, got {vc!r}") from None
    if not 1 <= vc <= 4:
        raise ValueError(f"value_class: 1–4, got {vc!r}")
    out["value_class"] = vc
    out["loyalty"] = _choice(data, "loyalty", LOYALTIES,
                             default={"existing": "floating", "lost": "lost"}.get(out["status"], "potential"))
    out["gasoline_t"] = _number(data, "gasoline_t", hi=100_000)
    out["diesel_t"] = _number(data, "diesel_t", hi=100_000)
    out["card_cny"] = _number(data, "card_cny", hi=1e10)
    out["agreement"] = _choice(data, "agreement", AGREEMENTS, optional=True)
    out["province_procurement"] = _flag(data, "province_procurement")
    out["stable"] = _flag(data, "stable")
    out["developed_month"] = _month(data, "developed_month")
    out["lost_month"] = _month(data, "lost_month")
    if out["status"] == "lost" and not out["lost_month"]:
        raise ValueError("lost_month: required for a lost customer")
    if out["lost_month"] and out["developed_month"] and out["lost_month"] < out["developed_month"]:
        raise ValueError("lost_month: before the month it was developed")
    out["lost_reason"] = _text(data, "lost_reason", 100) or None
    out["competitor"] = _text(data, "competitor", 50) or None
    override = data.get("tier_override") or None
    if override is not None and override not in rules.TIERS:
        raise ValueError(f"tier_override: one of {', '.join(rules.TIERS)}, got {override!r}")
    out["tier_override"] = override
    reason = _text(data, "tier_override_reason", 500)
    if override and not reason:
        raise ValueError("tier_override_reason: required when the tier is set by hand (002 §6.1.1)")
    out["tier_override_reason"] = reason or None if override else None
    for key in ("station_id", "grid_id", "manager_id"):
        value = data.get(key)
        if value in ("", None) or (isinstance(value, float) and math.isnan(value)):
            out[key] = None
            continue
        try:
            out[key] = int(value)
        except (TypeError, ValueError):
            raise ValueError(f"{key}: not a valid reference, got {value!r}") from None
    if out["station_id"] is None:
        raise ValueError("station_id: required")
    decision = rules.tier_decision(out["gasoline_t"], out["diesel_t"], out["card_cny"],
                                   institutional=out["kind"] == "institutional", agreement=out["agreement"],
                                   province_procurement=out["province_procurement"], stable=out["stable"])
    out["computed_tier"], out["tier_rule"] = decision.tier, decision.rule
    out["size"] = (rules.institution_size(out["gasoline_t"], out["diesel_t"], out["card_cny"])
                   if out["kind"] == "institutional" else None)
    return out


def _resolve(conn: Connection, user: SessionUser, out: dict) -> dict:
    """Check station, grid and manager references and the actor's scope; set org_path. ValueError."""
    st = conn.execute(text("SELECT id, code, org_path, org_unit_id FROM station WHERE id = :s"),
                      {"s": out["station_id"]}).mappings().first()
    if st is None:
        raise ValueError("station_id: no such station")
    if not (st["org_path"].startswith(user.scope) or user.scope.startswith(st["org_path"])):
        raise ValueError("station_id: outside your scope")
    if out["grid_id"] is not None:
        g = conn.execute(text("SELECT station_id FROM grid WHERE id = :g"), {"g": out["grid_id"]}).first()
        if g is None or g[0] != st["id"]:
            raise ValueError("grid_id: the grid does not belong to the customer's station")
    else:
        out["grid_id"] = conn.execute(text("SELECT MIN(id) FROM grid WHERE station_id = :s"), {"s": st["id"]}).scalar()
    if out["manager_id"] is not None:
        mg = conn.execute(text("SELECT org_unit_id, active FROM customer_manager WHERE id = :m"),
                          {"m": out["manager_id"]}).first()
        if mg is None or mg[0] != st["org_unit_id"]:
            raise ValueError("manager_id: the customer manager does not work at the customer's station")
    out["org_path"] = manager_scope(st["org_path"], out["manager_id"]) if out["manager_id"] else st["org_path"]
    if not out["org_path"].startswith(user.scope):
        raise ValueError("station_id: outside your scope")
    out["_station_code"] = st["code"]
    return out


def _check_writer(user: SessionUser) -> None:
    if not can(user, "customers.write"):
        raise ValueError("role: read-only users cannot change customers")


# --- duplicates ----------------------------------------------------------------------------------


def duplicates(engine_or_conn, scope: str, name: str = "", phone: str = "", credit_code: str = "",
               exclude_id: int | None = None) -> dict:
    """Return likely duplicates 疑似重复客户: customers with the same name, phone or credit code.

    `inside` (DataFrame: id, code, name, phone, credit_code, station, reason) lists those inside
    `scope`; `outside` (DataFrame: unit, customers) only counts the others per station, so a
    duplicate check never shows another unit's customer (001: no two units may claim one customer).
    """
    conds, params = [], {"ex": exclude_id or -1}
    if name:
        conds.append("c.name = :name"); params["name"] = name
    if phone:
        conds.append("c.phone = :phone"); params["phone"] = normalise_phone(phone)
    if credit_code:
        conds.append("c.credit_code = :cc"); params["cc"] = credit_code.strip().upper()
    empty = {"inside": pd.DataFrame(columns=["id", "code", "name", "phone", "credit_code", "station", "reason"]),
             "outside": pd.DataFrame(columns=["unit", "customers"])}
    if not conds:
        return empty
    sql = (f"SELECT c.id, c.code, c.name, c.phone, c.credit_code, c.org_path, s.name AS station FROM customer c "
           f"JOIN station s ON s.id = c.station_id WHERE ({' OR '.join(conds)}) AND c.id <> :ex ORDER BY c.code LIMIT 200")
    if isinstance(engine_or_conn, Engine):
        with engine_or_conn.connect() as conn:
            found = pd.read_sql_query(text(sql), conn, params=params)
    else:
        found = pd.read_sql_query(text(sql), engine_or_conn, params=params)
    if found.empty:
        return empty
    reasons = []
    for r in found.itertuples():
        why = [k for k, ok in (("name", name and r.name == name), ("phone", phone and r.phone == params.get("phone")),
                                ("credit_code", credit_code and r.credit_code == params.get("cc"))) if ok]
        reasons.append(",".join(why))
    found["reason"] = reasons
    mine = found["org_path"].str.startswith(scope)
    inside = found[mine].drop(columns="org_path").reset_index(drop=True)
    outside = (found[~mine].groupby("station").size().rename("customers").reset_index()
               .rename(columns={"station": "unit"}))
    return {"inside": inside, "outside": outside}


def _has_duplicates(d: dict) -> bool:
    return len(d["inside"]) > 0 or len(d["outside"]) > 0


# --- create and edit -----------------------------------------------------------------------------


def max_code(conn: Connection, prefix: str) -> str | None:
    """Return the highest customer code starting with `prefix` (an index range on SQLite, whose
    byte order makes it exact; LIKE on PostgreSQL, served by the text_pattern_ops index, because a
    locale collation does not order "~" after the digits)."""
    params: dict = {}
    cond, _ = _prefix("code", "p", prefix, conn.dialect.name, params)
    return conn.execute(text(f"SELECT MAX(code) FROM customer WHERE {cond}"), params).scalar()


def next_code(conn: Connection, station_code: str, kind: str, sub_type: str) -> str:
    """Return the next free customer code for a station, kind and class (001 客户代码制).

    The number is one past the highest used for that station, kind and class code.
    """
    cls = rules.class_code(kind, sub_type)
    prefix = f"{station_code.upper()}{rules.KIND_LETTER[kind]}{cls:02d}"
    top = max_code(conn, prefix)
    seq = 1
    if top:
        try:
            seq = rules.parse_customer_code(top)["seq"] + 1
        except ValueError:
            seq = int(top[len(prefix):len(prefix) + 6]) + 1
    return rules.customer_code(station_code, kind, cls, seq)


_DB_FIELDS = ("name", "kind", "size", "sub_type", "fuel", "fuel_segment", "payment", "industry", "phone",
              "credit_code", "contact", "lon", "lat", "station_id", "grid_id", "org_path", "manager_id", "status",
              "value_class", "loyalty", "gasoline_t", "diesel_t", "card_cny", "agreement", "province_procurement",
              "stable", "computed_tier", "tier_rule", "tier_override", "tier_override_reason", "developed_month",
              "lost_month", "lost_reason", "competitor")


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None).replace(microsecond=0)


def create(engine: Engine, user: SessionUser, data: dict, *, allow_duplicates: bool = False,
           today: dt.date | None = None) -> tuple[int, str]:
    """Create a customer (audited) and return (id, code). ValueError names the bad field; DuplicateError
    when likely duplicates exist and `allow_duplicates` is False (the user confirms, then saves again)."""
    _check_writer(user)
    out = validate(data)
    today = today or dt.date.today()
    if out["status"] == "existing" and not out["developed_month"]:
        out["developed_month"] = today.strftime("%Y-%m")
    with write(engine) as conn:
        _resolve(conn, user, out)
        dup = duplicates(conn, user.scope, out["name"], out["phone"], out["credit_code"])
        if _has_duplicates(dup) and not allow_duplicates:
            raise DuplicateError(dup)
        code = next_code(conn, out["_station_code"], out["kind"], out["sub_type"])
        values = {k: out[k] for k in _DB_FIELDS} | {"code": code, "created_at": _now()}
        if out["tier_override"]:
            values |= {"tier_override_by": user.login, "tier_override_at": _now()}
        cols = list(values)
        conn.execute(text(f"INSERT INTO customer ({', '.join(cols)}) VALUES ({', '.join(':' + c for c in cols)})"),
                     values)
        cid = conn.execute(text("SELECT id FROM customer WHERE code = :c"), {"c": code}).scalar_one()
        audit(conn, user.login, "create", "customer", cid, None, values, org_path=values["org_path"])
        refresh_customer_monthly(conn, [cid])  # on the books from its developed month (lib.summary)
    return cid, code


# fields the per-customer monthly summary depends on (lib.summary.refresh_customer_monthly)
MONTHLY_KEYS = frozenset({"status", "developed_month", "lost_month", "kind", "org_path", "station_id", "agreement",
                          "province_procurement", "stable", "grid_id", "computed_tier", "tier_override", "size",
                          "fuel", "payment", "value_class", "lon", "lat"})


def update(engine: Engine, user: SessionUser, customer_id: int, changes: dict, *,
           allow_duplicates: bool = False) -> dict:
    """Edit a customer inside the actor's scope (audited); return {field: (before, after)} of what changed.

    The code never changes. Tier, tier rule and size are recomputed; when the tier in force, kind,
    station or path change, the station summary is refreshed for the old and new station.
    """
    _check_writer(user)
    with write(engine) as conn:
        before = _get(conn, user.scope, customer_id)
        if before is None:
            raise ValueError("customer: not found in your scope")
        merged = {k: before[k] for k in _DB_FIELDS} | dict(changes)
        if "tier_override" in changes and not changes["tier_override"]:
            merged["tier_override_reason"] = None
        out = validate(merged)
        _resolve(conn, user, out)
        dup = duplicates(conn, user.scope,
                         out["name"] if out["name"] != before["name"] else "",
                         out["phone"] if out["phone"] != before["phone"] else "",
                         out["credit_code"] if out["credit_code"] != before["credit_code"] else "",
                         exclude_id=customer_id)
        if _has_duplicates(dup) and not allow_duplicates:
            raise DuplicateError(dup)
        values = {k: out[k] for k in _DB_FIELDS}
        if out["tier_override"] != before["tier_override"] or (
                out["tier_override"] and out["tier_override_reason"] != before["tier_override_reason"]):
            values |= ({"tier_override_by": user.login, "tier_override_at": _now()} if out["tier_override"]
                       else {"tier_override_by": None, "tier_override_at": None})
        changed = {k: (before[k], v) for k, v in values.items() if _differs(before[k], v)}
        if not changed:
            return {}
        sets = ", ".join(f"{k} = :{k}" for k in changed)
        conn.execute(text(f"UPDATE customer SET {sets} WHERE id = :id"),
                     {k: v for k, (_, v) in changed.items()} | {"id": customer_id})
        audit(conn, user.login, "update", "customer", customer_id, {k: b for k, (b, _) in changed.items()},
              {k: a for k, (_, a) in changed.items()}, org_path=values["org_path"])
        summary_keys = {"computed_tier", "tier_override", "kind", "station_id", "org_path"}
        if summary_keys & set(changed):
            refresh_station_monthly(conn, station_ids=sorted({before["station_id"], values["station_id"]}))
        if MONTHLY_KEYS & set(changed):
            refresh_customer_monthly(conn, [customer_id])
    return changed


def _differs(a, b) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        if a is None or b is None:
            return a is not b
        return abs(float(a) - float(b)) > 1e-9
    if isinstance(b, bool) or isinstance(a, bool):
        return bool(a) != bool(b)
    return a != b


def consumption_chart(df: pd.DataFrame, t):
    """Return a stacked bar chart of a customer's monthly gasoline and diesel tonnes (月度消费)."""
    import plotly.graph_objects as go

    fig = go.Figure()
    for col, colour in (("gasoline_t", "#e6550d"), ("diesel_t", "#3182bd")):
        fig.add_trace(go.Bar(x=df["month"], y=df[col], name=t(f"wcol.{col}"), marker_color=colour))
    fig.update_layout(barmode="stack", height=300, margin={"l": 10, "r": 10, "t": 10, "b": 10},
                      legend={"orientation": "h"}, yaxis_title=t("unit.tonnes"))
    return fig
