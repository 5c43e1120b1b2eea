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

Tier ownership 分级管理主体 (issue 15; 002 §6.1.1, §6.1.2, §6.4): a hand-set tier is never written here
(the transfer `lib.tiers.set_override` is the one way), and the tier-deciding fields of a customer whose
tier is owned above the user's level are read-only to that user. `locked_fields` says which, for the
form, `update` and the customers import alike.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sqlalchemy import Connection, Engine, text

from lib import rules, validation, vocab
from lib.auth import SessionUser, at_or_above, audit, can, manager_scope
from lib.db import upsert, write
from lib.queries import in_scope, read_df, scope_like, scope_manager_id, station_scope
from lib.summary import refresh_customer_monthly, refresh_station_monthly
from lib.tier_history import note_change
from lib.validation import Checker, Field, ValidationError

# value lists from the one vocabulary (lib.vocab)
KINDS, STATUSES, FUELS = vocab.CUSTOMER_KINDS, vocab.CUSTOMER_STATUSES, vocab.FUELS
PAYMENTS, LOYALTIES, AGREEMENTS = vocab.PAYMENTS, vocab.LOYALTIES, vocab.AGREEMENTS
PAGE_SIZE = 50
COUNT_CAP = 10_000  # counts above this show as "10,000+" (counting 1M rows for a label is not worth it)

