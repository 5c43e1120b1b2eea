"""Summary tables (汇总表) the dashboards read instead of millions of detail rows.

- `station_monthly` holds, per station, month, tier in force and customer kind, the consumption of
  that station's customers. Call `refresh_station_monthly` in the same transaction as any change to
  `monthly_consumption` or to customers' tiers, stations or kinds.
- `customer_monthly` holds, per customer on the books and month, the tier measured that month and
  the volumes tracking and churn compare against (lib.models.CustomerMonthly). Call
  `refresh_customer_monthly` in the same transaction as any change to a customer's consumption,
  status, months, kind, flags, tier, path, grid or the attributes the dashboards group by
  (lib.customers.MONTHLY_KEYS).

Both hold the tier **in force at the end of each month** from the tier history (lib.tier_history;
DOMAIN §3 "History"), not the customer's current tier, and neither rewrites a **closed month**
已关账月份 (lib.months.close_month; 002 §6.6.3): every refresh starts at the first open month.
"""
from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd
from sqlalchemy import Connection, inspect, text

from lib import months, rules, tier_history
from lib.db import bulk_insert
from lib.months import first_open as _first_open
from lib.queries import in_list, read_df

# the tier in force at the month's end: the history's interval holding the month, else the current one
_TIER = ("CASE WHEN h.customer_id IS NULL THEN COALESCE(c.tier_override, c.computed_tier) "
         "ELSE COALESCE(h.tier_override, h.computed_tier) END")
_INSERT = """
INSERT INTO station_monthly (station_id, month, tier, kind, org_path, customers,
                             gasoline_t, diesel_t, card_cny, visits)
SELECT c.station_id, m.month, {tier}, c.kind, c.org_path,
       SUM(CASE WHEN m.gasoline_t + m.diesel_t > 0 OR m.card_cny > 0 THEN 1 ELSE 0 END),
       SUM(m.gasoline_t), SUM(m.diesel_t), SUM(m.card_cny), SUM(m.visits)
FROM monthly_consumption m JOIN customer c ON c.id = m.customer_id
{join}
{where}
GROUP BY c.station_id, m.month, {tier}, c.kind, c.org_path
"""
_JOIN = (f"LEFT JOIN {tier_history.INTERVALS} h "
         "ON h.customer_id = m.customer_id AND m.month >= h.since_month AND m.month < h.until_month")


def _history_ready(conn: Connection) -> bool:
    """The tier history and closed months exist (not yet while the migrations before 0015 run)."""
    return inspect(conn).has_table("month_close")


def _open_from(conn: Connection) -> str | None:
    return _first_open(conn) if _history_ready(conn) else None


def refresh_station_monthly(conn: Connection, month: str | None = None,
                            station_ids: list[int] | None = None, months: list[str] | None = None) -> None:
    """Rebuild `station_monthly` inside the caller's transaction: all of it, or only the rows of
    one month (or `months`) and/or of some stations (after an import, a tier override or a move).
    Closed months are left as they are (lib.months)."""
    conds, params = [], {}  # conditions as (column, SQL after the column): the detail query prefixes the column
    ready = _history_ready(conn)
    first_open = _first_open(conn) if ready else None
    if first_open is not None:
        conds.append(("month", ">= :first_open"))
        params["first_open"] = first_open
    if month is not None:
        conds.append(("month", "= :m"))
        params["m"] = month
    if months is not None:
        if not months:
            return
        sql, bound = in_list("mo", list(months))
        conds.append(("month", f"IN {sql}"))
        params |= bound
    if station_ids is not None:
        if not station_ids:
            return
        sql, bound = in_list("s", [int(s) for s in station_ids])
        conds.append(("station_id", f"IN {sql}"))
        params |= bound

    def where(alias: dict[str, str]) -> str:
        return ("WHERE " + " AND ".join(f"{alias.get(col, col)} {rest}" for col, rest in conds)) if conds else ""

    conn.execute(text(f"DELETE FROM station_monthly {where({})}"), params)
    conn.execute(text(_INSERT.format(where=where({"month": "m.month", "station_id": "c.station_id"}),
                                     join=_JOIN if ready else "",
                                     tier=_TIER if ready else "COALESCE(c.tier_override, c.computed_tier)")), params)


