"""Stage 1, geography 地理: the demo province's cities, districts and station locations on the real map.

The cities 地市 and districts 区县 are Shandong's real ones (`lib.regions.province("37")`: official names,
adcodes, WGS-84 boundaries that partition their city exactly), all 16 cities / 136 districts or a
subset (`select`). Every district gets at least one station; the stations beyond that go to the cities
by weight (lib.demo.words.CITIES) and, inside a city, more to the districts near its urban centre; in a
district they lie more densely towards the city centre, ≥ 0.6 km apart where there is room.

Each city is a dict (code, adcode, name (short, 济南), full (济南市), en, lon, lat (urban centre), weight,
districts [(adcode, name, name_en)], district_polys, poly (the union of its chosen districts),
stations_xy (one array per district)) that the later stages read.
"""
from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import shapely
from shapely.ops import nearest_points

from lib import regions
from lib.demo.common import KM_PER_DEG_LAT, km_per_deg_lon, random_points_in
from lib.demo.words import CITIES, DISTRICT_EN, DISTRICT_SUFFIX_EN, SMALL_DISTRICTS
from lib.grids import area_m2

PROVINCE = "37"  # Shandong 山东省


def all_districts() -> dict[str, list[str]]:
    """Every city code (4 digits) of the province with its district adcodes, by code."""
    prov = regions.province(PROVINCE)
    return {c.adcode[:4]: [d.adcode for d in c.children] for c in prov.cities}


def select(codes: str | Iterable[str] | None, n_stations: int) -> dict[str, list[str]]:
    """The cities and districts the demo builds: {city code: [district adcodes]}.

    `codes`: None → the whole province when there are at least as many stations as its districts
    (136; about 27,000 customers and more), else the small demo's 16 districts of 5 cities
    (words.SMALL_DISTRICTS); "all" (or "37") → the whole province; else city codes ("3701", or
    "370100") and/or district adcodes ("370102"), as a list or a comma-separated string. Raises
    ValueError naming a code that is not a city or district of Shandong.
    """
    full = all_districts()
    if codes is None:
        n_all = sum(len(v) for v in full.values())
        if n_stations >= n_all:
            return full
        codes = SMALL_DISTRICTS
    if isinstance(codes, str):
        codes = [c for c in codes.replace(" ", "").split(",") if c]
    codes = [str(c).strip() for c in codes]
    if not codes:
        raise ValueError("no city or district code given")
    if any(c.lower() == "all" or c in (PROVINCE, f"{PROVINCE}0000") for c in codes):
        return full
    district_city = {d: c for c, ds in full.items() for d in ds}
    chosen: dict[str, set[str]] = {}
    for code in codes:
        if len(code) == 6 and code.endswith("00") and code[:4] in full:
            code = code[:4]
        if len(code) == 4 and code in full:
            chosen.setdefault(code, set()).update(full[code])
        elif code in district_city:
            chosen.setdefault(district_city[code], set()).add(code)
        else:
            raise ValueError(f"{code!r} is not a city (4 digits, e.g. 3701) or district (6 digits, e.g. 370102) "
                             "code of Shandong")
    return {c: [d for d in full[c] if d in chosen[c]] for c in sorted(chosen)}


def district_en(adcode: str, name: str) -> str:
    """English name of a district: pinyin + District/County/City (e.g. "Lixia District")."""
    return f"{DISTRICT_EN.get(adcode, adcode)} {DISTRICT_SUFFIX_EN.get(name[-1:], 'District')}"


def build(rng: np.random.Generator, n_stations: int, cities: str | Iterable[str] | None = None) -> list[dict]:
    """Return the chosen cities with their real district polygons and station points (see the module
    docstring); at least one station per district, so possibly more than `n_stations`."""
    prov = regions.province(PROVINCE)
    chosen = select(cities, n_stations)
    out = []
    for c in prov.cities:
        code = c.adcode[:4]
        if code not in chosen:
            continue
        short, en, lon, lat, weight = CITIES[code]
        ds = [d for d in c.children if d.adcode in chosen[code]]
        polys = [d.geometry for d in ds]
        for p in polys:
            shapely.prepare(p)
        poly = c.geometry if len(ds) == len(c.children) else shapely.union_all(polys)
        out.append(dict(code=code, adcode=c.adcode, name=short, full=c.name, en=en, lon=lon, lat=lat,
                        weight=weight, districts=[(d.adcode, d.name, district_en(d.adcode, d.name)) for d in ds],
                        district_polys=polys, poly=poly))
    alloc = allocate(out, n_stations)
    for c, per in zip(out, alloc):
        c["stations_xy"] = [station_points(rng, c, dpoly, k) for dpoly, k in zip(c["district_polys"], per)]
    return out


def _km_to_centre(c: dict, geom) -> float:
    """Distance (km) from the city's urban centre to the nearest point of `geom` (0 inside)."""
    p = shapely.Point(c["lon"], c["lat"])
    q = nearest_points(geom, p)[0] if not geom.contains(p) else p
    return float(np.hypot((q.x - p.x) * km_per_deg_lon(c["lat"]), (q.y - p.y) * KM_PER_DEG_LAT))


def allocate(cities: list[dict], n_stations: int) -> list[list[int]]:
    """Stations per district: one each, the rest to the cities by weight and inside a city by district
    weight √area × (1 + 9·e^(−d/10 km)), d the distance to the urban centre (largest remainders)."""
    base = [[1] * len(c["districts"]) for c in cities]
    extra = n_stations - sum(len(b) for b in base)
    if extra <= 0:
        return base
    w_city = np.array([c["weight"] for c in cities], dtype=float)
    per_city = _largest_remainder(extra, w_city)
    for c, b, n_c in zip(cities, base, per_city.tolist()):
        area_km2 = np.array([area_m2(p) / 1e6 for p in c["district_polys"]])
        d_km = np.array([_km_to_centre(c, p) for p in c["district_polys"]])
        w = np.sqrt(area_km2) * (1 + 9 * np.exp(-d_km / 10))
        for i, k in enumerate(_largest_remainder(n_c, w).tolist()):
            b[i] += k
    return base


def _largest_remainder(n: int, w: np.ndarray) -> np.ndarray:
    share = n * w / w.sum()
    out = np.floor(share).astype(int)
    out[np.argsort(-(share - out), kind="stable")[: n - out.sum()]] += 1
    return out


def station_points(rng: np.random.Generator, c: dict, dpoly, n: int) -> np.ndarray:
    """`n` station locations in district `dpoly`, denser towards the city's urban centre (acceptance
    0.15 + e^(−d/8 km)), ≥ 0.6 km apart (the spacing shrinks where a small district has no room)."""
    kx = km_per_deg_lon(c["lat"])
    pts = np.empty((0, 2))
    sep = 0.6
    while len(pts) < n:
        cand = random_points_in(rng, dpoly, 8 * n)
        d = np.hypot((cand[:, 0] - c["lon"]) * kx, (cand[:, 1] - c["lat"]) * KM_PER_DEG_LAT)
        cand = cand[rng.random(len(cand)) * 1.15 < 0.15 + np.exp(-d / 8)]
        for p in cand:
            if len(pts) >= n:
                break
            if len(pts) and np.hypot((pts[:, 0] - p[0]) * kx, (pts[:, 1] - p[1]) * KM_PER_DEG_LAT).min() < sep:
                continue
            pts = np.vstack([pts, p])
        sep *= 0.7
    return pts
