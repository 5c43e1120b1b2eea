"""Tests for lib.grids: the 全覆盖、无交叉 partition check and the GeoJSON helpers."""
from __future__ import annotations

import math
import time

import numpy as np
import pytest
import shapely
from shapely.geometry import MultiPoint, MultiPolygon, Polygon

from lib.grids import (
    EARTH_RADIUS_M,
    area_m2,
    check_partition,
    check_partition_geojson,
    from_geojson,
    grids_from_geojson,
    to_geojson,
)

LON0, LAT0 = 117.0, 36.65  # Jinan
M_PER_DEG_LAT = EARTH_RADIUS_M * math.pi / 180.0
M_PER_DEG_LON = M_PER_DEG_LAT * math.cos(math.radians(LAT0))


def ll(x_m: float, y_m: float) -> tuple[float, float]:
    """Lon/lat of a point x_m east and y_m north of the origin (local, on the sphere)."""
    return LON0 + x_m / M_PER_DEG_LON, LAT0 + y_m / M_PER_DEG_LAT


def rect(x0, y0, x1, y1, holes=()) -> Polygon:
    """A rectangle given in metres around the origin, as a lon/lat polygon (optional holes)."""
    shell = [ll(x0, y0), ll(x1, y0), ll(x1, y1), ll(x0, y1)]
    return Polygon(shell, [[ll(a, b), ll(c, b), ll(c, d), ll(a, d)] for a, b, c, d in holes])


BOUNDARY = rect(0, 0, 1000, 1000)  # a 1 km square "district"


def quadrants(**replace) -> dict:
    cells = {
        "sw": rect(0, 0, 500, 500),
        "se": rect(500, 0, 1000, 500),
        "nw": rect(0, 500, 500, 1000),
        "ne": rect(500, 500, 1000, 1000),
    }
    cells.update(replace)
    return {k: v for k, v in cells.items() if v is not None}


CASES = [
    # id, cells, expected ok, expected overlaps [(a, b, m²)], expected gaps [m²], expected outside [(id, m²)]
    ("clean quadrants", quadrants(), True, [], [], []),
    ("clean halves", {"w": rect(0, 0, 400, 1000), "e": rect(400, 0, 1000, 1000)}, True, [], [], []),
    (
        "100 m x 100 m hole",
        quadrants(sw=rect(0, 0, 500, 500, holes=[(200, 200, 300, 300)])),
        False, [], [10_000.0], [],
    ),
    ("missing quadrant", quadrants(ne=None), False, [], [250_000.0], []),
    (
        "overlap, ids sorted",
        {"b": rect(0, 0, 600, 1000), "a": rect(500, 0, 1000, 1000)},
        False, [("a", "b", 100_000.0)], [], [],
    ),
    (
        "three-way overlap",
        {"z": rect(0, 0, 600, 1000), "m": rect(400, 0, 1000, 1000), "c": rect(450, 450, 550, 550)},
        False, [("c", "m", 10_000.0), ("c", "z", 10_000.0), ("m", "z", 200_000.0)], [], [],
    ),
    (
        "sliver overlap under tolerance",
        {"w": rect(0, 0, 500.0005, 1000), "e": rect(500, 0, 1000, 1000)},  # 0.5 m² overlap
        True, [], [], [],
    ),
    (
        "sliver gap under tolerance",
        {"w": rect(0, 0, 499.9995, 1000), "e": rect(500, 0, 1000, 1000)},
        True, [], [], [],
    ),
    (
        "multipolygon grids",
        {
            "diag1": MultiPolygon([rect(0, 0, 500, 500), rect(500, 500, 1000, 1000)]),
            "diag2": MultiPolygon([rect(500, 0, 1000, 500), rect(0, 500, 500, 1000)]),
        },
        True, [], [], [],
    ),
    (
        "piece outside the boundary",
        quadrants(ne=rect(500, 500, 1050, 1000)),
        False, [], [], [("ne", 25_000.0)],
    ),
]


@pytest.mark.parametrize("name,cells,ok,overlaps,gaps,outside", CASES, ids=[c[0] for c in CASES])
def test_check_partition(name, cells, ok, overlaps, gaps, outside):
    rep = check_partition(cells, BOUNDARY)
    assert rep.ok is ok
    assert [(a, b) for a, b, _ in rep.overlaps] == [(a, b) for a, b, _ in overlaps]
    for (_, _, got), (_, _, want) in zip(rep.overlaps, overlaps):
        assert got == pytest.approx(want, rel=0.02)
    assert len(rep.gaps) == len(gaps)
    for got, want in zip(rep.gaps, gaps):
        assert got == pytest.approx(want, rel=0.02)
    assert [g for g, _ in rep.outside] == [g for g, _ in outside]
    for (_, got), (_, want) in zip(rep.outside, outside):
        assert got == pytest.approx(want, rel=0.02)
    # geometries for drawing: one list entry per reported piece, in lon/lat
    assert len(rep.gap_geoms) == len(rep.gaps)
    assert len(rep.overlap_geoms) >= len(rep.overlaps)
    assert len(rep.outside_geoms) >= len(rep.outside)
    for g in rep.overlap_geoms + rep.gap_geoms + rep.outside_geoms:
        assert BOUNDARY.buffer(0.01).contains(g)


