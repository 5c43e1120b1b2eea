"""Row checks per import kind 逐行校验 (pure: a frame of text cells and a Context → clean values and
issues), vectorised with pandas: types, ranges, references (station, grid and customer codes that
exist and lie inside the importer's scope), duplicates within the file, and impossible counts
(traffic: a count that would make one of the four rates exceed 100 % rejects the row, FOUR_RATES.md).
Customer fields are checked by the customer spec the form uses too (lib.customers.check_fields).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sqlalchemy import Connection, text

from lib import customers, months, org, rules, visits
from lib.auth import SessionUser, manager_scope
from lib.importer import people
from lib.importer.specs import COLUMNS, PASSING, RATE_PAIRS, required
from lib.stations import check_competitor_rows, check_sales_rows, check_station_rows, load_units
from lib.validation import Checker


@dataclass
class Context:
    """What the row checks need from the database, for one import: stations, grids and managers by
    code, customers by code (only those named in the file), the importer's scope and today."""

    scope: str
    today: dt.date
    stations: pd.DataFrame  # index code → id, org_path, org_unit_id, district_id
    grids: pd.DataFrame  # columns code, id, station_id
    managers: pd.DataFrame  # index id → org_unit_id
    customers: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(
        columns=["code", "id", "org_path", "station_id", "manager_id"]).set_index("code"))
    units: pd.DataFrame | None = None  # org units above stations by code (lib.stations.load_units)
    people: dict = field(default_factory=dict)  # units, managers, logins … of lib.importer.people.prepare
    org_units: pd.DataFrame | None = None  # every org unit by code with its parent's code (lib.org.unit_table)
    known: pd.DataFrame | None = None  # customers of the scope: code, name, phone, credit_code (known_customers)
    user: SessionUser | None = None  # the importing user: whose level may change which tiers' figures (issue 15)
    closed_until: str | None = None  # the latest closed month 已关账 (lib.months): rows into it are refused


STATIONS_SQL = ("SELECT s.code, s.id, s.org_path, s.org_unit_id, u.parent_id AS district_id FROM station s "
                "JOIN org_unit u ON u.id = s.org_unit_id")


def _chunks(values: list, n: int = 900):
    for i in range(0, len(values), n):
        yield values[i:i + n]


# the stored values a customers import compares against lib.customers.locked_fields (tier ownership, issue 15)
_LOCK_COLUMNS = (*customers.TIER_FIELDS, "computed_tier", "tier_override")


def _customers_by_code(conn: Connection, codes: list[str]) -> pd.DataFrame:
    parts = []
    for chunk in _chunks(codes):
        names = {f"c{i}": c for i, c in enumerate(chunk)}
        parts.append(pd.read_sql_query(text(
            f"SELECT code, id, org_path, station_id, manager_id, extra, {', '.join(_LOCK_COLUMNS)} FROM customer WHERE code IN "
            f"({', '.join(':' + k for k in names)})"), conn, params=names))
    return pd.concat(parts, ignore_index=True).set_index("code")


def load_context(conn: Connection, scope: str, today: dt.date, customer_codes=(), user: SessionUser | None = None
                 ) -> Context:
    """Read the references an import checks against (everything, scope is checked per row)."""
    stations = pd.read_sql_query(text(STATIONS_SQL), conn).set_index("code")
    grids = pd.read_sql_query(text("SELECT code, id, station_id FROM grid"), conn)
    managers = pd.read_sql_query(text("SELECT id, org_unit_id FROM customer_manager"), conn).set_index("id")
    ctx = Context(scope, today, stations, grids, managers, units=load_units(conn), org_units=org.unit_table(conn),
                  user=user)
    codes = sorted({c for c in customer_codes if c})
    if codes:
        ctx.customers = _customers_by_code(conn, codes)
    ctx.closed_until = months.last_closed(conn)
    return ctx


