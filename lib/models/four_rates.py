"""The four rates 四率 (FOUR_RATES.md): daily station traffic 站点车流 and per-station targets 目标.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import Date, Float, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from lib.models.base import Base, Month, OrgPath


class StationTraffic(Base):
    """Daily station traffic 站点车流 for the four rates 四率 (FOUR_RATES.md).

    Passing counts by vehicle class (小车/中型车/大货车/客车) are sampled and scaled up; the method is
    kept with the count. `identified` and `returned` count vehicles (plate recognition 车牌识别): a
    vehicle-level return rate 车辆回头率 shown beside the return rate, which counts customers from the
    monthly consumption's visits (issue 15; lib.kpis.SIDE_RATES).
    """

    __tablename__ = "station_traffic"
    station_id: Mapped[int] = mapped_column(ForeignKey("station.id"), primary_key=True)
    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    org_path: Mapped[str] = mapped_column(OrgPath, index=True)
    month: Mapped[str] = mapped_column(Month, index=True)
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