# --- customer_monthly 客户月度汇总 ------------------------------------------------------------------

_COPIED = ("org_path", "station_id", "grid_id", "lon", "lat", "kind", "computed_tier", "tier_override", "size", "fuel", "payment",
           "value_class")  # customer columns copied into each month's row
_CUSTOMER_COLS = ", ".join(("id", *_COPIED, "status", "developed_month", "lost_month", "agreement",
                            "province_procurement", "stable", "loyalty"))
LOOKBACK = 24  # months back `last_fuel_month` looks (churn's silent window + 12 must fit: lib.tracking)
CHUNK = 50_000  # customers computed at once (about 100 MB of arrays at 36 months)


def _month_index(months) -> np.ndarray:
    """'YYYY-MM' strings → months since year 0 (int, as lib.months.index); parsed once per distinct
    month, unchecked so that the sentinel "0000-01" for a missing month passes."""
    codes, uniq = pd.factorize(pd.Series(months, dtype=object), use_na_sentinel=False)
    if not len(uniq):
        return np.zeros(0, dtype=np.int64)
    idx = np.array([int(m[:4]) * 12 + int(m[5:7]) - 1 for m in uniq.astype(str)], dtype=np.int64)
    return idx[codes]


def _window_sum(a: np.ndarray, width: int, end: np.ndarray) -> np.ndarray:
    """Sum of `a[:, k - width + 1 .. k]` for every k in `end` (all in range), added slice by slice
    so that zeros stay exactly zero (no cumulative-sum round-off)."""
    out = np.zeros((a.shape[0], len(end)))
    for shift in range(width):
        out += a[:, end - shift]
    return out


def refresh_customer_monthly(conn: Connection, customer_ids: Iterable[int] | None = None,
                             from_month: str | None = None) -> int:
    """Rebuild `customer_monthly` inside the caller's transaction, for every customer or only
    `customer_ids`, for the months from `from_month` (default: the first month with data) to the
    last month with data. Returns the number of rows written.

    The measures are those of lib.tiers (002 §6.3: 3-month monthly means, 12-month card purchases
    annualised, months before the customer was developed or before the data begins left out) and
    of lib.tracking (002 §6.6: the mean of the three months before, the same month last year, the
    last month with fuel); the tier comes from lib.rules.tier_decisions, the same rules.
    """
    first, last = conn.execute(text("SELECT MIN(month), MAX(month) FROM monthly_consumption")).first()
    ids = None if customer_ids is None else sorted({int(i) for i in customer_ids})
    start = max(first, from_month) if (first and from_month) else first
    first_open = _open_from(conn)
    if start and first_open and first_open > start:  # closed months stay as they are (lib.months)
        start = first_open
    if ids is not None and not ids:
        return 0
    # old rows go first (also when there is no data at all any more)
    if ids is None:
        conn.execute(text("DELETE FROM customer_monthly" + (" WHERE month >= :s" if start else "")), {"s": start})
    else:
        for part in _batches(ids, 10_000):
            sql, bound = in_list("i", part)
            conn.execute(text(f"DELETE FROM customer_monthly WHERE customer_id IN {sql}"
                              + (" AND month >= :s" if start else "")), bound | {"s": start})
    if first is None or start > last:
        return 0
    first_i, start_i, last_i = (int(_month_index([m])[0]) for m in (first, start, last))
    w0 = start_i - LOOKBACK  # the dense month axis begins here (index 0)
    written, history = 0, _history_ready(conn)
    for cust in _customer_chunks(conn, ids):
        written += _refresh_chunk(conn, cust, w0, first_i, start_i, last_i, history)
    if ids is None and start == first and conn.dialect.name == "postgresql":
        # a full rebuild: order the table by month and path on disk, so a month's rows of a
        # province are read from a few thousand adjacent pages (about 30 s for 17 million rows)
        conn.exec_driver_sql("CLUSTER customer_monthly USING ix_customer_monthly_scope")
        conn.exec_driver_sql("ANALYZE customer_monthly")
    return written


