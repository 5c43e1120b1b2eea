"""Issue 14, failures 6 and 7 (sessions and logins, the exposed demo): a lockout nobody can aim at
someone else, server-side sessions that end everywhere, user administration that checks the acting
user, a password policy, logins that never wait on an import's write lock, the setup token kept out
of the log, and the demo bound to this machine. SQLite and PostgreSQL (TEST_DATABASE_URL)."""
from __future__ import annotations

import datetime as dt
import hashlib
import threading
import time
import tomllib
from pathlib import Path

import pytest
from apptest_helpers import app, session_token
from sqlalchemy import create_engine, text
from test_auth import ADMIN, org  # noqa: F401 (fixture: province → city → district → stations)

from lib import auth
from lib.db import write
from lib.i18n import translator
from lib.ui import Keys

ROOT = Path(__file__).resolve().parent.parent
ZH = translator("zh")
T0 = dt.datetime(2026, 11, 25, 9, 0)
IDLE = dt.timedelta(minutes=30)


def _user(engine, login="wang", role="city_manager", unit=2, password="correct horse") -> int:
    return auth.create_user(engine, ADMIN, login, "王", role, unit, password)


def _count(engine, sql: str) -> int:
    with engine.connect() as conn:
        return conn.execute(text(sql)).scalar_one()


# --- lockout per (login, source) ------------------------------------------------------------------


def test_an_attacker_cannot_lock_the_owner_out(org):
    """Failure 6: 5 wrong guesses every 15 minutes kept any login, the admin's too, locked forever."""
    _user(org)
    for i in range(40):
        auth.authenticate(org, "wang", f"guess {i}", "203.0.113.66", now=T0 + dt.timedelta(seconds=i))
    assert auth.authenticate(org, "wang", "x", "203.0.113.66", now=T0 + dt.timedelta(minutes=1)).reason == "locked"
    owner = auth.authenticate(org, "wang", "correct horse", "10.1.2.3", now=T0 + dt.timedelta(minutes=1))
    assert owner.user is not None and owner.user.login == "wang" and owner.token


def test_the_attackers_own_source_backs_off_exponentially(org):
    _user(org)
    src = "203.0.113.66"
    at = T0
    for _ in range(auth.MAX_FAILURES):
        assert auth.authenticate(org, "wang", "bad", src, now=at).reason == "invalid"
    waits = []
    for _ in range(3):
        result = auth.authenticate(org, "wang", "bad", src, now=at + dt.timedelta(seconds=1))
        assert result.reason == "locked"
        waits.append(result.locked_until - at)
        at = result.locked_until  # the first moment it may try again: one more failure
        assert auth.authenticate(org, "wang", "bad", src, now=at).reason == "invalid"
    assert waits == [dt.timedelta(minutes=1), dt.timedelta(minutes=2), dt.timedelta(minutes=4)]
    # the right password from the locked source waits too; after the wait it works and resets the count
    assert auth.authenticate(org, "wang", "correct horse", src, now=at).reason == "locked"
    assert auth.authenticate(org, "wang", "correct horse", src, now=at + dt.timedelta(minutes=8)).user


def test_the_ceiling_across_sources_slows_new_sources_not_known_ones(org):
    _user(org)
    assert auth.authenticate(org, "wang", "correct horse", "10.1.2.3", now=T0).user  # the owner's usual address
    for i in range(auth.ACCOUNT_CEILING + 2):  # a botnet: one guess per address
        auth.authenticate(org, "wang", "bad", f"198.51.100.{i}", now=T0 + dt.timedelta(seconds=i))
    last = T0 + dt.timedelta(seconds=auth.ACCOUNT_CEILING + 1)
    new = auth.authenticate(org, "wang", "correct horse", "192.0.2.1", now=last)
    assert new.reason == "slowed" and dt.timedelta(0) < new.locked_until - last <= auth.ACCOUNT_DELAY_MAX
    assert auth.authenticate(org, "wang", "correct horse", "10.1.2.3", now=last).user  # not aimed at the owner
    later = last + auth.ACCOUNT_DELAY_MAX + dt.timedelta(seconds=1)
    assert auth.authenticate(org, "wang", "correct horse", "192.0.2.1", now=later).user  # a delay, not a lock