def test_gap_geometry_is_the_hole():
    cells = quadrants(sw=rect(0, 0, 500, 500, holes=[(200, 200, 300, 300)]))
    rep = check_partition(cells, BOUNDARY)
    (hole,) = rep.gap_geoms
    assert area_m2(hole.symmetric_difference(rect(200, 200, 300, 300))) < 0.1  # snapped to a 0.1 mm grid


def test_tolerance_is_configurable():
    cells = quadrants(sw=rect(0, 0, 500, 500, holes=[(200, 200, 300, 300)]))
    assert check_partition(cells, BOUNDARY, tolerance_m2=20_000).ok
    assert not check_partition(cells, BOUNDARY, tolerance_m2=5_000).ok


@pytest.mark.parametrize(
    "bad_id,bad_geom,match",
    [
        ("bow-tie", Polygon([ll(0, 0), ll(1000, 1000), ll(1000, 0), ll(0, 1000)]), "grid bow-tie"),
        ("G370102003", Polygon([ll(0, 0), ll(500, 500), ll(500, 0), ll(0, 500)]), "G370102003.*invalid"),
        ("pt", shapely.Point(ll(5, 5)), "grid pt"),
    ],
)
def test_invalid_geometry_names_the_grid(bad_id, bad_geom, match):
    cells = quadrants()
    cells[bad_id] = bad_geom
    with pytest.raises(ValueError, match=match):
        check_partition(cells, BOUNDARY)


def test_invalid_boundary():
    bow = Polygon([ll(0, 0), ll(1000, 1000), ll(1000, 0), ll(0, 1000)])
    with pytest.raises(ValueError, match="boundary"):
        check_partition(quadrants(), bow)


@pytest.mark.parametrize("w_m,h_m", [(100, 100), (1000, 1000), (20_000, 5_000)])
def test_area_m2(w_m, h_m):
    assert area_m2(rect(0, 0, w_m, h_m)) == pytest.approx(w_m * h_m, rel=0.005)


def test_geojson_round_trip_is_exact():
    g = MultiPolygon([rect(0, 0, 333.333, 777.777), rect(500, 500, 1000, 1000.123456)])
    text = to_geojson(g)
    back = grids_from_geojson(text)
    assert back.equals_exact(g, tolerance=0)
    assert from_geojson({"type": "Feature", "properties": {}, "geometry": g.__geo_interface__}).equals(g)
    fc = {"type": "FeatureCollection", "features": [{"type": "Feature", "geometry": g.__geo_interface__}]}
    assert from_geojson(fc).geoms[0].equals(g)


def test_check_partition_geojson():
    cells = {k: to_geojson(v) for k, v in quadrants().items()}
    assert check_partition_geojson(cells, to_geojson(BOUNDARY)).ok
    cells["sw"] = "{not json"
    with pytest.raises(ValueError, match="grid sw"):
        check_partition_geojson(cells, to_geojson(BOUNDARY))


def test_thousand_voronoi_grids_fast_and_clean():
    rng = np.random.default_rng(1)
    district = Polygon([ll(20_000 * math.cos(t), 15_000 * math.sin(t)) for t in np.linspace(0, 2 * math.pi, 200)[:-1]])
    minx, miny, maxx, maxy = district.bounds
    pts = np.column_stack([rng.uniform(minx, maxx, 3000), rng.uniform(miny, maxy, 3000)])
    pts = pts[shapely.contains_xy(district, pts[:, 0], pts[:, 1])][:1000]
    cells = shapely.voronoi_polygons(MultiPoint(pts), extend_to=district, ordered=True)
    grids = {f"g{i}": c.intersection(district) for i, c in enumerate(cells.geoms)}
    t0 = time.perf_counter()
    rep = check_partition(grids, district)
    assert time.perf_counter() - t0 < 10
    assert rep.ok, (rep.overlaps[:3], rep.gaps[:3], rep.outside[:3])
    # now break it: move one grid 200 m east, which opens a gap and makes overlaps
    moved = shapely.transform(grids["g0"], lambda c: c + np.array([200 / M_PER_DEG_LON, 0]))
    rep = check_partition({**grids, "g0": moved}, district)
    assert not rep.ok and rep.gaps and rep.overlaps
    assert all(a < b for a, b, _ in rep.overlaps)
    assert all("g0" in (a, b) for a, b, _ in rep.overlaps)