def customer_ids(conn: Connection, codes: list[str]) -> list[int]:
    """Return the ids of the customers with these codes (after a bulk insert or update by code)."""
    out: list[int] = []
    for part in _batches(list(codes), 10_000):
        sql, bound = in_list("i", part)
        out += [r[0] for r in conn.execute(text(f"SELECT id FROM customer WHERE code IN {sql}"), bound)]
    return out


def _batches(seq: list, n: int):
    for i in range(0, len(seq), n):
        yield seq[i:i + n]


def _customer_chunks(conn: Connection, ids: list[int] | None):
    """Customers that can be on the books (existing or lost), CHUNK at a time, ordered by id."""
    where = "status IN ('existing', 'lost')"
    if ids is None:
        after = -1
        while True:
            df = read_df(conn, f"SELECT {_CUSTOMER_COLS} FROM customer WHERE {where} AND id > :a "
                               f"ORDER BY id LIMIT {CHUNK}", a=after)
            if df.empty:
                return
            yield df
            after = int(df["id"].iloc[-1])
    else:
        for part in _batches(ids, min(CHUNK, 10_000)):
            sql, bound = in_list("i", part)
            df = read_df(conn, f"SELECT {_CUSTOMER_COLS} FROM customer WHERE {where} AND id IN {sql} ORDER BY id",
                         **bound)
            if len(df):
                yield df


