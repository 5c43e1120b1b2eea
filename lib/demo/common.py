"""Shared pieces of the demo generator 演示数据 (lib.demo): the period, id blocks, progress, frames and
their writer, random names and codes, and the geometry helpers the stages share."""
from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import shapely
from shapely.geometry import MultiPoint, MultiPolygon, Polygon
from sqlalchemy import Connection, Table

from lib import db, months
from lib.demo.words import GIVEN, PHONE_PREFIXES, SURNAMES

Progress = Callable[[float, str], None]
KM_PER_DEG_LAT = 110.57
# tables whose ids the generator assigns itself (so that later stages can refer to them)
ID_TABLES = ("org_unit", "station", "competitor_station", "grid", "patch", "customer_manager", "customer",
             "development_plan", "development", "visit", "matter", "matter_event")


@dataclass(frozen=True)
class Period:
    """The months of history 历史月份 and the demo's "today" (`as_of`)."""

    end_month: str
    month_list: list[str]
    as_of: dt.date

    @classmethod
    def ending(cls, end_month: str, n: int, today: dt.date) -> Period:
        """`n` months up to `end_month`; "today" is the real today when `end_month` is last month,
        else the 15th of the month after `end_month`."""
        after = months.first_day(months.shift(end_month, 1))
        as_of = today if (today.year, today.month) == (after.year, after.month) else after.replace(day=15)
        return cls(end_month, [months.shift(end_month, k - n + 1) for k in range(n)], as_of)

    @property
    def n(self) -> int:
        return len(self.month_list)

    @property
    def month_of_year(self) -> np.ndarray:
        """1–12 for each month of the history (seasonality)."""
        return np.array([int(x[5:7]) for x in self.month_list])


@dataclass
class Ids:
    """Hands out blocks of consecutive ids per table, after the ids already in the database."""

    last: dict[str, int] = field(default_factory=dict)

    @classmethod
    def after_existing(cls, conn: Connection) -> Ids:
        return cls({t: conn.exec_driver_sql(f'SELECT COALESCE(MAX(id), 0) FROM "{t}"').scalar_one()
                    for t in ID_TABLES})

    def take(self, table: str, n: int) -> np.ndarray:
        start = self.last[table] + 1
        self.last[table] += n
        return np.arange(start, start + n, dtype=np.int64)


@dataclass
class Reporter:
    """Progress callback wrapper: clamps the fraction to [0, 1] and counts the calls."""

    fn: Progress | None
    calls: int = 0

    def __call__(self, fraction: float, step: str) -> None:
        self.calls += 1
        if self.fn is not None:
            self.fn(min(1.0, max(0.0, float(fraction))), step)


# --- frames ---------------------------------------------------------------------------------------


def frame(cols: dict) -> pd.DataFrame:
    """A table's rows as a DataFrame of object columns, so that every value (None, int, date) is
    written exactly as the stage made it (no NaN for None, no numpy scalars, no string dtype)."""
    return pd.DataFrame({k: pd.Series(_objects(v), dtype=object, copy=False) for k, v in cols.items()})


def _objects(values) -> np.ndarray:
    """Values as an object array of Python scalars (what `.tolist()` gives), without a list in between."""
    if isinstance(values, np.ndarray):
        return values.astype(object)
    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out


def write(conn: Connection, table: Table, rows: pd.DataFrame) -> int:
    """Bulk-insert a frame made by `frame` into `table` in the caller's transaction (lib.db.bulk_insert)."""
    return db.bulk_insert(conn, table, {c: rows[c].to_numpy() for c in rows.columns})


def tolist(a) -> list:
    return a.tolist() if isinstance(a, np.ndarray) else list(a)


def opt(values: np.ndarray, mask: np.ndarray) -> list:
    """values where mask is True, else None."""
    return [v if k else None for v, k in zip(tolist(values), tolist(mask))]


# --- people and codes -----------------------------------------------------------------------------


