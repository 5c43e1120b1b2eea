"""Stations 加油站: the station spec shared by the page form and the `stations` import, one station
created or edited, competitor stations 竞争对手加油站, and the monthly station sales 加油站月销量 from
which each station's daily sales 日销量 and grade 站级 are recomputed (001 Chongqing, DOMAIN §9).

One check per entity, run on text cells by the form (a one-row frame) and the import alike
(`check_station_rows`, `check_competitor_rows`, `check_sales_rows`), and one write per entity
(`write_stations`, `write_competitors`, `write_sales`) called inside the caller's transaction.

Decisions (documented here, tested in tests/test_stations.py):
- A station's coordinates outside the boundary of the district named in its row are an ERROR, not
  a warning (the grids of that district could never contain it, the partition check of grids
  follows the district boundary), with a tolerance of `BOUNDARY_TOLERANCE_DEG` (about 50 m) for
  the simplification of the real boundaries (lib.regions). Districts without a boundary skip it.
- Coordinates are optional as a pair (both or neither): a new station without them stands at its
  district's representative point (the unit's lon/lat, else a point inside its boundary); an
  existing station keeps its stored ones. Empty opened_on / nozzles keep the stored value too.
- A station's district never changes by import or form (its org path, customers, grids and
  summaries hang on it): a row naming another district is refused (err.station_moved).
- Competitor stations have no code: a row whose name already exists in the same district updates
  that competitor's brand and coordinates.
"""
from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass

import numpy as np
import pandas as pd
import shapely
from sqlalchemy import Connection, Engine, text

from lib import geo, months, rules, validation
from lib.auth import SessionUser, audit, can
from lib.db import write
from lib.queries import read_df, scoped, station_scope
from lib.validation import Checker, Field, ValidationError

# --- specs 字段规则 ----------------------------------------------------------------------------------

FIELDS = (  # 加油站
    Field("code", "加油站代码", "own", required=True, max_len=20),
    Field("name", "加油站名称", required=True, max_len=100),
    Field("district_code", "区县代码", "ref", required=True),
    Field("lon", "经度", "number", lo=-180, hi=180),  # China's extent is checked with lib.geo.out_of_china
    Field("lat", "纬度", "number", lo=-90, hi=90),
    Field("opened_on", "开业日期", "date", not_future=True),
    Field("nozzles", "油枪数", "integer", lo=1, hi=200),
)
COMPETITOR_FIELDS = (  # 竞争对手加油站
    Field("name", "竞争对手名称", required=True, max_len=100),
    Field("brand", "品牌", required=True, max_len=50),
    Field("district_code", "区县代码", "ref", required=True),
    Field("lon", "经度", "number", required=True, lo=-180, hi=180),
    Field("lat", "纬度", "number", required=True, lo=-90, hi=90),
)
SALES_FIELDS = (  # 加油站月销量 (tonnes, walk-in customers included)
    Field("station_code", "加油站代码", "ref", required=True),
    Field("month", "月份", "month", required=True, not_future=True),
    Field("gasoline_t", "汽油(吨)", "number", hi=1_000_000, default=0.0),
    Field("diesel_t", "柴油(吨)", "number", hi=1_000_000, default=0.0),
)
SPECS = {"stations": FIELDS, "competitor_stations": COMPETITOR_FIELDS, "station_sales": SALES_FIELDS}
DEFAULT_NOZZLES = 8
BOUNDARY_TOLERANCE_DEG = 0.0005  # ≈ 50 m: the real boundaries are simplified (lib.regions)
GRADE_MONTHS = 12  # daily sales from the last 12 known months (issue 13; 001 Chongqing 日销量)


def columns(kind: str) -> list[tuple[str, str, bool]]:
    """The file columns of `kind` (stations, competitor_stations, station_sales): (key, header, required)."""
    return [(f.key, f.header, f.required) for f in SPECS[kind] if f.file]


# --- references 参照 ------------------------------------------------------------------------------


@dataclass
class Refs:
    """What the checks need from the database: the importer's scope, today, stations by code (id,
    org_path, org_unit_id, district_id) and the org units above stations by code (id, level, path,
    lon, lat, boundary for districts). lib.importer.check.Context carries the same attributes."""

    scope: str
    today: dt.date
    stations: pd.DataFrame
    units: pd.DataFrame


