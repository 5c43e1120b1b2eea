"""Users, roles and logins (用户与权限): who may see which part of the organisation.

A user's scope is their org unit's path; a customer manager 客户经理 sees only the customers
assigned to them, whose org path ends in their own segment ("…/370102003/m12/"). Passwords are
hashed with Argon2 (argon2-cffi) and never stored, logged or shown in plain text.

Issue 14 (hardening):
- Lockout 登录退避 per (login, source address), never per account alone: five failures in a row from
  one source make that source wait 1, 2, 4 … minutes (at most an hour) for that login, so an attacker
  locks only their own address out. Across all sources a generous ceiling (50 failures in 15 minutes)
  slows *new* sources by an exponential delay (at most a minute); a source that logged in to the
  account before is never slowed by others. Tries live in `login_attempt`; admins see and unlock them.
- Sessions 会话 are server-side (`user_session`): the browser holds a random token, the table its
  SHA-256. `check_session` (every rerun and every fragment run) refuses an ended, idle or deactivated
  one; a password reset, deactivation or role change ends every session of that user.
- Password policy 密码策略: at least `GRIDCRM_PASSWORD_MIN` (10) characters, not containing the login,
  and not easily guessed (zxcvbn score ≥ 3: common passwords, repeats and sequences score low).
- A login's writes (attempt, session row) wait at most `LOGIN_BUSY_MS` for the write lock (an import
  may hold it), then raise `Busy`: the login page says "系统繁忙，请稍后再试", never a hang.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Connection, Engine, func, select, text, update
from sqlalchemy.exc import OperationalError

from lib.db import BUSY_TIMEOUT_MS, upsert, write
from lib.models import LoginAttempt, User, UserSession

USERS = User.__table__  # typed columns (datetimes come back as datetimes on SQLite too)
ATTEMPTS = LoginAttempt.__table__
SESSIONS = UserSession.__table__

HASHER = PasswordHasher()
# One-time passwords 初始密码 are ~70 random bits (one_time_password), not chosen by a person: a light
# Argon2 cost resists offline guessing as well, and a users import of hundreds stays seconds, not
# minutes. They are rehashed with HASHER at the first login and replaced right after.
OTP_HASHER = PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=1)
MAX_FAILURES = 5  # failures in a row from one source before that source backs off
BACKOFF_BASE = dt.timedelta(minutes=1)  # then 1, 2, 4 … minutes per further failure
BACKOFF_MAX = dt.timedelta(hours=1)
ACCOUNT_CEILING = 50  # failures of one login across all sources within ACCOUNT_WINDOW
ACCOUNT_WINDOW = dt.timedelta(minutes=15)
ACCOUNT_DELAY_MAX = dt.timedelta(minutes=1)  # the delay new sources wait above the ceiling
ATTEMPT_KEEP = dt.timedelta(days=30)  # older tries are deleted; a source known for this long is trusted
MIN_PASSWORD = int(os.environ.get("GRIDCRM_PASSWORD_MIN", "10"))
MIN_PASSWORD_SCORE = 3  # zxcvbn 0–4: below 3 is "guessable" (common words, repeats, sequences)
LOGIN_BUSY_MS = 2000  # a login waits at most this long for the write lock, then says "busy"

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
    "development.edit": _WRITERS,  # issue 15: customer managers develop their own customers too (003)
    # issue 14, rights below every door: grid editing 网格编辑 (the editor and every grid write), the daily
    # log written for another customer manager 代写工作日志, the overdue-matter sweep run as a job
    "grids.edit": _ABOVE_STATION,
    "visits.log_for_others": _STATION_AND_ABOVE,
    # imports 数据导入, one row per kind (lib.importer.specs.kinds_for and import_file read these): the
    # same roles as the form or page that writes the same rows
    "imports.customers": _STATION_AND_ABOVE,
    "imports.consumption": _STATION_AND_ABOVE,
    "imports.traffic": _STATION_AND_ABOVE,
    "imports.visits": _STATION_AND_ABOVE,
    "imports.grids": _ABOVE_STATION,  # grid names, owners, contact phones and shapes: grid editing
    "imports.stations": _ABOVE_STATION,
    "imports.competitor_stations": _ABOVE_STATION,
    "imports.station_sales": _STATION_AND_ABOVE,
    "imports.managers": _ABOVE_STATION,
    "imports.users": _ADMINS,
    "imports.targets": _ABOVE_STATION,
    "imports.rate_targets": _ABOVE_STATION,
    "imports.surveys": _STATION_AND_ABOVE,
    "imports.org_units": _ADMINS,
    "imports.development": _STATION_AND_ABOVE,
    # issue 14: revert a whole import 撤销导入 (lib.importer.revert)
    "imports.revert": _ADMINS,
    # issue 15: surveys 客户调查 (002 §6.5.1–6.5.2): everyone looks; "surveys.record" records
    "page.surveys": _ALL,
    # issue 15: a trainee customer manager becomes regular when the business department 业务运作部 confirms
    # it (003 见习经理人…被业务运作部认定为合格,即可转正): the levels above station
    "managers.confirm": _ABOVE_STATION,
    # issue 15: close and reopen a month 关账 (lib.months.close_month; 002 §6.6.3 monthly reports)
    "months.close": _ADMINS,
}
ADMIN_ROLES = set(PERMISSIONS["users.manage"])
# Org levels 组织层级 from the bottom up (lib.vocab.ORG_LEVELS): a tier-L customer is owned by level L
# (002 §6.4 管理主体), and a level decides for its own level and those below (§6.1.2 上级督导、本级负责).
LEVELS = ("station", "district", "city", "province")


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


def level_of(user) -> str:
    """The org level 层级 of `user` (a SessionUser or a role name): province, city, district or station."""
    return ROLE_LEVEL[user if isinstance(user, str) else user.role]


def at_or_above(user, level: str) -> bool:
    """True when `user`'s level is `level` or above it (province ≥ city ≥ district ≥ station): who may
    decide for a level's customers, e.g. their tier (002 §6.1.2, §6.4). ValueError for an unknown level."""
    if level not in LEVELS:
        raise ValueError(f"level must be one of {LEVELS}, got {level!r}")
    return LEVELS.index(level_of(user)) >= LEVELS.index(level)


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


