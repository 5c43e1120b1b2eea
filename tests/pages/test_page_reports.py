"""Page reports 月度报表: the pack's figures against independent SQL and the overview, and the pack build."""
from __future__ import annotations

import pytest
from apptest_helpers import (
    T,
    assert_chinese_key_numbers,
    consumption,
    customers,
    metrics,
    on_books,
    open_page,
    scope_and_month,
)
from sqlalchemy import text

from lib import fmt

PAGE = "pages/reports.py"


@pytest.mark.parametrize("city_index", [None, 1])
def test_reports_page_figures(engine, city_index):
    at = open_page(PAGE, city_index=city_index)
    scope, month = scope_and_month(engine, city_index)
    custs = [c for c in customers(engine, scope) if c[1] == "institutional" and on_books(c, month)]
    cons, _ = consumption(engine, scope)
    with engine.connect() as conn:
        lost = conn.execute(text("SELECT COUNT(*) FROM customer WHERE org_path LIKE :s AND lost_month = :m "
                                 "AND kind = 'institutional'"), {"s": scope + "%", "m": month}).scalar()
    shown = metrics(at)
    assert shown[T("pack.tracked")] == fmt.count(len(custs), "en")
    assert shown[T("pack.inst_volume")] == fmt.tonnes(sum(sum(cons[c[0]].get(month, (0, 0, 0))[:2]) for c in custs),
                                                      "en")
    assert shown[T("pack.inst_lost")] == fmt.count(lost, "en")
    assert shown[T("overview.plan_card")] == metrics(open_page("pages/overview.py", city_index=city_index))[
        T("overview.plan_card")]


def test_reports_page_speaks_chinese_with_the_key_numbers_first(fixture_url):
    assert_chinese_key_numbers(PAGE, "月度报表")


def test_report_button_builds_the_pack(fixture_url):
    at = open_page(PAGE, login="area")
    assert not [b for b in at.get("download_button")]
    at.button(key="pack_build").click().run()
    assert not at.exception
    assert len(at.get("download_button")) == 1


def test_admin_closes_and_reopens_the_month_and_the_city_manager_sees_only_the_state(writable):
    """Issue 15: the close control 月份关账 (admins, with a confirmation, audited; lib.months)."""
    from lib import months

    at = open_page(PAGE)
    month = "2026-10"  # the writable province's last month, the page's default
    assert [b.label for b in at.button if b.key == "month_close"] == [T("close.close", month=month)]
    at.button(key="month_close").click().run()
    assert not months.closed(writable)  # not before the confirmation
    at.button(key="month_close_yes").click().run()
    assert not at.exception
    assert months.last_closed(writable) == month
    with writable.connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM audit_log WHERE action = 'month_close'")).scalar() == 1
    assert any(T("close.done_close", first="", last="", n=0).split(":")[0] in s.value for s in at.success)
    city = open_page(PAGE, login="city")
    assert not [b for b in city.button if b.key == "month_close"]
    assert any(month in i.value for i in city.info)
    at.button(key="month_close").click().run()  # now the reopen button
    at.button(key="month_close_yes").click().run()
    assert months.last_closed(writable) == "2026-09"  # the month and later reopen; the months before stay closed
