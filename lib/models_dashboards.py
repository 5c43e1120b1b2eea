"""Tables of the dashboards area (issue 5); they share lib.models.Base (docs/CONVENTIONS.md).

- `survey_submission`: a station's potential customer survey 潜在客户调查表 (002 §6.5.1, appendix 2),
  due each July and December; one row per station and survey period.
- `win_back_task`: a win-back task 挽回任务 raised from the churn warning list 流失预警 (002 §6.6.1
  "落实回访服务工作"): who, by when, the outcome.

- `customer_monthly`: the per-customer monthly summary 客户月度汇总 (tier measured that month, 3-month
  and last-year volumes, silence), refreshed by lib.summary in the same transaction as every change
  to consumption or customers, so the tiers, churn and report pages read one row per customer
  instead of recomputing 12 months of consumption.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import Date, DateTime, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
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


class CustomerMonthly(Base):
    """Per-customer monthly summary 客户月度汇总: one row per customer on the books 在册 per month.

    Measures (lib.tiers docstring): `g_avg_t`/`d_avg_t` the monthly mean over the month and the two
    before, `card_year_cny` the card purchases of the 12 months ending with the month, annualised;
    `measured_tier` and `rule` what lib.rules gives for them (002 §6.3.1). For tracking and churn
    (002 §6.6): `prev3_avg_t` the mean of the three months before (None when none on the books),
    `last_year_t` the same month last year (None when not on the books then), `last_fuel_month`
    the latest month with fuel within the 24 months up to this one (lib.summary.LOOKBACK), from
    which lib.tracking tells a silent customer 沉默 under whatever config [churn] says.
    `org_path`, `station_id`, `grid_id`, `lon`, `lat`, `kind`, `computed_tier`, `tier_override`, `size`, `fuel`,
    `payment` and `value_class` copy the customer's current values, so that a month's figures of a
    whole province are read from this table alone, without a join over a million customers.
    """

    __tablename__ = "customer_monthly"
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id"), primary_key=True)
    month: Mapped[str] = mapped_column(String(7), primary_key=True)
    org_path: Mapped[str] = mapped_column(String(200))
    station_id: Mapped[int] = mapped_column(Integer)
    grid_id: Mapped[int | None] = mapped_column(Integer)
    lon: Mapped[float | None] = mapped_column(Float)  # the customer's location (heat layer 热力图)
    lat: Mapped[float | None] = mapped_column(Float)
    kind: Mapped[str] = mapped_column(String(15))
    computed_tier: Mapped[str] = mapped_column(String(10))
    tier_override: Mapped[str | None] = mapped_column(String(10))
    size: Mapped[str | None] = mapped_column(String(10))
    fuel: Mapped[str] = mapped_column(String(10))
    payment: Mapped[str] = mapped_column(String(15))
    value_class: Mapped[int] = mapped_column(Integer)
    gasoline_t: Mapped[float] = mapped_column(Float, default=0.0)  # this month
    diesel_t: Mapped[float] = mapped_column(Float, default=0.0)
    visits: Mapped[int] = mapped_column(Integer, default=0)
    g_avg_t: Mapped[float] = mapped_column(Float, default=0.0)
    d_avg_t: Mapped[float] = mapped_column(Float, default=0.0)
    card_year_cny: Mapped[float] = mapped_column(Float, default=0.0)
    measured_tier: Mapped[str] = mapped_column(String(10))
    rule: Mapped[str] = mapped_column(String(30))
    prev3_avg_t: Mapped[float | None] = mapped_column(Float)
    last_year_t: Mapped[float | None] = mapped_column(Float)
    last_fuel_month: Mapped[str | None] = mapped_column(String(7))

    __table_args__ = (Index("ix_customer_monthly_scope", "month", "org_path",
                            postgresql_ops={"org_path": "varchar_pattern_ops"}),)
