"""People 人员: customer managers 客户经理, login users 用户 and the audit log 审计日志.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, Date, DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from lib.models.base import Base, OrgPath


class CustomerManager(Base):
    """Customer manager 客户经理 (003): level graded yearly, pay = base + commission."""

    __tablename__ = "customer_manager"
    id: Mapped[int] = mapped_column(primary_key=True)
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"))
    org_path: Mapped[str] = mapped_column(OrgPath, index=True)
    code: Mapped[str | None] = mapped_column(String(30))  # 编号, unique (migration 0012); M000012 when generated
    name: Mapped[str] = mapped_column(String(50))
    phone: Mapped[str] = mapped_column(String(30), default="")
    hired_on: Mapped[dt.date] = mapped_column(Date)
    level: Mapped[str] = mapped_column(String(10), default="trainee")
    misses: Mapped[int] = mapped_column(Integer, default=0)  # consecutive ratings below junior
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class User(Base):
    """Login user 用户: role and org unit decide what they see (scope = the unit's org path)."""

    __tablename__ = "app_user"
    id: Mapped[int] = mapped_column(primary_key=True)
    login: Mapped[str] = mapped_column(String(50), unique=True)
    display_name: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(30))
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"))
    org_path: Mapped[str] = mapped_column(OrgPath)
    manager_id: Mapped[int | None] = mapped_column(ForeignKey("customer_manager.id"))
    password_hash: Mapped[str] = mapped_column(OrgPath)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    failed_attempts: Mapped[int] = mapped_column(Integer, default=0)
    first_failed_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    locked_until: Mapped[dt.datetime | None] = mapped_column(DateTime)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=dt.datetime.utcnow)
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False)  # one-time password 初始密码


class AuditLog(Base):
    """Audit log 审计日志: who changed what, before and after, when."""

    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime, default=dt.datetime.utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(50))
    action: Mapped[str] = mapped_column(String(50))
    entity: Mapped[str] = mapped_column(String(50))
    entity_id: Mapped[str] = mapped_column(String(50))
    before: Mapped[str | None] = mapped_column(Text)  # JSON
    after: Mapped[str | None] = mapped_column(Text)  # JSON
    org_path: Mapped[str] = mapped_column(OrgPath, default="/")


class LoginAttempt(Base):
    """Login attempt 登录尝试 (issue 14): one row per try, per login name as typed and source address
    (the client, or the trusted proxy's forwarded address). Backoff is per (login, source): an
    attacker locks only their own address out (lib.auth.login_state); kind "unlock" is an admin's."""

    __tablename__ = "login_attempt"
    id: Mapped[int] = mapped_column(primary_key=True)
    login: Mapped[str] = mapped_column(String(50))
    source: Mapped[str] = mapped_column(String(64))
    at: Mapped[dt.datetime] = mapped_column(DateTime, index=True)
    kind: Mapped[str] = mapped_column(String(10))  # "fail", "ok", "unlock"


class UserSession(Base):
    """Server-side session 会话 (issue 14): the browser holds a random token, the table its SHA-256.
    A password reset, deactivation, role change or idle timeout ends it (`ended_at`, `reason`)."""

    __tablename__ = "user_session"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256 hex of the token
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)
    last_seen_at: Mapped[dt.datetime] = mapped_column(DateTime)
    ended_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    reason: Mapped[str | None] = mapped_column(String(30))


# Created in alembic 0012: managers imports name a manager by its code.
Index("uq_customer_manager_code", CustomerManager.__table__.c.code, unique=True)
# Created in alembic 0003 (daily work): the audit log page looks rows up by entity.
Index("ix_audit_log_entity", AuditLog.__table__.c.entity, AuditLog.__table__.c.entity_id)
# Created in alembic 0014: an attempt's backoff reads the latest tries of one (login, source).
Index("ix_login_attempt_login", LoginAttempt.__table__.c.login, LoginAttempt.__table__.c.source,
      LoginAttempt.__table__.c.at)