def check_password(password: str, login: str = "") -> None:
    """Apply the password policy 密码策略; ValidationError (a whole-form issue) says what is wrong:
    too short, containing the login, or easily guessed (zxcvbn: common passwords, repeats, sequences)."""
    from zxcvbn import zxcvbn

    from lib.validation import ValidationError

    password = password if isinstance(password, str) else ""
    if len(password) < MIN_PASSWORD:
        raise ValidationError.one("", "password_short", limit=MIN_PASSWORD)
    login = (login or "").strip().lower()
    if len(login) >= 3 and login in password.lower():
        raise ValidationError.one("", "password_login")
    if zxcvbn(password[:100], user_inputs=[login] if login else [])["score"] < MIN_PASSWORD_SCORE:
        raise ValidationError.one("", "password_weak")


def hash_password(password: str, login: str = "") -> str:
    """Return the Argon2 hash of `password` after checking it against the policy (`check_password`)."""
    check_password(password, login)
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


class Busy(RuntimeError):
    """The database's write lock is held (a long import): the login page says "busy, try again"."""


@contextmanager
def short_write(engine: Engine, wait_ms: int = LOGIN_BUSY_MS) -> Iterator[Connection]:
    """A write transaction that waits at most `wait_ms` for the write lock (SQLite busy_timeout of this
    connection, PostgreSQL lock_timeout), then raises `Busy` instead of hanging (logins, sessions)."""
    try:
        if engine.dialect.name == "sqlite":
            with engine.connect().execution_options(sqlite_begin="IMMEDIATE") as conn:
                raw = conn.connection.dbapi_connection
                raw.execute(f"PRAGMA busy_timeout={int(wait_ms)}")
                try:
                    with conn.begin():
                        yield conn
                finally:
                    raw.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        else:
            with engine.begin() as conn:
                conn.exec_driver_sql(f"SET LOCAL lock_timeout = '{int(wait_ms)}ms'")
                yield conn
    except OperationalError as exc:  # "database is locked" / LockNotAvailable
        raise Busy("the database is busy") from exc