def known_customers(conn: Connection, scope: str) -> pd.DataFrame:
    """The customers inside `scope` (code, name, phone, credit_code): what a new customer row must not repeat."""
    return pd.read_sql_query(text("SELECT code, name, phone, credit_code FROM customer WHERE org_path LIKE :s"),
                             conn, params={"s": scope + "%"})


def check_frame(kind: str, df: pd.DataFrame, ctx: Context) -> tuple[pd.DataFrame, Checker]:
    """Check a mapped frame of one kind; return (clean values per row, the Checker with its issues)."""
    out, ck = {"customers": check_customers, "consumption": check_consumption, "traffic": check_traffic,
               "visits": check_visits, "stations": check_station_rows,
               "competitor_stations": check_competitor_rows, "station_sales": check_sales_rows,
               **people.CHECKS, "org_units": _check_org_units, "development": _check_development}[kind](df, ctx)
    if kind in MONTH_COLUMN and ctx.closed_until:
        _refuse_closed(ck, out, MONTH_COLUMN[kind], ctx.closed_until)
    return out, ck


# The kinds whose rows belong to a month, and the file column that gives it: a closed month's figures
# never change (DOMAIN §3 History; 002 §6.6.3 the monthly reports), so rows into it are refused.
MONTH_COLUMN = {"consumption": "month", "station_sales": "month", "traffic": "day"}


def _refuse_closed(ck: Checker, out: pd.DataFrame, col: str, closed_until: str) -> None:
    month = out["month"].astype(object)
    closed = month.notna() & (month.astype(str) <= closed_until)
    ck.flag(closed.to_numpy(dtype=bool), col, "month_closed", values=month.astype(str))


# --- references ----------------------------------------------------------------------------------


def _in_scope(paths: pd.Series, scope: str) -> pd.Series:
    return paths.fillna("").str.startswith(scope)


def _scope_under_station(paths: pd.Series, scope: str) -> pd.Series:
    """A customer manager's scope lies under their station's path."""
    return pd.Series([bool(p) and scope.startswith(p) and scope != p for p in paths.fillna("")], index=paths.index)


def station_refs(ck: Checker, col: str, ctx: Context, manager_rows: bool = False) -> pd.DataFrame:
    """Look up station codes; flag unknown ones and stations outside the scope. `manager_rows`: rows that
    carry a manager segment (customers) may name the station of a customer manager's own scope."""
    codes = ck.df[col]
    known = codes.isin(ctx.stations.index)
    ck.flag((codes != "") & ~known, col, "unknown_station", values=codes)
    st = ctx.stations.reindex(codes.where(known, None).tolist())
    st.index = ck.df.index
    inside = _in_scope(st["org_path"], ctx.scope)
    if manager_rows:
        inside |= _scope_under_station(st["org_path"], ctx.scope)
    ck.flag(known & ~inside, col, "outside_scope", values=codes)
    return st


def customer_refs(ck: Checker, col: str, ctx: Context) -> pd.DataFrame:
    """Look up customer codes (any case); flag unknown ones and customers outside the scope."""
    codes = ck.df[col].str.upper()
    known = codes.isin(ctx.customers.index)
    ck.flag((codes != "") & ~known, col, "unknown_customer", values=ck.df[col])
    cu = ctx.customers.reindex(codes.where(known, None).tolist())
    cu.index = ck.df.index
    ck.flag(known & ~_in_scope(cu["org_path"], ctx.scope), col, "outside_scope", values=ck.df[col])
    return cu


# --- customers -----------------------------------------------------------------------------------


def _customer_grids(ck: Checker, ctx: Context, st: pd.DataFrame) -> pd.Series:
    """Grid ids: the named grid, which must belong to the row's station, else the station's first grid."""
    gcode = ck.df["grid_code"]
    grid_of = ctx.grids.set_index("code")
    known = gcode.isin(grid_of.index)
    g = grid_of.reindex(gcode.where(known, None).tolist())
    g.index = ck.df.index
    ck.flag((gcode != "") & (~known | (g["station_id"] != st["id"])), "grid_code", "unknown_grid", values=gcode)
    first_grid = ctx.grids.groupby("station_id")["id"].min()
    return g["id"].where(gcode != "", st["id"].map(first_grid))


