"""The system actor 系统账户: the acting user of work no person starts (the overdue-matter sweep run by a
scheduler, the demo generator, a restore, scripts and benchmarks).

Every write function of `lib/` takes the acting user (`lib.auth.SessionUser`) and checks it against
`lib.auth.PERMISSIONS` and its scope; work without a person acts as this user: a province admin
省公司管理员 whose scope is the whole organisation and whose login, "system", is what the audit log
shows. Pages never import this module (tests/test_hardening_rights.py checks it): a page acts as
its logged-in user only.
"""
from __future__ import annotations

from sqlalchemy import Engine, text

from lib.auth import SessionUser

SYSTEM_LOGIN = "system"


def system_user(engine: Engine | None = None, scope: str | None = None) -> SessionUser:
    """Return the system actor: role province_admin, scope `scope`, else the root unit's path of
    `engine`'s organisation ("/" when there is none yet or no engine is given)."""
    if scope is None and engine is not None:
        with engine.connect() as conn:
            scope = conn.execute(text("SELECT path FROM org_unit WHERE parent_id IS NULL ORDER BY id LIMIT 1")).scalar()
    return SessionUser(0, SYSTEM_LOGIN, "系统", "province_admin", scope or "/")
