"""Page customers 客户档案: the archive's count against SQL for each scope, the search form and paging."""
from __future__ import annotations

import pytest
from apptest_helpers import T, metrics, one, open_page, scope_of
from sqlalchemy import text

from lib import fmt
from lib.i18n import translator

PAGE = "pages/customers.py"


@pytest.mark.parametrize("login", ["admin", "city", "station", "custmgr"])
def test_archive_count_equals_sql(engine, login):
    at = open_page(PAGE, login)
    n = one(engine, "SELECT COUNT(*) FROM customer WHERE org_path LIKE :s", s=scope_of(engine, login) + "%")
    assert metrics(at)[T("cust.found")] == fmt.count(n, "en")
    assert len(at.dataframe[0].value) == min(50, n)


def test_archive_search_form_and_paging(engine):
    at = open_page(PAGE, "admin")
    first_page = at.dataframe[0].value[T("col.code")].tolist()
    at.button(key="cust_next").click().run()
    second_page = at.dataframe[0].value[T("col.code")].tolist()
    assert second_page and not set(first_page) & set(second_page)
    with engine.connect() as conn:
        code, name = conn.execute(text("SELECT code, name FROM customer ORDER BY id LIMIT 1 OFFSET 77")).one()
    at.text_input(key="cust_q_code").input(code.lower())
    at.button(key="FormSubmitter:cust_search_form-" + T("cust.search")).click().run()
    assert not at.exception
    assert at.dataframe[0].value[T("col.code")].tolist() == [code]
    assert metrics(at)[T("cust.found")] == "1"
    assert at.session_state["cust_selected"] > 0
    assert any(name in str(s.value) for s in at.subheader)  # the profile tab shows the chosen customer


@pytest.mark.parametrize("lang,shown", [("zh", "输入有误:名称: 必填"), ("en", "Invalid input: Name: Required")])
def test_customer_form_shows_the_issue_in_the_users_language(fixture_url, lang, shown):
    """The archive page's new-customer form, submitted without a name: nothing is written (the
    check fails first) and the message is in the page's language ("输入有误:name: required" before)."""
    at = open_page(PAGE, lang=lang)
    at.text_input(key="cust_new_name").set_value("")
    next(b for b in at.button if b.label == translator(lang)("cust.create")).click()
    at.run()
    assert [e.value for e in at.error] == [shown]