STATIONS_SQL = ("SELECT s.code, s.id, s.org_path, s.org_unit_id, u.parent_id AS district_id FROM station s "
                "JOIN org_unit u ON u.id = s.org_unit_id")
UNITS_SQL = ("SELECT code, id, level, path, lon, lat, CASE WHEN level = 'district' THEN boundary END AS boundary "
             "FROM org_unit WHERE level <> 'station'")


def load_units(conn: Connection) -> pd.DataFrame:
    """The org units above stations by code (index code: id, level, path, lon, lat, boundary of districts)."""
    return pd.read_sql_query(text(UNITS_SQL), conn).set_index("code")


def load_refs(conn: Connection, scope: str, today: dt.date | None = None) -> Refs:
    """Read the references of a form's check (the import reads them in lib.importer.check.load_context)."""
    return Refs(scope, today or dt.date.today(), pd.read_sql_query(text(STATIONS_SQL), conn).set_index("code"),
                load_units(conn))


def _in_scope(paths: pd.Series, scope: str) -> pd.Series:
    return paths.fillna("").str.startswith(scope)


def _districts(ck: Checker, ctx, col: str = "district_code") -> pd.DataFrame:
    """Look up district codes; flag unknown ones and districts outside the scope."""
    codes = ck.df[col]
    units = ctx.units
    known = codes.isin(units.index[units["level"] == "district"])
    ck.flag((codes != "") & ~known, col, "unknown_district", values=codes)
    d = units.reindex(codes.where(known, None).tolist())
    d.index = ck.df.index
    ck.flag(known & ~_in_scope(d["path"], ctx.scope), col, "outside_scope", values=codes)
    return d


def _coordinates(ck: Checker, out: pd.DataFrame, d: pd.DataFrame) -> pd.Series:
    """Check lon/lat: both or neither, inside China (lib.geo.out_of_china), inside the named district's
    boundary (± BOUNDARY_TOLERANCE_DEG) when it has one. Returns which rows give coordinates."""
    df = ck.df
    ck.flag((df["lon"] == "") != (df["lat"] == ""), "lon", "lon_lat")
    given = out["lon"].notna() & out["lat"].notna()
    lon, lat = out["lon"].fillna(0.0).to_numpy(), out["lat"].fillna(0.0).to_numpy()
    outside_china = given.to_numpy() & np.asarray(geo.out_of_china(lon, lat), dtype=bool)
    ck.flag(outside_china, "lon", "out_of_china", values=df["lon"] + "," + df["lat"])
    shapes: dict[str, object] = {}
    bad = np.zeros(len(df), dtype=bool)
    for i, (has, far, boundary) in enumerate(zip(given, outside_china, d["boundary"])):
        if not has or far or not isinstance(boundary, str) or not boundary:
            continue
        if boundary not in shapes:
            shape = shapely.buffer(shapely.from_geojson(boundary), BOUNDARY_TOLERANCE_DEG)
            shapely.prepare(shape)
            shapes[boundary] = shape
        bad[i] = not shapes[boundary].contains(shapely.Point(lon[i], lat[i]))
    ck.flag(bad, "lon", "outside_district", values=df["lon"] + "," + df["lat"])
    return given


def _district_point(d) -> tuple[float | None, float | None]:
    """The representative point of a district: its unit's lon/lat, else a point inside its boundary."""
    if pd.notna(d.get("lon")) and pd.notna(d.get("lat")):
        return float(d["lon"]), float(d["lat"])
    if isinstance(d.get("boundary"), str) and d["boundary"]:
        p = shapely.from_geojson(d["boundary"]).point_on_surface()
        return float(p.x), float(p.y)
    return None, None


# --- stations 加油站 ---------------------------------------------------------------------------------