# Every rule id lib.rules.tier_decision can return (their explanations are catalog keys tier_rule.<id>).
TIER_RULES = rules.RULE_IDS

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

    Columns: id, code, name, kind, sub_type, phone, status, tier, station, grid, manager, org_path, and
    one column per extension field 扩展字段 of the spec (`extra_fields`).
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
                   cm.name AS manager, c.org_path, c.extra
            FROM (SELECT c.* FROM customer c WHERE {page_where} ORDER BY c.org_path, c.code LIMIT :lim) c
            JOIN station s ON s.id = c.station_id
            LEFT JOIN grid g ON g.id = c.grid_id
            LEFT JOIN customer_manager cm ON cm.id = c.manager_id
            ORDER BY c.org_path, c.code"""
        rows = read_df(conn, sql, **params | keyset | {"lim": limit + 1})
        total = -1
        if count:
            total = conn.execute(text(f"SELECT COUNT(*) FROM (SELECT 1 FROM customer c WHERE {where} LIMIT :cap) x"),
                                 params | {"cap": COUNT_CAP + 1}).scalar_one()
    more = len(rows) > limit
    rows = expand_extra(rows.iloc[:limit].reset_index(drop=True))
    last = rows.iloc[-1] if more else None
    return SearchPage(rows, f"{last['org_path']}\t{last['code']}" if more else None, min(int(total), COUNT_CAP),
                      int(total) > COUNT_CAP, params | {"driver": driver})


def choices(engine: Engine, scope: str) -> dict[str, pd.DataFrame]:
    """Return the stations, grids and customer managers inside `scope` (for filter and form pickers).

    A customer manager's scope lies below their station: they get their own station, grid and record.
    """
    params = {"scope": scope_like(station_scope(scope))}
    with engine.connect() as conn:
        stations = read_df(
            conn, f"SELECT s.id, s.code, s.name, s.org_path FROM station s WHERE {in_scope('s.org_path')} ORDER BY s.code",
            **params)
        grids = read_df(
            conn, f"SELECT g.id, g.code, g.name, g.station_id FROM grid g WHERE {in_scope('g.org_path')} ORDER BY g.code",
            **params)
        managers = read_df(
            conn,
            f"SELECT m.id, m.name, m.org_path, s.id AS station_id FROM customer_manager m "
            f"JOIN station s ON s.org_unit_id = m.org_unit_id WHERE {in_scope('m.org_path')} "
            f"ORDER BY m.org_path, m.name", **params)
    if station_scope(scope) != scope:  # customer manager: only their own record
        mid = scope_manager_id(scope)
        managers = managers[managers["id"] == mid].reset_index(drop=True)
    return {"stations": stations, "grids": grids, "managers": managers}


# --- profile -----------------------------------------------------------------------------------


def tier_explanation(row: dict) -> rules.TierDecision:
    """Return the computed tier decision (tier, rule id, seed section) for a customer row."""
    return rules.tier_decision(
        float(row["gasoline_t"] or 0), float(row["diesel_t"] or 0), float(row["card_cny"] or 0),
        institutional=row["kind"] == "institutional", agreement=row["agreement"] or None,
        province_procurement=bool(row["province_procurement"]), stable=bool(row["stable"]),
        card_holder=row.get("payment") in rules.CARD_PAYMENTS, fixed=row.get("loyalty") == "fixed")


def get(engine: Engine, scope: str, customer_id: int) -> dict | None:
    """Return one customer row as a dict when it lies inside `scope`, else None (not found or not yours)."""
    with engine.connect() as conn:
        return _get(conn, scope, customer_id)


def by_code(engine: Engine, scope: str, code: str) -> dict | None:
    """Return the customer with customer code `code` when it lies inside `scope`, else None."""
    with engine.connect() as conn:
        row = conn.execute(text(f"SELECT * FROM customer c WHERE c.code = :code AND {in_scope('c.org_path')}"),
                           {"code": (code or "").strip().upper(), "scope": scope_like(scope)}).mappings().first()
    return unpack(row) if row else None


def _get(conn: Connection, scope: str, customer_id: int) -> dict | None:
    row = conn.execute(text(f"SELECT * FROM customer c WHERE c.id = :id AND {in_scope('c.org_path')}"),
                       {"id": int(customer_id), "scope": scope_like(scope)}).mappings().first()
    return unpack(row) if row else None


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
        consumption = read_df(
            conn, "SELECT month, gasoline_t, diesel_t, card_cny, visits FROM monthly_consumption "
            "WHERE customer_id = :id ORDER BY month DESC LIMIT :n", id=c["id"], n=months)
        visits = read_df(
            conn, "SELECT v.id, v.mode, v.planned_on, v.done_on, v.note, m.name AS manager, v.created_by FROM visit v "
            "LEFT JOIN customer_manager m ON m.id = v.manager_id WHERE v.customer_id = :id "
            "ORDER BY COALESCE(v.done_on, v.planned_on) DESC", id=c["id"])
        matters = read_df(
            conn, "SELECT m.id, m.kind, m.title, m.state, f.step, m.raised_at, m.due_at, m.closed_at FROM matter m "
            "LEFT JOIN matter_flow f ON f.matter_id = m.id WHERE m.customer_id = :id ORDER BY m.raised_at DESC",
            id=c["id"])
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


# --- validation: one spec for the form and the import 客户字段规则 --------------------------------

_CC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # GB 32100-2015 统一社会信用代码
_CC_W = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]
_PHONE = r"\+?[0-9]{5,20}"
_SUB_TYPES = "/".join(sorted(set(rules.CLASS_CODES["institutional"]) | set(rules.CLASS_CODES["personal"])))

# The customer's fields, in the order of the import file. `form`/`file`: where a field appears; the
# station, grid and manager are ids on the form and codes in a file (references: `_resolve` and the
# importer check them against the database). `widget=False`: checked and kept on save, not shown on
# the form (set by imports). Adding a field the rules do not compute with: a row here with
# stored="extra" and its col.<key> label in lib/locales/*/tables.toml; it then shows on the form, the
# profile, the archive table and its downloads, the import and its template, and is stored in the
# JSON column customer.extra 扩展字段 (no migration). A field the rules compute with needs a real
# column (lib/models/customers.py and a migration).
FIELDS = (
    Field("code", "客户代码", "ref", form=False),
    Field("name", "客户名称", required=True, max_len=200),
    Field("kind", "客户类型", "choice", required=True, options=KINDS),
    Field("sub_type", "客户性质", "own"),
    Field("station_code", "加油站代码", "ref", required=True, form=False),
    Field("station_id", "加油站", "integer", required=True, lo=1, hi=2**63 - 1, file=False),  # before grid and
    Field("grid_id", "网格", "integer", lo=1, hi=2**63 - 1, file=False),  # manager: the form offers theirs
    Field("grid_code", "网格代码", "ref", form=False),
    Field("manager_id", "客户经理编号", "integer", lo=1, hi=2**31),
    Field("phone", "电话", "own"),
    Field("credit_code", "统一社会信用代码", "own"),
    Field("contact", "联系人", max_len=50),
    Field("fuel", "油品", "choice", options=FUELS, default="gasoline"),
    Field("fuel_segment", "细分", max_len=30, widget=False),
    Field("payment", "支付方式", "choice", options=PAYMENTS, default="cash"),
    Field("industry", "行业", max_len=30, widget=False),
    Field("status", "客户状态", "choice", options=STATUSES, default="existing"),
    Field("value_class", "价值类别", "integer", lo=1, hi=4, default=4, widget=False),
    Field("loyalty", "忠诚度", "own", widget=False),
    Field("gasoline_t", "汽油月需求(吨)", "number", hi=100_000, default=0.0),
    Field("diesel_t", "柴油月需求(吨)", "number", hi=100_000, default=0.0),
    Field("card_cny", "不记名卡年采购额(元)", "number", hi=1e10, default=0.0),
    Field("agreement", "协议签订单位", "choice", options=AGREEMENTS),
    Field("province_procurement", "省公司统一采购", "flag"),
    Field("stable", "消费稳定", "flag"),
    Field("developed_month", "开发月份", "month", not_future=True, widget=False),
    Field("lost_month", "流失月份", "month", not_future=True),
    Field("lost_reason", "流失原因", max_len=100),
    Field("competitor", "竞争对手", max_len=50, widget=False),
    Field("lon", "经度", "number", lo=73, hi=136),  # China's extent; typed or picked on the form's map
    Field("lat", "纬度", "number", lo=3, hi=54),
    Field("tier_override", "人工分级", "choice", options=rules.TIERS, file=False),
    Field("tier_override_reason", "人工分级原因", max_len=500, file=False),
)
# what the checks derive from the fields and the customer table stores (tier 分级, rule, size 规模, path)
DERIVED = ("size", "org_path", "computed_tier", "tier_rule")


def form_keys() -> tuple[str, ...]:
    """Keys of the spec's form fields. Read at call time (like the other spec helpers below), so a
    row added to FIELDS counts everywhere at once."""
    return tuple(f.key for f in FIELDS if f.form)


def extra_fields() -> tuple[Field, ...]:
    """The extension fields 扩展字段: spec rows stored in the JSON column customer.extra."""
    return tuple(f for f in FIELDS if f.stored == "extra")


def stored_columns() -> tuple[str, ...]:
    """The customer table columns a form write sets: the form's column fields and what the checks
    derive (`DERIVED`); the extension fields go packed into `extra` (`pack_extra`)."""
    return tuple(f.key for f in FIELDS if f.form and f.stored == "column") + DERIVED




def extra_dict(value) -> dict:
    """The stored `extra` as a dict: JSON text (SQLite, or any raw SQL read) or a dict (PostgreSQL)."""
    if value is None or value == "":
        return {}
    if isinstance(value, str):
        value = json.loads(value)
    return dict(value) if isinstance(value, dict) else {}


def unpack(row) -> dict:
    """A customer row as a dict with `extra` parsed ({key: value}) and each extension field of the
    spec expanded into its own key (None when unset)."""
    out = dict(row)
    extra = extra_dict(out.get("extra"))
    out["extra"] = extra
    for f in extra_fields():
        out[f.key] = extra.get(f.key)
    return out


def expand_extra(df: pd.DataFrame) -> pd.DataFrame:
    """A frame of customer rows with its `extra` column replaced by one column per extension field."""
    if "extra" not in df.columns:
        return df
    extras = [extra_dict(v) for v in df["extra"].tolist()]
    df = df.drop(columns="extra")
    for f in extra_fields():
        df[f.key] = pd.Series([e.get(f.key) for e in extras], index=df.index, dtype=object)
    return df


def _json_value(value):
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return validation.plain(value)


def pack_extra(values: dict, before: dict | None = None, fields=None) -> str | None:
    """JSON text for customer.extra: the stored `before` dict with the extension fields present in
    `values` set over it (merge, not replace: keys `values` leaves out, and keys of fields no longer
    in the spec, keep their stored value); an emptied field is removed. None when nothing is left.
    Text, not a dict, so every write path (SQL text, the ON CONFLICT upsert, the import's
    executemany) binds it alike on SQLite and PostgreSQL. `fields`: the extension fields to set
    (default all of the spec's; an import passes those its file has, once for all rows)."""
    extra = dict(before or {})
    for f in extra_fields() if fields is None else fields:
        if f.key not in values:
            continue
        value = _json_value(values[f.key])
        if value is None or value == "":
            extra.pop(f.key, None)
        else:
            extra[f.key] = value
    return json.dumps(extra, ensure_ascii=False, sort_keys=True) if extra else None


def normalise_phone(value) -> str:
    """Return a phone number as text without spaces or hyphens ("0531-8888 6666" → "053188886666")."""
    return re.sub(r"[\s\-()]", "", str(value or "")).strip()


def credit_code_ok(code: str) -> bool:
    """True for an 18-character unified social credit code with a valid check character (GB 32100)."""
    if len(code) != 18 or any(ch not in _CC_CHARS for ch in code):
        return False
    s = sum(_CC_CHARS.index(ch) * w for ch, w in zip(code[:17], _CC_W))
    return code[17] == _CC_CHARS[(31 - s % 31) % 31]


def check_fields(ck: Checker, today: dt.date) -> pd.DataFrame:
    """Check the customer fields of a frame of text cells (a file, or a form as one row) that need no
    database; return their clean values. Issues go to `ck` with the same codes for form and import."""
    df = ck.df
    out = validation.check_fields(ck, FIELDS, today)
    sub = ck.codes("sub_type", vocab.VALUES["sub_type"], "sub_type")  # labels (物流, Logistics) → codes
    sub = sub.where(sub != "", "other")  # the class depends on the kind (001 客户代码制)
    valid_sub = [k not in KINDS or s in rules.CLASS_CODES[k] for k, s in zip(out["kind"], sub)]
    ck.flag(~np.array(valid_sub, dtype=bool), "sub_type", "bad_choice", values=df["sub_type"], options=_SUB_TYPES,
            vocab="sub_type")
    out["sub_type"] = sub
    phone = df["phone"].str.replace(r"[\s\-()]", "", regex=True)
    ck.flag((phone != "") & ~phone.str.fullmatch(_PHONE), "phone", "bad_phone", values=df["phone"])
    out["phone"] = phone
    cc = df["credit_code"].str.upper()
    ck.flag(np.array([bool(c) and not credit_code_ok(c) for c in cc], dtype=bool), "credit_code",
            "bad_credit_code", values=df["credit_code"])
    out["credit_code"] = cc
    default_loyalty = out["status"].map({"existing": "floating", "lost": "lost"}).fillna("potential")
    loyalty = ck.codes("loyalty", LOYALTIES, "loyalty")
    loyalty = loyalty.where(loyalty != "", default_loyalty)
    ck.flag(~loyalty.isin(LOYALTIES), "loyalty", "bad_choice", values=df["loyalty"], options="/".join(LOYALTIES),
            vocab="loyalty")
    out["loyalty"] = loyalty
    ck.flag((out["status"] == "lost") & (df["lost_month"] == ""), "lost_month", "lost_month_required")
    dev, lost = out["developed_month"], out["lost_month"]
    ck.flag((dev != "") & (lost != "") & (lost < dev), "lost_month", "lost_before_developed", values=lost)
    ck.flag((df["lon"] == "") != (df["lat"] == ""), "lon", "lon_lat")
    if "tier_override" in df:  # set by hand on the form only (002 §6.1.1)
        ck.flag((out["tier_override"] != "") & (out["tier_override_reason"] == ""), "tier_override_reason",
                "override_reason_required")
    return out


def decide_tiers(out: pd.DataFrame, bad) -> pd.DataFrame:
    """Tier 分级, tier rule and size 规模 of each checked row (002 §6.3.1, §3.2); None on bad rows.
    Rows with the same figures get the same decision (files repeat values a lot)."""
    tiers, rules_, sizes = [], [], []
    memo: dict = {}
    for key in zip(out["gasoline_t"].tolist(), out["diesel_t"].tolist(), out["card_cny"].tolist(),
                   out["kind"].tolist(), out["agreement"].tolist(), out["province_procurement"].tolist(),
                   out["stable"].tolist(), out["payment"].tolist(), out["loyalty"].tolist(), list(bad)):
        g_, d_, c_, k_, a_, p_, s_, pay_, loy_, is_bad = key
        if is_bad or any(not isinstance(v, float) or v != v for v in (g_, d_, c_)):
            tiers.append(None); rules_.append(None); sizes.append(None)  # noqa: E702
            continue
        if key not in memo:
            dec = rules.tier_decision(g_, d_, c_, institutional=k_ == "institutional", agreement=a_ or None,
                                      province_procurement=bool(p_), stable=bool(s_),
                                      card_holder=pay_ in rules.CARD_PAYMENTS, fixed=loy_ == "fixed")
            memo[key] = (dec.tier, dec.rule, rules.institution_size(g_, d_, c_) if k_ == "institutional" else None)
        tier, rule, size = memo[key]
        tiers.append(tier); rules_.append(rule); sizes.append(size)  # noqa: E702
    return pd.DataFrame({"computed_tier": tiers, "tier_rule": rules_, "size": sizes}, index=out.index)


def validate(data: dict, today: dt.date | None = None) -> dict:
    """Return the customer fields of the form's `data` checked and normalised (the same checks as an
    import: `check_fields`); ValidationError lists every bad field.

    Checks only what needs no database (references are checked in `_resolve`).
    """
    ck = Checker(validation.text_frame([data], form_keys()), first_row=0)
    out = check_fields(ck, today or dt.date.today())
    if ck.errors:
        raise ValidationError(ck.errors)
    row = {k: validation.plain(v) for k, v in out.iloc[0].items()}
    row |= decide_tiers(out, ck.bad).iloc[0].to_dict()
    for key in ("name", "sub_type", "fuel", "fuel_segment", "payment", "industry", "phone", "credit_code",
                "contact", "status", "loyalty"):
        row[key] = row[key] or ""
    for key in ("station_id", "grid_id", "manager_id", "value_class"):
        row[key] = None if row[key] is None else int(row[key])
    row["province_procurement"], row["stable"] = bool(row["province_procurement"]), bool(row["stable"])
    if not row["tier_override"]:
        row["tier_override_reason"] = None
    for f in extra_fields():  # as stored in JSON (dates as text), so an unchanged value compares equal
        row[f.key] = _json_value(row.get(f.key))
    return row


def _resolve(conn: Connection, user: SessionUser, out: dict) -> dict:
    """Check station, grid and manager references and the actor's scope; set org_path. ValidationError."""
    st = conn.execute(text("SELECT id, code, org_path, org_unit_id FROM station WHERE id = :s"),
                      {"s": out["station_id"]}).mappings().first()
    if st is None:
        raise ValidationError.one("station_id", "unknown_station", value=out["station_id"])
    if not (st["org_path"].startswith(user.scope) or user.scope.startswith(st["org_path"])):
        raise ValidationError.one("station_id", "outside_scope", value=st["code"])
    if out["grid_id"] is not None:
        g = conn.execute(text("SELECT station_id FROM grid WHERE id = :g"), {"g": out["grid_id"]}).first()
        if g is None or g[0] != st["id"]:
            raise ValidationError.one("grid_id", "unknown_grid", value=out["grid_id"])
    else:
        out["grid_id"] = conn.execute(text("SELECT MIN(id) FROM grid WHERE station_id = :s"), {"s": st["id"]}).scalar()
    if out["manager_id"] is not None:
        mg = conn.execute(text("SELECT org_unit_id, active FROM customer_manager WHERE id = :m"),
                          {"m": out["manager_id"]}).first()
        if mg is None or mg[0] != st["org_unit_id"]:
            raise ValidationError.one("manager_id", "unknown_manager", value=out["manager_id"])
    out["org_path"] = manager_scope(st["org_path"], out["manager_id"]) if out["manager_id"] else st["org_path"]
    if not out["org_path"].startswith(user.scope):
        raise ValidationError.one("station_id", "outside_scope", value=st["code"])
    out["_station_code"] = st["code"]
    return out


def _check_writer(user: SessionUser) -> None:
    if not can(user, "customers.write"):
        raise ValidationError.one("role", "read_only")


# --- tier ownership 分级管理主体 (002 §6.1.1, §6.1.2, §6.4; DOMAIN §3) ----------------------------------

# The fields that decide a customer's tier (lib.rules.tier_decision; the kind changes which rules apply).
TIER_FIELDS = ("kind", "gasoline_t", "diesel_t", "card_cny", "agreement", "province_procurement", "stable")
# The hand-set tier: changed only by the tier transfer 上、下级转移 (lib.tiers.set_override, 002 §6.1.1).
TRANSFER_FIELDS = ("tier_override", "tier_override_reason")


def locked_fields(user: SessionUser, row: dict | None) -> dict[str, validation.Issue]:
    """The fields of customer `row` (None: a new customer) that `user` may not change, each with the
    reason (an Issue: err.<code> and its params), for the form, `update` and the customers import alike.

    The hand-set tier always (002 §6.1.1: a tier moves only by the transfer on the tiers page); and
    the tier-deciding fields of a customer whose tier in force is owned above the user's level: the
    superior supervises, the owner level is responsible (002 §6.1.2 上级督导、本级负责; owners §6.4).
    """
    locked = {k: validation.Issue(0, k, "tier_transfer_only") for k in TRANSFER_FIELDS}
    if row is None:
        return locked
    tier = rules.effective_tier(row["computed_tier"], row["tier_override"])
    level = rules.TIER_OWNER_LEVEL[tier]
    if not at_or_above(user, level):
        locked |= {k: validation.Issue(0, k, "tier_owned_above", {"tier": tier, "level": level}) for k in TIER_FIELDS}
    return locked


def same_value(a, b) -> bool:
    """True when a stored value and a new one are the same (blank and None alike; numbers to 1e-6)."""
    a, b = validation.plain(a), validation.plain(b)
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, bool) or isinstance(b, bool):
        return bool(a) == bool(b)
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return abs(float(a) - float(b)) <= 1e-6
    return a == b


