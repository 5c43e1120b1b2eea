"""Tables of the dashboards area (issue 5); they share lib.models.Base (docs/CONVENTIONS.md).

- `survey_submission`: a station's potential customer survey 潜在客户调查表 (002 §6.5.1, appendix 2),
  due each July and December; one row per station and survey period.
- `win_back_task`: a win-back task 挽回任务 raised from the churn warning list 流失预警 (002 §6.6.1
  "落实回访服务工作"): who, by when, the outcome.

Customer tiers per month are not stored: lib.tiers computes them from monthly consumption with
lib.rules on demand (see lib.tiers.monthly_tiers), so they can never go stale.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import Date, DateTime, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from lib.models import Base

SURVEY_STATES = ("on_time", "late", "missing", "pending")
TASK_STATES = ("open", "done", "cancelled")
WARNING_REASONS = ("silent", "drop")


class SurveySubmission(Base):
    """A station's potential customer survey 潜在客户调查表 for one period (002 §6.5.1, appendix 2).

    `period` is the due month (`YYYY-07` or `YYYY-12`, config `development.survey_months`); the
    survey is due by the last day of that month.
    """

    __tablename__ = "survey_submission"
    id: Mapped[int] = mapped_column(primary_key=True)
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"))
    org_path: Mapped[str] = mapped_column(String(200), index=True)  # the station's path
    period: Mapped[str] = mapped_column(String(7))
    submitted_on: Mapped[dt.date] = mapped_column(Date)
    submitted_by: Mapped[str] = mapped_column(String(50), default="")
    potential_customers: Mapped[int] = mapped_column(Integer, default=0)  # 潜在客户数 found
    note: Mapped[str] = mapped_column(Text, default="")

    __table_args__ = (UniqueConstraint("org_unit_id", "period"),)


class WinBackTask(Base):
    """Win-back task 挽回任务 for a customer on the churn warning list (or lost): assignee, due date, state."""

    __tablename__ = "win_back_task"
    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id"), index=True)
    org_path: Mapped[str] = mapped_column(String(200), index=True)  # the customer's path
    manager_id: Mapped[int | None] = mapped_column(ForeignKey("customer_manager.id"))
    month: Mapped[str] = mapped_column(String(7))  # month of the warning
    reason: Mapped[str] = mapped_column(String(10))  # WARNING_REASONS, or "lost"
    due_on: Mapped[dt.date] = mapped_column(Date)
    state: Mapped[str] = mapped_column(String(10), default="open")  # TASK_STATES
    note: Mapped[str] = mapped_column(Text, default="")
    outcome: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[str] = mapped_column(String(50), default="")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=dt.datetime.utcnow)
    done_on: Mapped[dt.date | None] = mapped_column(Date)
