"""Summary tables 汇总表 the dashboards read, refreshed by lib.summary in the same transaction as the
data: `station_monthly` 站月汇总 and `customer_monthly` 客户月度汇总; the tier history 等级历史 they
read (`customer_tier_before`) and the closed months 已关账月份 they never rewrite (`month_close`).
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import DateTime, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from lib.models.base import Base, Month, OrgPath


class StationMonthly(Base):
    """Summary table 站月汇总: consumption of a station's customers per month and tier.

    Refreshed from `monthly_consumption` whenever it changes (lib.summary), so that dashboards
    aggregate thousands of rows instead of millions.
    """

    __tablename__ = "station_monthly"
    station_id: Mapped[int] = mapped_column(ForeignKey("station.id"), primary_key=True)
    month: Mapped[str] = mapped_column(Month, primary_key=True)
    tier: Mapped[str] = mapped_column(String(10), primary_key=True)
    kind: Mapped[str] = mapped_column(String(15), primary_key=True)
    org_path: Mapped[str] = mapped_column(OrgPath, primary_key=True)  # customers' path (see Customer)
    customers: Mapped[int] = mapped_column(Integer, default=0)  # customers with volume this month
    gasoline_t: Mapped[float] = mapped_column(Float, default=0.0)
    diesel_t: Mapped[float] = mapped_column(Float, default=0.0)
    card_cny: Mapped[float] = mapped_column(Float, default=0.0)
    visits: Mapped[int] = mapped_column(Integer, default=0)

    __table_args__ = (Index("ix_station_monthly_scope", "org_path", "month"),
                      Index("ix_station_monthly_month", "month"))


class CustomerMonthly(Base):
    """Per-customer monthly summary 客户月度汇总: one row per customer on the books 在册 per month.

    Measures (lib.tiers docstring): `g_avg_t`/`d_avg_t` the monthly mean over the month and the two
    before, `card_year_cny` the card purchases of the 12 months ending with the month, annualised;
    `measured_tier` and `rule` what lib.rules gives for them (002 §6.3.1). For tracking and churn
    (002 §6.6): `prev3_avg_t` the mean of the three months before (None when none on the books),
    `last_year_t` the same month last year (None when not on the books then), `last_fuel_month`
    the latest month with fuel within the 24 months up to this one (lib.summary.LOOKBACK), from
    which lib.tracking tells a silent customer 沉默 under whatever config [churn] says.
    `org_path`, `station_id`, `grid_id`, `lon`, `lat`, `kind`, `fuel`, `payment` and `value_class` copy
    the customer's values as they were when the month was last refreshed, `computed_tier`,
    `tier_override` and `size` those in force at the month's end (lib.tier_history), so that a
    month's figures of a whole province are read from this table alone, without a join over a
    million customers. A closed month's rows are never rewritten (lib.months).
    """

    __tablename__ = "customer_monthly"
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id"), primary_key=True)
    month: Mapped[str] = mapped_column(Month, primary_key=True)
    org_path: Mapped[str] = mapped_column(OrgPath)
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
    last_fuel_month: Mapped[str | None] = mapped_column(Month)

    __table_args__ = (Index("ix_customer_monthly_scope", "month", "org_path",
                            postgresql_ops={"org_path": "varchar_pattern_ops"}),)


class CustomerTierBefore(Base):
    """Tier history 等级历史 (DOMAIN §3 "History"; 002 §6.1.1, §6.6.3 附录5): "before `until_month`, the
    customer's computed tier, override and size 规模 were these". Written once per customer and month, at the
    first change of its computed tier or override in that month (the value in force at the end of
    the month before; lib.tier_history.note_changes). Month m's tier is that of the earliest row with
    `until_month` > m, else the customer's current one. `override_reason/by/at` are the override's
    own reason, author and time as they stood then."""

    __tablename__ = "customer_tier_before"
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id"), primary_key=True)
    until_month: Mapped[str] = mapped_column(Month, primary_key=True)
    computed_tier: Mapped[str] = mapped_column(String(10))
    tier_override: Mapped[str | None] = mapped_column(String(10))
    size: Mapped[str | None] = mapped_column(String(10))  # the size 规模 then (institutions; DOMAIN §2)
    override_reason: Mapped[str | None] = mapped_column(Text)
    override_by: Mapped[str | None] = mapped_column(String(50))
    override_at: Mapped[dt.datetime | None] = mapped_column(DateTime)


class MonthClose(Base):
    """Closed month 已关账月份 (002 §6.6.3: the monthly reports of the 5th): a closed month's summary
    rows and appendix sheets never change; imports into it are refused (lib.months.close_month)."""

    __tablename__ = "month_close"
    month: Mapped[str] = mapped_column(Month, primary_key=True)
    closed_by: Mapped[str] = mapped_column(String(50))
    closed_at: Mapped[dt.datetime] = mapped_column(DateTime)