def test_unknown_names_back_off_like_known_ones(org):
    for _ in range(auth.MAX_FAILURES):
        assert auth.authenticate(org, "nobody", "bad", "203.0.113.66", now=T0).reason == "invalid"
    assert auth.authenticate(org, "nobody", "bad", "203.0.113.66", now=T0).reason == "locked"


@pytest.mark.parametrize("peer, forwarded, trusted, expected", [
    ("10.0.0.5", None, None, "10.0.0.5"),
    ("10.0.0.5", "1.2.3.4", None, "10.0.0.5"),  # no trusted proxy: a client's header is ignored
    ("10.0.0.5", "1.2.3.4", "10.0.0.9", "10.0.0.5"),  # not from the proxy: ignored
    ("10.0.0.9", "1.2.3.4", "10.0.0.9", "1.2.3.4"),
    ("10.0.0.9", "6.6.6.6, 1.2.3.4", "10.0.0.9", "1.2.3.4"),  # the forged first entry does not count
    ("10.0.0.9", "1.2.3.4, 10.0.0.8", "10.0.0.9,10.0.0.8", "1.2.3.4"),  # two proxies in a row
    (None, None, None, "unknown"),
])
def test_source_address_honours_forwarded_for_only_from_a_trusted_proxy(peer, forwarded, trusted, expected):
    assert auth.client_source(peer, forwarded, trusted) == expected


def test_admins_see_attempts_and_locks_and_unlock(org):
    _user(org)
    for _ in range(auth.MAX_FAILURES):
        auth.authenticate(org, "wang", "bad", "203.0.113.66")
    locks = auth.login_locks(org, ADMIN)
    assert [(k["login"], k["source"]) for k in locks] == [("wang", "203.0.113.66")]
    assert [a["kind"] for a in auth.recent_attempts(org, ADMIN)] == ["fail"] * auth.MAX_FAILURES
    city = auth.SessionUser(99, "city", "c", "city_manager", "/37/3701/")
    for call in (lambda: auth.login_locks(org, city), lambda: auth.recent_attempts(org, city),
                 lambda: auth.unlock(org, city, "wang")):
        with pytest.raises(PermissionError):
            call()
    assert auth.authenticate(org, "wang", "correct horse", "203.0.113.66").reason == "locked"
    auth.unlock(org, ADMIN, "wang", "203.0.113.66")
    assert auth.login_locks(org, ADMIN) == []
    assert auth.authenticate(org, "wang", "correct horse", "203.0.113.66").user
    assert _count(org, "SELECT COUNT(*) FROM audit_log WHERE action = 'unlock'") == 1


# --- server-side sessions ---------------------------------------------------------------------------


def _two_tabs(engine, uid: int) -> tuple[str, str]:
    with write(engine) as conn:
        return auth.start_session(conn, uid), auth.start_session(conn, uid)


@pytest.mark.parametrize("change, reason", [
    (lambda e, uid: auth.reset_password(e, ADMIN, uid, "another horse"), "password_reset"),
    (lambda e, uid: auth.set_active(e, ADMIN, uid, False), "deactivated"),
    (lambda e, uid: auth.change_role(e, ADMIN, uid, "district_manager", 3), "role_changed"),
])
def test_reset_deactivation_and_role_change_end_every_session(org, change, reason):
    """Failure 6: a password reset or deactivation left other sessions running."""
    uid = _user(org)
    tabs = _two_tabs(org, uid)
    assert all(auth.check_session(org, tab, IDLE).user.id == uid for tab in tabs)
    change(org, uid)
    assert [auth.check_session(org, tab, IDLE).reason for tab in tabs] == [reason, reason]
    assert [auth.check_session(org, tab, IDLE).user for tab in tabs] == [None, None]


