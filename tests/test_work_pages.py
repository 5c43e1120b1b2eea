"""The daily-work pages (AppTest): the figures they show equal an independent SQL computation on the
fixture, and the archive's search form and paging work."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import text
from streamlit.testing.v1 import AppTest

from lib import auth, fmt, matters, visits
from lib.config import rules
from lib.i18n import translator
from lib.ui import Keys

ROOT = Path(__file__).resolve().parent.parent
T = translator("en")


def _uid(engine, login):
    with engine.connect() as conn:
        return conn.execute(text("SELECT id FROM app_user WHERE login = :l"), {"l": login}).scalar_one()


def open_page(engine, path: str, login: str) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.session_state[Keys.LANG] = "en"
    at.session_state[Keys.USER_ID] = _uid(engine, login)
    at.run()
    at.switch_page(path).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def metrics(at) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def scope_of(engine, login):
    return auth.session_user(engine, _uid(engine, login)).scope


def one(engine, sql, **params):
    with engine.connect() as conn:
        return conn.execute(text(sql), params).scalar_one()


@pytest.mark.parametrize("login", ["admin", "city", "station", "custmgr"])
def test_archive_count_equals_sql(engine, login):
    at = open_page(engine, "pages/customers.py", login)
    n = one(engine, "SELECT COUNT(*) FROM customer WHERE org_path LIKE :s", s=scope_of(engine, login) + "%")
    assert metrics(at)[T("cust.found")] == fmt.count(n, "en")
    assert len(at.dataframe[0].value) == min(50, n)


def test_archive_search_form_and_paging(engine):
    at = open_page(engine, "pages/customers.py", "admin")
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


@pytest.mark.parametrize("login", ["admin", "area", "station"])
def test_visit_figures_equal_sql(engine, login):
    at = open_page(engine, "pages/visits.py", login)
    scope = scope_of(engine, login)
    today = dt.date.today()
    planned = one(engine, "SELECT COUNT(*) FROM visit WHERE org_path LIKE :s AND done_on IS NULL AND planned_on >= :a "
                          "AND planned_on <= :b", s=scope + "%", a=today, b=today + dt.timedelta(days=7))
    overdue = one(engine, "SELECT COUNT(*) FROM visit WHERE org_path LIKE :s AND done_on IS NULL AND planned_on < :a",
                  s=scope + "%", a=today)
    due = 0
    with engine.connect() as conn:
        for tier, kind, status, last in conn.execute(text(
                "SELECT COALESCE(c.tier_override, c.computed_tier), c.kind, c.status, (SELECT MAX(v.done_on) FROM "
                "visit v WHERE v.customer_id = c.id) FROM customer c WHERE c.org_path LIKE :s"), {"s": scope + "%"}):
            if status == "existing" and (kind == "institutional" or tier != "station"):
                last = dt.date.fromisoformat(str(last)) if last else None
                due += visits.next_due(last, tier, today) <= today
    shown = metrics(at)
    assert shown[T("visit.planned_7d")] == fmt.count(planned, "en")
    assert shown[T("visit.overdue_plans")] == fmt.count(overdue, "en")
    assert shown[T("visit.due_customers")] == fmt.count(due, "en")


@pytest.mark.parametrize("login,level", [("admin", "province"), ("city", "city"), ("area", "district"),
                                         ("station", "station")])
def test_matter_figures_equal_sql(engine, login, level):
    at = open_page(engine, "pages/matters.py", login)
    scope = scope_of(engine, login)
    now = matters.now_minute()
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT m.kind, m.state, m.due_at, m.closed_at, f.step, f.escalation FROM matter m "
                                 "JOIN matter_flow f ON f.matter_id = m.id WHERE m.org_path LIKE :s"),
                            {"s": scope + "%"}).all()
    month_start = now.replace(day=1, hour=0, minute=0)
    parse = lambda x: dt.datetime.fromisoformat(str(x)) if x else None  # noqa: E731
    waiting = sum(1 for k, s, _, _, step, esc in rows if s != "closed" and matters.acting_level(k, step, esc) == level)
    open_ = sum(1 for r in rows if r.state != "closed")
    late = sum(1 for r in rows if r.state != "closed" and parse(r.due_at) < now)
    closed = sum(1 for r in rows if r.closed_at and parse(r.closed_at) >= month_start)
    shown = metrics(at)
    assert shown[T("matter.waiting_on_me")] == fmt.count(waiting, "en")
    assert shown[T("matter.open")] == fmt.count(open_, "en")
    assert shown[T("matter.overdue")] == fmt.count(late, "en")
    assert shown[T("matter.closed_this_month")] == fmt.count(closed, "en")


@pytest.mark.parametrize("login", ["admin", "area", "station", "custmgr"])
def test_manager_figures_equal_sql(engine, login):
    at = open_page(engine, "pages/managers.py", login)
    scope = scope_of(engine, login)
    station_scope = scope[: scope.rindex("/m") + 1] if "/m" in scope else scope
    month = at.sidebar.selectbox(key=Keys.MONTH).value
    people = one(engine, "SELECT COUNT(*) FROM customer_manager WHERE org_path LIKE :s AND active = :a",
                 s=station_scope + "%", a=True) if "/m" not in scope else 1
    transfer = one(engine, "SELECT COUNT(*) FROM customer_manager WHERE org_path LIKE :s AND active = :a AND misses >= :x"
                   + (" AND id = :m" if "/m" in scope else ""), s=station_scope + "%", a=True,
                   x=rules()["customer_manager"]["transfer_after_misses"],
                   m=int(scope.rstrip("/").rsplit("/m", 1)[1]) if "/m" in scope else 0)
    volume = one(engine, "SELECT COALESCE(SUM(m.gasoline_t + m.diesel_t), 0) FROM monthly_consumption m JOIN customer c "
                         "ON c.id = m.customer_id WHERE c.org_path LIKE :s AND m.month = :mo AND c.manager_id IS NOT NULL",
                 s=scope + "%", mo=month)
    shown = metrics(at)
    assert shown[T("mgr.count")] == fmt.count(people, "en")
    assert shown[T("mgr.transfer_due")] == fmt.count(transfer, "en")
    assert shown[T("mgr.volume")] == fmt.tonnes(volume, "en")


def test_audit_page_counts_the_logged_changes(engine):
    at = open_page(engine, "pages/audit.py", "admin")
    since = dt.datetime.combine(dt.date.today() - dt.timedelta(days=30), dt.time())
    n = one(engine, "SELECT COUNT(*) FROM audit_log WHERE at >= :a", a=since)
    assert n > 0  # creating the demo users was audited
    assert metrics(at)[T("audit.rows")] == fmt.count(min(n, 2000), "en")


def test_imports_page_offers_a_template_for_each_kind(engine):
    at = open_page(engine, "pages/imports.py", "station")
    assert not at.error
    assert T("imp.help.customers") in [m.value for m in at.markdown]
