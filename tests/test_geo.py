"""WGS-84 ↔ GCJ-02 conversion against published reference pairs, round trips, and distances."""
from __future__ import annotations

import numpy as np
import pytest

from lib import geo

# Published pairs (lon, lat). The first two are the standard algorithm's outputs printed in the
# test files of widely used implementations (wandergis/coordtransform, its Rust and Java ports,
# googollee/eviltransform); "amap-api" is the answer of AMap's own conversion web service for a
# point near Tiananmen, as recorded in the tests of an R package (within ~1 m of the algorithm).
FORWARD = [
    ("coordtransform-beijing", (116.404, 39.915), (116.41024449916938, 39.91640428150164), 1e-9),
    ("eviltransform-shanghai", (121.5272106, 31.1774276), (121.531541859215, 31.17530398364597), 1e-7),
    ("eviltransform-shenzhen", (113.912316, 22.543847), (113.9171764808363, 22.540796131694766), 1e-7),
    ("eviltransform-beijing", (116.377817, 39.911954), (116.38404722455657, 39.91334545536069), 1e-7),
    ("amap-api-tiananmen", (116.39089, 39.90734), (116.39713623, 39.90874539), 1e-5),
]


@pytest.mark.parametrize("wgs, gcj, tol", [(w, g, tol) for _, w, g, tol in FORWARD], ids=[x[0] for x in FORWARD])
def test_forward_matches_published_pairs(wgs, gcj, tol):
    lon, lat = geo.wgs84_to_gcj02(*wgs)
    assert lon == pytest.approx(gcj[0], abs=tol)
    assert lat == pytest.approx(gcj[1], abs=tol)


@pytest.mark.parametrize("wgs, gcj, tol", [(w, g, tol) for _, w, g, tol in FORWARD], ids=[x[0] for x in FORWARD])
def test_inverse_of_published_pairs_lands_within_a_metre(wgs, gcj, tol):
    lon, lat = geo.gcj02_to_wgs84(*gcj)
    assert geo.haversine_m(lon, lat, *wgs) < 1.0


def test_one_step_approximation_is_worse_than_the_iterative_inverse():
    """coordtransform's published gcj02towgs84(116.404, 39.915) is the one-step estimate; ours
    iterates to the exact inverse, so it differs from it but maps forward back onto the input."""
    one_step = (116.39775550083061, 39.91359571849836)
    exact = geo.gcj02_to_wgs84(116.404, 39.915)
    assert 0.05 < geo.haversine_m(*exact, *one_step) < 20
    assert geo.haversine_m(*geo.wgs84_to_gcj02(*exact), 116.404, 39.915) < 0.01


def test_round_trip_within_one_metre_on_a_grid_across_china():
    lon, lat = np.meshgrid(np.linspace(73.5, 135.0, 60), np.linspace(18.0, 53.5, 40))
    gx, gy = geo.wgs84_to_gcj02_array(lon.ravel(), lat.ravel())
    shift = geo.haversine_m(lon.ravel(), lat.ravel(), gx, gy)
    assert shift.min() > 20 and shift.max() < 1200  # GCJ-02 moves every point tens to hundreds of metres
    wx, wy = geo.gcj02_to_wgs84_array(gx, gy)
    err = geo.haversine_m(lon.ravel(), lat.ravel(), wx, wy)
    assert err.max() < 1.0
    assert err.max() < 0.01  # in fact millimetres


@pytest.mark.parametrize("point", [(2.3522, 48.8566), (-74.006, 40.7128), (139.6917, 35.6895), (151.2093, -33.8688),
                                   (72.0, 30.0), (100.0, 56.0)],
                         ids=["paris", "new-york", "tokyo", "sydney", "west-of-box", "north-of-box"])
def test_outside_china_is_unchanged(point):
    assert geo.wgs84_to_gcj02(*point) == point
    assert geo.gcj02_to_wgs84(*point) == point
    assert geo.out_of_china(*point)


def test_vectorised_equals_scalar():
    pts = [(117.0, 36.65), (120.38, 36.07), (2.35, 48.85)]
    x, y = geo.wgs84_to_gcj02_array([p[0] for p in pts], [p[1] for p in pts])
    for (lon, lat), gx, gy in zip(pts, x, y):
        assert geo.wgs84_to_gcj02(lon, lat) == (pytest.approx(gx, abs=1e-12), pytest.approx(gy, abs=1e-12))


@pytest.mark.parametrize("a, b, metres", [
    ((116.404, 39.915), (116.404, 39.915), 0.0),
    ((0.0, 0.0), (1.0, 0.0), 111_195.08),  # one degree on the equator, R = 6,371,008.8 m
    ((117.0, 36.0), (117.0, 37.0), 111_195.08),
    ((116.404, 39.915), (121.4737, 31.2304), 1_067_000),  # Beijing–Shanghai ≈ 1,067 km
], ids=["zero", "equator-degree", "meridian-degree", "beijing-shanghai"])
def test_haversine(a, b, metres):
    assert geo.haversine_m(*a, *b) == pytest.approx(metres, rel=2e-3, abs=0.01)


def test_transform_geometry_shifts_every_vertex():
    from shapely.geometry import Polygon

    poly = Polygon([(117.0, 36.6), (117.1, 36.6), (117.1, 36.7), (117.0, 36.6)])
    moved = geo.transform_geometry(poly)
    back = geo.transform_geometry(moved, to_gcj02=False)
    for (x0, y0), (x1, y1), (x2, y2) in zip(poly.exterior.coords, moved.exterior.coords, back.exterior.coords):
        assert (x1, y1) == pytest.approx(geo.wgs84_to_gcj02(x0, y0))
        assert geo.haversine_m(x0, y0, x2, y2) < 0.01
