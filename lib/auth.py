"""Users, roles and logins (用户与权限): who may see which part of the organisation.

A user's scope is their org unit's path; a customer manager 客户经理 sees only the customers
assigned to them, whose org path ends in their own segment ("…/370102003/m12/"). Passwords are
hashed with Argon2 (argon2-cffi) and never stored, logged or shown in plain text. Five failed
logins within 15 minutes lock that login name for 15 minutes.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import re
import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Connection, Engine, select, text

from lib.db import upsert, write
from lib.models import User

USERS = User.__table__  # typed columns (datetimes come back as datetimes on SQLite too)

HASHER = PasswordHasher()
# One-time passwords 初始密码 are ~70 random bits (one_time_password), not chosen by a person: a light
# Argon2 cost resists offline guessing as well, and a users import of hundreds stays seconds, not
# minutes. They are rehashed with HASHER at the first login and replaced right after.
OTP_HASHER = PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=1)
MAX_FAILURES = 5
LOCK_WINDOW = dt.timedelta(minutes=15)
MIN_PASSWORD = 8

# Roles 角色, from the top of the organisation down; `pages` are page ids each role may open.
ROLES = (
    "province_admin",  # 省公司管理员: everything, manages users
    "province_viewer",  # 省公司查看
    "city_manager",  # 地市分公司经理
    "district_manager",  # 片区经理
    "station_manager",  # 站经理
    "customer_manager",  # 客户经理: the customers assigned to them
)
ROLE_LEVEL = {
    "province_admin": "province", "province_viewer": "province", "city_manager": "city",
    "district_manager": "district", "station_manager": "station", "customer_manager": "station",
}

# Permissions 权限: who may do what, one row per action ("adding a rule is adding a row"). Pages, the
# navigation and lib's writes all ask `can()`; no role tuple is written anywhere else.
_ALL = frozenset(ROLES)
_ABOVE_STATION = frozenset({"province_admin", "city_manager", "district_manager"})  # 002 §6.1.2 superiors
_STATION_AND_ABOVE = _ABOVE_STATION | {"station_manager"}
_WRITERS = _ALL - {"province_viewer"}  # 省公司查看 only looks
_ADMINS = frozenset({"province_admin"})
PERMISSIONS: dict[str, frozenset[str]] = {
    # pages 页面 (navigation, the page guard and drill-down links)
    "page.overview": _ALL,
    "page.tiers": _ALL,
    "page.plan": _ALL,
    "page.four_rates": _ALL,
    "page.churn": _ALL,
    "page.reports": _ALL,
    "page.grid_map": _ALL,
    "page.customer_map": _ALL,
    "page.grid_edit": _ABOVE_STATION,
    "page.customers": _ALL,
    "page.visits": _ALL,
    "page.matters": _ALL,
    "page.managers": _ALL,
    "page.imports": _STATION_AND_ABOVE,
    "page.presentation": _ALL,
    "page.audit": _ADMINS,
    "page.admin_users": _ADMINS,
    "page.checklist": _STATION_AND_ABOVE,  # setup checklist 数据完整性: who fills the data
    "page.stations": _ALL,
    # daily work 日常工作
    "customers.write": _WRITERS,  # create and edit customers 客户档案
    "visits.write": _WRITERS,  # plan and record visits, daily log 维护回访
    "matters.write": _WRITERS,  # register and act on matters 事项
    "matters.escalate_overdue": _ABOVE_STATION,
    "managers.rate": _ABOVE_STATION,  # yearly rating 年度评级 (003 §4)
    "managers.plan": _STATION_AND_ABOVE,  # monthly sales plan 月度销售任务
    # dashboards 看板
    "tiers.override": _ABOVE_STATION,  # 002 §6.1.1 上、下级转移管理权限
    "plans.edit": _ABOVE_STATION,  # development targets 开发计划
    "surveys.record": _STATION_AND_ABOVE,  # 潜在客户调查表
    "churn.task": _WRITERS,  # win-back tasks 挽回任务
    # administration 系统管理
    "users.manage": _ADMINS,
    # stations 加油站 (issue 13): create/edit stations and competitor stations; monthly station sales
    "stations.edit": _ABOVE_STATION,
    "stations.sales": _STATION_AND_ABOVE,
    # issue 13: people and plans 人员与计划
    "managers.edit": _ABOVE_STATION,  # create and edit customer managers 客户经理档案
    "rates.targets": _ABOVE_STATION,  # per-station four-rate targets 四率目标
    # organisation setup 组织设置 (lib.org)
    "page.setup": _ADMINS,
    "org.edit": _ADMINS,  # create units from the map, rename, managers, boundaries
    # development cases 客户开发 (002 §6.5.4): open a case, move it through its stages
    "development.edit": _STATION_AND_ABOVE,
    # issue 14: revert a whole import 撤销导入 (lib.importer.revert)
    "imports.revert": _ADMINS,
}
ADMIN_ROLES = set(PERMISSIONS["users.manage"])


def roles_for(action: str) -> frozenset[str]:
    """Return the roles allowed to do `action`; KeyError for an action the table does not know."""
    return PERMISSIONS[action]


def can(user, action: str, target: str | None = None) -> bool:
    """True when `user` (a SessionUser, or a role name) may do `action`; with `target` (an org path)
    also only when that path lies inside the user's scope. Unknown actions raise KeyError, so a
    misspelt action fails loudly instead of refusing everyone."""
    role = user if isinstance(user, str) else user.role
    if role not in roles_for(action):
        return False
    if target is not None:
        if isinstance(user, str):
            raise ValueError("a target needs a user with a scope, not a role name")
        return target.startswith(user.scope)
    return True


def require(user, action: str, target: str | None = None) -> None:
    """Raise PermissionError unless `user` may do `action` (on `target`); see `can`."""
    if not can(user, action, target):
        role = user if isinstance(user, str) else user.role
        raise PermissionError(f"role {role} may not {action}" + (f" on {target}" if target else ""))


def manager_scope(station_path: str, manager_id: int) -> str:
    """Return the scope of customer manager `manager_id` working at the station `station_path`."""
    return f"{station_path}m{manager_id}/"


@dataclass(frozen=True)
class SessionUser:
    """The logged-in user as a page sees it: no password hash."""

    id: int
    login: str
    display_name: str
    role: str
    scope: str
    must_change: bool = False  # a one-time password 初始密码: no page opens before a new one is set

    @property
    def is_admin(self) -> bool:
        return can(self, "users.manage")


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def hash_password(password: str) -> str:
    """Return the Argon2 hash of `password` after checking the minimum length."""
    if not isinstance(password, str) or len(password) < MIN_PASSWORD:
        raise ValueError(f"password must have at least {MIN_PASSWORD} characters")
    return HASHER.hash(password)


def audit(conn: Connection, actor: str, action: str, entity: str, entity_id, before=None, after=None,
          org_path: str = "/") -> None:
    """Write one audit-log row 审计日志 in the caller's transaction."""
    conn.execute(
        text("INSERT INTO audit_log (at, actor, action, entity, entity_id, before, after, org_path) "
             "VALUES (:at, :actor, :action, :entity, :eid, :before, :after, :path)"),
        {"at": _now(), "actor": actor, "action": action, "entity": entity, "eid": str(entity_id),
         "before": json.dumps(before, ensure_ascii=False, default=str) if before is not None else None,
         "after": json.dumps(after, ensure_ascii=False, default=str) if after is not None else None,
         "path": org_path},
    )