def test_changing_ones_own_password_ends_the_other_sessions_only(org):
    """A password changed in one tab ends the user's other sessions (a stolen one does not outlive it)."""
    uid = _user(org)
    here, there = _two_tabs(org, uid)
    auth.change_own_password(org, uid, "correct horse", "another horse", keep_token=here)
    assert auth.check_session(org, here, IDLE).user.id == uid
    assert auth.check_session(org, there, IDLE).reason == "password_changed"


def test_the_browser_holds_the_token_the_table_only_its_hash(org):
    uid = _user(org)
    token = auth.authenticate(org, "wang", "correct horse").token
    with org.connect() as conn:
        ids = conn.execute(text("SELECT id FROM user_session WHERE user_id = :u"), {"u": uid}).scalars().all()
    assert ids == [hashlib.sha256(token.encode()).hexdigest()]
    assert auth.check_session(org, token + "x", IDLE).user is None
    assert auth.check_session(org, None, IDLE).user is None


def test_idle_timeout_ends_the_session_and_timed_fragment_runs_are_not_activity(org):
    """Failure 6: fragments (the presentation's auto-advance) kept running after the idle timeout."""
    uid = _user(org)
    with write(org) as conn:
        clicked, shown = auth.start_session(conn, uid, T0), auth.start_session(conn, uid, T0)
    at = T0 + dt.timedelta(minutes=20)
    assert auth.check_session(org, clicked, IDLE, now=at).user  # a user's rerun: activity
    assert auth.check_session(org, shown, IDLE, now=at, touch=False).user  # a timed fragment run: not
    at = T0 + dt.timedelta(minutes=31)
    assert auth.check_session(org, clicked, IDLE, now=at).user
    assert auth.check_session(org, shown, IDLE, now=at, touch=False).reason == "timeout"
    assert auth.check_session(org, shown, IDLE, now=T0).reason == "timeout"  # ended for good


def test_logout_ends_the_server_side_session(org):
    _user(org)
    token = auth.authenticate(org, "wang", "correct horse").token
    auth.end_session(org, token)
    assert auth.check_session(org, token, IDLE).reason == "logout"


# --- user administration checks the acting user ------------------------------------------------------


def _admin_calls(engine, uid):
    return {
        "create_user": lambda a: auth.create_user(engine, a, "li.si", "李四", "city_manager", 2, "correct horse"),
        "create_user_once": lambda a: auth.create_user_once(engine, a, "li.si", "李四", "city_manager", 2),
        "set_active": lambda a: auth.set_active(engine, a, uid, False),
        "reset_password": lambda a: auth.reset_password(engine, a, uid, "another horse"),
        "change_role": lambda a: auth.change_role(engine, a, uid, "district_manager", 3),
    }


@pytest.mark.parametrize("actor", [
    "admin",  # a name is no checked user
    auth.SessionUser(9, "city", "c", "city_manager", "/37/3701/"),
    auth.SessionUser(9, "viewer", "v", "province_viewer", "/37/"),
    auth.SessionUser(9, "other", "o", "province_admin", "/11/"),  # an admin of another province
])
def test_user_admin_functions_refuse_actors_without_the_right_or_scope(org, actor):
    """Failure 4: the user-admin functions checked no role (the actor was a string)."""
    uid = _user(org)
    for name, call in _admin_calls(org, uid).items():
        with pytest.raises(PermissionError):
            call(actor)
        assert _count(org, "SELECT COUNT(*) FROM app_user") == 1, name
    with org.connect() as conn:
        row = conn.execute(text("SELECT role, active FROM app_user WHERE id = :u"), {"u": uid}).one()
    assert tuple(row) == ("city_manager", True)


def test_user_admin_functions_work_for_the_admin(org):
    uid = _user(org)
    for name, call in _admin_calls(org, uid).items():
        if name == "create_user_once":
            continue  # same login as create_user
        call(ADMIN)
    assert _count(org, "SELECT COUNT(*) FROM audit_log WHERE actor = 'admin'") == 5


# --- password policy ----------------------------------------------------------------------------


