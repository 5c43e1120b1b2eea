"""Grid editing 网格编辑: the editing map (Draw plugin, Leaflet.draw 1.0), turning what the user
drew or uploaded into new grid shapes, and the one write of the maps: saving them after the
district's partition check (全覆盖、无交叉), audited.

Shapes are shapely geometries in WGS-84; drawings made on GCJ-02 tiles are converted back.
"""
from __future__ import annotations

import json
from collections.abc import Iterable, Mapping

import folium
import folium.plugins
import numpy as np
import pandas as pd
import shapely
from shapely.geometry import MultiPolygon, Polygon
from sqlalchemy import Engine, text

from lib import auth, db
from lib.geo import gcj02_to_wgs84_array
from lib.grids import SNAP_DEG, PartitionReport, area_m2, check_partition, from_geojson, to_geojson
from lib.i18n import translator
from lib.maps.assets import localize
from lib.maps.context import add_context
from lib.maps.context import features as context_features
from lib.maps.data import districts
from lib.maps.elements import DataLayer, background_datum, base_map, bounds, converter, esc, flat_rings, js
from lib.maps.layers import MapResult, problem_rows
from lib.queries import in_scope, read_df, scope_like

# --- the editing map and what was drawn ---------------------------------------------------------


def edit_map(district: Mapping, grids_df: pd.DataFrame, editing: Iterable[int], *,
             proposal: Mapping[int, object] | None = None, report=None, background: str = "none",
             lang: str = "zh", asset_base: str | None = None) -> MapResult:
    """Return the grid editing map (a `MapResult`): the district boundary, the other grids in
    grey, the grids being edited as editable polygons of the Draw plugin (properties grid_id,
    code), and the problems of a failed partition check in red. `proposal` (grid id → geometry)
    replaces stored shapes."""
    t = translator(lang)
    convert = converter(background_datum(background))
    editing = [int(x) for x in editing]
    proposal = {int(k): v for k, v in (proposal or {}).items()}
    boundary = from_geojson(district["boundary"]) if district.get("boundary") else None
    geoms = {int(r["id"]): proposal.get(int(r["id"])) or from_geojson(r["geometry"]) for r in grids_df.to_dict("records")}
    focus = [geoms[g] for g in editing if g in geoms]
    if focus:  # the edited grid with room around it for its neighbours
        x0, y0, x1, y1 = shapely.total_bounds(np.array(focus, dtype=object))
        pad = max(x1 - x0, y1 - y0)
        view = [shapely.box(x0 - pad, y0 - pad, x1 + pad, y1 + pad)]
    else:
        view = [boundary] if boundary is not None else list(geoms.values())
    m = base_map(bounds(view, convert), background, t)
    add_context(m, district.get("context"), convert, t, lang)
    if boundary is not None:
        DataLayer(t("maps.layer.district"), [[esc(district["name"]), flat_rings(boundary, convert, 6)]],
                  js("district_outline")).add_to(m)
    others = [[esc(r["code"] + " " + r["name"]), flat_rings(geoms[int(r["id"])], convert, 6)]
              for r in grids_df.to_dict("records") if int(r["id"]) not in editing]
    DataLayer(t("maps.layer.grids"), others, js("other_grid")).add_to(m)
    if report is not None and not report.ok:
        DataLayer(t("maps.layer.partition"), problem_rows(report, convert, t, 6), js("problem")).add_to(m)
    rows = [[int(r["id"]), esc(r["code"]), flat_rings(geoms[int(r["id"])], convert, 7)]
            for r in grids_df.to_dict("records") if int(r["id"]) in editing]
    editable = DataLayer(t("maps.layer.editing"), rows, js("editable_grid"))
    editable.add_to(m)
    folium.plugins.Draw(
        feature_group=editable, position="topleft",
        draw_options={"polyline": False, "rectangle": False, "circle": False, "marker": False,
                      "circlemarker": False, "polygon": {"allowIntersection": False, "showArea": False}},
        edit_options={"edit": True, "remove": False}, show_geometry_on_click=False,
    ).add_to(m)
    folium.LayerControl(collapsed=True).add_to(m)
    localize(m, asset_base)
    return MapResult(m)