@dataclass(frozen=True)
class LoginResult:
    """Outcome of a login attempt: `user` on success, else `reason` ("invalid", "locked", "inactive")."""

    user: SessionUser | None
    reason: str | None = None
    locked_until: dt.datetime | None = None


def _session_user(row) -> SessionUser:
    scope = row["org_path"]
    if row["role"] == "customer_manager" and row["manager_id"] is not None:
        scope = manager_scope(row["org_path"], row["manager_id"])
    return SessionUser(row["id"], row["login"], row["display_name"], row["role"], scope,
                       bool(row.get("must_change_password")))


def authenticate(engine: Engine, login: str, password: str, now: dt.datetime | None = None) -> LoginResult:
    """Check a login; count failures and lock the login name after 5 failures in 15 minutes.

    The same answer ("invalid") is given for an unknown name and a wrong password.
    """
    now = now or _now()
    login = (login or "").strip()
    with write(engine) as conn:
        row = conn.execute(select(USERS).where(USERS.c.login == login)).mappings().first()
        if row is None:
            HASHER.hash("timing-equaliser")  # unknown names take as long as known ones
            return LoginResult(None, "invalid")
        if row["locked_until"] is not None and row["locked_until"] > now:
            return LoginResult(None, "locked", row["locked_until"])
        try:
            ok = HASHER.verify(row["password_hash"], password or "")
        except (VerificationError, InvalidHashError):
            ok = False
        if ok and row["active"]:
            conn.execute(
                text("UPDATE app_user SET failed_attempts = 0, first_failed_at = NULL, locked_until = NULL "
                     "WHERE id = :id"), {"id": row["id"]})
            if HASHER.check_needs_rehash(row["password_hash"]):
                conn.execute(text("UPDATE app_user SET password_hash = :h WHERE id = :id"),
                             {"h": HASHER.hash(password), "id": row["id"]})
            return LoginResult(_session_user(row))
        if ok:  # right password, deactivated account
            return LoginResult(None, "inactive")
        first = row["first_failed_at"]
        failures = row["failed_attempts"] + 1
        if first is None or now - first > LOCK_WINDOW:
            first, failures = now, 1
        locked = now + LOCK_WINDOW if failures >= MAX_FAILURES else None
        conn.execute(
            text("UPDATE app_user SET failed_attempts = :f, first_failed_at = :first, locked_until = :lock "
                 "WHERE id = :id"),
            {"f": 0 if locked else failures, "first": None if locked else first, "lock": locked, "id": row["id"]},
        )
        if locked:
            audit(conn, login, "lockout", "app_user", row["id"], org_path=row["org_path"])
            return LoginResult(None, "locked", locked)
        return LoginResult(None, "invalid")


