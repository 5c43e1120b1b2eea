"""Grid geometry (网格几何): the "全覆盖、无交叉" partition check and GeoJSON helpers.

000 §2 / 002 §6.5.1: the grids of a district cover it completely (全覆盖) and no two grids
overlap (无交叉). `check_partition` measures both in square metres: geometries are WGS-84
lon/lat, areas are taken in a Lambert azimuthal equal-area projection on the sphere
(R = 6,371,008.8 m, the mean Earth radius) centred on the district, which keeps areas exact to
well under 0.1 % over a district-sized region. No projection library is needed.
"""
from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import shapely
from shapely.geometry import GeometryCollection, MultiPolygon, Polygon, mapping, shape
from shapely.validation import explain_validity

EARTH_RADIUS_M = 6_371_008.8  # mean radius (IUGG)
# Overlays run with snap rounding on a 1e-9° grid (about 0.1 mm): floating-point overlay of
# near-identical edges (a grid's border along the district border) is not robust and can invent
# slivers of several m²; snap rounding is, and moves no vertex by more than 0.05 mm.
SNAP_DEG = 1e-9


# --- GeoJSON --------------------------------------------------------------------------------------


def to_geojson(geom) -> str:
    """Return the GeoJSON text of a shapely geometry (coordinates at full float precision).

    Full precision matters: rounding the shared edges of neighbouring grids differently would
    open slivers of tens of m² between them.
    """
    return json.dumps(mapping(geom), separators=(",", ":"))


def from_geojson(text: str | dict):
    """Return the shapely geometry of a GeoJSON geometry, Feature or FeatureCollection.

    A FeatureCollection gives a GeometryCollection of its features' geometries.
    """
    obj = json.loads(text) if isinstance(text, (str, bytes)) else text
    kind = obj.get("type")
    if kind == "Feature":
        return shape(obj["geometry"])
    if kind == "FeatureCollection":
        return GeometryCollection([shape(f["geometry"]) for f in obj.get("features", [])])
    return shape(obj)


def grids_from_geojson(text: str | dict):
    """Return the shapely geometry stored in a grid's (or boundary's) GeoJSON text."""
    return from_geojson(text)


# --- Area in m² -----------------------------------------------------------------------------------


def laea_projector(lon0: float, lat0: float):
    """Return f((N, 2) lon/lat array) → (N, 2) metres, Lambert azimuthal equal-area at lon0/lat0."""
    lam0 = np.radians(lon0)
    phi0 = np.radians(lat0)
    sin0, cos0 = np.sin(phi0), np.cos(phi0)

    def project(coords: np.ndarray) -> np.ndarray:
        lam = np.radians(coords[:, 0]) - lam0
        phi = np.radians(coords[:, 1])
        sinp, cosp, cosl = np.sin(phi), np.cos(phi), np.cos(lam)
        k = np.sqrt(2.0 / (1.0 + sin0 * sinp + cos0 * cosp * cosl))
        x = EARTH_RADIUS_M * k * cosp * np.sin(lam)
        y = EARTH_RADIUS_M * k * (cos0 * sinp - sin0 * cosp * cosl)
        return np.column_stack([x, y])

    return project


def area_m2(geom, origin: tuple[float, float] | None = None) -> float | np.ndarray:
    """Return the area in m² of a lon/lat geometry (or array of geometries).

    `origin` (lon, lat) is the projection centre; by default the centroid of the geometry's bounds.
    """
    arr = np.asarray(geom, dtype=object)
    if origin is None:
        b = shapely.total_bounds(arr)
        origin = ((b[0] + b[2]) / 2.0, (b[1] + b[3]) / 2.0)
    if np.isnan(origin[0]):
        return np.zeros(arr.shape) if arr.ndim else 0.0
    projected = shapely.transform(arr, laea_projector(*origin))
    out = shapely.area(projected)
    return float(out) if np.ndim(out) == 0 else out


# --- Partition check ------------------------------------------------------------------------------


@dataclass
class PartitionReport:
    """Result of `check_partition`: problems found, with their areas (m²) and lon/lat geometries."""

    ok: bool
    overlaps: list[tuple[str, str, float]] = field(default_factory=list)  # (id_a, id_b, m²), id_a < id_b
    gaps: list[float] = field(default_factory=list)  # m² per uncovered piece, largest first
    outside: list[tuple[str, float]] = field(default_factory=list)  # (grid id, m² beyond the boundary)
    overlap_geoms: list = field(default_factory=list)
    gap_geoms: list = field(default_factory=list)
    outside_geoms: list = field(default_factory=list)