def drawings_to_changes(drawings: list | None, editing: Iterable[int], background: str = "none") -> dict[int, object]:
    """Turn the Draw plugin's features (st_folium "all_drawings") into {grid id: WGS-84 geometry}.

    Features carrying a `grid_id` property replace that grid; a newly drawn polygon (no grid_id)
    replaces the single grid being edited. Coordinates drawn on GCJ-02 tiles are converted back.
    Raises ValueError for an ambiguous or unreadable drawing."""
    editing = [int(x) for x in editing]
    back = background_datum(background) == "gcj02"
    out: dict[int, object] = {}
    new = []
    for feat in drawings or []:
        geom = from_geojson(feat.get("geometry") or {})
        if not isinstance(geom, (Polygon, MultiPolygon)):
            continue
        if back:
            geom = shapely.transform(geom, lambda c: np.column_stack(gcj02_to_wgs84_array(c[:, 0], c[:, 1])))
        gid = (feat.get("properties") or {}).get("grid_id")
        if gid is None:
            new.append(geom)
        elif int(gid) in editing:
            out[int(gid)] = geom
    if new:
        if len(editing) != 1:
            raise ValueError("a newly drawn polygon needs exactly one grid selected for editing")
        out[editing[0]] = new[-1]
    return out


def upload_to_changes(raw: bytes | str, grids_df: pd.DataFrame, selected: int) -> dict[int, object]:
    """Turn an uploaded GeoJSON (geometry, Feature or FeatureCollection, WGS-84) into {grid id:
    geometry}: features name their grid by a `code` or `grid_id` property; a single unnamed
    geometry is the selected grid's. Raises ValueError for anything else."""
    try:
        obj = json.loads(raw.decode("utf-8-sig") if isinstance(raw, bytes) else raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"not a GeoJSON file ({exc})") from exc
    feats = obj.get("features") if obj.get("type") == "FeatureCollection" else [obj]
    by_code = dict(zip(grids_df["code"], grids_df["id"]))
    out: dict[int, object] = {}
    for f in feats or []:
        props = (f.get("properties") or {}) if f.get("type") == "Feature" else {}
        try:
            geom = from_geojson(f)
        except Exception as exc:  # noqa: BLE001 - any unreadable geometry is bad input
            raise ValueError(f"unreadable geometry ({exc})") from exc
        if not isinstance(geom, (Polygon, MultiPolygon)):
            raise ValueError(f"expected a Polygon or MultiPolygon, got {geom.geom_type}")
        if props.get("grid_id") is not None and int(props["grid_id"]) in set(grids_df["id"]):
            out[int(props["grid_id"])] = geom
        elif props.get("code") in by_code:
            out[int(by_code[props["code"]])] = geom
        elif len(feats) == 1:
            out[int(selected)] = geom
        else:
            raise ValueError("each feature needs the code of a grid of this district")
    return out


def proposed_changes(grids_df: pd.DataFrame, grid_id: int, neighbour: int | None, drawings: list | None,
                     upload: bytes | None, background: str, district: Mapping,
                     previous: Mapping | None = None) -> dict[int, object]:
    """Return the change a user proposes on the editing page: the uploaded file, else the edited
    drawing, else the previous proposal. With a `neighbour`, it gives up or takes the area the
    grid gains or loses (`rebalance`). Edited vertices are snapped to their neighbours'."""
    if upload:
        changes = upload_to_changes(upload, grids_df, grid_id)
    else:
        changes = drawings_to_changes(drawings, [grid_id], background)
    if not changes:
        if previous:
            return dict(previous)
        raise ValueError("nothing was drawn, edited or uploaded")
    check_vertices(changes)  # before snapping, which is slow on a shape of 100,000 vertices
    stored = {int(r["id"]): from_geojson(r["geometry"]) for r in grids_df.to_dict("records")}
    boundary = from_geojson(district["boundary"]) if district.get("boundary") else None
    changes = snap_changes(changes, [g for i, g in stored.items() if i not in changes], boundary)
    if neighbour is not None and int(grid_id) in changes and int(neighbour) not in changes:
        changes[int(neighbour)] = rebalance(stored[int(grid_id)], changes[int(grid_id)], stored[int(neighbour)])
    return changes