def session_user(engine: Engine, user_id: int) -> SessionUser | None:
    """Reload a session's user; None when the account is gone or deactivated (ends the session)."""
    with engine.connect() as conn:
        row = conn.execute(select(USERS).where(USERS.c.id == user_id, USERS.c.active.is_(True))).mappings().first()
    return _session_user(row) if row else None


_LOGIN_RE = re.compile(r"^[A-Za-z0-9_.\-]{3,50}$")
LOGIN_PATTERN = _LOGIN_RE  # what a login name may be (the users import checks it too)


def create_user(engine: Engine, actor: str, login: str, display_name: str, role: str, org_unit_id: int,
                password: str, manager_id: int | None = None) -> int:
    """Create a user (admin action, audited); return its id. ValueError names what is wrong."""
    with write(engine) as conn:
        return _insert_user(conn, actor, login, display_name, role, org_unit_id, password, manager_id)


def _insert_user(conn: Connection, actor: str, login: str, display_name: str, role: str, org_unit_id: int,
                 password: str, manager_id: int | None = None, must_change: bool = False) -> int:
    """Check and insert one user inside the caller's transaction (create_user, create_first_admin,
    insert_user); `must_change`: the password is a one-time password 初始密码."""
    if not _LOGIN_RE.match(login or ""):
        raise ValueError("login: 3–50 letters, digits, '.', '_' or '-'")
    if role not in ROLES:
        raise ValueError(f"role: unknown role {role!r}")
    if not (display_name or "").strip():
        raise ValueError("display name: required")
    pw_hash = OTP_HASHER.hash(password) if must_change else hash_password(password)
    unit = conn.execute(text("SELECT path, level FROM org_unit WHERE id = :id"), {"id": org_unit_id}).first()
    if unit is None:
        raise ValueError("org unit: not found")
    if unit.level != ROLE_LEVEL[role]:
        raise ValueError(f"org unit: a {role} belongs to a {ROLE_LEVEL[role]} unit, not a {unit.level}")
    if role == "customer_manager":
        ok = manager_id is not None and conn.execute(
            text("SELECT 1 FROM customer_manager WHERE id = :m AND org_unit_id = :u"),
            {"m": manager_id, "u": org_unit_id}).first()
        if not ok:
            raise ValueError("customer manager: choose the manager record of this station")
    uid = upsert(conn, "app_user", {
        "login": login, "display_name": display_name.strip(), "role": role, "org_unit_id": org_unit_id,
        "org_path": unit.path, "manager_id": manager_id if role == "customer_manager" else None,
        "password_hash": pw_hash, "active": True, "failed_attempts": 0, "created_at": _now(),
        "must_change_password": bool(must_change)},
        key=("login",), update=(), returning="id")
    if uid is None:  # ON CONFLICT DO NOTHING: two admins creating one login at once both get a clear answer
        raise ValueError(f"login: {login!r} is taken")
    audit(conn, actor, "create", "app_user", uid, None,
          {"login": login, "display_name": display_name, "role": role, "org_path": unit.path,
           "one_time_password": bool(must_change)}, org_path=unit.path)
    return uid


