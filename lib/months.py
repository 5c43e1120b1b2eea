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
"""
from __future__ import annotations

import calendar
import datetime as dt
import re

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