def check_station_rows(df: pd.DataFrame, ctx, first_row: int = 2, create_only: bool = False
                       ) -> tuple[pd.DataFrame, Checker]:
    """Check station rows (file or form) against `ctx` (Refs or the import Context): the spec's plain
    checks, then code format, district (known, inside the scope), code taken by another unit, an
    existing station (updated; its district may not change; `create_only`: refused as taken),
    coordinates and duplicates in the file. Returns (clean values per row, the Checker)."""
    ck = Checker(df, first_row)
    out = validation.check_fields(ck, FIELDS, ctx.today)
    code = df["code"].str.upper()
    ck.flag(df["code"] == "", "code", "required")
    ck.flag((code != "") & ~code.map(lambda c: c.isascii() and c.isalnum()), "code", "bad_station_code", values=code)
    ck.flag(code.str.len() > 20, "code", "too_long", limit=20)
    out["code"] = code
    d = _districts(ck, ctx)
    taken = code.isin(ctx.units.index)
    ck.flag(taken, "code", "code_taken", values=code)
    exists = code.isin(ctx.stations.index)
    old = ctx.stations.reindex(code.where(exists, None).tolist())
    old.index = df.index
    if create_only:
        ck.flag(exists, "code", "code_taken", values=code)
    moved = exists & d["id"].notna() & (old["district_id"] != d["id"])
    ck.flag(moved, "district_code", "station_moved", values=df["district_code"])
    ck.flag(exists & ~moved & ~_in_scope(old["org_path"], ctx.scope), "code", "outside_scope", values=code)
    given = _coordinates(ck, out, d)
    for i in np.flatnonzero((~given & ~exists).to_numpy() & d["id"].notna().to_numpy()):
        lon, lat = _district_point(d.iloc[i])
        if lon is None:
            ck.add(int(i), "lon", "required")
        out.iloc[i, out.columns.get_loc("lon")], out.iloc[i, out.columns.get_loc("lat")] = lon, lat
    ck.duplicates([code], "code", mask=code != "")
    out["district_id"] = d["id"]
    out["path"] = d["path"].fillna("") + code + "/"
    out["exists"] = exists
    out["station_id"] = old["id"]
    out["unit_id"] = old["org_unit_id"]
    return out, ck


def _plain(v):
    v = validation.plain(v)
    return int(v) if isinstance(v, float) and v.is_integer() and abs(v) < 2**31 else v


def write_stations(conn: Connection, out: pd.DataFrame, actor: str) -> tuple[int, int]:
    """Write checked station rows in the caller's transaction (the forms take the "station" lock first;
    on SQLite every write transaction is serialised anyway): a new code creates the station-level
    org unit (path = district path + code + "/") and the station; an existing code updates name,
    coordinates, opening date and nozzles (an import fills empty cells with the stored values first,
    lib.importer.merge, and a dash clears coordinates and opening date; nozzles are never empty). Grids are not made
    here: a new station gets its grid from the grid import or the grid editor 网格编辑. Audited per
    station. Returns (inserted, updated)."""
    inserted = updated = 0
    for r in out.to_dict("records"):
        code, name, path = r["code"], r["name"], r["path"]
        lon, lat, opened = _plain(r["lon"]), _plain(r["lat"]), _plain(r["opened_on"])
        nozzles = _plain(r["nozzles"])
        if not r["exists"]:
            unit_id = conn.execute(text(
                "INSERT INTO org_unit (code, name, name_en, level, parent_id, path, manager_name, manager_phone, "
                "lon, lat, staff) VALUES (:code, :name, '', 'station', :parent, :path, '', '', :lon, :lat, 0) "
                "RETURNING id"), {"code": code, "name": name, "parent": int(r["district_id"]), "path": path,
                                  "lon": lon, "lat": lat}).scalar_one()
            values = {"org_unit_id": unit_id, "org_path": path, "code": code, "name": name, "lon": lon, "lat": lat,
                      "opened_on": opened, "nozzles": int(nozzles) if nozzles is not None else DEFAULT_NOZZLES,
                      "daily_sales_t": 0.0, "grade": "regular"}
            sid = conn.execute(text(
                "INSERT INTO station (org_unit_id, org_path, code, name, lon, lat, opened_on, nozzles, daily_sales_t, "
                "grade) VALUES (:org_unit_id, :org_path, :code, :name, :lon, :lat, :opened_on, :nozzles, "
                ":daily_sales_t, :grade) RETURNING id"), values).scalar_one()
            audit(conn, actor, "create", "station", sid, None, values, org_path=path)
            inserted += 1
            continue
        sid = int(r["station_id"])
        before = dict(conn.execute(text("SELECT name, lon, lat, opened_on, nozzles, org_path FROM station "
                                        "WHERE id = :i"), {"i": sid}).mappings().one())
        params = {"i": sid, "name": name, "lon": lon, "lat": lat, "opened": opened,
                  "nozzles": int(nozzles) if nozzles is not None else None}
        conn.execute(text("UPDATE station SET name = :name, lon = :lon, lat = :lat, opened_on = :opened, "
                          "nozzles = COALESCE(:nozzles, nozzles) WHERE id = :i"), params)
        conn.execute(text("UPDATE org_unit SET name = :name, lon = :lon, lat = :lat WHERE id = :u"),
                     {"u": int(r["unit_id"]), "name": name, "lon": lon, "lat": lat})
        after = dict(conn.execute(text("SELECT name, lon, lat, opened_on, nozzles FROM station WHERE id = :i"),
                                  {"i": sid}).mappings().one())
        path = before.pop("org_path")
        if after != before:
            audit(conn, actor, "update", "station", sid, before, after, org_path=path)
        updated += 1
    return inserted, updated