# --- one-time passwords 初始密码 (issue 13) -----------------------------------------------------------

_OTP_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789"  # no 0/O, 1/l/I


def one_time_password(length: int = 12) -> str:
    """Return a random one-time password 初始密码 (secrets module; no look-alike characters)."""
    return "".join(secrets.choice(_OTP_ALPHABET) for _ in range(max(length, MIN_PASSWORD)))


def grantable_roles(user) -> tuple[str, ...]:
    """Return the roles `user` (a SessionUser or a role name) may give a new user: none without
    `users.manage`; else every role whose unit lies at or below the user's own level."""
    role = user if isinstance(user, str) else user.role
    if not can(role, "users.manage"):
        return ()
    depth = ("province", "city", "district", "station")
    own = depth.index(ROLE_LEVEL[role])
    return tuple(r for r in ROLES if depth.index(ROLE_LEVEL[r]) >= own)


def insert_user(conn: Connection, actor: str, login: str, display_name: str, role: str, org_unit_id: int,
                manager_id: int | None = None) -> tuple[int, str]:
    """Insert one user with a one-time password in the caller's transaction (audited); return
    (id, password). The password is shown once to the admin and never stored in plain text; the user
    must set their own at first login (`must_change_password`)."""
    password = one_time_password()
    uid = _insert_user(conn, actor, login, display_name, role, org_unit_id, password, manager_id, must_change=True)
    return uid, password


def create_user_once(engine: Engine, actor, login: str, display_name: str, role: str, org_unit_id: int,
                     manager_id: int | None = None) -> str:
    """Create one user with a one-time password (the users page); return the password to show once.

    The form is checked as a one-row `users` import (lib.importer.people.check_users: the same rules,
    rights and messages): `actor` is the admin's SessionUser, the role one they may grant, the unit
    inside their scope at the role's level. ValidationError (a ValueError) names the fields."""
    from lib.importer import people  # the import's checks (lib.importer imports this module)

    with write(engine) as conn:
        return people.create_one_user(conn, actor, login, display_name, role, org_unit_id, manager_id)


