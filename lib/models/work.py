"""Daily work 日常工作 (DOMAIN §6–§7, 003): visits 维护回访, matters 事项 with their history and route,
work logs 工作日志, customer managers' ratings 评级 and sales plans 销售任务.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, Date, DateTime, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from lib.models.base import Base, Month, OrgPath


class Visit(Base):
    """Visit plan or record 维护回访 (002 §6.7.1) in one of five modes."""

    __tablename__ = "visit"
    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id"), index=True)
    org_path: Mapped[str] = mapped_column(OrgPath, index=True)
    manager_id: Mapped[int | None] = mapped_column(ForeignKey("customer_manager.id"))
    mode: Mapped[str] = mapped_column(String(10))  # onsite/sms/phone/visit/event
    planned_on: Mapped[dt.date | None] = mapped_column(Date)
    done_on: Mapped[dt.date | None] = mapped_column(Date, index=True)
    note: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[str] = mapped_column(String(50), default="")


class Matter(Base):
    """Matter 事项 raised in a grid (000 §3.1): routine/assisted/emergency/approval, each with a route."""

    __tablename__ = "matter"
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(10))
    title: Mapped[str] = mapped_column(OrgPath)
    description: Mapped[str] = mapped_column(Text, default="")
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customer.id"), index=True)
    grid_id: Mapped[int | None] = mapped_column(ForeignKey("grid.id"))
    org_path: Mapped[str] = mapped_column(OrgPath, index=True)
    state: Mapped[str] = mapped_column(String(15))
    raised_at: Mapped[dt.datetime] = mapped_column(DateTime)
    due_at: Mapped[dt.datetime] = mapped_column(DateTime)
    closed_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    raised_by: Mapped[str] = mapped_column(String(50), default="")


class MatterEvent(Base):
    """History 处理记录 of a matter: each step, who, when."""

    __tablename__ = "matter_event"
    id: Mapped[int] = mapped_column(primary_key=True)
    matter_id: Mapped[int] = mapped_column(ForeignKey("matter.id"), index=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime)
    actor: Mapped[str] = mapped_column(String(50))
    action: Mapped[str] = mapped_column(String(20))
    state: Mapped[str] = mapped_column(String(15))
    note: Mapped[str] = mapped_column(Text, default="")


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
    org_path: Mapped[str] = mapped_column(OrgPath, index=True)
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
    month: Mapped[str] = mapped_column(Month, primary_key=True)
    target_t: Mapped[float] = mapped_column(Float)
    updated_by: Mapped[str] = mapped_column(String(50), default="")
    updated_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
