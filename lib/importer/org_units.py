"""Org units 组织单元 from a file: CSV/Excel with a `boundary` column of GeoJSON text (边界), or a GeoJSON
FeatureCollection whose feature properties carry the columns (code, name, level, parent_code,
manager_name, manager_phone; Chinese headers too) and whose geometry is the boundary. The rows are
checked by the org-unit spec the setup page uses too (lib.org.check_fields); existing codes update
name, managers and (when given) boundary; new ones are created parents first.
"""
from __future__ import annotations

import json

import pandas as pd
from sqlalchemy import Connection

from lib import org
from lib.importer.read import FileError, decode
from lib.importer.specs import columns
from lib.validation import Checker


def is_geojson(data: bytes, filename: str) -> bool:
    """A .geojson/.json file, or text starting with "{" (a FeatureCollection rather than a table)."""
    ext = filename.lower().rsplit(".", 1)[-1] if "." in filename else ""
    return ext in ("geojson", "json") or data.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] == b"{"


def read_features(data: bytes) -> pd.DataFrame:
    """The features as rows of text cells: every property, and `boundary` = the geometry's GeoJSON.
    Rows are numbered by feature (attrs["features"]); FileError when it is not a FeatureCollection."""
    try:
        obj = json.loads(decode(data))
    except (ValueError, RecursionError, FileError) as exc:  # RecursionError: JSON nested too deep
        raise FileError("bad_geojson", detail=str(getattr(exc, "error", exc))[:120]) from None
    if not isinstance(obj, dict) or obj.get("type") != "FeatureCollection" or not isinstance(obj.get("features"), list):
        raise FileError("bad_geojson", detail="expected {\"type\": \"FeatureCollection\", \"features\": [...]}")
    if not obj["features"]:
        raise FileError("no_rows")
    keys = {}  # each feature may name its properties by key or Chinese header
    for key, zh, _ in columns("org_units"):
        keys |= {key.lower(): key, zh: key}
    rows = []
    for f in obj["features"]:
        f = f if isinstance(f, dict) else {}
        props = f.get("properties") if isinstance(f.get("properties"), dict) else {}
        row = {keys.get(str(k).strip().lower(), str(k)): "" if v is None else str(v).strip() for k, v in props.items()}
        row["boundary"] = json.dumps(f["geometry"]) if f.get("geometry") else ""
        rows.append(row)
    df = pd.DataFrame(rows, dtype=object).fillna("")
    df.attrs["features"] = True
    return df


def check(df: pd.DataFrame, ctx) -> tuple[pd.DataFrame, Checker]:
    """Check org-unit rows against the units of the database (ctx.units) and the importer's scope."""
    ck = Checker(df, first_row=1 if df.attrs.get("features") else 2)  # features are numbered from 1
    out = org.check_fields(ck, ctx.org_units, ctx.scope)
    out.attrs |= {"first_row": ck.first_row, "headers": df.attrs.get("headers", {})}
    return out, ck


def write(conn: Connection, out: pd.DataFrame, actor: str) -> tuple[int, int]:
    """Insert or update the checked units; (inserted, updated). A district whose grids would no longer
    partition its new boundary refuses the file (FileError naming the row; nothing is written)."""
    first_row, headers = out.attrs.get("first_row", 2), out.attrs.get("headers", {})
    for i, (code, boundary, exists) in enumerate(zip(out["code"], out["boundary"], out["exists"])):
        problem = boundary and exists and org.grid_issue(conn, code, boundary)
        if problem:
            raise FileError(problem[0], column=headers.get("boundary", "boundary"), row=i + first_row, **problem[1])
    return org.write_units(conn, out, actor)