def change_own_password(engine: Engine, user_id: int, old: str, new: str) -> None:
    """Set a user's own new password (the first login after a one-time password, audited without
    either password): the old one must match and the new one differ from it."""
    if (new or "") == (old or ""):
        raise ValueError("new password: must differ from the one-time password")
    pw_hash = hash_password(new)
    with write(engine) as conn:
        row = conn.execute(text("SELECT login, org_path, password_hash FROM app_user WHERE id = :id"),
                           {"id": user_id}).first()
        if row is None:
            raise ValueError("user: not found")
        try:
            HASHER.verify(row.password_hash, old or "")
        except (VerificationError, InvalidHashError):
            raise ValueError("password: the current password is wrong") from None
        conn.execute(text("UPDATE app_user SET password_hash = :h, must_change_password = :f WHERE id = :id"),
                     {"h": pw_hash, "f": False, "id": user_id})
        audit(conn, row.login, "change_password", "app_user", user_id, None, None, org_path=row.org_path)


def _user_row(conn: Connection, user_id: int):
    row = conn.execute(text("SELECT id, login, display_name, role, org_unit_id, org_path, manager_id, active "
                            "FROM app_user WHERE id = :id"), {"id": user_id}).mappings().first()
    if row is None:
        raise ValueError("user: not found")
    return dict(row)


def set_active(engine: Engine, actor: str, user_id: int, active: bool) -> None:
    """Activate or deactivate a user (audited); a deactivated user's sessions end at their next rerun."""
    with write(engine) as conn:
        before = _user_row(conn, user_id)
        conn.execute(text("UPDATE app_user SET active = :a WHERE id = :id"), {"a": active, "id": user_id})
        audit(conn, actor, "activate" if active else "deactivate", "app_user", user_id,
              {"active": before["active"]}, {"active": active}, org_path=before["org_path"])


def reset_password(engine: Engine, actor: str, user_id: int, password: str) -> None:
    """Set a new password and clear any lockout (audited without the password)."""
    pw_hash = hash_password(password)
    with write(engine) as conn:
        before = _user_row(conn, user_id)
        conn.execute(text("UPDATE app_user SET password_hash = :h, failed_attempts = 0, first_failed_at = NULL, "
                          "locked_until = NULL WHERE id = :id"), {"h": pw_hash, "id": user_id})
        audit(conn, actor, "reset_password", "app_user", user_id, None, None, org_path=before["org_path"])


def change_role(engine: Engine, actor: str, user_id: int, role: str, org_unit_id: int,
                manager_id: int | None = None) -> None:
    """Change a user's role and unit (audited)."""
    if role not in ROLES:
        raise ValueError(f"role: unknown role {role!r}")
    with write(engine) as conn:
        before = _user_row(conn, user_id)
        unit = conn.execute(text("SELECT path, level FROM org_unit WHERE id = :id"), {"id": org_unit_id}).first()
        if unit is None:
            raise ValueError("org unit: not found")
        if unit.level != ROLE_LEVEL[role]:
            raise ValueError(f"org unit: a {role} belongs to a {ROLE_LEVEL[role]} unit, not a {unit.level}")
        if role == "customer_manager" and not (manager_id is not None and conn.execute(
                text("SELECT 1 FROM customer_manager WHERE id = :m AND org_unit_id = :u"),
                {"m": manager_id, "u": org_unit_id}).first()):
            raise ValueError("customer manager: choose the manager record of this station")
        conn.execute(text("UPDATE app_user SET role = :r, org_unit_id = :u, org_path = :p, manager_id = :m "
                          "WHERE id = :id"),
                     {"r": role, "u": org_unit_id, "p": unit.path,
                      "m": manager_id if role == "customer_manager" else None, "id": user_id})
        audit(conn, actor, "change_role", "app_user", user_id,
              {"role": before["role"], "org_path": before["org_path"]}, {"role": role, "org_path": unit.path},
              org_path=unit.path)


def user_count(engine: Engine) -> int:
    """Return how many users exist (0 on a fresh database: the first admin must be created)."""
    with engine.connect() as conn:
        return conn.execute(text("SELECT COUNT(*) FROM app_user")).scalar_one()


PROVINCE_CODE = re.compile(r"[1-8][0-9]")  # the two digits of a province-level adcode (GB/T 2260), e.g. 37