def check_locked(user: SessionUser, before: dict | None, after: dict) -> None:
    """ValidationError naming each field of `locked_fields` whose value `after` changes (a new customer:
    any hand-set tier); nothing is written by the caller then."""
    issues = [issue for key, issue in locked_fields(user, before).items()
              if key in after and not same_value(before.get(key) if before else None, after[key])]
    if issues:
        raise ValidationError(issues)


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
        conds.append("c.name = :name")
        params["name"] = name
    if phone:
        conds.append("c.phone = :phone")
        params["phone"] = normalise_phone(phone)
    if credit_code:
        conds.append("c.credit_code = :cc")
        params["cc"] = credit_code.strip().upper()
    empty = {"inside": pd.DataFrame(columns=["id", "code", "name", "phone", "credit_code", "station", "reason"]),
             "outside": pd.DataFrame(columns=["unit", "customers"])}
    if not conds:
        return empty
    sql = (f"SELECT c.id, c.code, c.name, c.phone, c.credit_code, c.org_path, s.name AS station FROM customer c "
           f"JOIN station s ON s.id = c.station_id WHERE ({' OR '.join(conds)}) AND c.id <> :ex ORDER BY c.code LIMIT 200")
    found = read_df(engine_or_conn, sql, **params)
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


def _lock_prefix(conn: Connection, prefix: str) -> None:
    """Serialise code assignment for one code prefix until the caller's transaction ends.

    SQLite needs nothing (`lib.db.write` takes the database write lock with BEGIN IMMEDIATE). On
    PostgreSQL a transaction-scoped advisory lock keyed on the prefix makes a second writer (a form
    or an import) wait for the first to commit, so its MAX(code) read sees the first one's code.
    """
    if conn.dialect.name == "postgresql":
        key = int.from_bytes(hashlib.blake2b(f"customer_code:{prefix}".encode(), digest_size=8).digest(), "big",
                             signed=True)
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": key})


