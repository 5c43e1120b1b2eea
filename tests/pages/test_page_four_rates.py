"""Page four_rates 四率分析: the four rates, their month-on-month deltas and formulas against SQL."""
from __future__ import annotations

import pytest
from apptest_helpers import T, assert_chinese_key_numbers, metrics, open_page, rates, scope_and_month

from lib import fmt, queries

PAGE = "pages/four_rates.py"


@pytest.mark.parametrize("city_index", [None, 3])
def test_four_rates_page_figures_and_formulas(engine, city_index):
    at = open_page(PAGE, city_index=city_index)
    scope, month = scope_and_month(engine, city_index)
    now, prev = rates(engine, scope, month), rates(engine, scope, queries.shift_month(month, -1))
    deltas = {m.label: m.delta for m in at.metric}
    captions = [c.value for c in at.caption]
    for rate, value in now.items():
        assert metrics(at)[T(f"rate.{rate}")] == fmt.pct(value, "en"), rate
        assert deltas[T(f"rate.{rate}")] == fmt.pct((value - prev[rate]) / prev[rate], "en", signed=True)
        assert T(f"rate.{rate}_formula") in captions  # the formula is on screen next to the figure


def test_four_rates_page_speaks_chinese_with_the_key_numbers_first(fixture_url):
    assert_chinese_key_numbers(PAGE, "四率分析")


@pytest.mark.parametrize("login,editor", [("area", True), ("admin", True), ("station", False), ("viewer", False)])
def test_rate_target_editor_only_for_roles_that_set_targets(writable, login, editor):
    """Issue 13: the stations' four-rate targets are edited on the page by district and above."""
    at = open_page(PAGE, login=login)
    assert bool([b for b in at.button if b.key == "fr_targets_save"]) == editor
    if editor:
        at = next(b for b in at.button if b.key == "fr_targets_save").click().run()
        assert not at.exception and not at.error
        assert T("people.grid_unchanged") in [s.value for s in at.success]