@dataclass(frozen=True)
class LoginResult:
    """Outcome of a login attempt: `user` and its session `token` on success, else `reason`
    ("invalid", "locked": this source waits, "slowed": new sources wait, "inactive") and until when."""

    user: SessionUser | None
    reason: str | None = None
    locked_until: dt.datetime | None = None
    token: str | None = None


def _session_user(row) -> SessionUser:
    scope = row["org_path"]
    if row["role"] == "customer_manager" and row["manager_id"] is not None:
        scope = manager_scope(row["org_path"], row["manager_id"])
    return SessionUser(row["id"], row["login"], row["display_name"], row["role"], scope,
                       bool(row.get("must_change_password")))


def client_source(peer: str | None, forwarded: str | None = None, trusted: str | None = None) -> str:
    """The source address 来源地址 of a login: the client's address `peer`; when `peer` is one of the
    `trusted` proxies (comma-separated, `GRIDCRM_TRUSTED_PROXY`), the last address of the proxy's
    X-Forwarded-For that is not itself a trusted proxy (earlier entries are the client's to forge)."""
    peer = (peer if isinstance(peer, str) else "").strip() or "unknown"
    forwarded = forwarded if isinstance(forwarded, str) else None
    proxies = {p.strip() for p in (trusted or "").split(",") if p.strip()}
    if forwarded and peer in proxies:
        for hop in reversed([h.strip() for h in forwarded.split(",") if h.strip()]):
            if hop not in proxies:
                return hop[:64]
    return peer[:64]


def _source_wait(conn: Connection, login: str, source: str) -> dt.datetime | None:
    """Until when `source` must wait before trying `login` again: failures in a row since its last
    success or an admin's unlock, from MAX_FAILURES on, wait 1, 2, 4 … minutes after the last one."""
    rows = conn.execute(
        select(ATTEMPTS.c.kind, ATTEMPTS.c.at).where(
            ATTEMPTS.c.login == login, ATTEMPTS.c.source.in_((source, "*")))
        .order_by(ATTEMPTS.c.at.desc(), ATTEMPTS.c.id.desc()).limit(MAX_FAILURES + 8)).all()
    fails = next((i for i, r in enumerate(rows) if r.kind != "fail"), len(rows))
    if fails < MAX_FAILURES:
        return None
    return rows[0].at + min(BACKOFF_BASE * 2 ** (fails - MAX_FAILURES), BACKOFF_MAX)


def _account_wait(conn: Connection, login: str, source: str, now: dt.datetime) -> dt.datetime | None:
    """Until when a *new* source must wait for `login` above the ACCOUNT_CEILING of failures from all
    sources in ACCOUNT_WINDOW (2, 4 … seconds, at most ACCOUNT_DELAY_MAX); a source that logged in to
    this account within ATTEMPT_KEEP is never slowed (so no one can aim this at the account's owner)."""
    n, last = conn.execute(select(func.count(), func.max(ATTEMPTS.c.at)).where(
        ATTEMPTS.c.login == login, ATTEMPTS.c.kind == "fail", ATTEMPTS.c.at > now - ACCOUNT_WINDOW)).one()
    if n < ACCOUNT_CEILING:
        return None
    known = conn.execute(select(ATTEMPTS.c.id).where(
        ATTEMPTS.c.login == login, ATTEMPTS.c.source == source, ATTEMPTS.c.kind == "ok",
        ATTEMPTS.c.at > now - ATTEMPT_KEEP).limit(1)).first()
    if known:
        return None
    return last + min(dt.timedelta(seconds=2 ** min(n - ACCOUNT_CEILING + 1, 20)), ACCOUNT_DELAY_MAX)