def _form_frame(values: dict, fields) -> pd.DataFrame:
    return validation.text_frame([values], [f.key for f in fields if f.file])


def _require(user: SessionUser, action: str) -> None:
    """Rights below the UI: ValidationError read_only unless `user` may do `action` (lib.auth.PERMISSIONS)."""
    if not can(user, action):
        raise ValidationError.one("role", "read_only")


def create_station(engine: Engine, actor: SessionUser, values: dict, today: dt.date | None = None) -> int:
    """Create one station 新建加油站 from form `values` (the keys of FIELDS) inside the actor's scope and
    return its id. Creates the station-level org unit and the station row, nothing else: the
    district's grids come from the grid import or the grid editor. ValidationError names the bad fields
    (a code that exists is refused here; the import updates it)."""
    _require(actor, "stations.edit")
    with write(engine) as conn:
        _lock(conn, "station")  # PostgreSQL: a second create of the same code waits, then sees it taken
        out, ck = check_station_rows(_form_frame(values, FIELDS), load_refs(conn, actor.scope, today),
                                     first_row=0, create_only=True)
        if ck.errors:
            raise ValidationError(ck.errors)
        write_stations(conn, out, actor.login)
        return int(conn.execute(text("SELECT id FROM station WHERE code = :c"), {"c": out["code"].iloc[0]}).scalar_one())


def station_values(engine: Engine, scope: str, station_id: int) -> dict | None:
    """The form values of one station inside `scope` (keys of FIELDS, district_code included), or None."""
    where = scoped("s.org_path", station_scope(scope))
    df = read_df(engine, f"SELECT s.id, s.code, s.name, d.code AS district_code, s.lon, s.lat, s.opened_on, s.nozzles "
                         f"FROM station s JOIN org_unit u ON u.id = s.org_unit_id JOIN org_unit d ON d.id = u.parent_id "
                         f"WHERE s.id = :i AND {where.sql}", i=station_id, **where.params)
    if df.empty:
        return None
    row = {k: validation.plain(v) for k, v in df.iloc[0].items()}
    if row["opened_on"] is not None and not isinstance(row["opened_on"], dt.date):
        row["opened_on"] = dt.date.fromisoformat(str(row["opened_on"])[:10])
    return row


def update_station(engine: Engine, actor: SessionUser, station_id: int, changes: dict,
                   today: dt.date | None = None) -> None:
    """Edit one station 修改加油站 inside the actor's scope: name, coordinates, opening date, nozzles (code
    and district stay). ValidationError names the bad fields, not_found outside the scope."""
    _require(actor, "stations.edit")
    before = station_values(engine, actor.scope, station_id)
    if before is None or not before["district_code"]:
        raise ValidationError.one("station", "not_found")
    values = {k: before[k] for k in (f.key for f in FIELDS)} | {k: v for k, v in changes.items() if k != "code"}
    with write(engine) as conn:
        _lock(conn, "station")
        out, ck = check_station_rows(_form_frame(values, FIELDS), load_refs(conn, actor.scope, today), first_row=0)
        if ck.errors:
            raise ValidationError(ck.errors)
        write_stations(conn, out, actor.login)


# --- competitor stations 竞争对手加油站 -------------------------------------------------------------------


