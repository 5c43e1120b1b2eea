"""Tables of the daily work area (日常工作, issue 6): matter routes, work logs, manager ratings and plans.

They share `lib.models.Base`; the migration is `alembic/versions/0003_daily_work.py`.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import func, Boolean, Date, DateTime, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from lib.models import Base


class MatterFlow(Base):
    """Where a matter 事项 stands on its route (000 §3.1): the current step, escalations, outcome.

    `matter.state` keeps the coarse state (open 待处理 / in_progress 处理中 / closed 已办结) that the
    dashboards count; the step of the kind's route (lib.matters.ROUTES) lives here.
    """

    __tablename__ = "matter_flow"
    matter_id: Mapped[int] = mapped_column(ForeignKey("matter.id"), primary_key=True)
    step: Mapped[str] = mapped_column(String(20), index=True)
    escalation: Mapped[int] = mapped_column(Integer, default=0)  # levels raised above the step's own level
    step_since: Mapped[dt.datetime] = mapped_column(DateTime)
    outcome: Mapped[str | None] = mapped_column(String(15))  # done / approved / rejected


class WorkLog(Base):
    """Daily work log 工作日志 (003 §4.3 工作日报制度; Jilin 日跟踪): one entry per person and day."""

    __tablename__ = "work_log"
    id: Mapped[int] = mapped_column(primary_key=True)
    org_path: Mapped[str] = mapped_column(String(200), index=True)
    manager_id: Mapped[int | None] = mapped_column(ForeignKey("customer_manager.id"))
    author: Mapped[str] = mapped_column(String(50))
    day: Mapped[dt.date] = mapped_column(Date, index=True)
    content: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)


class ManagerRating(Base):
    """Yearly rating 评级 of a customer manager 客户经理 (003 §4.5): level from last year's volume."""

    __tablename__ = "manager_rating"
    id: Mapped[int] = mapped_column(primary_key=True)
    manager_id: Mapped[int] = mapped_column(ForeignKey("customer_manager.id"), index=True)
    year: Mapped[int] = mapped_column(Integer)  # the year rated (volume of year - 1)
    last_year_t: Mapped[float] = mapped_column(Float)
    level: Mapped[str] = mapped_column(String(10))
    below_standard: Mapped[bool] = mapped_column(Boolean, default=False)  # 未达到初级标准
    rated_at: Mapped[dt.datetime] = mapped_column(DateTime)
    rated_by: Mapped[str] = mapped_column(String(50), default="")

    __table_args__ = (UniqueConstraint("manager_id", "year", name="uq_manager_rating_year"),)


class ManagerPlan(Base):
    """Monthly sales plan 销售任务 of a customer manager (tonnes); completion sets the commission band."""

    __tablename__ = "manager_plan"
    manager_id: Mapped[int] = mapped_column(ForeignKey("customer_manager.id"), primary_key=True)
    month: Mapped[str] = mapped_column(String(7), primary_key=True)
    target_t: Mapped[float] = mapped_column(Float)
    updated_by: Mapped[str] = mapped_column(String(50), default="")
    updated_at: Mapped[dt.datetime | None] = mapped_column(DateTime)


# Indexes on tables of lib.models that the archive search and duplicate checks need (created in 0003).
# (Index on a table's columns attaches it to that table, so the metadata matches the migration.)
from lib.models import AuditLog, Customer  # noqa: E402

_c = Customer.__table__.c
Index("ix_customer_credit_code", _c.credit_code)
Index("ix_customer_path_code", _c.org_path, _c.code)  # archive: scope walk in display order
Index("ix_customer_tier", func.coalesce(_c.tier_override, _c.computed_tier), _c.org_path, _c.code)
Index("ix_customer_status_kind", _c.status, _c.kind, _c.org_path, _c.code)
Index("ix_audit_log_entity", AuditLog.__table__.c.entity, AuditLog.__table__.c.entity_id)