def snap_changes(changes: Mapping[int, object], others: Iterable, boundary=None, tolerance_m: float = 3.0) -> dict:
    """Snap edited vertices onto the unchanged neighbours' and the district's vertices within
    `tolerance_m` (hand-dragged vertices never land exactly on a neighbour's), then onto each
    other. Returns {grid id: geometry}."""
    tol = tolerance_m / 111_000.0
    lines = [g.boundary for g in others if g is not None] + ([boundary.boundary] if boundary is not None else [])
    ref = shapely.union_all(np.array(lines, dtype=object)) if lines else None
    out = {}
    for gid, geom in changes.items():
        snapped = shapely.snap(geom, ref, tol) if ref is not None else geom
        out[gid] = shapely.make_valid(snapped) if not snapped.is_valid else snapped
    keys = list(out)
    for i, a in enumerate(keys):
        for b in keys[i + 1:]:
            out[b] = shapely.snap(out[b], out[a], tol)
    return out


def rebalance(old_a, new_a, old_b):
    """Return neighbour B's new shape when grid A is reshaped: B gives up what A now covers and
    takes what A gave up, so together they still cover exactly what they covered before."""
    freed = shapely.difference(old_a, new_a, grid_size=SNAP_DEG)
    grown = shapely.union(old_b, freed, grid_size=SNAP_DEG)
    result = shapely.difference(grown, new_a, grid_size=SNAP_DEG)
    if isinstance(result, (Polygon, MultiPolygon)):
        return result
    parts = [g for g in getattr(result, "geoms", []) if isinstance(g, Polygon) and not g.is_empty]
    return MultiPolygon(parts) if len(parts) > 1 else (parts[0] if parts else Polygon())


# --- checking and saving a change ---------------------------------------------------------------


class GridChangeRefused(ValueError):
    """A grid change that would break the district's partition; `report` says where."""

    def __init__(self, reason: str, report: PartitionReport | None = None):
        super().__init__(reason)
        self.report = report


def district_grids(engine: Engine, scope: str, district_path: str) -> dict:
    """Return the district's boundary and all its grids for editing: {"district": {...},
    "grids": DataFrame(id, code, name, org_path, geometry, editable)}. Raises ValueError when the
    district is not visible in `scope`. A grid is editable when it lies inside `scope`."""
    dist = districts(engine, scope)
    row = dist.loc[dist["path"] == district_path]
    if row.empty:
        raise ValueError(f"district {district_path} is not in your scope")
    g = read_df(engine, f"SELECT id, code, name, org_path, geometry, owner_name FROM grid WHERE {in_scope('org_path')} "
                    f"ORDER BY code", scope=scope_like(district_path))
    g["editable"] = g["org_path"].str.startswith(scope)
    # the neighbouring districts and the names around the one edited (lib.maps.context)
    return {"district": {**row.iloc[0].to_dict(), "context": context_features(engine, district_path)}, "grids": g}


def check_vertices(changes: Mapping[int, object]) -> None:
    """ValidationError (too_many_vertices) for a changed grid above config `[imports] max_grid_vertices`:
    refused, not simplified (lib.importer.grids says why); counted before anything is read or locked."""
    from lib.importer.grids import vertex_issue
    from lib.importer.specs import limits
    from lib.validation import ValidationError

    limit = limits()["max_grid_vertices"]
    for gid, geom in changes.items():
        found = vertex_issue(str(gid), geom, limit)
        if found:
            raise ValidationError.one("geometry", found[0], **found[1])


