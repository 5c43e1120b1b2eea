"""Months 月份: the one place for month arithmetic and parsing.

A month is a `YYYY-MM` string everywhere in the app (sortable, portable between SQLite and
PostgreSQL; see lib.models). These functions check, shift, count and bound such months; every
other module uses them instead of slicing `month[:4]` itself.

    check("2026-01")            -> "2026-01"        (ValueError for anything else)
    shift("2026-01", -1)        -> "2025-12"
    months_between("2025-11", "2026-02") -> 3
    month_range("2025-11", "2026-01")    -> ["2025-11", "2025-12", "2026-01"]
    first_day("2026-02"), last_day("2026-02") -> 2026-02-01, 2026-02-28
    of(date(2026, 2, 14))      -> "2026-02"

Closed months 已关账月份 (DOMAIN §3 "History"; 002 §6.6.3, the monthly reports due on the 5th): a closed
month's summary rows (customer_monthly, station_monthly) and so its appendix sheets never change;
imports into it are refused. The closed months are always every month up to the latest closed one:
closing m closes every earlier open month too (a report pack is built on the months before it),
reopening m reopens m and every later month. `closed(conn)`, `first_open(conn)`, `refuse_closed(...)`,
`close_month(engine, actor, m)`, `reopen_month(engine, actor, m)`; table `month_close`.
"""
from __future__ import annotations

import calendar
import datetime as dt
import re
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine, text

if TYPE_CHECKING:
    from lib.auth import SessionUser

_MONTH = re.compile(r"(?!0000)[0-9]{4}-(0[1-9]|1[0-2])")


def check(month: str) -> str:
    """Return `month` if it is a `YYYY-MM` month, else raise ValueError saying so."""
    if not isinstance(month, str) or not _MONTH.fullmatch(month):
        raise ValueError(f"month must be YYYY-MM, got {month!r}")
    return month


def index(month: str) -> int:
    """Return `month` as a number of months since January of year 0 (for arithmetic and arrays)."""
    check(month)
    return int(month[:4]) * 12 + int(month[5:7]) - 1


def from_index(idx: int) -> str:
    """Return the `YYYY-MM` month of a month number made by `index`."""
    return f"{idx // 12:04d}-{idx % 12 + 1:02d}"


def shift(month: str, n: int) -> str:
    """Return the month `n` months after `month` (before it when `n` is negative)."""
    return from_index(index(month) + n)


def months_between(a: str, b: str) -> int:
    """Return how many months `b` lies after `a` (negative when it lies before)."""
    return index(b) - index(a)


def month_range(start: str, end: str) -> list[str]:
    """Return every month from `start` to `end`, both included, in order (empty if `end` < `start`)."""
    lo, hi = index(start), index(end)
    return [from_index(i) for i in range(lo, hi + 1)]


def days_in(month: str) -> int:
    """Return the number of days of `month` (28–31)."""
    check(month)
    return calendar.monthrange(int(month[:4]), int(month[5:7]))[1]


def first_day(month: str) -> dt.date:
    """Return the first day of `month`."""
    check(month)
    return dt.date(int(month[:4]), int(month[5:7]), 1)


def last_day(month: str) -> dt.date:
    """Return the last day of `month` (month-end 月末, e.g. the due day of a survey period)."""
    return first_day(month).replace(day=days_in(month))


def of(day: dt.date) -> str:
    """Return the month a date (or datetime) falls in."""
    return f"{day.year:04d}-{day.month:02d}"


# --- closed months 已关账月份 (table month_close) ---------------------------------------------------


def _rows(conn_or_engine: Connection | Engine, sql: str, **params) -> list:
    if isinstance(conn_or_engine, Engine):
        with conn_or_engine.connect() as conn:
            return conn.execute(text(sql), params).all()
    return conn_or_engine.execute(text(sql), params).all()


def closed(conn_or_engine: Connection | Engine) -> list[str]:
    """Return the closed months, oldest first (every month up to the latest closed one is closed)."""
    return [r[0] for r in _rows(conn_or_engine, "SELECT month FROM month_close ORDER BY month")]


def last_closed(conn_or_engine: Connection | Engine) -> str | None:
    """Return the latest closed month, or None when no month is closed."""
    return _rows(conn_or_engine, "SELECT MAX(month) FROM month_close")[0][0]


def first_open(conn_or_engine: Connection | Engine) -> str | None:
    """Return the first month after the closed ones (None: no month closed, every month is open)."""
    last = last_closed(conn_or_engine)
    return shift(last, 1) if last else None


def is_closed(conn_or_engine: Connection | Engine, month: str) -> bool:
    """True when `month` is closed (it lies at or before the latest closed month)."""
    last = last_closed(conn_or_engine)
    return last is not None and check(month) <= last


def close_state(conn_or_engine: Connection | Engine, month: str) -> dict:
    """The reports page's view of `month` 关账状态: {"closed": bool, "by", "at" (who closed it, when;
    None when open), "last_closed": the latest closed month or None}."""
    row = _rows(conn_or_engine, "SELECT closed_by, closed_at FROM month_close WHERE month = :m", m=check(month))
    last = last_closed(conn_or_engine)
    closed_ = last is not None and month <= last
    by, at = (row[0][0], str(row[0][1])[:16]) if row else (None, None)
    return {"closed": closed_, "by": by, "at": at, "last_closed": last}


def effective_choices(conn_or_engine: Connection | Engine, shown: str) -> list[str]:
    """The months a hand tier change may take effect from (lib.tiers.set_override `month`), newest
    first: the current month back to the month `shown` on the page, none of them closed."""
    lo = max(filter(None, (check(shown), first_open(conn_or_engine))))
    return month_range(lo, current())[::-1] or [current()]


def closed_error(month: str) -> str:
    """The reason an import row or a change into a closed month is refused."""
    return f"month {month} is closed"


def current() -> str:
    """Return the current calendar month (the month a change made today takes effect in)."""
    return of(dt.date.today())


def close_month(engine: Engine, actor: SessionUser, month: str) -> list[str]:
    """Close `month` and every earlier open month (from the first month with data), audited; admins
    only ("months.close"). A month after the current one cannot be closed. Returns the months closed."""
    from lib import auth
    from lib.db import write

    auth.require(actor, "months.close")
    check(month)
    if month > current():
        raise ValueError(f"month {month} has not ended yet")
    with write(engine) as conn:
        last = last_closed(conn)
        first = conn.execute(text("SELECT MIN(month) FROM monthly_consumption")).scalar() or month
        start = shift(last, 1) if last else min(first, month)
        todo = month_range(start, month)
        now = dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)
        for m in todo:
            conn.execute(text("INSERT INTO month_close (month, closed_by, closed_at) VALUES (:m, :b, :at)"),
                         {"m": m, "b": actor.login, "at": now})
        if todo:
            auth.audit(conn, actor.login, "month_close", "month", month, None, {"months": todo}, org_path="/")
    return todo


def reopen_month(engine: Engine, actor: SessionUser, month: str) -> list[str]:
    """Reopen `month` and every later closed month, audited; admins only. Returns the months reopened."""
    from lib import auth
    from lib.db import write

    auth.require(actor, "months.close")
    check(month)
    with write(engine) as conn:
        todo = [r[0] for r in conn.execute(text("SELECT month FROM month_close WHERE month >= :m ORDER BY month"),
                                           {"m": month})]
        conn.execute(text("DELETE FROM month_close WHERE month >= :m"), {"m": month})
        if todo:
            auth.audit(conn, actor.login, "month_reopen", "month", month, None, {"months": todo}, org_path="/")
    return todo