def login_wait(engine: Engine, login: str, source: str, now: dt.datetime | None = None
               ) -> tuple[str, dt.datetime] | None:
    """("locked", until) when this source backs off, ("slowed", until) when new sources wait; else None."""
    now = now or _now()
    with engine.connect() as conn:
        until = _source_wait(conn, login, source)
        if until is not None and until > now:
            return "locked", until
        until = _account_wait(conn, login, source, now)
    return ("slowed", until) if until is not None and until > now else None


def _verify(row, password: str) -> bool:
    if row is None:
        HASHER.hash("timing-equaliser")  # unknown names take as long as known ones
        return False
    try:
        return HASHER.verify(row["password_hash"], password or "")
    except (VerificationError, InvalidHashError):
        return False


def authenticate(engine: Engine, login: str, password: str, source: str = "unknown",
                 now: dt.datetime | None = None) -> LoginResult:
    """Check a login from `source` (lib.auth.client_source); record the try; on success start a
    server-side session (LoginResult.token). Backoff per (login, source), see the module docstring.
    The same answer ("invalid") is given for an unknown name and a wrong password. Raises `Busy`
    when the write lock stays held for LOGIN_BUSY_MS (nothing is written then)."""
    now = now or _now()
    login, source = (login or "").strip()[:50], (source or "unknown")[:64]
    wait = login_wait(engine, login, source, now)
    if wait is not None:
        return LoginResult(None, wait[0], wait[1])
    with engine.connect() as conn:
        row = conn.execute(select(USERS).where(USERS.c.login == login)).mappings().first()
    ok = _verify(row, password)  # outside the write: Argon2 takes a while
    with short_write(engine) as conn:
        conn.execute(ATTEMPTS.insert().values(login=login, source=source, at=now, kind="ok" if ok else "fail"))
        if not ok:
            if _source_wait(conn, login, source) is not None and row is not None:
                audit(conn, login, "lockout", "app_user", row["id"], {"source": source}, org_path=row["org_path"])
            return LoginResult(None, "invalid")
        if not row["active"]:
            return LoginResult(None, "inactive")
        conn.execute(ATTEMPTS.delete().where(ATTEMPTS.c.at < now - ATTEMPT_KEEP))
        if HASHER.check_needs_rehash(row["password_hash"]):
            conn.execute(text("UPDATE app_user SET password_hash = :h WHERE id = :id"),
                         {"h": HASHER.hash(password), "id": row["id"]})
        token = start_session(conn, row["id"], now)
    return LoginResult(_session_user(row), token=token)


# --- server-side sessions 会话 (issue 14) --------------------------------------------------------------


def _token_id(token: str) -> str:
    return hashlib.sha256((token or "").encode()).hexdigest()


def start_session(conn: Connection, user_id: int, now: dt.datetime | None = None) -> str:
    """Start a session of `user_id` in the caller's transaction; return its token (kept by the
    browser session only; the table holds its SHA-256)."""
    now = now or _now()
    token = secrets.token_urlsafe(32)
    conn.execute(SESSIONS.insert().values(id=_token_id(token), user_id=user_id, created_at=now,
                                          last_seen_at=now))
    return token


def end_sessions(conn: Connection, user_id: int, reason: str, now: dt.datetime | None = None,
                 keep: str | None = None) -> int:
    """End every open session of `user_id` (reason: "password_reset", "deactivated", "role_changed",
    "password_changed") but the one whose token is `keep`; their next rerun, fragment runs included,
    returns to the login page. Returns how many."""
    where = [SESSIONS.c.user_id == user_id, SESSIONS.c.ended_at.is_(None)]
    if keep:
        where.append(SESSIONS.c.id != _token_id(keep))
    return conn.execute(update(SESSIONS).where(*where).values(ended_at=now or _now(), reason=reason)).rowcount


