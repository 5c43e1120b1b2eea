"""Scope: every user sees exactly their part of the organisation (DOMAIN §1, §3), by every path.

The matrix runs every demo role over every page: whatever the page renders (text, metrics, tables,
charts) must not contain a customer name or code from outside the user's scope.
"""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from apptest_helpers import LAZY_TABS, rendered_text, session_token, user_of
from sqlalchemy import text
from streamlit.testing.v1 import AppTest

from lib import auth, queries
from lib.db import write
from lib.i18n import translator
from lib.ui import PAGES, Keys, allowed_pages

ROOT = Path(__file__).resolve().parent.parent
ROLES = {u[0]: u[2] for u in auth.DEMO_USERS}


_user = user_of


def _outsiders(engine, scope: str, limit: int = 3000) -> set[str]:
    """Names and codes of customers outside `scope` (long enough not to match by accident)."""
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT name, code FROM customer WHERE org_path NOT LIKE :s ORDER BY id LIMIT :n"),
            {"s": scope + "%", "n": limit},
        ).all()
    return {v for r in rows for v in r if v and len(v) >= 4}


_rendered_text = rendered_text


def _render(engine, login: str, spec, tab: str | None = None) -> str:
    """Log in as demo user `login`, open page `spec` when the role may see it, return what it shows.
    `tab` (catalog key of a lazy tab's label, LAZY_TABS) opens that tab of the page: only the open
    tab runs, so each tab is a view of its own."""
    user = _user(engine, login)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180)
    at.session_state[Keys.SESSION] = session_token(user.id)
    if tab:
        at.session_state[LAZY_TABS[spec.path][0]] = translator("zh")(tab)
    at.run()
    allowed = spec in allowed_pages(user.role)
    if allowed:
        at.switch_page(spec.path).run()
    assert not at.exception, [e.value for e in at.exception]
    if tab and allowed:  # the tab asked for is the one that ran
        assert at.session_state[LAZY_TABS[spec.path][0]] == translator("zh")(tab)
    return _rendered_text(at)


# Every view of every page: a page, or one lazy tab of a page with tabs (tiers, churn).
VIEWS = [(spec, tab) for spec in PAGES for tab in (LAZY_TABS[spec.path][1] if spec.path in LAZY_TABS else (None,))]


@pytest.mark.parametrize("login", list(ROLES))
@pytest.mark.parametrize("spec,tab", VIEWS, ids=[s.path + (f"#{t}" if t else "") for s, t in VIEWS])
def test_role_page_matrix_shows_nothing_outside_scope(engine, spec, tab, login):
    user = _user(engine, login)
    shown = _render(engine, login, spec, tab)
    leaked = [v for v in _outsiders(engine, user.scope) if v in shown]
    if user.scope != "/37/":
        assert leaked == []


def test_matrix_opens_every_lazy_tab():
    """Each tab of tiers and churn is a view of the matrix (a leak in a non-default tab is seen)."""
    for path, (_, tabs) in LAZY_TABS.items():
        assert [t for s, t in VIEWS if s.path == path] == list(tabs) and len(tabs) >= 4
    assert "churn.tab_tasks" in LAZY_TABS["pages/churn.py"][1]  # the win-back tasks tab (issue 15)


LEAK_PROBES = [("pages/customers.py", None), ("pages/visits.py", None), ("pages/tiers.py", "tiers.tab_candidates"),
               ("pages/churn.py", "churn.tab_tracking"), ("pages/churn.py", "churn.tab_lost")]


@pytest.mark.parametrize("page,tab", LEAK_PROBES, ids=[p + (f"#{t}" if t else "") for p, t in LEAK_PROBES])
def test_outsider_check_catches_a_page_shown_with_the_wrong_scope(engine, page, tab):
    """The matrix's detector finds a leak on a real page: the page (or a non-default lazy tab of it)
    rendered with a wrong (too wide) scope, the province's, is checked against the station user's
    scope, as the matrix checks it, and must show outsiders; rendered with the station's own scope,
    the same view shows none. So an empty result in the matrix means the scope held, not that the
    detector saw nothing, also in the tabs that run only when opened."""
    station = _user(engine, "station")
    spec = next(s for s in PAGES if s.path == page)
    outsiders = _outsiders(engine, station.scope)
    assert len(outsiders) > 1000
    wrong_scope = _render(engine, "admin", spec, tab)
    right_scope = _render(engine, "station", spec, tab)
    caught = [v for v in outsiders if v in wrong_scope]
    assert len(caught) >= 5
    assert [v for v in outsiders if v in right_scope] == []
    if tab:  # the default tab does not show these: only opening the tab can reveal a leak there
        default_tab = _render(engine, "admin", spec)
        assert set(caught) - {v for v in outsiders if v in default_tab}