def check_change(engine: Engine, scope: str, district_path: str, changes: dict[int, object],
                 tolerance_m2: float = 1.0) -> PartitionReport:
    """Return the partition check of `district_path` with grid geometries replaced by `changes`
    (grid id → shapely Polygon/MultiPolygon, WGS-84). Raises ValueError for a grid outside the
    district or the scope, an invalid geometry (naming the grid), or one with too many vertices
    (`check_vertices`, before anything is read)."""
    check_vertices(changes)
    data = district_grids(engine, scope, district_path)
    g = data["grids"].set_index("id")
    cells = {}
    for _, rec in g.iterrows():
        cells[rec["code"]] = from_geojson(rec["geometry"])
    for gid, geom in changes.items():
        if int(gid) not in g.index:
            raise ValueError(f"grid {gid} is not in district {district_path}")
        if not bool(g.loc[int(gid), "editable"]):
            raise ValueError(f"grid {g.loc[int(gid), 'code']} is outside your scope")
        cells[g.loc[int(gid), "code"]] = geom
    return check_partition(cells, from_geojson(data["district"]["boundary"]), tolerance_m2)


def refusal_reason(report: PartitionReport) -> str:
    """Return a one-line plain reason for a failed partition check (areas in m²)."""
    parts = []
    if report.overlaps:
        parts.append("overlap " + "; ".join(f"{a}×{b} {m2:,.0f} m²" for a, b, m2 in report.overlaps))
    if report.gaps:
        parts.append(f"{len(report.gaps)} gap(s) {sum(report.gaps):,.0f} m²")
    if report.outside:
        parts.append("outside the district " + "; ".join(f"{gid} {m2:,.0f} m²" for gid, m2 in report.outside))
    return ", ".join(parts) or "partition check failed"


def save_grid_geometries(engine: Engine, user: auth.SessionUser, district_path: str,
                         changes: dict[int, object], tolerance_m2: float = 1.0) -> PartitionReport:
    """Save new geometries for one or more grids of a district, all or nothing, as `user`.

    Grid editing 网格编辑 needs `grids.edit` on the district (PermissionError), and every changed grid
    inside the user's scope. The partition check runs first against the district with the other
    grids as they are; a change that leaves a gap, an overlap or a piece outside the district is
    refused with GridChangeRefused (carrying the report). Each changed grid is audited 审计 with its
    geometry and area before and after. Returns the (clean) report.
    """
    auth.require(user, "grids.edit", district_path)
    actor, scope = user.login, user.scope
    if not changes:
        raise ValueError("no grid change to save")
    report = check_change(engine, scope, district_path, changes, tolerance_m2)
    if not report.ok:
        raise GridChangeRefused(refusal_reason(report), report)
    with db.write(engine) as conn:
        for gid, geom in changes.items():
            before = conn.execute(text("SELECT code, geometry, area_km2, org_path FROM grid WHERE id = :id"),
                                  {"id": int(gid)}).mappings().one()
            area = round(float(area_m2(geom)) / 1e6, 3)
            new = to_geojson(geom)
            conn.execute(text("UPDATE grid SET geometry = :g, area_km2 = :a WHERE id = :id"),
                         {"g": new, "a": area, "id": int(gid)})
            auth.audit(conn, actor, "grid.reshape", "grid", int(gid),
                       before={"code": before["code"], "area_km2": before["area_km2"],
                               "geometry": json.loads(before["geometry"])},
                       after={"code": before["code"], "area_km2": area, "geometry": json.loads(new)},
                       org_path=before["org_path"])
    return report


def grid_history(engine: Engine, scope: str, district_path: str, limit: int = 50) -> pd.DataFrame:
    """Return the newest grid changes (audit log) of a district inside `scope`: at, actor, grid, area before/after."""
    df = read_df(
        engine,
        f"SELECT at, actor, action, entity_id, before, after FROM audit_log "
        f"WHERE entity = 'grid' AND {in_scope('org_path')} AND org_path LIKE :district ESCAPE '\\' "
        f"ORDER BY at DESC, id DESC LIMIT :limit",
        scope=scope_like(scope), district=scope_like(district_path), limit=int(limit),
    )
    if df.empty:
        return pd.DataFrame(columns=["at", "actor", "grid", "area_before", "area_after"])
    before = df["before"].map(lambda s: json.loads(s) if s else {})
    after = df["after"].map(lambda s: json.loads(s) if s else {})
    return pd.DataFrame({"at": df["at"], "actor": df["actor"], "grid": after.map(lambda d: d.get("code")),
                         "area_before": before.map(lambda d: d.get("area_km2")),
                         "area_after": after.map(lambda d: d.get("area_km2"))})