def end_session(engine: Engine, token: str, reason: str = "logout") -> None:
    """End one session (logout, timeout); a busy database leaves it to the idle timeout."""
    try:
        with short_write(engine) as conn:
            conn.execute(update(SESSIONS).where(SESSIONS.c.id == _token_id(token), SESSIONS.c.ended_at.is_(None))
                         .values(ended_at=_now(), reason=reason))
    except Busy:
        pass


@dataclass(frozen=True)
class SessionCheck:
    """A session's state: its `user` when alive (must_change users included), else the `reason`
    ("ended", "timeout", "deactivated", "password_reset", "role_changed", "logout")."""

    user: SessionUser | None
    reason: str | None = None


def check_session(engine: Engine, token: str | None, idle: dt.timedelta, now: dt.datetime | None = None,
                  touch: bool = True) -> SessionCheck:
    """Check a session on every rerun and fragment run: it exists, is not ended, not idle past `idle`,
    its user active. `touch` (a user's rerun, not a timed fragment run) records activity, at most
    every min(1 min, idle/10) and never waiting on a busy database."""
    if not token:
        return SessionCheck(None, "ended")
    now = now or _now()
    with engine.connect() as conn:
        row = conn.execute(select(SESSIONS, USERS.c.login, USERS.c.display_name, USERS.c.role, USERS.c.org_path,
                                  USERS.c.manager_id, USERS.c.active, USERS.c.must_change_password)
                           .join(USERS, USERS.c.id == SESSIONS.c.user_id)
                           .where(SESSIONS.c.id == _token_id(token))).mappings().first()
    if row is None or row["ended_at"] is not None:
        return SessionCheck(None, row["reason"] if row is not None else "ended")
    reason = "timeout" if now - row["last_seen_at"] > idle else None if row["active"] else "deactivated"
    if reason:
        end_session(engine, token, reason)
        return SessionCheck(None, reason)
    if touch and now - row["last_seen_at"] >= min(dt.timedelta(minutes=1), idle / 10):
        try:
            with short_write(engine, wait_ms=200) as conn:
                conn.execute(update(SESSIONS).where(SESSIONS.c.id == row["id"]).values(last_seen_at=now))
        except Busy:
            pass  # an import holds the lock: the next rerun records it
    return SessionCheck(_session_user({**row, "id": row["user_id"]}))


def session_user(engine: Engine, user_id: int) -> SessionUser | None:
    """Reload a user by id as a session sees it; None when the account is gone or deactivated."""
    with engine.connect() as conn:
        row = conn.execute(select(USERS).where(USERS.c.id == user_id, USERS.c.active.is_(True))).mappings().first()
    return _session_user(row) if row else None


_LOGIN_RE = re.compile(r"^[A-Za-z0-9_.\-]{3,50}$")
LOGIN_PATTERN = _LOGIN_RE  # what a login name may be (the users import checks it too)


def _require_admin_of(conn: Connection, actor: SessionUser, org_unit_id: int, role: str | None = None) -> None:
    """The user-admin functions' check: `actor` holds users.manage, the unit lies in their scope and
    (when given) `role` is one they may grant. PermissionError otherwise."""
    if not isinstance(actor, SessionUser):
        raise PermissionError("user administration needs the acting user")
    require(actor, "users.manage")
    path = conn.execute(text("SELECT path FROM org_unit WHERE id = :id"), {"id": org_unit_id}).scalar()
    if path is not None:
        require(actor, "users.manage", path)
    if role is not None and role in ROLES and role not in grantable_roles(actor):
        raise PermissionError(f"role {actor.role} may not grant {role}")