@pytest.mark.parametrize("login", list(ROLES))
def test_scoped_queries_return_only_rows_inside_the_scope(engine, login):
    user = _user(engine, login)
    root, month = queries.default_scope_and_month(engine)
    mine = queries.overview(engine, user.scope, month)
    everyone = queries.overview(engine, root, month)
    with engine.connect() as conn:
        n_mine = conn.execute(
            text("SELECT COUNT(*) FROM customer WHERE org_path LIKE :s AND status = 'existing' "
                 "AND (developed_month IS NULL OR developed_month <= :m)"), {"s": user.scope + "%", "m": month}
        ).scalar_one()
        lost_later = conn.execute(
            text("SELECT COUNT(*) FROM customer WHERE org_path LIKE :s AND status = 'lost' AND lost_month > :m "
                 "AND (developed_month IS NULL OR developed_month <= :m)"), {"s": user.scope + "%", "m": month}
        ).scalar_one()
    assert mine["customers"] == n_mine + lost_later
    if user.scope == root:
        assert mine["customers"] == everyone["customers"]
    else:
        assert 0 < mine["customers"] < everyone["customers"]
        assert mine["volume"]["total_t"] < everyone["volume"]["total_t"]


def test_customer_manager_sees_only_assigned_customers(engine):
    user = _user(engine, "custmgr")
    with engine.connect() as conn:
        manager_id = conn.execute(text("SELECT manager_id FROM app_user WHERE login = 'custmgr'")).scalar_one()
        assigned = conn.execute(text("SELECT COUNT(*) FROM customer WHERE manager_id = :m AND status = 'existing'"),
                                {"m": manager_id}).scalar_one()
        in_scope = conn.execute(text("SELECT COUNT(*) FROM customer WHERE org_path LIKE :s AND status = 'existing'"),
                                {"s": user.scope + "%"}).scalar_one()
        station_total = conn.execute(
            text("SELECT COUNT(*) FROM customer c JOIN customer_manager m ON m.id = :m "
                 "WHERE c.station_id = (SELECT id FROM station WHERE org_unit_id = m.org_unit_id) "
                 "AND c.status = 'existing'"), {"m": manager_id}).scalar_one()
    assert assigned == in_scope > 0
    assert station_total > assigned  # the station has other managers' customers too


@pytest.mark.parametrize("hostile", ["/37/%", "/37/_/", "/%/", "' OR 1=1 --"])
def test_scope_wildcards_and_injection_do_not_widen_the_scope(engine, hostile):
    if not hostile.startswith("/") or not hostile.endswith("/"):
        with pytest.raises(ValueError):
            queries.scope_like(hostile)
        return
    root, month = queries.default_scope_and_month(engine)
    assert queries.overview(engine, hostile, month)["customers"] == 0


def test_sidebar_offers_only_units_inside_the_users_scope(engine):
    user = _user(engine, "city")
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.session_state[Keys.SESSION] = session_token(user.id)
    at.run()
    picker = at.sidebar.selectbox(key=Keys.SCOPE_LEVEL.format(depth=0))
    with engine.connect() as conn:
        districts = conn.execute(text("SELECT name FROM org_unit WHERE parent_id = "
                                      "(SELECT org_unit_id FROM app_user WHERE login = 'city') ORDER BY path")
                                 ).scalars().all()
        others = conn.execute(text("SELECT name FROM org_unit WHERE level = 'district' AND path NOT LIKE :s"),
                              {"s": user.scope + "%"}).scalars().all()
    assert picker.options[1:] == districts
    assert not set(picker.options) & set(others)