def check_competitor_rows(df: pd.DataFrame, ctx, first_row: int = 2) -> tuple[pd.DataFrame, Checker]:
    """Check competitor rows: spec checks, district known and inside the scope, coordinates inside
    China and the district, one row per name and district in the file."""
    ck = Checker(df, first_row)
    out = validation.check_fields(ck, COMPETITOR_FIELDS, ctx.today)
    d = _districts(ck, ctx)
    _coordinates(ck, out, d)
    ck.duplicates([df["name"], df["district_code"]], "name", mask=df["name"] != "")
    out["org_path"] = d["path"]
    return out, ck


def _lock(conn: Connection, name: str) -> None:
    """PostgreSQL: serialise writers of `name` until the transaction ends (SQLite's BEGIN IMMEDIATE does)."""
    if conn.dialect.name == "postgresql":
        key = int.from_bytes(hashlib.blake2b(name.encode(), digest_size=8).digest(), "big", signed=True)
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": key})


def write_competitors(conn: Connection, out: pd.DataFrame, actor: str) -> tuple[int, int]:
    """Write checked competitor rows: the name in that district updated, else inserted. (inserted, updated)."""
    _lock(conn, "competitor_station")
    inserted = updated = 0
    for r in out.to_dict("records"):
        p = {"name": r["name"], "brand": r["brand"], "lon": float(r["lon"]), "lat": float(r["lat"]),
             "path": r["org_path"]}
        n = conn.execute(text("UPDATE competitor_station SET brand = :brand, lon = :lon, lat = :lat "
                              "WHERE org_path = :path AND name = :name"), p).rowcount
        if n:
            updated += 1
        else:
            conn.execute(text("INSERT INTO competitor_station (org_path, name, brand, lon, lat) "
                              "VALUES (:path, :name, :brand, :lon, :lat)"), p)
            inserted += 1
    return inserted, updated


def save_competitor(engine: Engine, actor: SessionUser, values: dict, competitor_id: int | None = None,
                    today: dt.date | None = None) -> int:
    """Create (no id) or edit one competitor station 竞争对手加油站 inside the actor's scope; return its id."""
    _require(actor, "stations.edit")
    with write(engine) as conn:
        out, ck = check_competitor_rows(_form_frame(values, COMPETITOR_FIELDS), load_refs(conn, actor.scope, today),
                                        first_row=0)
        if ck.errors:
            raise ValidationError(ck.errors)
        r = out.iloc[0]
        p = {"name": r["name"], "brand": r["brand"], "lon": float(r["lon"]), "lat": float(r["lat"]),
             "path": r["org_path"]}
        if competitor_id is None:
            cid = conn.execute(text("INSERT INTO competitor_station (org_path, name, brand, lon, lat) "
                                    "VALUES (:path, :name, :brand, :lon, :lat) RETURNING id"), p).scalar_one()
            audit(conn, actor.login, "create", "competitor_station", cid, None, p, org_path=p["path"])
            return int(cid)
        where = scoped("org_path", actor.scope)
        before = conn.execute(text(f"SELECT name, brand, lon, lat, org_path AS path FROM competitor_station "
                                   f"WHERE id = :i AND {where.sql}"), {"i": competitor_id, **where.params}
                              ).mappings().first()
        if before is None:
            raise ValidationError.one("competitor", "not_found")
        conn.execute(text("UPDATE competitor_station SET name = :name, brand = :brand, lon = :lon, lat = :lat, "
                          "org_path = :path WHERE id = :i"), p | {"i": competitor_id})
        audit(conn, actor.login, "update", "competitor_station", competitor_id, dict(before), p, org_path=p["path"])
        return competitor_id


# --- station sales, daily sales and grade 加油站月销量、日销量与站级 ----------------------------------------