def create_user(engine: Engine, actor: SessionUser, login: str, display_name: str, role: str, org_unit_id: int,
                password: str, manager_id: int | None = None) -> int:
    """Create a user with a password of the admin's choosing (audited); return its id. `actor` is the
    acting admin (users.manage, unit in scope); ValueError names what is wrong."""
    with write(engine) as conn:
        _require_admin_of(conn, actor, org_unit_id, role)
        return _insert_user(conn, actor.login, login, display_name, role, org_unit_id,
                            hash_password(password, login), manager_id)


def _insert_user(conn: Connection, actor: str, login: str, display_name: str, role: str, org_unit_id: int,
                 pw_hash: str, manager_id: int | None = None, must_change: bool = False) -> int:
    """Check and insert one user inside the caller's transaction (create_user, create_first_admin,
    insert_user, the demo); `actor` has been checked by the caller; `pw_hash` is the password's hash;
    `must_change`: it is a one-time password 初始密码."""
    if not _LOGIN_RE.match(login or ""):
        raise ValueError("login: 3–50 letters, digits, '.', '_' or '-'")
    if not (display_name or "").strip():
        raise ValueError("display name: required")
    from lib.validation import check_text, column_length  # 100 characters, no control characters (issue 14)

    display_name = check_text("display_name", display_name, column_length("app_user", "display_name"))
    unit = _check_role_unit(conn, role, org_unit_id, manager_id)
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
    return tuple(r for r in ROLES if at_or_above(role, level_of(r)))


def insert_user(conn: Connection, actor: str, login: str, display_name: str, role: str, org_unit_id: int,
                manager_id: int | None = None) -> tuple[int, str]:
    """Insert one user with a one-time password in the caller's transaction (audited); return
    (id, password). The password is shown once to the admin and never stored in plain text; the user
    must set their own at first login (`must_change_password`)."""
    password = one_time_password()
    uid = _insert_user(conn, actor, login, display_name, role, org_unit_id, OTP_HASHER.hash(password), manager_id,
                       must_change=True)
    return uid, password


def create_user_once(engine: Engine, actor, login: str, display_name: str, role: str, org_unit_id: int,
                     manager_id: int | None = None) -> str:
    """Create one user with a one-time password (the users page); return the password to show once.

    The form is checked as a one-row `users` import (lib.importer.people.check_users: the same rules,
    rights and messages): `actor` is the admin's SessionUser, the role one they may grant, the unit
    inside their scope at the role's level. ValidationError (a ValueError) names the fields."""
    from lib.importer import people  # the import's checks (lib.importer imports this module)

    with write(engine) as conn:
        _require_admin_of(conn, actor, org_unit_id)
        return people.create_one_user(conn, actor, login, display_name, role, org_unit_id, manager_id)


def change_own_password(engine: Engine, user_id: int, old: str, new: str, keep_token: str | None = None) -> None:
    """Set a user's own new password (the first login after a one-time password, audited without
    either password): the old one must match and the new one differ from it. Every other session of
    the user ends (a stolen session does not outlive the password); `keep_token` is the session
    changing it, which stays."""
    if (new or "") == (old or ""):
        raise ValueError("new password: must differ from the one-time password")
    with write(engine) as conn:
        row = conn.execute(text("SELECT login, org_path, password_hash FROM app_user WHERE id = :id"),
                           {"id": user_id}).first()
        if row is None:
            raise ValueError("user: not found")
        pw_hash = hash_password(new, row.login)
        try:
            HASHER.verify(row.password_hash, old or "")
        except (VerificationError, InvalidHashError):
            raise ValueError("password: the current password is wrong") from None
        conn.execute(text("UPDATE app_user SET password_hash = :h, must_change_password = :f WHERE id = :id"),
                     {"h": pw_hash, "f": False, "id": user_id})
        end_sessions(conn, user_id, "password_changed", keep=keep_token)
        audit(conn, row.login, "change_password", "app_user", user_id, None, None, org_path=row.org_path)