def _refresh_chunk(conn: Connection, cust: pd.DataFrame, w0: int, first_i: int, start_i: int, last_i: int,
                   history: bool = True) -> int:
    from lib.models import CustomerMonthly

    n, width = len(cust), last_i - w0 + 1
    ids = cust["id"].to_numpy()
    lo, hi = int(ids.min()), int(ids.max())
    cons = read_df(
        conn,
        "SELECT customer_id, month, gasoline_t, diesel_t, card_cny, visits FROM monthly_consumption "
        "WHERE customer_id >= :lo AND customer_id <= :hi AND month >= :w0",
        lo=lo, hi=hi, w0=months.from_index(max(w0, 0)))
    pos = pd.Series(np.arange(n), index=ids)
    cons = cons[cons["customer_id"].isin(pos.index)]
    ci = pos.loc[cons["customer_id"]].to_numpy()
    mi = _month_index(cons["month"]) - w0 if len(cons) else np.zeros(0, dtype=int)
    G, D, C, V = (np.zeros((n, width)) for _ in range(4))
    VIS = np.zeros((n, width), dtype=np.int64)
    G[ci, mi] = cons["gasoline_t"].to_numpy(dtype=float)
    D[ci, mi] = cons["diesel_t"].to_numpy(dtype=float)
    C[ci, mi] = cons["card_cny"].to_numpy(dtype=float)
    VIS[ci, mi] = cons["visits"].to_numpy(dtype=np.int64)
    V = G + D

    # the months the customer counts from: developed, but not before the data begins
    dev = cust["developed_month"]
    dev_i = np.where(dev.notna(), _month_index(dev.fillna("0000-01")), first_i)
    since = np.maximum(dev_i, first_i)[:, None]  # absolute month index
    # lib.queries.on_books: existing, or lost after the month (a lost customer without a month never is)
    lost_i = np.where(cust["lost_month"].notna(), _month_index(cust["lost_month"].fillna("0000-01")), -1)
    lost_i = np.where(cust["status"].to_numpy() == "lost", lost_i, 10 ** 9)[:, None]
    months_abs = np.arange(start_i, last_i + 1)  # output months
    end = months_abs - w0  # their positions on the dense axis
    on_books = (lost_i > months_abs[None, :]) & (dev_i[:, None] <= months_abs[None, :])

    n3 = np.clip(months_abs[None, :] - since + 1, 1, 3)
    n12 = np.clip(months_abs[None, :] - since + 1, 1, 12)
    # rounded to the gram and the fen, so that data given in decimals meets a threshold as a person
    # adding it up would (1.763 + 2.251 + 1.986 t over three months is 2 t a month, 002 §6.3.1.3.1 含2吨)
    g_avg = np.round(_window_sum(G, 3, end) / n3, 6)
    d_avg = np.round(_window_sum(D, 3, end) / n3, 6)
    card = np.round(_window_sum(C, 12, end) * 12 / n12, 2)
    prev_n = np.clip(months_abs[None, :] - np.maximum(since, months_abs[None, :] - 3), 0, 3)
    prev3 = _window_sum(V, 3, end - 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        prev3_avg = np.where(prev_n > 0, prev3 / np.maximum(prev_n, 1), np.nan)
    last_year = np.where(months_abs[None, :] - 12 >= since, V[:, end - 12], np.nan)
    fuelled_at = np.where(V > 0, np.arange(width)[None, :], -1)
    last_fuel = np.maximum.accumulate(fuelled_at, axis=1)[:, end]
    last_fuel = np.where(last_fuel >= (end - LOOKBACK)[None, :], last_fuel + w0, -1)  # within LOOKBACK months

    # month by month (the rows of one month lie together on disk: a month's scan reads few pages)
    k, r = np.nonzero(on_books.T)  # output month position, customer row
    if not len(r):
        return 0
    inst = (cust["kind"].to_numpy() == "institutional")[r]
    agreement = cust["agreement"].astype(object).where(cust["agreement"].notna(), None).to_numpy()[r]
    rule = rules.tier_decisions(g_avg[r, k], d_avg[r, k], card[r, k], institutional=inst, agreement=agreement,
                                province_procurement=cust["province_procurement"].fillna(False).astype(bool).to_numpy()[r],
                                stable=cust["stable"].fillna(False).astype(bool).to_numpy()[r],
                                card_holder=cust["payment"].isin(rules.CARD_PAYMENTS).to_numpy()[r],  # 002 §6.4.1.4.3
                                fixed=(cust["loyalty"] == "fixed").to_numpy()[r])
    labels = np.array([months.from_index(int(i)) for i in range(w0, last_i + 1)], dtype=object)
    month_labels = labels[end]
    lf = last_fuel[r, k]
    # the tier in force at each month's end (lib.tier_history), not the current one: one query per chunk
    hist = tier_history.frame(conn, lo, hi, months.from_index(start_i - 1)) if history else pd.DataFrame()
    held = tier_history.in_force(hist, ids[r], months_abs[k], {c: cust[c].to_numpy()[r] for c in tier_history.COLS})
    cols = {
        "customer_id": ids[r].tolist(),
        "month": month_labels[k].tolist(),
        **{c: _none_for_nan(cust[c].to_numpy()[r]) if c in ("lon", "lat")
           else cust[c].to_numpy()[r].tolist() for c in _COPIED if c != "grid_id" and c not in held},
        **{c: v.tolist() for c, v in held.items()},
        # a customer without a grid makes the column float (NaN): back to int or None for COPY
        "grid_id": [None if g is None or g != g else int(g) for g in cust["grid_id"].to_numpy()[r].tolist()],
        "gasoline_t": G[r, end[k]].tolist(),
        "diesel_t": D[r, end[k]].tolist(),
        "visits": VIS[r, end[k]].tolist(),
        "g_avg_t": g_avg[r, k].tolist(),
        "d_avg_t": d_avg[r, k].tolist(),
        "card_year_cny": card[r, k].tolist(),
        "measured_tier": [rules.RULE_TIER[x] for x in rule],
        "rule": rule.tolist(),
        "prev3_avg_t": _none_for_nan(prev3_avg[r, k]),
        "last_year_t": _none_for_nan(last_year[r, k]),
        "last_fuel_month": [labels[i - w0] if i >= 0 else None for i in lf.tolist()],
    }
    return bulk_insert(conn, CustomerMonthly.__table__, cols)


def _none_for_nan(a: np.ndarray) -> list:
    return [None if x is None or x != x else x for x in a.tolist()]
