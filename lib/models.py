"""Data model (数据模型): SQLAlchemy 2.0 typed tables, portable between SQLite and PostgreSQL.

Scope: every row that belongs to a part of the organisation carries `org_path`, the
materialised path of its org unit ("/37/3701/370102/370102003/"). A viewer's scope is such a path
and queries filter with `org_path LIKE scope || '%'`, which uses the index on `org_path`.

Months are `YYYY-MM` strings (sortable, portable); days are `Date`.
Geometries are GeoJSON text in WGS-84 lon/lat (no PostGIS needed).
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


# --- Organisation and grids (DOMAIN §1; 002 §5, §6.4; 000 §2) ---------------------------------

ORG_LEVELS = ("province", "city", "district", "station")


class OrgUnit(Base):
    """Organisation unit 组织单元: province 省公司 → city 地市分公司 → district 区县/片区 → station 加油站."""

    __tablename__ = "org_unit"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    name_en: Mapped[str] = mapped_column(String(100), default="")
    level: Mapped[str] = mapped_column(String(10))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("org_unit.id"))
    path: Mapped[str] = mapped_column(String(200), unique=True)
    manager_name: Mapped[str] = mapped_column(String(50), default="")
    manager_phone: Mapped[str] = mapped_column(String(30), default="")
    boundary: Mapped[str | None] = mapped_column(Text)  # GeoJSON geometry (districts, cities)
    lon: Mapped[float | None] = mapped_column(Float)
    lat: Mapped[float | None] = mapped_column(Float)
    staff: Mapped[int] = mapped_column(Integer, default=0)  # for the §6.1.1 load check


class Station(Base):
    """Fuel station 加油站, one per station-level org unit; grade from daily sales (DOMAIN §9)."""

    __tablename__ = "station"
    id: Mapped[int] = mapped_column(primary_key=True)
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), unique=True)
    org_path: Mapped[str] = mapped_column(String(200), index=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    lon: Mapped[float] = mapped_column(Float)
    lat: Mapped[float] = mapped_column(Float)
    opened_on: Mapped[dt.date | None] = mapped_column(Date)
    nozzles: Mapped[int] = mapped_column(Integer, default=8)
    daily_sales_t: Mapped[float] = mapped_column(Float, default=0.0)  # 日销量 (t/day), last 12 months
    grade: Mapped[str] = mapped_column(String(10), default="regular")  # lib.rules.station_grade


class CompetitorStation(Base):
    """Competitor station 竞争对手加油站 (Sinopec, private, …) shown on the grid map."""

    __tablename__ = "competitor_station"
    id: Mapped[int] = mapped_column(primary_key=True)
    org_path: Mapped[str] = mapped_column(String(200), index=True)  # district it stands in
    name: Mapped[str] = mapped_column(String(100))
    brand: Mapped[str] = mapped_column(String(50))
    lon: Mapped[float] = mapped_column(Float)
    lat: Mapped[float] = mapped_column(Float)


class Grid(Base):
    """Grid 网格: a polygon of a district owned by one station; owner 网格负责人 = its station manager."""

    __tablename__ = "grid"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(30), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    station_id: Mapped[int] = mapped_column(ForeignKey("station.id"), index=True)
    org_path: Mapped[str] = mapped_column(String(200), index=True)  # the station's path
    geometry: Mapped[str] = mapped_column(Text)  # GeoJSON Polygon / MultiPolygon
    owner_name: Mapped[str] = mapped_column(String(50), default="")
    owner_phone: Mapped[str] = mapped_column(String(30), default="")
    owner_duties: Mapped[str] = mapped_column(Text, default="")
    area_km2: Mapped[float] = mapped_column(Float, default=0.0)


class Patch(Base):
    """Patch 包区: part of a grid one person can handle, assigned to a customer manager."""

    __tablename__ = "patch"
    id: Mapped[int] = mapped_column(primary_key=True)
    grid_id: Mapped[int] = mapped_column(ForeignKey("grid.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    geometry: Mapped[str | None] = mapped_column(Text)
    manager_id: Mapped[int | None] = mapped_column(ForeignKey("customer_manager.id"))


# --- People ------------------------------------------------------------------------------------


class CustomerManager(Base):
    """Customer manager 客户经理 (003): level graded yearly, pay = base + commission."""

    __tablename__ = "customer_manager"
    id: Mapped[int] = mapped_column(primary_key=True)
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"))
    org_path: Mapped[str] = mapped_column(String(200), index=True)
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
    org_path: Mapped[str] = mapped_column(String(200))
    manager_id: Mapped[int | None] = mapped_column(ForeignKey("customer_manager.id"))
    password_hash: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    failed_attempts: Mapped[int] = mapped_column(Integer, default=0)
    first_failed_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    locked_until: Mapped[dt.datetime | None] = mapped_column(DateTime)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=dt.datetime.utcnow)


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
    org_path: Mapped[str] = mapped_column(String(200), default="/")


# --- Customers (DOMAIN §2–§4) ------------------------------------------------------------------


class Customer(Base):
    """Retail customer 零售客户 with its classification (§2), tier (§3) and status (§4).

    Demand figures (`gasoline_t`, `diesel_t` per month, `card_cny` per year) are what the tier and
    size rules read; `computed_tier` and `tier_rule` are kept in step with them on every write.

    `org_path` is the station's path, followed by "m<manager id>/" when a customer manager 客户经理
    is assigned: a customer manager's scope is that segment, so the same prefix filter that keeps a
    station manager inside their station keeps a customer manager to their own customers.
    """

    __tablename__ = "customer"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(24), unique=True)  # 客户代码 (lib.rules.customer_code)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(15))  # institutional 机构 / personal 个人
    size: Mapped[str | None] = mapped_column(String(10))  # large/medium/small (institutions)
    sub_type: Mapped[str] = mapped_column(String(30))  # personal: private_car …; institutional: nature
    fuel: Mapped[str] = mapped_column(String(10))  # gasoline / diesel / both
    fuel_segment: Mapped[str] = mapped_column(String(30), default="")  # taxi, long_distance …
    payment: Mapped[str] = mapped_column(String(15))  # fuel_card / bank_card / cash
    industry: Mapped[str] = mapped_column(String(30), default="")
    phone: Mapped[str] = mapped_column(String(30), default="", index=True)
    credit_code: Mapped[str] = mapped_column(String(30), default="")  # 统一社会信用代码
    contact: Mapped[str] = mapped_column(String(50), default="")
    lon: Mapped[float | None] = mapped_column(Float)
    lat: Mapped[float | None] = mapped_column(Float)
    station_id: Mapped[int] = mapped_column(ForeignKey("station.id"), index=True)
    grid_id: Mapped[int | None] = mapped_column(ForeignKey("grid.id"), index=True)
    org_path: Mapped[str] = mapped_column(String(200))
    manager_id: Mapped[int | None] = mapped_column(ForeignKey("customer_manager.id"), index=True)
    status: Mapped[str] = mapped_column(String(12))  # existing/potential/competitor/lost
    value_class: Mapped[int] = mapped_column(Integer, default=4)  # 一/二/三/四类
    loyalty: Mapped[str] = mapped_column(String(10), default="floating")  # fixed/floating/potential/lost
    gasoline_t: Mapped[float] = mapped_column(Float, default=0.0)
    diesel_t: Mapped[float] = mapped_column(Float, default=0.0)
    card_cny: Mapped[float] = mapped_column(Float, default=0.0)
    agreement: Mapped[str | None] = mapped_column(String(10))  # None/province/city/district
    province_procurement: Mapped[bool] = mapped_column(Boolean, default=False)
    stable: Mapped[bool] = mapped_column(Boolean, default=False)
    computed_tier: Mapped[str] = mapped_column(String(10))
    tier_rule: Mapped[str] = mapped_column(String(40))  # which rule decided (lib.rules)
    tier_override: Mapped[str | None] = mapped_column(String(10))
    tier_override_reason: Mapped[str | None] = mapped_column(Text)
    tier_override_by: Mapped[str | None] = mapped_column(String(50))
    tier_override_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    developed_month: Mapped[str | None] = mapped_column(String(7))  # month it was won (开发)
    lost_month: Mapped[str | None] = mapped_column(String(7))
    lost_reason: Mapped[str | None] = mapped_column(String(100))
    competitor: Mapped[str | None] = mapped_column(String(50))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=dt.datetime.utcnow)

    __table_args__ = (
        Index("ix_customer_scope", "org_path", "status"),
        Index("ix_customer_station_manager", "station_id", "manager_id"),
        Index("ix_customer_name", "name"),
        Index("ix_customer_developed", "developed_month"),
        Index("ix_customer_lost", "lost_month"),
    )


class MonthlyConsumption(Base):
    """Monthly consumption 月度消费 of one customer: gasoline and diesel tonnes, card CNY, visits."""

    __tablename__ = "monthly_consumption"
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id"), primary_key=True)
    month: Mapped[str] = mapped_column(String(7), primary_key=True)
    gasoline_t: Mapped[float] = mapped_column(Float, default=0.0)
    diesel_t: Mapped[float] = mapped_column(Float, default=0.0)
    card_cny: Mapped[float] = mapped_column(Float, default=0.0)
    visits: Mapped[int] = mapped_column(Integer, default=0)  # fuelling visits 加油次数

    __table_args__ = (Index("ix_consumption_month", "month"),)


class StationMonthly(Base):
    """Summary table 站月汇总: consumption of a station's customers per month and tier.

    Refreshed from `monthly_consumption` whenever it changes (lib.summary), so that dashboards
    aggregate thousands of rows instead of millions.
    """

    __tablename__ = "station_monthly"
    station_id: Mapped[int] = mapped_column(ForeignKey("station.id"), primary_key=True)
    month: Mapped[str] = mapped_column(String(7), primary_key=True)
    tier: Mapped[str] = mapped_column(String(10), primary_key=True)
    kind: Mapped[str] = mapped_column(String(15), primary_key=True)
    org_path: Mapped[str] = mapped_column(String(200), primary_key=True)  # customers' path (see Customer)
    customers: Mapped[int] = mapped_column(Integer, default=0)  # customers with volume this month
    gasoline_t: Mapped[float] = mapped_column(Float, default=0.0)
    diesel_t: Mapped[float] = mapped_column(Float, default=0.0)
    card_cny: Mapped[float] = mapped_column(Float, default=0.0)
    visits: Mapped[int] = mapped_column(Integer, default=0)

    __table_args__ = (Index("ix_station_monthly_scope", "org_path", "month"),
                      Index("ix_station_monthly_month", "month"))


class StationTraffic(Base):
    """Daily station traffic 站点车流 for the four rates 四率 (FOUR_RATES.md).

    Passing counts by vehicle class (小车/中型车/大货车/客车) are sampled and scaled up; the method is
    kept with the count. `returned` counts identified customers seen before in the same month.
    """

    __tablename__ = "station_traffic"
    station_id: Mapped[int] = mapped_column(ForeignKey("station.id"), primary_key=True)
    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    org_path: Mapped[str] = mapped_column(String(200), index=True)
    month: Mapped[str] = mapped_column(String(7), index=True)
    passing_car: Mapped[int] = mapped_column(Integer, default=0)
    passing_medium: Mapped[int] = mapped_column(Integer, default=0)
    passing_truck: Mapped[int] = mapped_column(Integer, default=0)
    passing_bus: Mapped[int] = mapped_column(Integer, default=0)
    entering: Mapped[int] = mapped_column(Integer, default=0)
    fuelled: Mapped[int] = mapped_column(Integer, default=0)
    transactions: Mapped[int] = mapped_column(Integer, default=0)
    full_tank: Mapped[int] = mapped_column(Integer, default=0)
    identified: Mapped[int] = mapped_column(Integer, default=0)
    returned: Mapped[int] = mapped_column(Integer, default=0)  # "returning" is reserved in SQL
    peak_nozzle_lifts: Mapped[int] = mapped_column(Integer, default=0)  # 高峰小时抬枪次数
    sampling: Mapped[str] = mapped_column(String(30), default="15min/h x 24h")


class FourRateTarget(Base):
    """Per-station target 目标 for each of the four rates (editable; defaults in rules.toml)."""

    __tablename__ = "four_rate_target"
    station_id: Mapped[int] = mapped_column(ForeignKey("station.id"), primary_key=True)
    rate: Mapped[str] = mapped_column(String(20), primary_key=True)
    target: Mapped[float] = mapped_column(Float)


# --- Development, visits, matters (DOMAIN §5–§7) -----------------------------------------------

DEV_STAGES = ("collect", "plan", "assign", "control", "signed")


class DevelopmentPlan(Base):
    """Monthly development target 零售客户月度开发计划 (002 §6.5.3, appendix 1) of one unit.

    A missing row means the rule book's default target applies.
    """

    __tablename__ = "development_plan"
    id: Mapped[int] = mapped_column(primary_key=True)
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"))
    org_path: Mapped[str] = mapped_column(String(200), index=True)
    month: Mapped[str] = mapped_column(String(7))
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
    org_path: Mapped[str] = mapped_column(String(200), index=True)
    stage: Mapped[str] = mapped_column(String(10))  # DEV_STAGES, or "lost"
    team: Mapped[str] = mapped_column(String(100), default="")
    developer_id: Mapped[int | None] = mapped_column(ForeignKey("customer_manager.id"))
    started_on: Mapped[dt.date] = mapped_column(Date)
    stage_on: Mapped[dt.date] = mapped_column(Date)


class Visit(Base):
    """Visit plan or record 维护回访 (002 §6.7.1) in one of five modes."""

    __tablename__ = "visit"
    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id"), index=True)
    org_path: Mapped[str] = mapped_column(String(200), index=True)
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
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customer.id"), index=True)
    grid_id: Mapped[int | None] = mapped_column(ForeignKey("grid.id"))
    org_path: Mapped[str] = mapped_column(String(200), index=True)
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


# Tables of later areas live in their own modules; importing them here registers them on Base.
from lib import models_dashboards, models_maps, models_work  # noqa: E402,F401