def max_code(conn: Connection, prefix: str) -> str | None:
    """Return the highest customer code starting with `prefix` (an index range on SQLite, whose
    byte order makes it exact; LIKE on PostgreSQL, served by the text_pattern_ops index, because a
    locale collation does not order "~" after the digits). Inside a write transaction the prefix
    stays locked until it ends (`_lock_prefix`), so concurrent writers never read the same maximum."""
    _lock_prefix(conn, prefix)
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


CODE_TRIES = 20


def insert_with_code(conn: Connection, values: dict, station_code: str, kind: str, sub_type: str) -> tuple[int, str]:
    """Insert customer row `values` under the next free code 客户代码 and return (id, code).

    The insert is `ON CONFLICT (code) DO NOTHING`: should the code have been taken after it was
    chosen (a writer that bypassed the prefix lock, e.g. a code given in an import file), nothing is
    written and the next number is tried, so concurrent creates never fail on the unique code.
    """
    for _ in range(CODE_TRIES):
        code = next_code(conn, station_code, kind, sub_type)
        cid = upsert(conn, "customer", values | {"code": code}, key=("code",), update=(), returning="id")
        if cid is not None:
            return int(cid), code
    raise RuntimeError(f"no free customer code for {station_code}/{kind}/{sub_type} after {CODE_TRIES} tries")


