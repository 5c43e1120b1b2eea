"""Users, passwords, lockout and audit (lib.auth) on a small organisation built by hand."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import text

from lib import auth
from lib.db import make_engine, upgrade, write

ADMIN = auth.SessionUser(0, "admin", "管理员", "province_admin", "/37/")  # the acting admin


@pytest.fixture()
def org(fresh_url):
    """Empty database with province → city → district → station and one customer manager."""
    engine = make_engine(fresh_url)
    upgrade(engine)
    with write(engine) as conn:
        for uid, code, level, parent, path in [
            (1, "37", "province", None, "/37/"), (2, "3701", "city", 1, "/37/3701/"),
            (3, "370102", "district", 2, "/37/3701/370102/"), (4, "370102001", "station", 3, "/37/3701/370102/370102001/"),
            (5, "370102002", "station", 3, "/37/3701/370102/370102002/"),
        ]:
            conn.execute(text("INSERT INTO org_unit (id, code, name, name_en, level, parent_id, path, manager_name, "
                              "manager_phone, staff) VALUES (:i, :c, :c, :c, :l, :p, :path, '', '', 0)"),
                         {"i": uid, "c": code, "l": level, "p": parent, "path": path})
        conn.execute(text("INSERT INTO customer_manager (id, org_unit_id, org_path, name, phone, hired_on, level, "
                          "misses, active) VALUES (7, 4, '/37/3701/370102/370102001/', '李娜', '', '2024-01-01', "
                          "'junior', 0, TRUE)"))
    yield engine
    engine.dispose()


def test_password_is_hashed_with_argon2_never_stored_plain(org):
    uid = auth.create_user(org, ADMIN, "wang", "王", "city_manager", 2, "correct horse")
    with org.connect() as conn:
        stored = conn.execute(text("SELECT password_hash FROM app_user WHERE id = :i"), {"i": uid}).scalar_one()
        log = " ".join(str(r) for r in conn.execute(text("SELECT * FROM audit_log")).all())
    assert stored.startswith("$argon2id$")
    assert "correct horse" not in stored and "correct horse" not in log
    assert auth.authenticate(org, "wang", "correct horse").user.scope == "/37/3701/"


@pytest.mark.parametrize("password", ["", "short", "1234567", "aaaaaaaa", "12345678", "horse12"])
def test_short_passwords_are_refused(org, password):
    with pytest.raises(ValueError, match="at least 10"):
        auth.create_user(org, ADMIN, "wang", "王", "city_manager", 2, password)


def test_unknown_name_and_wrong_password_get_the_same_answer(org):
    auth.create_user(org, ADMIN, "wang", "王", "city_manager", 2, "correct horse")
    assert auth.authenticate(org, "nobody", "x").reason == "invalid"
    assert auth.authenticate(org, "wang", "wrong password").reason == "invalid"


def test_lockout_after_five_failures_from_one_source(org):
    auth.create_user(org, ADMIN, "wang", "王", "city_manager", 2, "correct horse")
    t0 = dt.datetime(2026, 11, 25, 9, 0)
    for i in range(5):
        assert auth.authenticate(org, "wang", "bad", "10.0.0.9", now=t0 + dt.timedelta(minutes=i)).reason == "invalid"
    sixth = auth.authenticate(org, "wang", "correct horse", "10.0.0.9", now=t0 + dt.timedelta(minutes=4, seconds=30))
    assert sixth.reason == "locked" and sixth.locked_until == t0 + dt.timedelta(minutes=5)
    # after the wait the right password works again
    assert auth.authenticate(org, "wang", "correct horse", "10.0.0.9", now=t0 + dt.timedelta(minutes=6)).user
    with org.connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM audit_log WHERE action = 'lockout'")).scalar_one() == 1


def test_success_resets_the_failure_counter(org):
    auth.create_user(org, ADMIN, "wang", "王", "city_manager", 2, "correct horse")
    t0 = dt.datetime(2026, 11, 25, 9, 0)
    for i in range(4):
        auth.authenticate(org, "wang", "bad", now=t0 + dt.timedelta(seconds=i))
    assert auth.authenticate(org, "wang", "correct horse", now=t0 + dt.timedelta(seconds=5)).user is not None
    for i in range(4):
        assert auth.authenticate(org, "wang", "bad", now=t0 + dt.timedelta(seconds=6 + i)).reason == "invalid"


def test_deactivated_user_cannot_log_in_and_session_ends(org):
    uid = auth.create_user(org, ADMIN, "wang", "王", "city_manager", 2, "correct horse")
    auth.set_active(org, ADMIN, uid, False)
    assert auth.authenticate(org, "wang", "correct horse").reason == "inactive"
    assert auth.session_user(org, uid) is None


def test_admin_changes_are_audited(org):
    uid = auth.create_user(org, ADMIN, "wang", "王", "city_manager", 2, "correct horse")
    auth.reset_password(org, ADMIN, uid, "another horse")
    auth.change_role(org, ADMIN, uid, "district_manager", 3)
    auth.set_active(org, ADMIN, uid, False)
    with org.connect() as conn:
        actions = conn.execute(text("SELECT action, actor, before, after FROM audit_log ORDER BY id")).all()
    assert [a.action for a in actions] == ["create", "reset_password", "change_role", "deactivate"]
    assert all(a.actor == "admin" for a in actions)
    assert '"district_manager"' in actions[2].after and '"city_manager"' in actions[2].before
    assert auth.authenticate(org, "wang", "another horse").reason == "inactive"


@pytest.mark.parametrize("role, unit, message", [
    ("city_manager", 3, "belongs to a city unit"),
    ("station_manager", 2, "belongs to a station unit"),
    ("customer_manager", 4, "customer manager"),
    ("emperor", 1, "unknown role"),
])
def test_role_must_match_the_unit_level(org, role, unit, message):
    with pytest.raises(ValueError, match=message):
        auth.create_user(org, ADMIN, "wang", "王", role, unit, "correct horse")


def test_customer_manager_scope_is_their_own_segment(org):
    auth.create_user(org, ADMIN, "lina", "李娜", "customer_manager", 4, "correct horse", manager_id=7)
    user = auth.authenticate(org, "lina", "correct horse").user
    assert user.scope == "/37/3701/370102/370102001/m7/"


@pytest.mark.parametrize("name", ["' OR 1=1 --", "<script>alert(1)</script>", "王'; DROP TABLE app_user; --"])
def test_hostile_display_names_are_stored_as_text(org, name):
    uid = auth.create_user(org, ADMIN, "hostile", name, "city_manager", 2, "correct horse")
    assert auth.session_user(org, uid).display_name == name
    assert auth.authenticate(org, "' OR 1=1 --", "x").reason == "invalid"
    with org.connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM app_user")).scalar_one() == 1


def test_first_admin_only_once(org):
    auth.create_first_admin(org, "root", "管理员", "correct horse")
    assert auth.authenticate(org, "root", "correct horse").user.role == "province_admin"
    with pytest.raises(ValueError, match="exists already"):
        auth.create_first_admin(org, "root2", "管理员", "correct horse")