def _customer_paths(ck: Checker, ctx: Context, st: pd.DataFrame, mid: pd.Series) -> list:
    """Org paths (the station's, plus m<id>/ with a manager); flags unknown managers and paths outside the scope."""
    df = ck.df
    mid_key = [int(m) if m == m and float(m).is_integer() else None for m in mid]
    m_known = pd.Series([m is not None and m in ctx.managers.index for m in mid_key], index=df.index)
    m_unit = ctx.managers["org_unit_id"].reindex([m if k else None for m, k in zip(mid_key, m_known)]).to_numpy()
    ck.flag((df["manager_id"] != "") & mid.notna() & (~m_known | (m_unit != st["org_unit_id"].to_numpy())),
            "manager_id", "unknown_manager", values=df["manager_id"])
    paths = [manager_scope(p, int(m)) if isinstance(p, str) and m == m else p for p, m in zip(st["org_path"], mid)]
    by_manager = "/m" in ctx.scope
    ck.flag(st["org_path"].notna() & ~pd.Series(paths, index=df.index).fillna("").str.startswith(ctx.scope),
            "manager_id" if by_manager else "station_code", "outside_scope",
            values=df["manager_id"] if by_manager else df["station_code"])
    return paths


def _customer_codes(ck: Checker, ctx: Context, out: pd.DataFrame) -> None:
    """Existing codes update that customer (inside the scope only); new codes must be well-formed."""
    exists = out["code"].isin(ctx.customers.index)
    old = ctx.customers.reindex(out["code"].where(exists, None).tolist())
    old.index = ck.df.index
    ck.flag(exists & ~_in_scope(old["org_path"], ctx.scope), "code", "outside_scope", values=ck.df["code"])
    ck.flag(np.array([bool(c) and not e and not _code_ok(c) for c, e in zip(out["code"], exists)], dtype=bool),
            "code", "bad_code", values=ck.df["code"])
    out["exists"] = exists
    out["old_id"] = old["id"]
    out["old_station_id"] = old["station_id"]
    out["old_extra"] = old["extra"] if "extra" in old.columns else None


def _tier_locks(ck: Checker, ctx: Context, out: pd.DataFrame) -> None:
    """A row changing a field `lib.customers.locked_fields` locks for the importing user (the tier-deciding
    figures of a customer whose tier is owned above the user's level, 002 §6.1.2, §6.4) is refused,
    naming the row, column and reason. Columns the file leaves out hold the stored value (merge), so only
    a cell that changes a locked value is refused; an unchanged one passes."""
    if ctx.user is None or not out["exists"].any():
        return
    old = ctx.customers.reindex(out["code"].where(out["exists"], None).tolist())
    memo: dict = {}
    for i, (e, computed, override) in enumerate(zip(out["exists"], old["computed_tier"], old["tier_override"])):
        if not e or not isinstance(computed, str):
            continue
        key = (computed, override if isinstance(override, str) else None)
        if key not in memo:  # four tiers: the rule is asked once per tier, not once per row
            locked = customers.locked_fields(ctx.user, {"computed_tier": key[0], "tier_override": key[1]})
            memo[key] = {k: v for k, v in locked.items() if k in ck.df.columns and k in out.columns}
        for col, issue in memo[key].items():
            if not customers.same_value(old[col].iloc[i], out[col].iloc[i]):
                ck.add(i, col, issue.code, **issue.params)


def _customer_extra(df: pd.DataFrame, out: pd.DataFrame) -> list:
    """customer.extra 扩展字段 per row: the extension fields the file has a column for, merged over
    what an existing customer has stored (a file without the column leaves the stored value alone)."""
    headers = df.attrs.get("headers")
    fields = [f for f in customers.extra_fields() if f.key in (df.columns if headers is None else headers)]
    old = out["old_extra"].tolist() if isinstance(out["old_extra"], pd.Series) else [None] * len(out)
    if not fields:  # nothing to set: stored values stay as they are (fast path for big files)
        return [None if not isinstance(prev, (str, dict)) else customers.pack_extra({}, customers.extra_dict(prev), ())
                for prev in old]
    cells = out[[f.key for f in fields]].to_dict("records")
    return [customers.pack_extra(cell, customers.extra_dict(prev), fields) for cell, prev in zip(cells, old)]


