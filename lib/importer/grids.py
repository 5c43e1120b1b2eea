"""Grids 网格 from GeoJSON: each feature's properties and geometry are checked, then every district the
file touches must stay partitioned (全覆盖、无交叉, 000 §2; lib.grids.check_partition) with the file's
grids in place of the stored ones, before anything is saved.

Vertices per grid are limited (config `[imports] max_grid_vertices`, default 20,000): a grid above it is
refused (`too_many_vertices`), not simplified. Simplifying one grid alone would move its shared edges
off its neighbours' and make gaps and overlaps; simplifying the whole district consistently is a job for
a GIS tool before the import, where the user sees the result. The parse and the vertex count run in
the parsing worker (`parse_grids`, lib.importer.worker), before the write lock is taken.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sqlalchemy import Connection, text

from lib.importer.check import STATIONS_SQL, Context, station_refs
from lib.importer.merge import CLEAR
from lib.importer.read import read_features
from lib.importer.specs import limits
from lib.validation import MAX_ERRORS, Checker, Issue


@dataclass
class ParsedGrids:
    """A GeoJSON file of grids as parsed: the properties as text cells, one geometry (or None) per feature,
    and the problems found so far (feature index, column, code, params)."""

    props: pd.DataFrame
    geoms: list
    problems: list

    def issues(self) -> list[Issue]:
        """The problems as Issues (row = feature number)."""
        return [Issue(i + 1, column, code, params) for i, column, code, params in self.problems]


def vertex_issue(code: str, geom, limit: int) -> tuple[str, dict] | None:
    """("too_many_vertices", params) when `geom` has more than `limit` vertices, else None."""
    import shapely

    count = int(shapely.get_num_coordinates(geom))
    return ("too_many_vertices", {"value": code, "vertices": count, "limit": limit}) if count > limit else None


def _geometry(feature):
    """The feature's Polygon or MultiPolygon; ValueError saying what is wrong with it."""
    from shapely.geometry import MultiPolygon, Polygon, shape
    from shapely.validation import explain_validity

    g = shape(feature["geometry"]) if isinstance(feature, dict) and feature.get("geometry") else None
    if g is None:
        raise ValueError("no geometry")
    if not isinstance(g, (Polygon, MultiPolygon)):
        raise ValueError(f"expected Polygon or MultiPolygon, got {g.geom_type}")
    if not g.is_valid:
        raise ValueError(f"invalid geometry ({explain_validity(g)})")
    return g


def parse_grids(data: bytes) -> ParsedGrids:
    """The file's features parsed (run in the worker): a geometry with more than max_grid_vertices is
    refused before it is validated or checked against anything."""
    from shapely.geometry import shape

    feats, props = read_features(data)
    limit = limits()["max_grid_vertices"]
    geoms, problems = [], []
    for i, f in enumerate(feats):
        try:
            raw = shape(f["geometry"]) if isinstance(f, dict) and f.get("geometry") else None
            too_many = raw is not None and vertex_issue(str(props.at[i, "code"])[:30], raw, limit)
            if too_many:
                problems.append((i, "geometry", *too_many))
                geoms.append(None)
                continue
            geoms.append(_geometry(f))
        except Exception as exc:  # noqa: BLE001 - any geometry problem names the feature
            problems.append((i, "geometry", "bad_geometry", {"detail": str(exc)[:120]}))
            geoms.append(None)
    return ParsedGrids(props, geoms, problems)


def _check_properties(conn: Connection, ck: Checker, scope: str, existing: pd.DataFrame) -> pd.DataFrame:
    """Codes, names, owners and stations of the features; a known grid may not move to another station."""
    props = ck.df
    stations = pd.read_sql_query(text(STATIONS_SQL), conn).set_index("code")
    ctx = Context(scope, dt.date.today(), stations, pd.DataFrame(columns=["code", "id", "station_id"]),
                  pd.DataFrame(columns=["org_unit_id"]))
    ck.text("code", required=True, max_len=30)
    ck.text("name", max_len=100)
    ck.flag((props["name"] == "") & ~props["code"].isin(existing.index), "name", "required")  # new grids
    ck.text("owner_name", max_len=50)
    ck.text("owner_phone", max_len=30)
    ck.text("owner_duties", max_len=2000)  # a Text column: the length of the survey's note
    st = station_refs(ck, "station_code", ctx)
    ck.flag(props["station_code"] == "", "station_code", "required")
    ck.duplicates([props["code"]], "code")
    known = props["code"].isin(existing.index)
    moved = [k and sid == sid and existing.at[c, "station_id"] != sid
             for c, k, sid in zip(props["code"], known, st["id"])]
    ck.flag(np.array(moved, dtype=bool), "code", "grid_station", values=props["code"])
    return st