def person_names(rng: np.random.Generator, n: int) -> list[str]:
    """n Chinese person names 姓名, common surnames more often."""
    w = 1.0 / np.arange(1, len(SURNAMES) + 1) ** 0.9
    s = rng.choice(len(SURNAMES), n, p=w / w.sum())
    g1 = rng.integers(0, len(GIVEN), n)
    g2 = rng.integers(0, len(GIVEN), n)
    two = rng.random(n) < 0.7
    return [SURNAMES[a] + GIVEN[b] + (GIVEN[c] if t else "")
            for a, b, c, t in zip(s.tolist(), g1.tolist(), g2.tolist(), two.tolist())]


def phones(rng: np.random.Generator, n: int) -> list[str]:
    """n mobile numbers 手机号 with real prefixes."""
    p = rng.integers(0, len(PHONE_PREFIXES), n).tolist()
    num = rng.integers(0, 100_000_000, n).tolist()
    return [f"{PHONE_PREFIXES[a]}{b:08d}" for a, b in zip(p, num)]


CC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # GB 32100-2015 统一社会信用代码
_CC_W = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]
_ORG_W = [3, 7, 9, 10, 5, 8, 4, 2]  # GB 11714 组织机构代码


def credit_code(prefix: str, area: str, body8: str) -> str:
    """An 18-char unified social credit code with valid check characters (GB 32100, GB 11714)."""
    s = sum(CC_CHARS.index(ch) * w for ch, w in zip(body8, _ORG_W))
    c9 = 11 - s % 11
    org = body8 + ("X" if c9 == 10 else "0" if c9 == 11 else str(c9))
    code17 = prefix + area + org
    s = sum(CC_CHARS.index(ch) * w for ch, w in zip(code17, _CC_W))
    return code17 + CC_CHARS[(31 - s % 31) % 31]


# --- geometry -------------------------------------------------------------------------------------


def km_per_deg_lon(lat: float) -> float:
    return 111.32 * math.cos(math.radians(lat))


def random_points_in(rng: np.random.Generator, geom, n: int) -> np.ndarray:
    """n points uniformly inside `geom` (rejection sampling in its bounding box)."""
    minx, miny, maxx, maxy = geom.bounds
    out = np.empty((0, 2))
    shapely.prepare(geom)
    while len(out) < n:
        k = max(64, 4 * (n - len(out)))
        pts = np.column_stack([rng.uniform(minx, maxx, k), rng.uniform(miny, maxy, k)])
        pts = pts[shapely.contains_xy(geom, pts[:, 0], pts[:, 1])]
        out = np.vstack([out, pts])
    return out[:n]


def polygonal(geom):
    """Drop lines/points an intersection may leave; return a Polygon or MultiPolygon."""
    if isinstance(geom, (Polygon, MultiPolygon)):
        return geom
    parts = [g for g in shapely.get_parts(geom) if isinstance(g, Polygon) and not g.is_empty]
    return parts[0] if len(parts) == 1 else MultiPolygon(parts)


def voronoi_split(points: np.ndarray, region) -> list:
    """Voronoi cells of `points` clipped to `region`, in the order of the points (a partition)."""
    if len(points) == 1:
        return [region]
    cells = shapely.voronoi_polygons(MultiPoint(points), extend_to=region, ordered=True)
    return [polygonal(c.intersection(region)) for c in cells.geoms]


# --- whole database -------------------------------------------------------------------------------


def clear(conn: Connection, metadata) -> None:
    """Delete every row of every table of the model (users and audit log too)."""
    tables = list(reversed(metadata.sorted_tables))
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("TRUNCATE " + ", ".join(f'"{t.name}"' for t in tables) + " RESTART IDENTITY CASCADE")
    else:
        for t in tables:
            conn.exec_driver_sql(f'DELETE FROM "{t.name}"')


def reset_sequences(conn: Connection) -> None:
    """PostgreSQL: move each id sequence past the ids we wrote explicitly."""
    if conn.dialect.name != "postgresql":
        return
    for t in ID_TABLES:
        conn.exec_driver_sql(
            f"SELECT setval(pg_get_serial_sequence('{t}', 'id'), COALESCE(MAX(id), 1), MAX(id) IS NOT NULL) FROM \"{t}\"")