def _stored_duplicates(ck: Checker, ctx: Context, out: pd.DataFrame) -> None:
    """A new row (no code, or a code not stored) repeating a stored customer of the scope 疑似重复客户 by
    the keys the file's own duplicate check uses, the form's likely-duplicate keys (lib.customers.duplicates):
    the same credit code, or the same name and phone. Refused naming that customer's code; a row naming
    the code updates it instead."""
    known = ctx.known
    if known is None or known.empty:
        return
    new = ~out["exists"].astype(bool)
    by_cc = known[known["credit_code"].fillna("") != ""].drop_duplicates("credit_code").set_index("credit_code")["code"]
    by_np = known[known["phone"].fillna("") != ""].drop_duplicates(["name", "phone"]).set_index(["name", "phone"])["code"]
    cc_hit = out["credit_code"].map(by_cc).where(new & (out["credit_code"] != ""))
    np_keys = pd.MultiIndex.from_arrays([out["name"], out["phone"]])
    np_hit = pd.Series(by_np.reindex(np_keys).to_numpy(), index=out.index).where(new & (out["phone"] != ""))
    for col, hit in (("credit_code", cc_hit), ("name", np_hit)):
        for i in np.flatnonzero(hit.notna().to_numpy()):
            ck.add(int(i), col, "duplicate_customer", value=ck.df[col].iloc[i], code=hit.iloc[i])


def _code_ok(code: str) -> bool:
    try:
        rules.parse_customer_code(code)
    except ValueError:
        return False
    return True


def check_customers(df: pd.DataFrame, ctx: Context) -> tuple[pd.DataFrame, Checker]:
    """Customer rows: the customer spec's field checks, then references, codes, duplicates and the
    tier 分级, rule and size recomputed from the figures (002 §6.3.1, §3.2)."""
    ck = Checker(df)
    out = customers.check_fields(ck, ctx.today)
    out.insert(0, "code", df["code"].str.upper())
    out["agreement"] = pd.Series([a or None for a in out["agreement"]], index=df.index, dtype=object)
    st = station_refs(ck, "station_code", ctx, manager_rows=True)
    out["station_id"], out["station_code"] = st["id"], df["station_code"]
    out["grid_id"] = _customer_grids(ck, ctx, st)
    out["org_path"] = _customer_paths(ck, ctx, st, out["manager_id"])
    _customer_codes(ck, ctx, out)
    _tier_locks(ck, ctx, out)
    out["extra"] = _customer_extra(df, out)
    out = out.drop(columns="old_extra")
    has_code = out["code"] != ""
    ck.duplicates([out["code"]], "code", mask=has_code)
    ck.duplicates([out["credit_code"]], "credit_code", mask=out["credit_code"] != "")
    ck.duplicates([out["name"], out["phone"]], "name", mask=(out["phone"] != "") & ~has_code)
    _stored_duplicates(ck, ctx, out)
    tiers = customers.decide_tiers(out, ck.bad)
    for col in tiers.columns:
        out[col] = tiers[col]
    return out, ck


# --- consumption, traffic, visits ----------------------------------------------------------------