def _partition_issues(conn: Connection, props: pd.DataFrame, geoms: list) -> list[Issue]:
    """Overlaps, gaps and spill-overs of every district touched, with the file's grids in place."""
    from lib.grids import check_partition, from_geojson

    issues = []
    row_of = {c: i + 1 for i, c in enumerate(props["code"])}
    for district_id, part in props.groupby("district_id"):
        boundary, dname = conn.execute(text("SELECT boundary, name FROM org_unit WHERE id = :d"),
                                       {"d": int(district_id)}).one()
        cells = {code: from_geojson(geom_text) for code, geom_text in conn.execute(text(
            "SELECT g.code, g.geometry FROM grid g JOIN station s ON s.id = g.station_id "
            "JOIN org_unit u ON u.id = s.org_unit_id WHERE u.parent_id = :d"), {"d": int(district_id)}).all()}
        for idx in part.index:
            cells[props.at[idx, "code"]] = geoms[idx]
        rep = check_partition(cells, from_geojson(boundary))
        for a, b, area in rep.overlaps:
            issues.append(Issue(row_of.get(a, row_of.get(b, 0)), "geometry", "overlap",
                                {"a": a, "b": b, "area": f"{area:,.0f}"}))
        for area in rep.gaps:
            issues.append(Issue(int(min(row_of[c] for c in part["code"])), "geometry", "gap",
                                {"district": dname, "area": f"{area:,.0f}"}))
        for gid, area in rep.outside:
            issues.append(Issue(row_of.get(gid, 0), "geometry", "outside", {"value": gid, "area": f"{area:,.0f}"}))
    return issues


def _kept(props: pd.DataFrame, idx, col: str, existing: pd.DataFrame) -> str:
    """The blank-cell rule of lib.importer.merge for a grid's property: blank (or left out) keeps the stored
    value of a known grid, a dash clears it."""
    value, code = props.at[idx, col], props.at[idx, "code"]
    if value in CLEAR:
        return ""
    if value == "" and code in existing.index:
        return existing.at[code, col] or ""
    return value


def _save(conn: Connection, props: pd.DataFrame, st: pd.DataFrame, geoms: list, existing: pd.DataFrame) -> tuple[int, int]:
    from lib.grids import area_m2, to_geojson

    ins = upd = 0
    for idx in props.index:
        g = geoms[idx]
        kept = {col: _kept(props, idx, col, existing) for col in ("name", "owner_name", "owner_phone", "owner_duties")}
        values = {"code": props.at[idx, "code"], "name": kept["name"], "sid": int(props.at[idx, "station_id"]),
                  "path": st.at[idx, "org_path"], "geom": to_geojson(g), "on": kept["owner_name"],
                  "op": kept["owner_phone"], "od": kept["owner_duties"], "area": float(area_m2(g)) / 1e6}
        if props.at[idx, "code"] in existing.index:
            conn.execute(text("UPDATE grid SET name = :name, geometry = :geom, owner_name = :on, owner_phone = :op, "
                              "owner_duties = :od, area_km2 = :area WHERE code = :code"), values)
            upd += 1
        else:
            conn.execute(text("INSERT INTO grid (code, name, station_id, org_path, geometry, owner_name, owner_phone, "
                              "owner_duties, area_km2) VALUES (:code, :name, :sid, :path, :geom, :on, :op, :od, :area)"),
                         values)
            ins += 1
    return ins, upd


def import_grids(conn: Connection, parsed: ParsedGrids | bytes, scope: str) -> tuple[int, list[Issue], int, int, int]:
    """Check and save the grids of a GeoJSON file (`parse_grids`' result, or the bytes); return (features,
    issues, issue count, inserted, updated). Nothing is saved when there is any issue (the caller rolls
    back). FileError for an unreadable file."""
    parsed = parse_grids(parsed) if isinstance(parsed, bytes) else parsed
    props, geoms = parsed.props, parsed.geoms
    ck = Checker(props, first_row=1)  # row = feature number
    existing = pd.read_sql_query(text("SELECT g.id, g.code, g.station_id, g.geometry, g.name, g.owner_name, "
                                      "g.owner_phone, g.owner_duties FROM grid g"), conn).set_index("code")
    st = _check_properties(conn, ck, scope, existing)
    for i, column, code, params in parsed.problems:
        ck.add(i, column, code, **params)
    if ck.count:
        return len(geoms), ck.errors, ck.count, 0, 0
    props["station_id"], props["district_id"] = st["id"].astype(int), st["district_id"].astype(int)
    issues = _partition_issues(conn, props, geoms)
    if issues:
        return len(geoms), issues[:MAX_ERRORS], len(issues), 0, 0
    return (len(geoms), [], 0, *_save(conn, props, st, geoms, existing))