# the stored columns as the spec stands at import (kept for callers of the old constant; see stored_columns)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None).replace(microsecond=0)


def create(engine: Engine, user: SessionUser, data: dict, *, allow_duplicates: bool = False,
           today: dt.date | None = None) -> tuple[int, str]:
    """Create a customer (audited) and return (id, code). ValidationError names the bad fields; DuplicateError
    when likely duplicates exist and `allow_duplicates` is False (the user confirms, then saves again)."""
    _check_writer(user)
    check_locked(user, None, data)  # the tier moves by the transfer only (002 §6.1.1)
    today = today or dt.date.today()
    out = validate(data, today)
    if out["status"] == "existing" and not out["developed_month"]:
        out["developed_month"] = today.strftime("%Y-%m")
    with write(engine) as conn:
        _resolve(conn, user, out)
        dup = duplicates(conn, user.scope, out["name"], out["phone"], out["credit_code"])
        if _has_duplicates(dup) and not allow_duplicates:
            raise DuplicateError(dup)
        values = {k: out[k] for k in stored_columns()} | {"extra": pack_extra(out), "code": None,
                                                            "created_at": _now()}
        cid, code = insert_with_code(conn, values, out["_station_code"], out["kind"], out["sub_type"])
        values["code"] = code
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
            raise ValidationError.one("customer", "not_found")
        merged = {k: before.get(k) for k in form_keys()} | dict(changes)
        if "tier_override" in changes and not changes["tier_override"]:
            merged["tier_override_reason"] = None
        out = validate(merged)
        check_locked(user, before, out)  # 002 §6.1.1 transfer only; §6.1.2 the owner level's figures
        _resolve(conn, user, out)
        dup = duplicates(conn, user.scope,
                         out["name"] if out["name"] != before["name"] else "",
                         out["phone"] if out["phone"] != before["phone"] else "",
                         out["credit_code"] if out["credit_code"] != before["credit_code"] else "",
                         exclude_id=customer_id)
        if _has_duplicates(dup) and not allow_duplicates:
            raise DuplicateError(dup)
        values = {k: out[k] for k in stored_columns()}
        changed = {k: (before[k], v) for k, v in values.items() if _differs(before[k], v)}
        extra = {f.key: (before.get(f.key), out[f.key]) for f in extra_fields() if _differs(before.get(f.key), out[f.key])}
        if not changed and not extra:
            return {}
        note_change(conn, customer_id, values["computed_tier"], values["tier_override"], size=values["size"])  # history
        sets = [f"{k} = :{k}" for k in changed] + (["extra = :extra"] if extra else [])
        conn.execute(text(f"UPDATE customer SET {', '.join(sets)} WHERE id = :id"),
                     {k: v for k, (_, v) in changed.items()} | {"id": customer_id}
                     | ({"extra": pack_extra(out, before["extra"])} if extra else {}))
        changed |= extra
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
        fig.add_trace(go.Bar(x=df["month"], y=df[col], name=t(f"col.{col}"), marker_color=colour))
    fig.update_layout(barmode="stack", height=300, margin={"l": 10, "r": 10, "t": 10, "b": 10},
                      legend={"orientation": "h"}, yaxis_title=t("unit.tonnes"))
    return fig