def _session_seen(engine, ago: dt.timedelta) -> str:
    """A session of the demo admin last active `ago` (server-side, lib.auth.start_session)."""
    with write(engine) as conn:
        return auth.start_session(conn, _user(engine, "admin").id, dt.datetime.now(dt.UTC).replace(tzinfo=None) - ago)


def test_session_times_out_after_idle_period(engine, monkeypatch):
    monkeypatch.setenv("GRIDCRM_SESSION_MINUTES", "30")
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.session_state[Keys.SESSION] = _session_seen(engine, dt.timedelta(minutes=31))
    at.run()
    assert not at.exception
    assert len(at.metric) == 0
    assert [w.value for w in at.warning] == ["长时间未操作,已自动退出,请重新登录。"]


def test_active_session_within_timeout_stays_logged_in(engine, monkeypatch):
    monkeypatch.setenv("GRIDCRM_SESSION_MINUTES", "30")
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.session_state[Keys.SESSION] = _session_seen(engine, dt.timedelta(minutes=29))
    at.run()
    assert len(at.metric) >= 8


# --- the SQL builders (lib.queries): scope, on the books, scheduled, new card customers ------------


def _customer_rows(engine):
    with engine.connect() as conn:
        return conn.execute(text("SELECT org_path, status, kind, payment, developed_month, lost_month, "
                                 "COALESCE(tier_override, computed_tier) AS tier FROM customer")).all()


def test_two_scopes_in_one_query_are_two_parameters(engine):
    """A customer manager's customers (their scope) and their station's managers (the station scope)
    in one statement: each condition carries its own parameter, none is edited into the other."""
    user = _user(engine, "custmgr")
    mine = queries.scoped("c.org_path", user.scope)
    station = queries.scoped("m.org_path", queries.station_scope(user.scope), "station_scope")
    where = mine & station
    assert set(where.params) == {"scope", "station_scope"} and where.params["scope"] != where.params["station_scope"]
    with engine.connect() as conn:
        n = conn.execute(text(f"SELECT COUNT(*) FROM customer c JOIN customer_manager m ON m.id = c.manager_id "
                              f"WHERE {where.sql}"), where.params).scalar_one()
    rows = [r for r in _customer_rows(engine) if r.org_path.startswith(user.scope)]
    assert n == len(rows) > 0


def test_conditions_refuse_one_parameter_bound_to_two_values():
    a, b = queries.scoped("c.org_path", "/37/"), queries.scoped("s.org_path", "/37/3701/")
    with pytest.raises(ValueError, match="scope"):
        a & b
    assert (a & queries.scoped("s.org_path", "/37/")).params == {"scope": "/37/%"}


@pytest.mark.parametrize("login", ["admin", "city", "station", "custmgr"])
def test_builders_count_what_the_rule_book_says(engine, login):
    """on_books, scheduled and new_card_customer, each counted in SQL inside a scope, equal the rule
    applied in Python to every customer row: a wrong scope or a wrong predicate changes a count."""
    user = _user(engine, login)
    _, month = queries.default_scope_and_month(engine)
    rows = [r for r in _customer_rows(engine) if r.org_path.startswith(user.scope)]
    expect = {
        "on_books": sum((r.status == "existing" or (r.status == "lost" and (r.lost_month or "") > month))
                        and (r.developed_month is None or r.developed_month <= month) for r in rows),
        "scheduled": sum(r.status == "existing" and (r.kind == "institutional" or r.tier != "station") for r in rows),
        "new_card": sum(r.kind == "personal" and r.payment == "fuel_card" and r.developed_month == month for r in rows),
    }
    scope = queries.scoped("c.org_path", user.scope)
    conds = {"on_books": scope & queries.on_books(month), "scheduled": scope & queries.scheduled("c"),
             "new_card": scope & queries.new_card_customer("c") & queries.Cond("c.developed_month = :month",
                                                                               {"month": month})}
    with engine.connect() as conn:
        got = {k: conn.execute(text(f"SELECT COUNT(*) FROM customer c WHERE {c.sql}"), c.params).scalar_one()
               for k, c in conds.items()}
    assert got == expect and min(expect.values()) > 0
    assert queries.new_customers(engine, user.scope, month)["personal_card"] == expect["new_card"]