@pytest.mark.parametrize("password, code", [
    ("aaaaaaaa", "password_short"), ("12345678", "password_short"),  # the two
    ("aaaaaaaaaaaa", "password_weak"), ("1234567890", "password_weak"), ("password123", "password_weak"),
    ("qwertyuiop", "password_weak"), ("wang.2026.pass", "password_login"),
])
def test_weak_passwords_are_refused_with_a_clear_message(org, password, code):
    """Failure 6: "aaaaaaaa" and "12345678" were accepted passwords."""
    from lib.validation import ValidationError

    with pytest.raises(ValidationError) as exc:
        auth.create_user(org, ADMIN, "wang", "王", "city_manager", 2, password)
    assert exc.value.errors[0].code == code
    assert "password" in str(exc.value).lower()
    assert _count(org, "SELECT COUNT(*) FROM app_user") == 0
    uid = auth.create_user(org, ADMIN, "wang", "王", "city_manager", 2, "correct horse")
    with pytest.raises(ValidationError):
        auth.reset_password(org, ADMIN, uid, password)
    with pytest.raises(ValidationError):
        auth.change_own_password(org, uid, "correct horse", password)


# --- logins never wait on an import's write lock -------------------------------------------------------


def _hold_write_lock(engine, login: str, held: threading.Event, release: threading.Event) -> None:
    """What a long import does to a login: SQLite's write lock (BEGIN IMMEDIATE), or on PostgreSQL a
    row lock on the user (an import updating users)."""
    url = engine.url.render_as_string(hide_password=False)
    if engine.dialect.name == "sqlite":
        import sqlite3

        conn = sqlite3.connect(url.split("///", 1)[1], isolation_level=None)
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("UPDATE app_user SET display_name = display_name")
    else:
        other = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
        conn = other.connect()
        conn.execute(text("SELECT id FROM app_user WHERE login = :l FOR UPDATE"), {"l": login})
    held.set()
    release.wait(60)
    conn.rollback()
    conn.close()


@pytest.fixture()
def held_lock(org):
    held, release, threads = threading.Event(), threading.Event(), []

    def hold(login: str = "wang"):
        threads.append(threading.Thread(target=_hold_write_lock, args=(org, login, held, release), daemon=True))
        threads[-1].start()
        assert held.wait(30)

    yield hold
    release.set()
    for thread in threads:
        thread.join(30)  # rolled back before the database is dropped


def test_a_login_during_an_import_says_busy_within_seconds(org, held_lock):
    """Failure 6: a login during a long import hung 30 s, then showed an error page."""
    _user(org)
    held_lock()
    started = time.monotonic()
    with pytest.raises(auth.Busy):
        auth.authenticate(org, "wang", "correct horse", "10.1.2.3")
    assert time.monotonic() - started < 6
    assert _count(org, "SELECT COUNT(*) FROM user_session") == 0