def _polygonal_parts(geom) -> list[Polygon]:
    """Return the polygons inside any geometry (lines and points of an intersection are dropped)."""
    if geom is None or geom.is_empty:
        return []
    if isinstance(geom, Polygon):
        return [geom]
    if isinstance(geom, (MultiPolygon, GeometryCollection)):
        out: list[Polygon] = []
        for part in geom.geoms:
            out.extend(_polygonal_parts(part))
        return out
    return []


def _check_valid(name: str, geom) -> None:
    if geom is None:
        raise ValueError(f"{name}: no geometry")
    if not isinstance(geom, (Polygon, MultiPolygon)):
        raise ValueError(f"{name}: expected a Polygon or MultiPolygon, got {geom.geom_type}")
    if not geom.is_valid:
        raise ValueError(f"{name}: invalid geometry ({explain_validity(geom)})")


def check_partition(cells: Mapping[str, object], boundary, tolerance_m2: float = 1.0) -> PartitionReport:
    """Check that `cells` (grid id → lon/lat Polygon/MultiPolygon) partition `boundary` exactly.

    Reports overlaps between pairs of grids (无交叉), gaps of the boundary that no grid covers
    (全覆盖) and pieces of grids lying outside the boundary. Pieces smaller than `tolerance_m2`
    are ignored (floating-point slivers). Raises ValueError naming the grid for an invalid geometry.
    """
    _check_valid("boundary", boundary)
    ids = [str(k) for k in cells]
    geoms = list(cells.values())
    for gid, g in zip(ids, geoms):
        _check_valid(f"grid {gid}", g)
    b = boundary.bounds
    origin = ((b[0] + b[2]) / 2.0, (b[1] + b[3]) / 2.0)
    project = laea_projector(*origin)

    def kept_pieces(geom) -> list[tuple[Polygon, float]]:
        parts = _polygonal_parts(geom)
        if not parts:
            return []
        areas = shapely.area(shapely.transform(np.array(parts, dtype=object), project))
        return [(p, float(a)) for p, a in zip(parts, areas) if a >= tolerance_m2]

    report = PartitionReport(ok=True)
    arr = np.array(geoms, dtype=object)

    # 无交叉: pairwise overlaps, candidate pairs from an STRtree
    if len(arr) > 1:
        tree = shapely.STRtree(arr)
        left, right = tree.query(arr, predicate="intersects")
        keep = left < right
        left, right = left[keep], right[keep]
        if len(left):
            inters = shapely.intersection(arr[left], arr[right], grid_size=SNAP_DEG)
            for i, j, inter in zip(left.tolist(), right.tolist(), inters):
                pieces = kept_pieces(inter)
                if pieces:
                    a, b_ = sorted((ids[i], ids[j]))
                    report.overlaps.append((a, b_, sum(p[1] for p in pieces)))
                    report.overlap_geoms.extend(p[0] for p in pieces)
        report.overlaps.sort()

    # 全覆盖: parts of the boundary no grid covers
    union = shapely.union_all(arr, grid_size=SNAP_DEG) if len(arr) else Polygon()
    gap_pieces = sorted(kept_pieces(shapely.difference(boundary, union, grid_size=SNAP_DEG)), key=lambda p: -p[1])
    report.gaps = [a for _, a in gap_pieces]
    report.gap_geoms = [g for g, _ in gap_pieces]

    # pieces of grids beyond the district boundary
    if len(arr):
        for gid, diff in zip(ids, shapely.difference(arr, boundary, grid_size=SNAP_DEG)):
            pieces = kept_pieces(diff)
            if pieces:
                report.outside.append((gid, sum(p[1] for p in pieces)))
                report.outside_geoms.extend(p[0] for p in pieces)

    report.ok = not (report.overlaps or report.gaps or report.outside)
    return report


def check_partition_geojson(cells: Mapping[str, str], boundary: str, tolerance_m2: float = 1.0) -> PartitionReport:
    """`check_partition` on GeoJSON texts as stored in `grid.geometry` and `org_unit.boundary`."""
    parsed = {}
    for gid, text in cells.items():
        try:
            parsed[str(gid)] = from_geojson(text)
        except Exception as exc:  # noqa: BLE001 - any parse failure names the grid
            raise ValueError(f"grid {gid}: unreadable GeoJSON ({exc})") from exc
    return check_partition(parsed, from_geojson(boundary), tolerance_m2)