def check_sales_rows(df: pd.DataFrame, ctx, first_row: int = 2) -> tuple[pd.DataFrame, Checker]:
    """Check monthly station sales rows: a known station inside the scope, a month not after this one,
    tonnes ≥ 0 (at least one of gasoline and diesel given), one row per station and month."""
    ck = Checker(df, first_row)
    out = validation.check_fields(ck, SALES_FIELDS, ctx.today)
    codes = df["station_code"].str.upper()
    ck.flag(codes == "", "station_code", "required")
    known = codes.isin(ctx.stations.index)
    ck.flag((codes != "") & ~known, "station_code", "unknown_station", values=codes)
    st = ctx.stations.reindex(codes.where(known, None).tolist())
    st.index = df.index
    ck.flag(known & ~_in_scope(st["org_path"], ctx.scope), "station_code", "outside_scope", values=codes)
    ck.flag((df["gasoline_t"] == "") & (df["diesel_t"] == ""), "gasoline_t", "required")
    ck.duplicates([codes, out["month"]], "month", mask=codes != "")
    out["station_id"] = st["id"]
    out["org_path"] = st["org_path"]
    return out, ck


def write_sales(conn: Connection, out: pd.DataFrame, actor: str) -> tuple[int, int]:
    """Write checked sales rows (a month given again replaces that month) and recompute the daily sales
    and grade of the stations touched, in the caller's transaction. Returns (inserted, updated)."""
    rows = [{"s": int(r["station_id"]), "m": r["month"], "p": r["org_path"], "g": float(r["gasoline_t"]),
             "d": float(r["diesel_t"])} for r in out.to_dict("records")]
    ids = sorted({r["s"] for r in rows})
    known = set()
    for chunk in _chunks(ids):
        known |= {(int(s), m) for s, m in conn.execute(text(
            f"SELECT station_id, month FROM station_sales WHERE station_id IN ({_marks(chunk)})"), _names(chunk))}
    conn.execute(text("INSERT INTO station_sales (station_id, month, org_path, gasoline_t, diesel_t) "
                      "VALUES (:s, :m, :p, :g, :d) ON CONFLICT (station_id, month) DO UPDATE SET "
                      "org_path = excluded.org_path, gasoline_t = excluded.gasoline_t, diesel_t = excluded.diesel_t"),
                 rows)
    recompute_grades(conn, ids)
    updated = sum((r["s"], r["m"]) in known for r in rows)
    return len(rows) - updated, updated


def _chunks(values: list, n: int = 900):
    for i in range(0, len(values), n):
        yield values[i:i + n]


def _marks(chunk) -> str:
    return ", ".join(f":v{i}" for i in range(len(chunk)))


def _names(chunk) -> dict:
    return {f"v{i}": v for i, v in enumerate(chunk)}


def daily_sales(sales: pd.DataFrame) -> pd.Series:
    """Daily sales 日销量 (t/day) per station from monthly rows (station_id, month, gasoline_t, diesel_t):
    the tonnes of its last GRADE_MONTHS known months ÷ the days of those months (fewer months while
    fewer are known). Issue 13; 001 Chongqing grades stations by 日销量."""
    if sales.empty:
        return pd.Series(dtype=float)
    df = sales.sort_values(["station_id", "month"], ascending=[True, False])
    df = df.groupby("station_id", sort=False).head(GRADE_MONTHS)
    df = df.assign(t=df["gasoline_t"].astype(float) + df["diesel_t"].astype(float),
                   days=[months.days_in(m) for m in df["month"]])
    sums = df.groupby("station_id")[["t", "days"]].sum()
    return sums["t"] / sums["days"]


def recompute_grades(conn: Connection, station_ids) -> dict[int, tuple[float, str]]:
    """Recompute daily sales and grade (lib.rules.station_grade, 001 Chongqing / DOMAIN §9) of
    `station_ids` from their monthly sales, in the caller's transaction (call it with every sales
    write). Stations without sales rows keep what they have. Returns {station_id: (daily_t, grade)}."""
    ids = sorted({int(s) for s in station_ids})
    parts = [pd.read_sql_query(text(f"SELECT station_id, month, gasoline_t, diesel_t FROM station_sales "
                                    f"WHERE station_id IN ({_marks(c)})"), conn, params=_names(c))
             for c in _chunks(ids)]
    sales = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
    result = {int(s): (round(float(t), 3), rules.station_grade(round(float(t), 3)))
              for s, t in daily_sales(sales).items()}
    if result:
        conn.execute(text("UPDATE station SET daily_sales_t = :t, grade = :g WHERE id = :i"),
                     [{"t": t, "g": g, "i": i} for i, (t, g) in result.items()])
    return result