def test_the_login_page_shows_busy_not_a_traceback(small, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", small.url.render_as_string(hide_password=False))
    held, release = threading.Event(), threading.Event()
    thread = threading.Thread(target=_hold_write_lock, args=(small, "admin", held, release), daemon=True)
    thread.start()
    try:
        assert held.wait(30)
        at = app(None)
        at.run()
        at.text_input(key=Keys.LOGIN_NAME).input("admin")
        at.text_input(key=Keys.LOGIN_PASSWORD).input(auth.DEMO_PASSWORD)
        at.button[0].click().run()
    finally:
        release.set()
        thread.join(30)
    assert not at.exception
    assert [e.value for e in at.error] == [ZH("login.busy")] == ["系统繁忙，请稍后再试。"]
    assert Keys.SESSION not in at.session_state


# --- the app ends sessions on the next rerun ---------------------------------------------------------


def test_a_reset_sends_an_open_tab_back_to_the_login_page_with_a_message(small, monkeypatch):
    url = small.url.render_as_string(hide_password=False)
    monkeypatch.setenv("DATABASE_URL", url)
    at = app(None)
    with small.connect() as conn:
        uid = conn.execute(text("SELECT id FROM app_user WHERE login = 'area'")).scalar_one()
    at.session_state[Keys.SESSION] = session_token(uid, url)
    at.run()
    assert not at.exception and len(at.metric) > 0  # logged in: the overview
    admin = auth.session_user(small, conn_id(small, "admin"))
    auth.reset_password(small, admin, uid, "another horse 2026")
    at.run()
    assert not at.exception and len(at.metric) == 0
    assert [w.value for w in at.warning] == [ZH("login.ended_password_reset")]
    assert [ti.label for ti in at.text_input][-2:] == ["用户名", "密码"]


def conn_id(engine, login: str) -> int:
    with engine.connect() as conn:
        return conn.execute(text("SELECT id FROM app_user WHERE login = :l"), {"l": login}).scalar_one()


# --- the setup token and the demo's address ------------------------------------------------------------


def test_a_setup_token_from_the_environment_is_not_printed(monkeypatch, capsys):
    """Failure 6: with GRIDCRM_SETUP_TOKEN set, the token was still printed to the log."""
    monkeypatch.setattr(auth, "_SETUP_TOKEN", None)
    monkeypatch.setenv("GRIDCRM_SETUP_TOKEN", "s3cret-setup-7q")
    assert auth.setup_token() == "s3cret-setup-7q"
    out = capsys.readouterr().out
    assert "s3cret-setup-7q" not in out and "GRIDCRM_SETUP_TOKEN" in out
    monkeypatch.setattr(auth, "_SETUP_TOKEN", None)
    monkeypatch.delenv("GRIDCRM_SETUP_TOKEN")
    random = auth.setup_token()
    assert random in capsys.readouterr().out  # a random one has to be read from the log
    monkeypatch.setattr(auth, "_SETUP_TOKEN", None)


def test_the_app_binds_to_this_machine_by_default_and_says_so():
    """Failure 7: the quick start served on every interface with the demo passwords on its login page."""
    from lib.ui.bootstrap import serving_note

    with open(ROOT / ".streamlit" / "config.toml", "rb") as fh:
        assert tomllib.load(fh)["server"]["address"] == "127.0.0.1"
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    quick = readme.split("## Quick start", 1)[1].split("```bash", 1)[1].split("```", 1)[0]
    assert "streamlit run app.py --server.address 127.0.0.1" in quick
    assert "--server.address 0.0.0.0" in readme and "STREAMLIT_SERVER_ADDRESS" in readme
    assert "only (this machine)" in serving_note("127.0.0.1", 8501)
    assert "reachable from the network" in serving_note("0.0.0.0", 8501)


def test_the_users_page_lists_attempts_and_unlocks_a_source(small, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", small.url.render_as_string(hide_password=False))
    for _ in range(auth.MAX_FAILURES):
        auth.authenticate(small, "station", "bad guess", "203.0.113.66")
    K = Keys.Admin
    at = app("admin")
    at.run()
    at.switch_page("pages/admin_users.py").run()
    assert not at.exception
    tables = [d.value for d in at.dataframe if ZH("admin.col.source") in d.value.columns]
    locks, attempts = tables  # waiting sources, then the recent attempts
    assert locks.values.tolist() == [["station", "203.0.113.66", locks.iloc[0, 2]]]
    assert attempts[ZH("admin.col.kind")].tolist() == [ZH("admin.kind_fail")] * auth.MAX_FAILURES
    at.multiselect(key=K.UNLOCK_PICK).set_value([0]).run()
    at.button(key=K.UNLOCK).click().run()
    assert not at.exception and not at.error
    assert auth.login_wait(small, "station", "203.0.113.66") is None
    assert auth.authenticate(small, "station", auth.DEMO_PASSWORD, "203.0.113.66").user


def test_every_fragment_checks_the_session():
    """Fragments rerun without app.py: each must be a `ui.fragment` (lib.ui.login.fragment), whose
    every run checks the session, never a bare `st.fragment`."""
    files = [*(ROOT / "pages").glob("*.py"), ROOT / "app.py", *(ROOT / "lib").rglob("*.py")]
    sources = {str(p.relative_to(ROOT)): p.read_text(encoding="utf-8") for p in files}
    bare = sorted(name for name, src in sources.items() if "st.fragment" in src and name != "lib/ui/login.py")
    assert bare == []
    assert sum(src.count("@ui.fragment") for src in sources.values()) >= 2  # presentation, grid map
