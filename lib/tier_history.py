"""Tier history 等级历史 (DOMAIN §3 "History"; 002 §6.1.1 an override applies from its month on;
002 §6.6.3 附录5 机构客户月度等级管理表, the monthly tier sheet due on the 5th).

Each month's summary row (customer_monthly, station_monthly) holds the tier **in force at the end of
that month**, not the customer's current one. The table `customer_tier_before` (lib.models) keeps
it: a row (customer, until_month) says "before `until_month`, the computed tier and the override
were these". Month m's tier is the one of the earliest row with until_month > m, else the
customer's current values (`customer.computed_tier`, `customer.tier_override`).

One writer: `note_changes` (or `note_change` for one customer), called in the write transaction
**before** a customer's computed tier or override is written, with the values about to be written.
It reads the values in force at the end of the month before the change's month and writes them
once per customer and month: the first change of a month keeps the previous month-end's value,
later changes in the same month do not overwrite it (a change and its undo in one month leave the
month's tier as it ends). The month of a change is the current calendar month; a hand override may
name an earlier open month (lib.tiers.set_override `month=`): then the override also replaces the
override of the history rows after that month (it applies from its month on).

Readers: `lib.summary` (customer_monthly vectorised per chunk: `frame` + `in_force`; station_monthly
and lib.tiers.monthly_tiers in SQL: `INTERVALS`).
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from sqlalchemy import Connection, text

from lib import months
from lib.db import bulk_insert
from lib.models import CustomerTierBefore
from lib.queries import in_list, read_df

# the values that decide the tier in force, and the size 规模 the same demand figures give (DOMAIN §2;
# the 附录5 sheet shows it beside the tier)
COLS = ("computed_tier", "tier_override", "size")
META = ("override_reason", "override_by", "override_at")  # the override's own reason, author, time
_CUSTOMER = ("computed_tier", "tier_override", "size", "tier_override_reason", "tier_override_by", "tier_override_at")
CHUNK = 5000

# The history as intervals: the row of (customer, until_month) holds for since_month <= m < until_month
# (since_month: the customer's previous row's until_month, or "0000-00" before every month).
INTERVALS = """(SELECT customer_id, until_month, computed_tier, tier_override, override_reason,
        COALESCE(LAG(until_month) OVER (PARTITION BY customer_id ORDER BY until_month), '0000-00') AS since_month
    FROM customer_tier_before)"""


_KEEP = object()


def note_change(conn: Connection, customer_id: int, computed_tier: str, tier_override: str | None,
                month: str | None = None, *, size=_KEEP) -> int:
    """`note_changes` for one customer: `computed_tier`, `tier_override` (and `size`, when given) are
    the values about to be written (call before the UPDATE). Returns 1 when a history row was written."""
    row = {"customer_id": [int(customer_id)], "computed_tier": [computed_tier], "tier_override": [tier_override]}
    return note_changes(conn, pd.DataFrame(row | ({} if size is _KEEP else {"size": [size]})), month)


def note_changes(conn: Connection, after: pd.DataFrame, month: str | None = None, key: str = "customer_id") -> int:
    """Keep the tier history of the customers in `after` (one row per customer, identified by
    `key`: "customer_id" or "code"; columns computed_tier, tier_override, size, any of them: the values
    about to be written, a missing column meaning "unchanged"), before the caller writes them.

    For each customer whose values differ from those in force at the end of the month before
    `month` (default: the current calendar month), a row (customer, `month`) with those month-end
    values is written, unless one exists already. Returns the rows written.
    """
    month = months.check(month or months.current())
    after = after.drop_duplicates(key, keep="last")
    if after.empty:
        return 0
    cur = _current(conn, after[key].tolist(), key)
    if cur.empty:
        return 0
    cur = cur.set_index(key if key == "code" else "id", drop=False)
    new = after.set_index(key).reindex(cur.index)
    before = _at_month_end(conn, cur, month)
    changed = pd.Series(False, index=cur.index)
    for c in COLS:
        if c in new:
            changed |= _norm(new[c]) != _norm(before[c])
    rows = before[changed & ~before["noted"]].copy()
    if rows.empty:
        return 0
    rows["override_at"] = pd.to_datetime(rows["override_at"], errors="coerce", format="mixed")
    return bulk_insert(conn, CustomerTierBefore.__table__, {
        "customer_id": rows["id"].astype(int).tolist(), "until_month": [month] * len(rows),
        **{c: _plain(rows[c]) for c in (*COLS, *META)}})


def backdate_override(conn: Connection, customer_id: int, month: str, tier: str | None, reason: str | None,
                      by: str | None, at) -> None:
    """An override made effective from an earlier `month` (002 §6.1.1: it applies from its month on):
    the history rows after `month` get it as their override (their computed tier stays)."""
    conn.execute(text("UPDATE customer_tier_before SET tier_override = :t, override_reason = :r, override_by = :b, "
                      "override_at = :at WHERE customer_id = :c AND until_month > :m"),
                 {"t": tier, "r": reason, "b": by, "at": at, "c": int(customer_id), "m": month})


def note_override(conn: Connection, row, tier: str | None, reason: str | None, by: str | None, at,
                  month: str | None = None) -> None:
    """Before a hand override 人工调整 of customer `row` (id, computed_tier) to `tier` is written: check
    its month (`check_month`; default the current one), note the change, and when the month is an
    earlier one, carry the override into the history rows after it (`backdate_override`)."""
    month = check_month(conn, month or months.current())
    note_change(conn, row["id"], row["computed_tier"], tier, month)
    if month < months.current():
        backdate_override(conn, row["id"], month, tier, reason, by, at)


def check_month(conn: Connection, month: str) -> str:
    """The effective month of a hand change: not after the current month, not closed (ValueError)."""
    months.check(month)
    if month > months.current():
        raise ValueError(f"month {month} has not begun yet")
    if months.is_closed(conn, month):
        raise ValueError(months.closed_error(month))
    return month


# --- readers ------------------------------------------------------------------------------------


def frame(conn: Connection, lo: int, hi: int, after_month: str) -> pd.DataFrame:
    """The history rows of customers lo..hi (ids) whose until_month lies after `after_month`, sorted by
    customer and month: customer_id, until_month, computed_tier, tier_override, size (one query per chunk)."""
    return read_df(conn, "SELECT customer_id, until_month, computed_tier, tier_override, size FROM customer_tier_before "
                         "WHERE customer_id >= :lo AND customer_id <= :hi AND until_month > :m "
                         "ORDER BY customer_id, until_month", lo=int(lo), hi=int(hi), m=after_month)


def in_force(hist: pd.DataFrame, cust_ids: np.ndarray, month_idx: np.ndarray,
             current: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The values (`current`'s keys, columns of COLS) in force at the end of each (customer id, month
    index) pair (months as lib.months.index): those of the earliest history row with until_month >
    the month, else the current ones given per pair. Vectorised: one searchsorted over all pairs."""
    out = {}
    for c, v in current.items():
        arr = np.asarray(v, dtype=object).copy()
        arr[pd.isna(arr)] = None  # NaN of a float column → None
        out[c] = arr
    if hist.empty or not len(cust_ids):
        return out
    span = 10 ** 6  # month indexes (year × 12) stay far below this
    hkey = hist["customer_id"].to_numpy(dtype=np.int64) * span + np.array(
        [months.index(m) for m in hist["until_month"]], dtype=np.int64)
    order = np.argsort(hkey, kind="stable")
    hkey, hcust = hkey[order], hist["customer_id"].to_numpy(dtype=np.int64)[order]
    pkey = cust_ids.astype(np.int64) * span + month_idx.astype(np.int64)
    pos = np.searchsorted(hkey, pkey, side="right")  # the first row with until_month > month
    ok = pos < len(hkey)
    ok[ok] = hcust[pos[ok]] == cust_ids.astype(np.int64)[ok]
    src = order[pos[ok]]
    for c in out:
        out[c][ok] = np.array(_plain(hist[c]), dtype=object)[src]
    return out


