"""Tracking and churn 客户跟踪与流失 (002 §6.6): win-back tasks 挽回任务 raised from the churn warnings.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import Date, DateTime, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from lib.models.base import Base, Month, OrgPath

TASK_STATES = ("open", "done", "cancelled")
WARNING_REASONS = ("silent", "drop")


class WinBackTask(Base):
    """Win-back task 挽回任务 for a customer on the churn warning list (or lost): assignee, due date, state."""

    __tablename__ = "win_back_task"
    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id"), index=True)
    org_path: Mapped[str] = mapped_column(OrgPath, index=True)  # the customer's path
    manager_id: Mapped[int | None] = mapped_column(ForeignKey("customer_manager.id"))
    month: Mapped[str] = mapped_column(Month)  # month of the warning
    reason: Mapped[str] = mapped_column(String(10))  # WARNING_REASONS, or "lost"
    due_on: Mapped[dt.date] = mapped_column(Date)
    state: Mapped[str] = mapped_column(String(10), default="open")  # TASK_STATES
    note: Mapped[str] = mapped_column(Text, default="")
    outcome: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[str] = mapped_column(String(50), default="")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=dt.datetime.utcnow)
    done_on: Mapped[dt.date | None] = mapped_column(Date)
