"""Formatting per language (Babel)."""
import datetime as dt

import pytest

from lib import fmt


@pytest.mark.parametrize("fn, args, zh, en", [
    (fmt.count, (24263,), "24,263", "24,263"),
    (fmt.count, (0,), "0", "0"),
    (fmt.tonnes, (25807.62,), "25,807.6 吨", "25,807.6 t"),
    (fmt.tonnes, (None,), "无数据", "no data"),
    (fmt.pct, (0.2534,), "25.3%", "25.3%"),
    (fmt.pct, (None,), "无数据", "no data"),
    (fmt.cny, (15304645,), "¥15,304,645", "CN¥15,304,645"),
    (fmt.month, ("2026-10",), "2026年10月", "October 2026"),
    (fmt.date, (dt.date(2026, 10, 1),), "2026年10月1日", "1 Oct 2026"),
    (fmt.number, (1234.567, ), "1,234.6", "1,234.6"),
], ids=lambda v: str(v) if not callable(v) else v.__name__)
def test_formats(fn, args, zh, en):
    assert fn(*args, "zh") == zh
    assert fn(*args, "en") == en


@pytest.mark.parametrize("value, text", [(0.224, "+22.4%"), (-0.05, "-5.0%"), (0.0, "+0.0%"), (None, None)])
def test_signed_percent_for_deltas(value, text):
    assert fmt.pct(value, "zh", signed=True) == text