def check_consumption(df: pd.DataFrame, ctx: Context) -> tuple[pd.DataFrame, Checker]:
    """Monthly consumption rows 月度消费: a known customer inside the scope, a month not after this one."""
    ck = Checker(df)
    out = pd.DataFrame(index=df.index)
    ck.text("customer_code", required=True, max_len=24)
    cu = customer_refs(ck, "customer_code", ctx)
    out["customer_id"] = cu["id"]
    out["station_id"] = cu["station_id"]
    out["month"] = ck.month("month", required=True, not_after=ctx.today.strftime("%Y-%m"))
    out["gasoline_t"] = ck.number("gasoline_t", hi=100_000)
    out["diesel_t"] = ck.number("diesel_t", hi=100_000)
    out["card_cny"] = ck.number("card_cny", hi=1e9)
    out["visits"] = ck.number("visits", hi=100_000, integer=True)
    ck.duplicates([df["customer_code"].str.upper(), out["month"]], "customer_code")
    return out, ck


def _rates_above_100(ck: Checker, out: pd.DataFrame) -> None:
    """Reject a count that would make one of the rates exceed 100 % (FOUR_RATES.md)."""
    df = ck.df
    has_passing = (df[list(PASSING)] != "").any(axis=1)
    for num, den, rate in RATE_PAIRS:
        if den == "passing":
            over = has_passing & (out[num] > out["passing"])
        else:
            over = (df[num] != "") & (out[num] > out[den])
        over = over.fillna(False).to_numpy(dtype=bool)
        for i in np.flatnonzero(over):
            ck.add(i, num, "rate_above_100", column=num, value=int(out[num].iloc[i]), other=den,
                   limit=int(out[den].iloc[i]), rate=rate)


def check_traffic(df: pd.DataFrame, ctx: Context) -> tuple[pd.DataFrame, Checker]:
    """Station traffic rows 站点车流: one station and day per row, counts that keep every rate ≤ 100 %."""
    ck = Checker(df)
    out = pd.DataFrame(index=df.index)
    st = station_refs(ck, "station_code", ctx)
    ck.flag(df["station_code"] == "", "station_code", "required")
    out["station_id"] = st["id"]
    out["org_path"] = st["org_path"]
    day = ck.date("day", required=True, not_after=ctx.today)
    out["day"] = day
    out["month"] = [d.strftime("%Y-%m") if d is not None else None for d in day]
    for col in (k for k, _, _ in COLUMNS["traffic"] if k not in ("station_code", "day", "sampling")):
        out[col] = ck.number(col, hi=10_000_000, integer=True, required=required("traffic", col))
    out["passing"] = out[list(PASSING)].sum(axis=1)
    _rates_above_100(ck, out)
    out["sampling"] = df["sampling"].where(df["sampling"] != "", "15min/h x 24h")
    ck.flag(df["sampling"].str.len() > 30, "sampling", "too_long", limit=30)
    ck.duplicates([df["station_code"], out["day"].astype(str)], "day")
    return out, ck


def check_visits(df: pd.DataFrame, ctx: Context) -> tuple[pd.DataFrame, Checker]:
    """Visit rows 维护回访: a known customer inside the scope, then the visit spec the form uses too
    (lib.visits.check_fields: a mode, a planned or done date, a note for a visit done)."""
    ck = Checker(df)
    out = pd.DataFrame(index=df.index)
    ck.text("customer_code", required=True, max_len=24)
    cu = customer_refs(ck, "customer_code", ctx)
    out["customer_id"] = cu["id"]
    out["org_path"] = cu["org_path"]
    out["manager_id"] = cu["manager_id"]
    for key, values in visits.check_fields(ck, ctx.today).items():
        out[key] = values
    ck.duplicates([df["customer_code"].str.upper(), out["mode"], df["planned_on"], df["done_on"]], "customer_code")
    return out, ck


def _check_development(df: pd.DataFrame, ctx: Context) -> tuple[pd.DataFrame, Checker]:
    """Development case rows 客户开发 (lib.importer.devcases, the rules of lib.development's forms)."""
    from lib.importer import devcases

    return devcases.check(df, ctx)


def _check_org_units(df: pd.DataFrame, ctx: Context) -> tuple[pd.DataFrame, Checker]:
    """Org-unit rows 组织单元 (lib.importer.org_units, through the spec lib.org shares with the setup page)."""
    from lib.importer import org_units

    return org_units.check(df, ctx)
