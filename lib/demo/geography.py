"""Stage 1, geography 地理: city boundaries, districts and station locations of the demo province.

Cities are irregular star-shaped polygons around the real city centres; districts are Voronoi cells
of random seeds clipped to their city; stations lie more densely near the centres, at least one per
district. Each city is a dict (code, name, en, lon, lat, weight, R, districts, poly, district_polys,
stations_xy) that the later stages read.
"""
from __future__ import annotations

import math

import numpy as np
import shapely
from shapely.geometry import Polygon

from lib.demo.common import KM_PER_DEG_LAT, km_per_deg_lon, random_points_in, voronoi_split
from lib.demo.words import CITIES


def build(rng: np.random.Generator, n_stations: int) -> list[dict]:
    """Return the cities with their district polygons and station points (in this order of draws)."""
    cities = city_shapes(rng)
    for c in cities:
        c["district_polys"] = district_shapes(rng, c)
    w = np.array([c["weight"] for c in cities])
    alloc = np.floor(n_stations * w / w.sum()).astype(int)
    alloc[np.argsort(-(n_stations * w / w.sum() - alloc))[: n_stations - alloc.sum()]] += 1
    for c, n_city in zip(cities, alloc.tolist()):
        c["stations_xy"] = stations_by_district(c, station_points(rng, c, n_city))
    return cities


def city_shapes(rng: np.random.Generator) -> list[dict]:
    """City boundaries: irregular star-shaped polygons, 50–70 km across, never overlapping."""
    cities = []
    for code, name, en, lon, lat, weight, districts in CITIES:
        R = rng.uniform(26, 32)
        theta = np.linspace(0, 2 * np.pi, 96, endpoint=False)
        r = np.ones_like(theta)
        for k in range(2, 6):
            r += rng.uniform(0.02, 0.09) * np.cos(k * theta + rng.uniform(0, 2 * np.pi)) / (k - 1) ** 0.5
        r = R * np.clip(r * rng.normal(1, 0.015, len(theta)), 0.7, 1.18)
        kx = km_per_deg_lon(lat)
        poly = Polygon(np.column_stack([lon + r * np.cos(theta) / kx, lat + r * np.sin(theta) / KM_PER_DEG_LAT]))
        cities.append(dict(code=code, name=name, en=en, lon=lon, lat=lat, weight=weight, R=R,
                           districts=districts, poly=poly))
    for a in range(len(cities)):
        for b in range(a + 1, len(cities)):
            assert not cities[a]["poly"].intersects(cities[b]["poly"]), "city boundaries overlap"
    return cities


def district_shapes(rng: np.random.Generator, c: dict) -> list:
    """Districts: Voronoi cells of random seeds clipped to the city; the first one is central."""
    k = len(c["districts"])
    kx = km_per_deg_lon(c["lat"])
    seeds = [(c["lon"] + rng.uniform(-3, 3) / kx, c["lat"] + rng.uniform(-3, 3) / KM_PER_DEG_LAT)]
    min_sep = 0.55 * c["R"]
    while len(seeds) < k:
        p = random_points_in(rng, c["poly"], 1)[0]
        min_sep *= 0.995  # never stuck
        if all(math.hypot((p[0] - q[0]) * kx, (p[1] - q[1]) * KM_PER_DEG_LAT) >= min_sep for q in seeds):
            seeds.append((p[0], p[1]))
    return voronoi_split(np.array(seeds), c["poly"])


def station_points(rng: np.random.Generator, c: dict, n_city: int) -> np.ndarray:
    """`n_city` station locations in the city, more near the centre, ≥ 0.6 km apart."""
    kx = km_per_deg_lon(c["lat"])
    pts: list[tuple[float, float]] = []
    arr = np.empty((0, 2))
    while len(pts) < n_city:
        k = 4 * n_city
        central = rng.random(k) < 0.6
        rad = np.where(central, np.abs(rng.normal(0, 0.35 * c["R"], k)), c["R"] * np.sqrt(rng.random(k)) * 1.2)
        ang = rng.uniform(0, 2 * np.pi, k)
        cand = np.column_stack([c["lon"] + rad * np.cos(ang) / kx, c["lat"] + rad * np.sin(ang) / KM_PER_DEG_LAT])
        cand = cand[shapely.contains_xy(c["poly"], cand[:, 0], cand[:, 1])]
        for p in cand:
            if len(pts) >= n_city:
                break
            if len(arr):
                d = np.hypot((arr[:, 0] - p[0]) * kx, (arr[:, 1] - p[1]) * KM_PER_DEG_LAT)
                if d.min() < 0.6:
                    continue
            pts.append((float(p[0]), float(p[1])))
            arr = np.array(pts)
    return np.array(pts).reshape(-1, 2)


def stations_by_district(c: dict, pts_arr: np.ndarray) -> list[np.ndarray]:
    """The points of each district; an empty district gets a station at its inner point."""
    which = np.full(len(pts_arr), -1)
    for di, dpoly in enumerate(c["district_polys"]):
        inside = shapely.contains_xy(dpoly, pts_arr[:, 0], pts_arr[:, 1])
        which[(which < 0) & inside] = di
    for di, dpoly in enumerate(c["district_polys"]):
        if not (which == di).any():
            rp = dpoly.point_on_surface()
            pts_arr = np.vstack([pts_arr, [[rp.x, rp.y]]])
            which = np.append(which, di)
    keep = which >= 0
    pts_arr, which = pts_arr[keep], which[keep]
    return [pts_arr[which == di] for di in range(len(c["district_polys"]))]
