"""Development 客户开发 (002 §6.5): monthly plans 开发计划, development cases and the potential customer
survey 潜在客户调查表 (§6.5.1, appendix 2).
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, Date, DateTime, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from lib.models.base import Base, Month, OrgPath

DEV_STAGES = ("collect", "plan", "assign", "control", "signed")
SURVEY_STATES = ("on_time", "late", "missing", "pending")


class DevelopmentPlan(Base):
    """Monthly development target 零售客户月度开发计划 (002 §6.5.3, appendix 1) of one unit.

    A missing row means the rule book's default target applies.
    """

    __tablename__ = "development_plan"
    id: Mapped[int] = mapped_column(primary_key=True)
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"))
    org_path: Mapped[str] = mapped_column(OrgPath, index=True)
    month: Mapped[str] = mapped_column(Month)
    kind: Mapped[str] = mapped_column(String(15))  # institutional / personal_card
    target: Mapped[int] = mapped_column(Integer)
    updated_by: Mapped[str] = mapped_column(String(50), default="")
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=dt.datetime.utcnow)

    __table_args__ = (UniqueConstraint("org_unit_id", "month", "kind"),)


class Development(Base):
    """A development case 客户开发 moving through the stages of 002 §6.5.4 (摘牌制 team)."""

    __tablename__ = "development"
    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id"), index=True)
    org_path: Mapped[str] = mapped_column(OrgPath, index=True)
    stage: Mapped[str] = mapped_column(String(10))  # DEV_STAGES, or "lost"
    team: Mapped[str] = mapped_column(String(100), default="")
    developer_id: Mapped[int | None] = mapped_column(ForeignKey("customer_manager.id"))
    started_on: Mapped[dt.date] = mapped_column(Date)
    stage_on: Mapped[dt.date] = mapped_column(Date)


class SurveySubmission(Base):
    """A station's potential customer survey 潜在客户调查表 for one period (002 §6.5.1, appendix 2).

    `period` is the due month (`YYYY-07` or `YYYY-12`, config `development.survey_months`); the
    survey is due by the last day of that month.
    """

    __tablename__ = "survey_submission"
    id: Mapped[int] = mapped_column(primary_key=True)
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"))
    org_path: Mapped[str] = mapped_column(OrgPath, index=True)  # the station's path
    period: Mapped[str] = mapped_column(Month)
    submitted_on: Mapped[dt.date] = mapped_column(Date)
    submitted_by: Mapped[str] = mapped_column(String(50), default="")
    potential_customers: Mapped[int] = mapped_column(Integer, default=0)  # 潜在客户数 found
    note: Mapped[str] = mapped_column(Text, default="")
    # objects surveyed 调查对象 {lib.vocab.SURVEY_OBJECTS code: how many}, those counted only (issue 15)
    objects: Mapped[dict | None] = mapped_column(JSON)

    __table_args__ = (UniqueConstraint("org_unit_id", "period"),)


class SpecialSurvey(Base):
    """A key customer special survey 重点客户专项调查 (002 §6.5.2) of one unit: one consumer group
    (`target_group`), a topic, the objects surveyed {lib.vocab.SURVEY_OBJECTS code: how many}, the days it
    ran and the customers it found; run when the market, the season or the customers' needs change."""

    __tablename__ = "special_survey"
    id: Mapped[int] = mapped_column(primary_key=True)
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"))
    org_path: Mapped[str] = mapped_column(OrgPath, index=True)  # the unit's path
    topic: Mapped[str] = mapped_column(String(100))
    target_group: Mapped[str] = mapped_column(String(100))
    objects: Mapped[dict] = mapped_column(JSON)
    started_on: Mapped[dt.date] = mapped_column(Date)
    ended_on: Mapped[dt.date] = mapped_column(Date)
    customers_found: Mapped[int] = mapped_column(Integer, default=0)
    note: Mapped[str] = mapped_column(Text, default="")
    recorded_by: Mapped[str] = mapped_column(String(50), default="")
    recorded_at: Mapped[dt.datetime] = mapped_column(DateTime, default=dt.datetime.utcnow)

    __table_args__ = (UniqueConstraint("org_unit_id", "topic", "started_on"),)


class DevelopmentStage(Base):
    """The stage log 开发过程记录 of a development case (002 §6.5.4, "建立客户开发过程跟踪与信息反馈机制",
    §6.5.4.4): one row per stage reached, with its day, note, who wrote it and when."""

    __tablename__ = "development_stage"
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("development.id"), index=True)
    stage: Mapped[str] = mapped_column(String(10))  # DEV_STAGES, or "lost"
    stage_on: Mapped[dt.date] = mapped_column(Date)  # the day the case reached the stage
    note: Mapped[str] = mapped_column(Text, default="")
    actor: Mapped[str] = mapped_column(String(50))
    at: Mapped[dt.datetime] = mapped_column(DateTime)
