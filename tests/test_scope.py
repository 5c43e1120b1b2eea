"""Scope: every user sees exactly their part of the organisation (DOMAIN §1, §3), by every path.

The matrix runs every demo role over every page: whatever the page renders (text, metrics, tables,
charts) must not contain a customer name or code from outside the user's scope.
"""
from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from sqlalchemy import text
from streamlit.testing.v1 import AppTest

from apptest_helpers import user_of

from lib import auth, queries
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


def _rendered_text(at: AppTest) -> str:
    """Everything the page put on screen, as one string."""
    parts = []
    for node in at.main:  # noqa: B007 (walk the element tree)
        pass
    for kind in ("title", "header", "subheader", "markdown", "caption", "text", "metric", "info", "warning",
                 "error", "success", "table"):
        for el in getattr(at, kind):
            parts.append(str(getattr(el, "value", "")))
            parts.append(str(getattr(el, "label", "")))
    for df in at.dataframe:
        parts.append(df.value.to_csv())
    for el in at.get("plotly_chart"):
        parts.append(json.dumps(el.proto.spec if hasattr(el.proto, "spec") else str(el.proto), ensure_ascii=False))
    return "\n".join(parts)


@pytest.mark.parametrize("login", list(ROLES))
@pytest.mark.parametrize("spec", PAGES, ids=[s.path for s in PAGES])
def test_role_page_matrix_shows_nothing_outside_scope(engine, spec, login):
    user = _user(engine, login)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.session_state[Keys.USER_ID] = user.id
    at.run()
    if spec in allowed_pages(user.role):
        at.switch_page(spec.path).run()
    assert not at.exception
    shown = _rendered_text(at)
    leaked = [v for v in _outsiders(engine, user.scope) if v in shown]
    if user.scope != "/37/":
        assert leaked == []


def test_outsider_check_would_catch_a_leak(engine):
    """The matrix's detector finds names when they are shown (so an empty result means something)."""
    station = _user(engine, "station")
    outsiders = _outsiders(engine, station.scope)
    assert len(outsiders) > 1000
    sample = sorted(outsiders)[0]
    assert any(v in f"...{sample}..." for v in outsiders)


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
    at.session_state[Keys.USER_ID] = user.id
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


def test_session_times_out_after_idle_period(engine, monkeypatch):
    monkeypatch.setenv("GRIDCRM_SESSION_MINUTES", "30")
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.session_state[Keys.USER_ID] = _user(engine, "admin").id
    at.session_state[Keys.LAST_SEEN] = dt.datetime.now() - dt.timedelta(minutes=31)
    at.run()
    assert not at.exception
    assert len(at.metric) == 0
    assert [w.value for w in at.warning] == ["长时间未操作,已自动退出,请重新登录。"]


def test_active_session_within_timeout_stays_logged_in(engine, monkeypatch):
    monkeypatch.setenv("GRIDCRM_SESSION_MINUTES", "30")
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.session_state[Keys.USER_ID] = _user(engine, "admin").id
    at.session_state[Keys.LAST_SEEN] = dt.datetime.now() - dt.timedelta(minutes=29)
    at.run()
    assert len(at.metric) >= 8
