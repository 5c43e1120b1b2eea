"""Issue 14, failure 6 in real Chromium: an admin's password reset ends the user's sessions in every
open tab, the presentation's auto-advance (a timed fragment) included, without the user touching
it; the tab returns to the login page saying why, and the new password logs in. Own database (the
reset must not touch the shared fixture's demo users)."""
from __future__ import annotations

import datetime as dt
import os
import re
import uuid

import pytest
from browser_harness import BROWSER_MARKS, Visit, browser, server  # noqa: F401 (fixtures)
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from lib import auth, demo
from lib.db import make_engine, write
from lib.i18n import translator

pytestmark = BROWSER_MARKS
ZH = translator("zh")
NEW_PASSWORD = "another horse 2026"


@pytest.fixture(scope="module")
def fixture_url(tmp_path_factory):
    """This module's own small demo province (the harness's `server` runs on it)."""
    base = os.environ.get("TEST_DATABASE_URL")
    if base:
        name = f"t_{uuid.uuid4().hex[:12]}"
        admin = create_engine(base, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        url = make_url(base).set(database=name).render_as_string(hide_password=False)
    else:
        url = f"sqlite:///{tmp_path_factory.mktemp('sessions') / 'sessions.db'}"
    engine = make_engine(url)
    demo.generate(engine, seed=5, customers=300, months=3, end_month="2026-10")
    auth.create_demo_users(engine)
    engine.dispose()
    yield url
    if base:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _reset_by_admin(url: str, login: str) -> None:
    engine = make_engine(url)
    with engine.connect() as conn:
        ids = dict(conn.execute(text("SELECT login, id FROM app_user")).all())
    auth.reset_password(engine, auth.session_user(engine, ids["admin"]), ids[login], NEW_PASSWORD)
    engine.dispose()


def test_a_reset_ends_every_tab_the_playing_presentation_included(server, browser, fixture_url):
    show, other = Visit(browser, 1600, 900), Visit(browser)
    show.login(server, "area", path="/presentation")
    show.page.get_by_role("button", name=re.compile("自动播放")).click()
    show.page.get_by_role("button", name=re.compile("暂停")).wait_for(timeout=30_000)  # playing: fragment runs
    other.login(server, "area")
    other.shot("sessions_other_tab_logged_in")
    other.page.locator('[data-testid="stSidebarNav"] a').nth(1).wait_for(timeout=60_000)  # logged in
    _reset_by_admin(fixture_url, "area")
    # the presentation tab is not touched: its timed fragment run finds the session ended
    show.page.get_by_text(ZH("login.ended_password_reset")).wait_for(timeout=60_000)
    assert show.page.locator(".slide-progress").count() == 0
    assert show.page.get_by_label("密码").count() == 1
    # the other tab: its next rerun (a click in the navigation) returns to the login page as well
    other.page.locator('[data-testid="stSidebarNav"] a').nth(1).click()
    other.page.get_by_text(ZH("login.ended_password_reset")).wait_for(timeout=60_000)
    assert other.page.locator('[data-testid="stSidebarNav"]').count() == 0
    # the old password is spent, the new one logs in
    show.page.get_by_label("用户名").fill("area")
    show.page.get_by_label("密码").fill(auth.DEMO_PASSWORD)
    show.page.get_by_role("button", name="登录").click()
    show.page.get_by_text(ZH("login.invalid")).wait_for(timeout=30_000)
    show.login(server, "area", password=NEW_PASSWORD)
    show.page.locator('[data-testid="stSidebarNav"] a').nth(1).wait_for(timeout=60_000)
    assert show.outside == [] and other.outside == []
    show.close()
    other.close()


def test_an_idle_session_ends_while_the_presentation_plays_on_its_own(server, browser, fixture_url):
    """Timed fragment runs are no activity: once the session has been idle past the timeout (here
    its last activity is moved 31 minutes back in the table), the playing show returns to the login
    page by itself."""
    show = Visit(browser, 1600, 900)
    show.login(server, "station", path="/presentation")
    show.page.get_by_role("button", name=re.compile("自动播放")).click()
    show.page.get_by_role("button", name=re.compile("暂停")).wait_for(timeout=30_000)
    engine = make_engine(fixture_url)
    with write(engine) as conn:
        moved = conn.execute(text(
            "UPDATE user_session SET last_seen_at = :t WHERE ended_at IS NULL AND user_id = "
            "(SELECT id FROM app_user WHERE login = 'station')"),
            {"t": dt.datetime.now(dt.UTC).replace(tzinfo=None) - dt.timedelta(minutes=31)}).rowcount
    engine.dispose()
    assert moved == 1
    show.page.get_by_text(ZH("login.timed_out")).wait_for(timeout=60_000)
    assert show.page.locator(".slide-progress").count() == 0
    assert show.outside == []
    show.close()