def set_sales(engine: Engine, actor: SessionUser, station_code: str, month: str, gasoline_t, diesel_t,
              today: dt.date | None = None) -> tuple[float, str]:
    """Enter one station's sales for one month 录入月销量 (replacing that month); returns the station's new
    (daily sales, grade). ValidationError names the bad fields."""
    _require(actor, "stations.sales")
    values = {"station_code": station_code, "month": month, "gasoline_t": gasoline_t, "diesel_t": diesel_t}
    with write(engine) as conn:
        out, ck = check_sales_rows(_form_frame(values, SALES_FIELDS), load_refs(conn, actor.scope, today), 0)
        if ck.errors:
            raise ValidationError(ck.errors)
        write_sales(conn, out, actor.login)
        audit(conn, actor.login, "set_sales", "station", int(out["station_id"].iloc[0]), None,
              {"month": out["month"].iloc[0], "gasoline_t": float(out["gasoline_t"].iloc[0]),
               "diesel_t": float(out["diesel_t"].iloc[0])}, org_path=out["org_path"].iloc[0])
        row = conn.execute(text("SELECT daily_sales_t, grade FROM station WHERE id = :i"),
                           {"i": int(out["station_id"].iloc[0])}).one()
    return float(row[0]), row[1]


# --- readers 查询 ---------------------------------------------------------------------------------------


def table(engine: Engine, scope: str) -> pd.DataFrame:
    """The stations of `scope` 加油站列表: id, code, name, district, district_code, lon, lat, opened_on,
    nozzles, daily_sales_t, grade, sales_months (months of sales known)."""
    where = scoped("s.org_path", station_scope(scope))
    return read_df(engine, f"SELECT s.id, s.code, s.name, d.name AS district, d.code AS district_code, s.lon, s.lat, "
                           f"s.opened_on, s.nozzles, s.daily_sales_t, s.grade, "
                           f"(SELECT COUNT(*) FROM station_sales x WHERE x.station_id = s.id) AS sales_months "
                           f"FROM station s JOIN org_unit u ON u.id = s.org_unit_id "
                           f"JOIN org_unit d ON d.id = u.parent_id WHERE {where.sql} ORDER BY s.code", **where.params)


def competitors(engine: Engine, scope: str) -> pd.DataFrame:
    """Competitor stations 竞争对手加油站 of `scope`: inside it, or in the district a station's scope lies in.
    Columns: id, name, brand, district, district_code, lon, lat."""
    return read_df(engine, "SELECT c.id, c.name, c.brand, d.name AS district, d.code AS district_code, c.lon, c.lat "
                           "FROM competitor_station c JOIN org_unit d ON d.path = c.org_path "
                           "WHERE substr(c.org_path, 1, :n) = :scope OR substr(:scope, 1, length(c.org_path)) = "
                           "c.org_path ORDER BY d.code, c.name", scope=scope, n=len(scope))


def sales(engine: Engine, scope: str, station_id: int) -> pd.DataFrame:
    """One station's monthly sales 月销量, newest first: month, gasoline_t, diesel_t, volume_t."""
    where = scoped("org_path", station_scope(scope))
    df = read_df(engine, f"SELECT month, gasoline_t, diesel_t FROM station_sales WHERE station_id = :i AND "
                         f"{where.sql} ORDER BY month DESC", i=station_id, **where.params)
    df["volume_t"] = df["gasoline_t"] + df["diesel_t"]
    return df


def districts(engine: Engine, scope: str) -> pd.DataFrame:
    """The districts 区县 a user of `scope` may put stations in: code, name."""
    where = scoped("path", scope)
    return read_df(engine, f"SELECT code, name FROM org_unit WHERE level = 'district' AND {where.sql} ORDER BY code",
                   **where.params)


def as_import(df: pd.DataFrame, kind: str, lang: str = "zh", extra: dict | None = None) -> pd.DataFrame:
    """A table in the format its import reads: the file columns of `kind` under their import headers
    (Chinese for zh, keys for en), then `extra` {column: header} the import ignores (e.g. daily sales)."""
    cols = {key: (header if lang == "zh" else key) for key, header, _ in columns(kind)}
    out = pd.DataFrame({head: df[key] if key in df else "" for key, head in cols.items()})
    for key, head in (extra or {}).items():
        out[head] = df[key]
    return out
