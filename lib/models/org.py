"""Organisation and grids 组织与网格 (DOMAIN §1; 002 §5, §6.4; 000 §2): org units, stations, competitor
stations, grids and patches.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import Date, Float, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from lib.models.base import Base, Month, OrgPath

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
    path: Mapped[str] = mapped_column(OrgPath, unique=True)
    manager_name: Mapped[str] = mapped_column(String(50), default="")
    manager_phone: Mapped[str] = mapped_column(String(30), default="")
    boundary: Mapped[str | None] = mapped_column(Text)  # GeoJSON geometry (districts, cities)
    lon: Mapped[float | None] = mapped_column(Float)
    lat: Mapped[float | None] = mapped_column(Float)
    staff: Mapped[int] = mapped_column(Integer, default=0)  # for the §6.1.1 load check
    adcode: Mapped[str | None] = mapped_column(String(12))  # 行政区划代码 (GB/T 2260) from the real map, if any


class Station(Base):
    """Fuel station 加油站, one per station-level org unit; grade from daily sales (DOMAIN §9)."""

    __tablename__ = "station"
    id: Mapped[int] = mapped_column(primary_key=True)
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), unique=True)
    org_path: Mapped[str] = mapped_column(OrgPath, index=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    lon: Mapped[float] = mapped_column(Float)
    lat: Mapped[float] = mapped_column(Float)
    opened_on: Mapped[dt.date | None] = mapped_column(Date)
    nozzles: Mapped[int] = mapped_column(Integer, default=8)
    daily_sales_t: Mapped[float] = mapped_column(Float, default=0.0)  # 日销量 (t/day), last 12 months
    grade: Mapped[str] = mapped_column(String(10), default="regular")  # lib.rules.station_grade


class StationSales(Base):
    """Monthly sales of a station 加油站月销量 (tonnes; walk-in customers included): the station's daily
    sales 日销量 and grade (001 Chongqing) are recomputed from its last 12 known months."""

    __tablename__ = "station_sales"
    station_id: Mapped[int] = mapped_column(ForeignKey("station.id"), primary_key=True)
    month: Mapped[str] = mapped_column(Month, primary_key=True)
    org_path: Mapped[str] = mapped_column(OrgPath, index=True)
    gasoline_t: Mapped[float] = mapped_column(Float, default=0.0)
    diesel_t: Mapped[float] = mapped_column(Float, default=0.0)


class CompetitorStation(Base):
    """Competitor station 竞争对手加油站 (Sinopec, private, …) shown on the grid map."""

    __tablename__ = "competitor_station"
    id: Mapped[int] = mapped_column(primary_key=True)
    org_path: Mapped[str] = mapped_column(OrgPath, index=True)  # district it stands in
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
    org_path: Mapped[str] = mapped_column(OrgPath, index=True)  # the station's path
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
