"""Customers 客户 (DOMAIN §2–§4) and their monthly consumption 月度消费.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, Boolean, DateTime, Float, ForeignKey, Index, Integer, String, Text, func
from sqlalchemy.orm import Mapped, mapped_column

from lib.models.base import Base, Month, OrgPath


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
    name: Mapped[str] = mapped_column(OrgPath)
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
    org_path: Mapped[str] = mapped_column(OrgPath)
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
    developed_month: Mapped[str | None] = mapped_column(Month)  # month it was won (开发)
    lost_month: Mapped[str | None] = mapped_column(Month)
    lost_reason: Mapped[str | None] = mapped_column(String(100))
    competitor: Mapped[str | None] = mapped_column(String(50))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=dt.datetime.utcnow)
    # extension fields 扩展字段: {key: value} of the spec fields stored="extra" (lib.customers.FIELDS)
    extra: Mapped[dict | None] = mapped_column(JSON)

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
    month: Mapped[str] = mapped_column(Month, primary_key=True)
    gasoline_t: Mapped[float] = mapped_column(Float, default=0.0)
    diesel_t: Mapped[float] = mapped_column(Float, default=0.0)
    card_cny: Mapped[float] = mapped_column(Float, default=0.0)
    visits: Mapped[int] = mapped_column(Integer, default=0)  # fuelling visits 加油次数

    __table_args__ = (Index("ix_consumption_month", "month"),)


# Indexes the archive search and duplicate checks need (created in alembic 0003).
_c = Customer.__table__.c
Index("ix_customer_credit_code", _c.credit_code)
Index("ix_customer_path_code", _c.org_path, _c.code)  # archive: scope walk in display order
Index("ix_customer_tier", func.coalesce(_c.tier_override, _c.computed_tier), _c.org_path, _c.code)
Index("ix_customer_status_kind", _c.status, _c.kind, _c.org_path, _c.code)
