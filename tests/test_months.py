"""Tests for lib.months: month arithmetic and parsing 月份, year boundaries and bad input."""
from __future__ import annotations

import datetime as dt

import pytest

from lib import months


@pytest.mark.parametrize("month", ["2026-01", "2026-12", "1999-07", "0001-01"], ids=str)
def test_check_accepts_months(month):
    assert months.check(month) == month


@pytest.mark.parametrize("bad", [
    "2026-13", "2026-00", "2026-1", "26-01", "2026/01", "202601", "2026-01-01", " 2026-01", "2026-01 ",
    "0000-01", "", "２０２６-01", None, 202601, dt.date(2026, 1, 1),
], ids=repr)
def test_check_rejects_everything_else(bad):
    with pytest.raises(ValueError, match="YYYY-MM"):
        months.check(bad)


@pytest.mark.parametrize("month, n, expected", [
    ("2026-01", 0, "2026-01"),
    ("2026-01", 1, "2026-02"),
    ("2026-01", -1, "2025-12"),
    ("2025-12", 1, "2026-01"),
    ("2026-11", 2, "2027-01"),
    ("2026-03", -14, "2025-01"),
    ("2026-06", 12, "2027-06"),
    ("2026-06", -12, "2025-06"),
    ("2026-06", 30, "2028-12"),
    ("2000-01", -1, "1999-12"),
], ids=lambda v: str(v))
def test_shift(month, n, expected):
    assert months.shift(month, n) == expected
    assert months.months_between(month, expected) == n


@pytest.mark.parametrize("a, b, n", [
    ("2026-01", "2026-01", 0), ("2025-12", "2026-01", 1), ("2026-01", "2025-12", -1),
    ("2024-02", "2026-02", 24), ("1999-12", "2000-01", 1),
], ids=lambda v: str(v))
def test_months_between(a, b, n):
    assert months.months_between(a, b) == n


@pytest.mark.parametrize("start, end, expected", [
    ("2026-01", "2026-01", ["2026-01"]),
    ("2025-11", "2026-02", ["2025-11", "2025-12", "2026-01", "2026-02"]),
    ("2026-02", "2026-01", []),
], ids=["one", "across-new-year", "empty"])
def test_month_range(start, end, expected):
    assert months.month_range(start, end) == expected


@pytest.mark.parametrize("month, first, last, days", [
    ("2026-01", dt.date(2026, 1, 1), dt.date(2026, 1, 31), 31),
    ("2026-02", dt.date(2026, 2, 1), dt.date(2026, 2, 28), 28),
    ("2024-02", dt.date(2024, 2, 1), dt.date(2024, 2, 29), 29),  # leap year
    ("2000-02", dt.date(2000, 2, 1), dt.date(2000, 2, 29), 29),  # divisible by 400
    ("1900-02", dt.date(1900, 2, 1), dt.date(1900, 2, 28), 28),  # divisible by 100 only
    ("2026-04", dt.date(2026, 4, 1), dt.date(2026, 4, 30), 30),
    ("2026-12", dt.date(2026, 12, 1), dt.date(2026, 12, 31), 31),
], ids=lambda v: str(v))
def test_first_and_last_day(month, first, last, days):
    assert months.first_day(month) == first
    assert months.last_day(month) == last
    assert months.days_in(month) == days
    assert months.of(first) == months.of(last) == month


@pytest.mark.parametrize("day, month", [
    (dt.date(2026, 1, 1), "2026-01"), (dt.date(2025, 12, 31), "2025-12"),
    (dt.datetime(2026, 3, 31, 23, 59), "2026-03"), (dt.date(987, 5, 6), "0987-05"),
], ids=str)
def test_of(day, month):
    assert months.of(day) == month


@pytest.mark.parametrize("fn, args", [
    (months.shift, ("2026-13", 1)), (months.shift, ("2026/01", 1)), (months.months_between, ("2026-01", "x")),
    (months.month_range, ("2026-1", "2026-03")), (months.first_day, ("2026-00",)), (months.last_day, ("",)),
    (months.days_in, (None,)), (months.index, ("202601",)),
], ids=lambda v: getattr(v, "__name__", str(v)))
def test_arithmetic_rejects_bad_months(fn, args):
    with pytest.raises(ValueError, match="YYYY-MM"):
        fn(*args)


@pytest.mark.parametrize("month", ["0001-02", "1999-12", "2026-06", "9999-12"], ids=str)
def test_index_round_trip(month):
    assert months.from_index(months.index(month)) == month
    assert months.index(months.shift(month, -1)) == months.index(month) - 1
