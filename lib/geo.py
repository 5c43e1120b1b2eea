"""Coordinates (坐标): WGS-84 ↔ GCJ-02 (国测局坐标, "火星坐标") and great-circle distances.

Everything the app stores is WGS-84 lon/lat. Chinese web maps (AMap/Gaode 高德, Tencent) draw
their tiles in GCJ-02, the obfuscated datum of GB 20263 that offsets points by a few hundred
metres; drawing WGS-84 geometry on such tiles puts every grid and station visibly off the
streets. `wgs84_to_gcj02` applies the published forward transform (Krasovsky ellipsoid
a = 6,378,245 m, e² = 0.00669342162296594323); there is no closed-form inverse, so
`gcj02_to_wgs84` inverts it by fixed-point iteration until the residual is below 1e-9°
(≈ 0.1 mm), which lands a round trip well within 1 m. Points outside China's bounding box
(the standard rule used by every implementation of the transform) are returned unchanged.

Functions come in scalar form (`lon, lat` floats) and vectorised form (`numpy` arrays).
"""
from __future__ import annotations

import math

import numpy as np

GCJ_A = 6_378_245.0  # Krasovsky 1940 semi-major axis used by the GCJ-02 transform
GCJ_EE = 0.00669342162296594323  # its first eccentricity squared
EARTH_RADIUS_M = 6_371_008.8  # mean Earth radius (IUGG), for haversine distances

# The bounding box every implementation of the transform treats as "China".
CHINA_LON = (72.004, 137.8347)
CHINA_LAT = (0.8293, 55.8271)

_INVERSE_TOL_DEG = 1e-9
_INVERSE_MAX_ITER = 30


def out_of_china(lon, lat):
    """True where (lon, lat) lies outside the GCJ-02 bounding box (scalar or array)."""
    lon = np.asarray(lon, dtype=float)
    lat = np.asarray(lat, dtype=float)
    out = (lon < CHINA_LON[0]) | (lon > CHINA_LON[1]) | (lat < CHINA_LAT[0]) | (lat > CHINA_LAT[1])
    return bool(out) if out.ndim == 0 else out


def _offsets(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return the GCJ-02 offsets (dlon, dlat) in degrees at WGS-84 points (arrays)."""
    x = lon - 105.0
    y = lat - 35.0
    xpi, ypi = x * math.pi, y * math.pi
    common = (20.0 * np.sin(6.0 * xpi) + 20.0 * np.sin(2.0 * xpi)) * 2.0 / 3.0
    sq = np.sqrt(np.abs(x))
    dlat = (-100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * sq + common
            + (20.0 * np.sin(ypi) + 40.0 * np.sin(ypi / 3.0)) * 2.0 / 3.0
            + (160.0 * np.sin(ypi / 12.0) + 320.0 * np.sin(ypi / 30.0)) * 2.0 / 3.0)
    dlon = (300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * sq + common
            + (20.0 * np.sin(xpi) + 40.0 * np.sin(xpi / 3.0)) * 2.0 / 3.0
            + (150.0 * np.sin(xpi / 12.0) + 300.0 * np.sin(xpi / 30.0)) * 2.0 / 3.0)
    rad = np.radians(lat)
    magic = 1.0 - GCJ_EE * np.sin(rad) ** 2
    sqrt_magic = np.sqrt(magic)
    dlat = dlat * 180.0 / ((GCJ_A * (1.0 - GCJ_EE)) / (magic * sqrt_magic) * math.pi)
    dlon = dlon * 180.0 / (GCJ_A / sqrt_magic * np.cos(rad) * math.pi)
    return dlon, dlat


def wgs84_to_gcj02_array(lon, lat) -> tuple[np.ndarray, np.ndarray]:
    """Vectorised WGS-84 → GCJ-02: return (lon, lat) arrays; points outside China unchanged."""
    lon = np.asarray(lon, dtype=float)
    lat = np.asarray(lat, dtype=float)
    dlon, dlat = _offsets(lon, lat)
    outside = out_of_china(lon, lat)
    return np.where(outside, lon, lon + dlon), np.where(outside, lat, lat + dlat)


def gcj02_to_wgs84_array(lon, lat) -> tuple[np.ndarray, np.ndarray]:
    """Vectorised GCJ-02 → WGS-84 by fixed-point iteration: find w with forward(w) = g.

    Starts from w = g − offset(g) (the usual one-step approximation, off by up to a few metres)
    and repeats w ← w − (forward(w) − g) until every residual is below 1e-9°.
    """
    g_lon = np.asarray(lon, dtype=float)
    g_lat = np.asarray(lat, dtype=float)
    outside = out_of_china(g_lon, g_lat)
    dlon, dlat = _offsets(g_lon, g_lat)
    w_lon, w_lat = g_lon - dlon, g_lat - dlat
    for _ in range(_INVERSE_MAX_ITER):
        f_lon, f_lat = _offsets(w_lon, w_lat)
        r_lon = w_lon + f_lon - g_lon
        r_lat = w_lat + f_lat - g_lat
        w_lon, w_lat = w_lon - r_lon, w_lat - r_lat
        if np.all(np.abs(r_lon) < _INVERSE_TOL_DEG) and np.all(np.abs(r_lat) < _INVERSE_TOL_DEG):
            break
    return np.where(outside, g_lon, w_lon), np.where(outside, g_lat, w_lat)


def wgs84_to_gcj02(lon: float, lat: float) -> tuple[float, float]:
    """Return the GCJ-02 (lon, lat) of a WGS-84 point (unchanged outside China)."""
    x, y = wgs84_to_gcj02_array(lon, lat)
    return float(x), float(y)


def gcj02_to_wgs84(lon: float, lat: float) -> tuple[float, float]:
    """Return the WGS-84 (lon, lat) of a GCJ-02 point (iterative inverse; unchanged outside China)."""
    x, y = gcj02_to_wgs84_array(lon, lat)
    return float(x), float(y)


def haversine_m(lon1, lat1, lon2, lat2):
    """Great-circle distance in metres between points (scalars or broadcastable arrays)."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dphi = p2 - p1
    dlam = np.radians(np.asarray(lon2, dtype=float) - np.asarray(lon1, dtype=float))
    a = np.sin(dphi / 2.0) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dlam / 2.0) ** 2
    d = 2.0 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))
    return float(d) if np.ndim(d) == 0 else d


def transform_geometry(geom, to_gcj02: bool = True):
    """Return a shapely geometry with every vertex converted WGS-84 → GCJ-02 (or back)."""
    import shapely

    fn = wgs84_to_gcj02_array if to_gcj02 else gcj02_to_wgs84_array

    def convert(coords: np.ndarray) -> np.ndarray:
        x, y = fn(coords[:, 0], coords[:, 1])
        return np.column_stack([x, y])

    return shapely.transform(geom, convert)