def _user_row(conn: Connection, user_id: int):
    row = conn.execute(text("SELECT id, login, display_name, role, org_unit_id, org_path, manager_id, active "
                            "FROM app_user WHERE id = :id"), {"id": user_id}).mappings().first()
    if row is None:
        raise ValueError("user: not found")
    return dict(row)


def set_active(engine: Engine, actor: SessionUser, user_id: int, active: bool) -> None:
    """Activate or deactivate a user (audited); deactivating ends all their sessions at once."""
    with write(engine) as conn:
        before = _user_row(conn, user_id)
        _require_admin_of(conn, actor, before["org_unit_id"])
        conn.execute(text("UPDATE app_user SET active = :a WHERE id = :id"), {"a": active, "id": user_id})
        if not active:
            end_sessions(conn, user_id, "deactivated")
        audit(conn, actor.login, "activate" if active else "deactivate", "app_user", user_id,
              {"active": before["active"]}, {"active": active}, org_path=before["org_path"])


def reset_password(engine: Engine, actor: SessionUser, user_id: int, password: str) -> None:
    """Set a new password (policy checked), end all the user's sessions everywhere and clear the
    backoff of every source for that login (audited without the password)."""
    with write(engine) as conn:
        before = _user_row(conn, user_id)
        _require_admin_of(conn, actor, before["org_unit_id"])
        pw_hash = hash_password(password, before["login"])
        conn.execute(text("UPDATE app_user SET password_hash = :h, failed_attempts = 0, first_failed_at = NULL, "
                          "locked_until = NULL WHERE id = :id"), {"h": pw_hash, "id": user_id})
        end_sessions(conn, user_id, "password_reset")
        conn.execute(ATTEMPTS.insert().values(login=before["login"], source="*", at=_now(), kind="unlock"))
        audit(conn, actor.login, "reset_password", "app_user", user_id, None, None, org_path=before["org_path"])


def _check_role_unit(conn: Connection, role: str, org_unit_id: int, manager_id: int | None):
    """The unit of `role` (its level fits; a customer manager names the station's manager record)."""
    if role not in ROLES:
        raise ValueError(f"role: unknown role {role!r}")
    unit = conn.execute(text("SELECT path, level FROM org_unit WHERE id = :id"), {"id": org_unit_id}).first()
    if unit is None:
        raise ValueError("org unit: not found")
    if unit.level != ROLE_LEVEL[role]:
        raise ValueError(f"org unit: a {role} belongs to a {ROLE_LEVEL[role]} unit, not a {unit.level}")
    if role == "customer_manager" and not (manager_id is not None and conn.execute(
            text("SELECT 1 FROM customer_manager WHERE id = :m AND org_unit_id = :u"),
            {"m": manager_id, "u": org_unit_id}).first()):
        raise ValueError("customer manager: choose the manager record of this station")
    return unit


def change_role(engine: Engine, actor: SessionUser, user_id: int, role: str, org_unit_id: int,
                manager_id: int | None = None) -> None:
    """Change a user's role and unit (audited); ends all the user's sessions (their rights changed)."""
    with write(engine) as conn:
        before = _user_row(conn, user_id)
        _require_admin_of(conn, actor, before["org_unit_id"])
        _require_admin_of(conn, actor, org_unit_id, role)
        unit = _check_role_unit(conn, role, org_unit_id, manager_id)
        conn.execute(text("UPDATE app_user SET role = :r, org_unit_id = :u, org_path = :p, manager_id = :m "
                          "WHERE id = :id"),
                     {"r": role, "u": org_unit_id, "p": unit.path,
                      "m": manager_id if role == "customer_manager" else None, "id": user_id})
        end_sessions(conn, user_id, "role_changed")
        audit(conn, actor.login, "change_role", "app_user", user_id,
              {"role": before["role"], "org_path": before["org_path"]}, {"role": role, "org_path": unit.path},
              org_path=unit.path)