def create_first_admin(engine: Engine, login: str, display_name: str, password: str,
                       province_code: str = "", province_name: str = "") -> int:
    """Create the first province admin 首位管理员 of a fresh database; refuses once any user exists.

    On an empty organisation (a real company's first start) the province unit 省公司 is created
    first from `province_code` (the two digits of its administrative code, e.g. "37" for Shandong)
    and `province_name`, in the same transaction as the admin."""
    if user_count(engine):
        raise ValueError("the first admin exists already")
    with engine.connect() as conn:
        root = conn.execute(text("SELECT id FROM org_unit WHERE parent_id IS NULL ORDER BY id")).scalar()
    if root is not None:
        return create_user(engine, "setup", login, display_name, "province_admin", root, password)
    code, name = (province_code or "").strip(), (province_name or "").strip()
    from lib.validation import ValidationError

    if not PROVINCE_CODE.fullmatch(code):
        raise ValidationError.one("", "bad_province_code", value=code)
    if not name or len(name) > 100:
        raise ValidationError.one("", "bad_province_name", limit=100)
    with write(engine) as conn:
        root = conn.execute(text(
            "INSERT INTO org_unit (code, name, name_en, level, path, manager_name, manager_phone, staff) "
            "VALUES (:code, :name, '', 'province', :path, '', '', 0) RETURNING id"),
            {"code": code, "name": name, "path": f"/{code}/"}).scalar_one()
        audit(conn, "setup", "create", "org_unit", root, None, {"code": code, "name": name}, f"/{code}/")
        return _insert_user(conn, "setup", login, display_name, "province_admin", root, password)


def setup_token() -> str:
    """Return the one-time token the first-admin form asks for (printed in the server log).

    `GRIDCRM_SETUP_TOKEN` fixes it for scripted deployments.
    """
    global _SETUP_TOKEN
    if _SETUP_TOKEN is None:
        _SETUP_TOKEN = os.environ.get("GRIDCRM_SETUP_TOKEN") or secrets.token_urlsafe(12)
        print(f"[gridcrm] first-admin setup token: {_SETUP_TOKEN}", flush=True)
    return _SETUP_TOKEN


_SETUP_TOKEN: str | None = None

# Demo users 演示用户, one per role (documented in the README); only the demo database has them.
DEMO_PASSWORD = "demo-2026"
DEMO_USERS = (
    ("admin", "省公司管理员", "province_admin", "province"),
    ("viewer", "省公司查看", "province_viewer", "province"),
    ("city", "地市经理", "city_manager", "city"),
    ("area", "片区经理", "district_manager", "district"),
    ("station", "站经理", "station_manager", "station"),
    ("custmgr", "客户经理", "customer_manager", "station"),
)


def create_demo_users(engine: Engine) -> list[str]:
    """Create the demo users on the first unit of each level (the first station for station roles)."""
    created = []
    with engine.connect() as conn:
        first = {lvl: conn.execute(text("SELECT id FROM org_unit WHERE level = :l ORDER BY path LIMIT 1"),
                                   {"l": lvl}).scalar() for lvl in ("province", "city", "district")}
        # the station roles get a station of the demo district, one with several customer managers
        # when there is one (so the customer manager sees a part of the station, not all of it)
        first["station"] = conn.execute(
            text("SELECT u.id FROM org_unit u LEFT JOIN customer_manager m ON m.org_unit_id = u.id "
                 "WHERE u.parent_id = :d GROUP BY u.id, u.path ORDER BY COUNT(m.id) >= 2 DESC, u.path LIMIT 1"),
            {"d": first["district"]}).scalar()
        manager = conn.execute(text("SELECT id FROM customer_manager WHERE org_unit_id = :u ORDER BY id LIMIT 1"),
                               {"u": first["station"]}).scalar()
    for login, name, role, level in DEMO_USERS:
        create_user(engine, "demo", login, name, role, first[level], DEMO_PASSWORD,
                    manager_id=manager if role == "customer_manager" else None)
        created.append(login)
    return created
