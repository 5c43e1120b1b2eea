"""The writes per import kind 写入: bulk inserts and updates through the driver (executemany with
positional parameters), customer codes for new customers (001 客户代码制), and the summaries
refreshed in the same transaction (lib.summary): after consumption, or customers whose tier, kind or
station changed.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pandas as pd
from sqlalchemy import Connection, text

from lib import rules, stations
from lib.customers import max_code, stored_columns
from lib.db import bulk_insert
from lib.importer import people
from lib.importer.check import Context
from lib.importer.read import FileError
from lib.importer.specs import PASSING
from lib.models import MonthlyConsumption
from lib.queries import shift_month
from lib.summary import customer_ids, refresh_customer_monthly, refresh_station_monthly
from lib.tier_history import note_changes

Progress = Callable[[float, str], None]
STATION_WRITES = {"stations": stations.write_stations, "competitor_stations": stations.write_competitors,
                  "station_sales": stations.write_sales}

def _pylist(s: pd.Series) -> list:
    """A column as a list of plain Python values (NaN/NA → None, timestamps → datetime)."""
    if pd.api.types.is_datetime64_any_dtype(s):
        return [None if pd.isna(v) else v.to_pydatetime() for v in s]
    values = s.astype(object)
    return values.where(s.notna(), None).tolist()


def _rows(frame: pd.DataFrame, cols: list[str]) -> list[tuple]:
    """Rows of `cols` as tuples of plain Python values (column-wise conversion: fast)."""
    return list(zip(*(_pylist(frame[c]) for c in cols)))


def _bulk(conn: Connection, sql: str, cols: list[str], rows: list[tuple]) -> int:
    """executemany on the driver with positional parameters; `sql` has one {} for the placeholders
    of `cols` in order ("?" for sqlite, "%s" for psycopg). Returns the rows affected."""
    if not rows:
        return 0
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    result = conn.exec_driver_sql(sql.replace("{?}", mark), rows)
    return result.rowcount


def _insert_sql(table: str, cols: list[str]) -> str:
    return f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join(['{?}'] * len(cols))})"


def _customer_columns() -> list[str]:
    """The stored customer columns a file sets (the hand-set tier is the form's only), and the
    extension fields packed into `extra` (lib.importer.check)."""
    return [k for k in stored_columns() if not k.startswith("tier_override")] + ["extra"]


def _assign_codes(conn: Connection, out: pd.DataFrame, ctx: Context) -> pd.Series:
    """Codes for new rows without one: next free number per station, kind and class (001 客户代码制)."""
    new = (out["code"] == "")
    codes = out["code"].copy()
    if not new.any():
        return codes
    cls = [rules.class_code(k, s) for k, s in zip(out.loc[new, "kind"], out.loc[new, "sub_type"])]
    prefix = [f"{sc.upper()}{rules.KIND_LETTER[k]}{c:02d}" for sc, k, c in
              zip(out.loc[new, "station_code"], out.loc[new, "kind"], cls)]
    tmp = pd.DataFrame({"prefix": prefix, "station": out.loc[new, "station_code"].tolist(),
                        "kind": out.loc[new, "kind"].tolist(), "cls": cls}, index=out.index[new])
    start = {}
    given = out.loc[~new, "code"].tolist()
    for p in tmp["prefix"].unique():
        top = max_code(conn, p)
        seqs = [int(top[len(p):len(p) + 6])] if top else [0]
        seqs += [int(c[len(p):len(p) + 6]) for c in given if c.startswith(p) and c[len(p):len(p) + 6].isdigit()]
        start[p] = max(seqs)
    tmp["seq"] = tmp.groupby("prefix", sort=False).cumcount() + 1 + tmp["prefix"].map(start)
    if (tmp["seq"] > 999_999).any():
        raise FileError("internal", detail="customer numbers exhausted for a station and class")
    codes.loc[tmp.index] = [rules.customer_code(s, k, int(c), int(q))
                            for s, k, c, q in zip(tmp["station"], tmp["kind"], tmp["cls"], tmp["seq"])]
    return codes


def _write_customers(conn: Connection, out: pd.DataFrame, ctx: Context, actor: str) -> tuple[int, int, list]:
    out = out.copy()
    out["code"] = _assign_codes(conn, out, ctx)
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)
    out["developed_month"] = out["developed_month"].where(out["developed_month"] != "", None)
    out["lost_month"] = out["lost_month"].where(out["lost_month"] != "", None)
    for col in ("lost_reason", "competitor"):
        out[col] = out[col].where(out[col] != "", None)
    out["value_class"] = out["value_class"].astype(int)
    cols = _customer_columns()
    new, upd = out[~out["exists"]], out[out["exists"]]
    if len(new):
        names = cols + ["code", "created_at"]
        _bulk(conn, _insert_sql("customer", names), names, _rows(new.assign(created_at=now), names))
    if len(upd):
        note_changes(conn, upd[["code", "computed_tier", "size"]], key="code")  # the tier history (lib.tier_history)
        _bulk(conn, f"UPDATE customer SET {', '.join(c + ' = {?}' for c in cols)} WHERE code = {{?}}", cols + ["code"],
              _rows(upd, cols + ["code"]))
    # new customers have no consumption yet; updated ones may have changed tier, kind, station or path
    stations = sorted({int(s) for s in pd.concat([upd["station_id"], upd["old_station_id"]]).dropna()})
    if stations:
        refresh_station_monthly(conn, station_ids=stations)
    refresh_customer_monthly(conn, customer_ids(conn, out["code"].tolist()))  # new ones are on the books too
    return len(new), len(upd), stations


def _write_consumption(conn: Connection, out: pd.DataFrame, progress: Progress) -> tuple[int, int]:
    cols = ["customer_id", "month", "gasoline_t", "diesel_t", "card_cny", "visits"]
    out = out.copy()
    out["customer_id"] = out["customer_id"].astype(int)
    out["visits"] = out["visits"].astype(int)
    recs = _rows(out, cols)
    first, last = conn.execute(text("SELECT MIN(month), MAX(month) FROM monthly_consumption")).first()
    updated = 0
    step = 50_000
    for i in range(0, len(recs), step):
        part = recs[i:i + step]
        if conn.dialect.name == "postgresql":  # one DELETE over arrays and a COPY, not 2 × 50,000 statements
            updated += max(conn.execute(text(
                "DELETE FROM monthly_consumption m USING unnest(CAST(:ids AS integer[]), CAST(:months AS varchar[])) "
                "AS d(customer_id, month) WHERE m.customer_id = d.customer_id AND m.month = d.month"),
                {"ids": [r[0] for r in part], "months": [r[1] for r in part]}).rowcount, 0)
            bulk_insert(conn, MonthlyConsumption.__table__, {c: [r[k] for r in part] for k, c in enumerate(cols)})
        else:
            updated += max(_bulk(conn, "DELETE FROM monthly_consumption WHERE customer_id = {?} AND month = {?}",
                                 ["customer_id", "month"], [r[:2] for r in part]), 0)
            _bulk(conn, _insert_sql("monthly_consumption", cols), cols, part)
        progress(0.6 + 0.3 * min(1.0, (i + step) / len(recs)), "write")
    # one pass over the months and stations the file touched
    refresh_station_monthly(conn, months=sorted(set(out["month"])),
                            station_ids=sorted({int(s) for s in out["station_id"]}))
    # A month's volumes feed that month's and the next 12 months' measures (lib.summary). A month
    # before or after the data so far changes every customer on the books: the data's span moved.
    lo, hi = min(out["month"]), max(out["month"])
    if first is None or lo < first:
        refresh_customer_monthly(conn)
    else:
        if hi > last:  # new months: every customer on the books gets its rows for them
            refresh_customer_monthly(conn, from_month=shift_month(last, 1))
        if lo <= last:
            refresh_customer_monthly(conn, out["customer_id"].unique().tolist(), from_month=lo)
    return len(recs) - updated, updated


def _write_traffic(conn: Connection, out: pd.DataFrame) -> tuple[int, int]:
    cols = ["station_id", "day", "org_path", "month", *PASSING, "entering", "fuelled", "transactions", "full_tank",
            "identified", "returned", "peak_nozzle_lifts", "sampling"]
    out = out.copy()
    for c in cols:
        if c not in ("day", "org_path", "month", "sampling"):
            out[c] = out[c].astype(int)
    recs = _rows(out, cols)
    updated = max(_bulk(conn, "DELETE FROM station_traffic WHERE station_id = {?} AND day = {?}",
                        ["station_id", "day"], [r[:2] for r in recs]), 0)
    _bulk(conn, _insert_sql("station_traffic", cols), cols, recs)
    return len(recs) - updated, updated


def _existing_visits(conn: Connection, customer_ids: list[int]) -> dict:
    """{(customer id, mode, planned_on or None, done_on if unplanned): visit id} of the customers' visits
    (the first visit of each key): how a file row finds the visit it edits (`_write_visits`)."""
    found: dict = {}
    for i in range(0, len(customer_ids), 900):
        chunk = customer_ids[i:i + 900]
        names = {f"c{k}": c for k, c in enumerate(chunk)}
        rows = conn.execute(text(
            "SELECT id, customer_id, mode, planned_on, done_on FROM visit WHERE customer_id IN "
            f"({', '.join(':' + n for n in names)}) ORDER BY id"), names).all()
        for vid, cid, mode, planned, done in rows:
            planned, done = _day(planned), _day(done)
            found.setdefault((cid, mode, planned, None if planned else done), vid)
    return found


def _day(value) -> dt.date | None:
    """A date column as read back (SQLite returns text, PostgreSQL dates)."""
    if value is None or isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])


def _write_visits(conn: Connection, out: pd.DataFrame, actor: str) -> tuple[int, int]:
    """Visits: a row naming a visit the customer already has (same mode and planned day; for an
    unplanned visit, the same day done) updates its done day and note, so a downloaded list edited
    in Excel (a planned visit marked done) goes back in without doubling; other rows are new visits."""
    out = out.copy()
    out["customer_id"] = out["customer_id"].astype(int)
    out["created_by"] = actor
    existing = _existing_visits(conn, sorted(set(out["customer_id"].tolist())))
    keys = [(c, m, _day(p), None if _day(p) else _day(d)) for c, m, p, d in
            zip(out["customer_id"], out["mode"], _pylist(out["planned_on"]), _pylist(out["done_on"]))]
    ids = [existing.get(k) for k in keys]
    old = pd.Series([v is not None for v in ids], index=out.index)
    if old.any():
        upd = out[old].assign(id=[v for v in ids if v is not None])
        _bulk(conn, "UPDATE visit SET done_on = {?}, note = {?} WHERE id = {?}", ["done_on", "note", "id"],
              _rows(upd, ["done_on", "note", "id"]))
    cols = ["customer_id", "org_path", "manager_id", "mode", "planned_on", "done_on", "note", "created_by"]
    _bulk(conn, _insert_sql("visit", cols), cols, _rows(out[~old], cols))
    return int((~old).sum()), int(old.sum())




def write_rows(conn: Connection, kind: str, out: pd.DataFrame, ctx: Context, actor: str,
               progress: Progress) -> tuple[int, int]:
    """Write the checked rows of `kind`; return (inserted, updated)."""
    if kind == "customers":
        inserted, updated, _ = _write_customers(conn, out, ctx, actor)
        return inserted, updated
    if kind == "consumption":
        return _write_consumption(conn, out, progress)
    if kind == "traffic":
        return _write_traffic(conn, out)
    if kind in STATION_WRITES:
        return STATION_WRITES[kind](conn, out, actor)
    if kind in people.KINDS:
        return people.write(conn, kind, out, ctx, actor)
    if kind == "org_units":  # org units 组织单元 (lib.importer.org_units)
        from lib.importer import org_units

        return org_units.write(conn, out, actor)
    if kind == "development":  # development cases 客户开发 (lib.importer.devcases)
        from lib.importer import devcases

        return devcases.write(conn, out, actor)
    return _write_visits(conn, out, actor)