def _visible_logins(conn: Connection, actor: SessionUser) -> set[str] | None:
    """The logins whose attempts `actor` may see: their scope's users; None (every name, unknown
    ones included) for an admin of the whole province."""
    if actor.scope.count("/") <= 2:
        return None
    return set(conn.execute(text("SELECT login FROM app_user WHERE org_path LIKE :p"),
                            {"p": actor.scope + "%"}).scalars())


def recent_attempts(engine: Engine, actor: SessionUser, limit: int = 200) -> list[dict]:
    """The latest login attempts 登录尝试 the admin `actor` may see, newest first (login, source, at, kind)."""
    require(actor, "users.manage")
    with engine.connect() as conn:
        names = _visible_logins(conn, actor)
        rows = conn.execute(select(ATTEMPTS.c.login, ATTEMPTS.c.source, ATTEMPTS.c.at, ATTEMPTS.c.kind)
                            .order_by(ATTEMPTS.c.at.desc(), ATTEMPTS.c.id.desc()).limit(limit * 5)).mappings().all()
    return [dict(r) for r in rows if names is None or r["login"] in names][:limit]


def login_locks(engine: Engine, actor: SessionUser, now: dt.datetime | None = None) -> list[dict]:
    """The (login, source) pairs backing off now, with until when, for the admin `actor`."""
    now = now or _now()
    pairs = {(r["login"], r["source"]) for r in recent_attempts(engine, actor, limit=1000)
             if r["kind"] == "fail" and r["source"] != "*"}
    locks = []
    with engine.connect() as conn:
        for login, source in sorted(pairs):
            until = _source_wait(conn, login, source)
            if until is not None and until > now:
                locks.append({"login": login, "source": source, "until": until})
    return locks


def unlock(engine: Engine, actor: SessionUser, login: str, source: str = "*") -> None:
    """Clear the backoff of `login` from `source` ("*": every source), audited (admins, users.manage)."""
    require(actor, "users.manage")
    with write(engine) as conn:
        names = _visible_logins(conn, actor)
        if names is not None and login not in names:
            raise PermissionError(f"login {login} is outside the scope of {actor.login}")
        conn.execute(ATTEMPTS.insert().values(login=login[:50], source=(source or "*")[:64], at=_now(),
                                              kind="unlock"))
        audit(conn, actor.login, "unlock", "login_attempt", login, None, {"source": source}, org_path=actor.scope)


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
        with write(engine) as conn:
            return _insert_user(conn, "setup", login, display_name, "province_admin", root,
                                hash_password(password, login))
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
        return _insert_user(conn, "setup", login, display_name, "province_admin", root,
                            hash_password(password, login))


def setup_token() -> str:
    """Return the one-time token the first-admin form asks for (a random one is printed in the
    server log). `GRIDCRM_SETUP_TOKEN` fixes it for scripted deployments and is then never printed.
    """
    global _SETUP_TOKEN
    if _SETUP_TOKEN is None:
        fixed = os.environ.get("GRIDCRM_SETUP_TOKEN")
        _SETUP_TOKEN = fixed or secrets.token_urlsafe(12)
        if fixed:  # the operator chose it: never copy it into a log
            print("[gridcrm] first-admin setup token: the value of GRIDCRM_SETUP_TOKEN", flush=True)
        else:
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
    # The demo password is shown on the login page and predates the policy (check_password): the demo
    # binds to 127.0.0.1 by default (.streamlit/config.toml), so it is hashed here without the policy.
    pw_hash = HASHER.hash(DEMO_PASSWORD)
    with write(engine) as conn:
        for login, name, role, level in DEMO_USERS:
            _insert_user(conn, "demo", login, name, role, first[level], pw_hash,
                         manager_id=manager if role == "customer_manager" else None)
            created.append(login)
    return created