# --- internals ----------------------------------------------------------------------------------


def _current(conn: Connection, keys: list, key: str) -> pd.DataFrame:
    col = "code" if key == "code" else "id"
    parts = []
    for i in range(0, len(keys), CHUNK):
        sql, bound = in_list("k", [k if col == "code" else int(k) for k in keys[i:i + CHUNK]])
        parts.append(read_df(conn, f"SELECT id, code, {', '.join(_CUSTOMER)} FROM customer WHERE {col} IN {sql}",
                             **bound))
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


def _at_month_end(conn: Connection, cur: pd.DataFrame, month: str) -> pd.DataFrame:
    """Per customer of `cur`: the values in force at the end of the month before `month` (the earliest
    history row from `month` on, else the current ones) and `noted`: a row for `month` exists."""
    out = pd.DataFrame({"id": cur["id"], "computed_tier": cur["computed_tier"], "tier_override": cur["tier_override"],
                        "size": cur["size"], "override_reason": cur["tier_override_reason"], "override_by": cur["tier_override_by"],
                        "override_at": cur["tier_override_at"]}, index=cur.index).astype(object)
    out["noted"] = False  # (object columns: PostgreSQL gives datetime64 columns, the history None)
    ids = cur["id"].astype(int).tolist()
    hist = []
    for i in range(0, len(ids), CHUNK):
        sql, bound = in_list("c", ids[i:i + CHUNK])
        hist.append(read_df(conn, f"SELECT customer_id, until_month, {', '.join((*COLS, *META))} "
                                  f"FROM customer_tier_before WHERE customer_id IN {sql} AND until_month >= :m "
                                  f"ORDER BY customer_id, until_month", m=month, **bound))
    hist = pd.concat(hist, ignore_index=True)
    if hist.empty:
        return out
    first = hist.drop_duplicates("customer_id", keep="first").set_index("customer_id")
    pos = pd.Series(out.index, index=out["id"].astype(int))
    found = pos.reindex(first.index).dropna()
    for c in (*COLS, *META):
        out.loc[found.to_numpy(), c] = first.loc[found.index, c].to_numpy()
    noted = first.index[first["until_month"] == month]
    out.loc[pos.reindex(noted).dropna().to_numpy(), "noted"] = True
    return out


def _norm(s: pd.Series) -> pd.Series:
    """Tier text for comparison: None/NaN/"" alike."""
    return s.astype(object).where(s.notna(), "").replace({None: ""}).astype(str)


def _plain(s: pd.Series) -> list:
    """Values as plain Python (NaN/NaT → None, timestamps → datetime)."""
    if pd.api.types.is_datetime64_any_dtype(s):
        return [None if pd.isna(v) else v.to_pydatetime() for v in s]
    return [None if v is None or (isinstance(v, float) and v != v) or v is pd.NaT else v for v in s.tolist()]
