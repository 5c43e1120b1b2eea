"""Map data (地图数据): the scoped reads behind the grid map, the customer map and grid editing, and
what the maps draw assembled from them (`grid_map_data`, `grid_panel`, `customer_rings`).

Scope rules (docs/CONVENTIONS.md): customers are filtered in SQL with `queries.in_scope`.
Station-level rows (stations, grids) are shown when they lie inside the scope **or are the unit
the scope belongs to**: a customer manager's scope "/…/370102002/m12/" lies inside station
370102002, whose grid and station are that manager's workplace, so they are included through
the scope's ancestor paths (never a sibling's). Competitor stations carry a district path and
are shown to everyone inside that district.

Geometries are GeoJSON text in WGS-84; nothing here converts datums (lib.maps.layers does, for drawing).
"""
from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd
import shapely
from sqlalchemy import Engine, String, bindparam, text

from lib import queries
from lib.config import rules
from lib.geo import haversine_m
from lib.grids import PartitionReport, check_partition, from_geojson
from lib.kpis import four_rates
from lib.queries import in_scope, new_card_customer, on_books, read_df, scope_like, shift_month
from lib.rules import TIERS

STATUS_GROUPS = ("own", "potential", "competitor")
INDIVIDUAL_LEVELS = ("district", "station", "manager")
MAX_POINTS = 6000  # customers drawn one by one per layer, at most
HEAT_CELL_DEG = {"province": 0.01, "city": 0.005, "district": 0.002, "station": 0.001, "manager": 0.001}


def ancestors(scope: str) -> list[str]:
    """Return the proper ancestor paths of `scope` ("/37/3701/" → ["/37/"])."""
    parts = [p for p in scope.strip("/").split("/") if p]
    return ["/" + "/".join(parts[:i]) + "/" for i in range(1, len(parts))]


_df = read_df


def _station_rows(col: str) -> str:
    """SQL condition: station-level row `col` inside the scope or on the scope's ancestor chain."""
    return f"({in_scope(col)} OR {col} IN :anc)"


def _with_anc(sql: str):
    # typed, so an empty list (the province has no ancestors) still compares text with text on PostgreSQL
    return text(sql).bindparams(bindparam("anc", expanding=True, type_=String))


def scope_level(engine: Engine, scope: str) -> str:
    """Return the level of the scope's unit: province/city/district/station, or "manager" for a
    customer manager's own customers (a path ending in an "m<id>/" segment)."""
    last = scope.strip("/").split("/")[-1]
    if last.startswith("m"):
        return "manager"
    with engine.connect() as conn:
        level = conn.execute(text("SELECT level FROM org_unit WHERE path = :p"), {"p": scope}).scalar()
    if level is None:
        raise ValueError(f"unknown scope {scope!r}")
    return level


# --- Grids, stations, competitors -------------------------------------------------------------


def grids(engine: Engine, scope: str) -> pd.DataFrame:
    """Return the grids 网格 visible in `scope`: id, code, name, station (id, code, name, grade),
    owner 网格负责人 (name, phone, duties), area_km2, org_path, district_path, geometry (GeoJSON)."""
    df = _df(engine, _with_anc(
        f"SELECT g.id, g.code, g.name, g.station_id, s.code AS station_code, s.name AS station_name, "
        f"s.grade AS station_grade, g.owner_name, g.owner_phone, g.owner_duties, g.area_km2, g.org_path, "
        f"g.geometry FROM grid g JOIN station s ON s.id = g.station_id "
        f"WHERE {_station_rows('g.org_path')} ORDER BY g.org_path, g.code"),
        scope=scope_like(scope), anc=ancestors(scope))
    df["district_path"] = df["org_path"].map(_parent_path)
    return df


def _parent_path(path: str) -> str:
    parts = [p for p in path.strip("/").split("/") if p]
    return "/" + "/".join(parts[:-1]) + "/"


def stations(engine: Engine, scope: str) -> pd.DataFrame:
    """Return the stations 加油站 visible in `scope`: id, code, name, org_path, lon, lat, grade,
    daily_sales_t (DOMAIN §9 grade)."""
    return _df(engine, _with_anc(
        f"SELECT s.id, s.code, s.name, s.org_path, s.lon, s.lat, s.grade, s.daily_sales_t FROM station s "
        f"WHERE {_station_rows('s.org_path')} ORDER BY s.org_path"),
        scope=scope_like(scope), anc=ancestors(scope))


def competitor_stations(engine: Engine, scope: str) -> pd.DataFrame:
    """Return competitor stations 竞争对手加油站 in `scope`'s district(s): name, brand, lon, lat."""
    return _df(engine, _with_anc(
        f"SELECT id, name, brand, lon, lat, org_path FROM competitor_station "
        f"WHERE {_station_rows('org_path')} ORDER BY id"),
        scope=scope_like(scope), anc=ancestors(scope))


def districts(engine: Engine, scope: str) -> pd.DataFrame:
    """Return the districts 区县 whose grids are visible in `scope`: id, path, name, boundary."""
    return _df(engine, _with_anc(
        f"SELECT id, code, name, name_en, path, boundary FROM org_unit "
        f"WHERE level = 'district' AND {_station_rows('path')} ORDER BY path"),
        scope=scope_like(scope), anc=ancestors(scope))


def org_boundaries(engine: Engine) -> pd.DataFrame:
    """Return every org unit above the stations (province, cities 地市, areas 片区, districts 区县): path,
    level, name, name_en, boundary (GeoJSON or None), by path: the context layer of every map
    (lib.maps.context). Not scoped on purpose: the outlines and names of the neighbouring units are no
    customer data and every map shows them around its scope."""
    return _df(engine, "SELECT path, level, name, name_en, boundary FROM org_unit WHERE level <> 'station' "
                       "ORDER BY path")


def org_boundary_stamp(engine: Engine) -> list[tuple]:
    """Return what identifies the current `org_boundaries` cheaply (path, name, name_en and boundary length
    of each unit, no geometry): the context layer's cache is re-read when it changes."""
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(
            "SELECT path, name, name_en, LENGTH(boundary) FROM org_unit WHERE level <> 'station' ORDER BY path"))]


# --- Figures per grid (for colouring the map) ---------------------------------------------------


def grid_customer_counts(engine: Engine, scope: str, month: str) -> pd.DataFrame:
    """Return customers per grid, tier and group: columns grid_id, tier, grp, customers.

    grp "own" = on the books at the end of `month` (存量), "potential" 潜在, "competitor"
    竞争对手客户 (current status). Tier in force = override, else computed (002 §6.1.1).
    """
    # own customers from the month's summary rows (lib.summary), the others from the customer table
    return _df(
        engine,
        f"SELECT grid_id, COALESCE(tier_override, computed_tier) AS tier, 'own' AS grp, COUNT(*) AS customers "
        f"FROM customer_monthly WHERE month = :month AND {in_scope('org_path')} "
        f"GROUP BY grid_id, COALESCE(tier_override, computed_tier) "
        f"UNION ALL "
        f"SELECT c.grid_id, COALESCE(c.tier_override, c.computed_tier) AS tier, c.status AS grp, COUNT(*) AS customers "
        f"FROM customer c WHERE {in_scope('c.org_path')} AND c.status IN ('potential', 'competitor') "
        f"GROUP BY c.grid_id, COALESCE(c.tier_override, c.computed_tier), c.status",
        scope=scope_like(scope), month=month,
    )


def grid_volume(engine: Engine, scope: str, month: str) -> pd.DataFrame:
    """Return the month's volume 销量 per grid from its customers: grid_id, gasoline_t, diesel_t, total_t."""
    df = _df(
        engine,
        f"SELECT c.grid_id, SUM(m.gasoline_t) AS gasoline_t, SUM(m.diesel_t) AS diesel_t "
        f"FROM monthly_consumption m JOIN customer c ON c.id = m.customer_id "
        f"WHERE {in_scope('c.org_path')} AND m.month = :month GROUP BY c.grid_id",
        scope=scope_like(scope), month=month,
    )
    df["total_t"] = df["gasoline_t"] + df["diesel_t"]
    return df


def station_plan(engine: Engine, scope: str, month: str) -> pd.DataFrame:
    """Return per station the personal card development plan of `month` (002 §6.5.3): station_id,
    actual (new personal card customers), target (the station's plan row, else the default 10)."""
    default = rules()["development"]["personal_card_per_station_month"]
    return _df(engine, _with_anc(
        f"SELECT s.id AS station_id, COALESCE(dp.target, :default) AS target, "
        f"(SELECT COUNT(*) FROM customer c WHERE c.station_id = s.id AND {in_scope('c.org_path')} "
        f" AND c.developed_month = :month AND {new_card_customer('c').sql}) AS actual "
        f"FROM station s LEFT JOIN development_plan dp ON dp.org_unit_id = s.org_unit_id "
        f" AND dp.month = :month AND dp.kind = 'personal_card' "
        f"WHERE {_station_rows('s.org_path')}"),
        scope=scope_like(scope), anc=ancestors(scope), month=month, default=default)


def station_rates(engine: Engine, scope: str, month: str) -> pd.DataFrame:
    """Return the four rates 四率 of each station in `month` (ratio of sums over its days; the return
    rate from the customers inside `scope`, lib.queries.customer_visit_counts):
    station_id, entry_rate, fill_up_rate, return_rate, pass_through_rate (None = no data)."""
    df = _df(engine, _with_anc(
        f"SELECT station_id, SUM(passing_car + passing_medium + passing_truck + passing_bus) AS passing, "
        f"SUM(entering) AS entering, SUM(fuelled) AS fuelled, SUM(transactions) AS transactions, "
        f"SUM(full_tank) AS full_tank FROM station_traffic "
        f"WHERE {_station_rows('org_path')} AND month = :month GROUP BY station_id"),
        scope=scope_like(scope), anc=ancestors(scope), month=month)
    cust = queries.customer_visit_counts(engine, scope, month)[["station_id", "active_customers", "repeat_customers"]]
    rows = []
    for rec in df.merge(cust, on="station_id", how="left").to_dict("records"):
        counts = {k: (float(v) if v is not None and not pd.isna(v) else None) for k, v in rec.items() if k != "station_id"}
        try:
            rates = four_rates(counts)
        except ValueError:  # bad counts: shown as no data rather than breaking the map
            rates = {k: None for k in ("entry_rate", "fill_up_rate", "return_rate", "pass_through_rate")}
        rows.append({"station_id": rec["station_id"], **rates})
    return pd.DataFrame(rows, columns=["station_id", "entry_rate", "fill_up_rate", "return_rate", "pass_through_rate"])


def grid_volume_trend(engine: Engine, scope: str, grid_id: int, month: str, n: int = 12) -> pd.DataFrame:
    """Return the monthly gasoline and diesel tonnes of one grid's customers (in scope), `n` months
    up to `month`: month, gasoline_t, diesel_t."""
    return _df(
        engine,
        f"SELECT m.month, SUM(m.gasoline_t) AS gasoline_t, SUM(m.diesel_t) AS diesel_t "
        f"FROM monthly_consumption m JOIN customer c ON c.id = m.customer_id "
        f"WHERE {in_scope('c.org_path')} AND c.grid_id = :grid AND m.month > :start AND m.month <= :month "
        f"GROUP BY m.month ORDER BY m.month",
        scope=scope_like(scope), grid=int(grid_id), start=shift_month(month, -n), month=month,
    )


def grid_customers(engine: Engine, scope: str, grid_id: int, month: str, limit: int = 500) -> pd.DataFrame:
    """Return the customers of one grid inside `scope` (the panel's "its customers" list): code,
    name, kind, tier, status, phone, volume of `month` — biggest first."""
    return _df(
        engine,
        f"SELECT c.code, c.name, c.kind, COALESCE(c.tier_override, c.computed_tier) AS tier, c.status, "
        f"COALESCE(m.gasoline_t + m.diesel_t, 0) AS volume_t FROM customer c "
        f"LEFT JOIN monthly_consumption m ON m.customer_id = c.id AND m.month = :month "
        f"WHERE {in_scope('c.org_path')} AND c.grid_id = :grid "
        f"ORDER BY COALESCE(m.gasoline_t + m.diesel_t, 0) DESC, c.code LIMIT :limit",
        scope=scope_like(scope), grid=int(grid_id), month=month, limit=int(limit),
    )


# --- Customers as points ------------------------------------------------------------------------


def customer_points(engine: Engine, scope: str, month: str, group: str, limit: int | None = None) -> pd.DataFrame:
    """Return customers of one group ("own" on the books, "potential", "competitor") in `scope`
    with a location: id, code, name, lon, lat, tier, grid_id, station_id, volume_t of `month`."""
    if group not in STATUS_GROUPS:
        raise ValueError(f"group must be one of {STATUS_GROUPS}, got {group!r}")
    cond = on_books(month).sql if group == "own" else "c.status = :status"
    sql = (
        f"SELECT c.id, c.code, c.name, c.lon, c.lat, COALESCE(c.tier_override, c.computed_tier) AS tier, "
        f"c.grid_id, c.station_id, COALESCE(m.gasoline_t + m.diesel_t, 0) AS volume_t FROM customer c "
        f"LEFT JOIN monthly_consumption m ON m.customer_id = c.id AND m.month = :month "
        f"WHERE {in_scope('c.org_path')} AND {cond} AND c.lon IS NOT NULL AND c.lat IS NOT NULL ORDER BY c.id"
    )
    if limit is not None:
        sql += " LIMIT :limit"
    return _df(engine, sql, scope=scope_like(scope), month=month, status=group, limit=limit)


def customer_count(engine: Engine, scope: str, month: str, group: str) -> int:
    """Return how many customers of `group` with a location `customer_points` would return."""
    cond = on_books(month).sql if group == "own" else "c.status = :status"
    with engine.connect() as conn:
        return int(conn.execute(text(
            f"SELECT COUNT(*) FROM customer c WHERE {in_scope('c.org_path')} AND {cond} "
            f"AND c.lon IS NOT NULL AND c.lat IS NOT NULL"),
            {"scope": scope_like(scope), "month": month, "status": group}).scalar_one())


def volume_bins(engine: Engine, scope: str, month: str, cell_deg: float) -> pd.DataFrame:
    """Return the month's customer volume summed in square cells of `cell_deg` degrees (for the
    heat layer without one point per customer): lon, lat (cell centre), volume_t."""
    k = 1.0 / cell_deg
    # customers on the books, as the individual points at district level (customer_monthly, lib.summary)
    df = _df(
        engine,
        f"SELECT CAST(ROUND(lon * :k) AS INTEGER) AS gx, CAST(ROUND(lat * :k) AS INTEGER) AS gy, "
        f"SUM(gasoline_t + diesel_t) AS volume_t FROM customer_monthly "
        f"WHERE month = :month AND {in_scope('org_path')} AND lon IS NOT NULL AND lat IS NOT NULL "
        f"GROUP BY 1, 2 HAVING SUM(gasoline_t + diesel_t) > 0",
        scope=scope_like(scope), month=month, k=k,
    )
    return pd.DataFrame({"lon": df["gx"] / k, "lat": df["gy"] / k, "volume_t": df["volume_t"].astype(float)})


# --- Partition check of the scope's districts (全覆盖、无交叉) -----------------------------------


def partition_reports(engine: Engine, scope: str, tolerance_m2: float = 1.0) -> dict[str, PartitionReport]:
    """Run `lib.grids.check_partition` for every district visible in `scope` against **all** its
    grids (a partition is a property of the district). Returns {district path: report}; a district
    whose geometry cannot be read gets a report with ok=False and the reason in `gaps` empty and
    `error` set."""
    dist = districts(engine, scope)
    out: dict[str, PartitionReport] = {}
    with engine.connect() as conn:
        for d in dist.to_dict("records"):
            if not d["boundary"]:
                continue
            rows = conn.execute(
                text(f"SELECT code, geometry FROM grid WHERE {in_scope('org_path')}"),
                {"scope": scope_like(d["path"])},
            ).all()
            cells = {code: from_geojson(geom) for code, geom in rows}
            try:
                out[d["path"]] = check_partition(cells, from_geojson(d["boundary"]), tolerance_m2)
            except ValueError as exc:
                report = PartitionReport(ok=False)
                report.error = str(exc)  # type: ignore[attr-defined]
                out[d["path"]] = report
    return out


def grid_membership(engine: Engine, scope: str) -> pd.DataFrame:
    """Return the customers in `scope` that lie outside every grid of their district or inside
    several grids: code, name, status, station_name, assigned grid code, grids_containing
    (count), grid codes containing the point. Grids of all districts visible in `scope` count."""
    pts = _df(
        engine,
        f"SELECT c.code, c.name, c.status, c.lon, c.lat, s.name AS station_name, g.code AS grid_code "
        f"FROM customer c JOIN station s ON s.id = c.station_id LEFT JOIN grid g ON g.id = c.grid_id "
        f"WHERE {in_scope('c.org_path')} AND c.lon IS NOT NULL AND c.lat IS NOT NULL",
        scope=scope_like(scope),
    )
    cols = ["code", "name", "status", "station_name", "grid_code", "grids_containing", "containing"]
    if pts.empty:
        return pd.DataFrame(columns=cols)
    dist_paths = districts(engine, scope)["path"].tolist()
    with engine.connect() as conn:
        rows = []
        for path in dist_paths:
            rows += conn.execute(text(f"SELECT code, geometry FROM grid WHERE {in_scope('org_path')}"),
                                 {"scope": scope_like(path)}).all()
    codes = np.array([r[0] for r in rows], dtype=object)
    geoms = np.array([from_geojson(r[1]) for r in rows], dtype=object)
    points = shapely.points(pts["lon"].to_numpy(float), pts["lat"].to_numpy(float))
    tree = shapely.STRtree(geoms)
    # A customer strictly inside two grids sits in an overlap ("in several"); one exactly on a
    # shared border is inside neither strictly but touches both: that is fine, not "outside".
    p_idx, g_idx = tree.query(points, predicate="within")
    counts = np.bincount(p_idx, minlength=len(points))
    on_border = np.zeros(len(points), dtype=bool)
    if len(geoms):
        bp, _ = tree.query(points, predicate="intersects")
        inter_counts = np.bincount(bp, minlength=len(points))
        on_border = (counts == 0) & (inter_counts > 0)
    bad = ((counts == 0) & ~on_border) | (counts > 1)
    containing: dict[int, list[str]] = {}
    for p, g in zip(p_idx.tolist(), g_idx.tolist()):
        if bad[p]:
            containing.setdefault(p, []).append(codes[g])
    out = pts.loc[bad, ["code", "name", "status", "station_name", "grid_code"]].copy()
    out["grids_containing"] = counts[bad]
    out["containing"] = [", ".join(sorted(containing.get(i, []))) for i in np.nonzero(bad)[0]]
    return out.reset_index(drop=True)[cols]


def grids_without_owner(engine: Engine, scope: str) -> pd.DataFrame:
    """Return grids visible in `scope` with no owner 网格负责人 (empty name): code, name, station."""
    g = grids(engine, scope)
    return g.loc[g["owner_name"].fillna("").str.strip() == "", ["code", "name", "station_name"]].reset_index(drop=True)


# --- Station customer map (客户地图, 004 Jilin) --------------------------------------------------


def station_in_scope(engine: Engine, scope: str, station_id: int) -> dict | None:
    """Return one station (id, code, name, org_path, lon, lat, grade) if visible in `scope`, else None."""
    df = _df(engine, _with_anc(
        f"SELECT id, code, name, org_path, lon, lat, grade, daily_sales_t FROM station s "
        f"WHERE s.id = :sid AND {_station_rows('s.org_path')}"),
        scope=scope_like(scope), anc=ancestors(scope), sid=int(station_id))
    return df.iloc[0].to_dict() if len(df) else None


def customers_near(engine: Engine, scope: str, lon: float, lat: float, radius_km: float) -> pd.DataFrame:
    """Return customers in `scope` inside the lon/lat box around (lon, lat) that holds a circle of
    `radius_km` (the caller measures exact distances): id, code, name, status, kind, sub_type,
    phone, contact, station_id, lon, lat."""
    dlat = radius_km / 110.574 * 1.001
    dlon = radius_km / (111.320 * max(np.cos(np.radians(lat + np.sign(lat) * dlat)), 1e-6)) * 1.001
    return _df(
        engine,
        f"SELECT c.id, c.code, c.name, c.status, c.kind, c.sub_type, c.phone, c.contact, c.station_id, "
        f"c.lon, c.lat FROM customer c WHERE {in_scope('c.org_path')} "
        f"AND c.lon BETWEEN :x0 AND :x1 AND c.lat BETWEEN :y0 AND :y1 ORDER BY c.id",
        scope=scope_like(scope), x0=lon - dlon, x1=lon + dlon, y0=lat - dlat, y1=lat + dlat,
    )


# --- What the grid map draws --------------------------------------------------------------------


def grid_map_data(engine: Engine, scope: str, month: str, max_points: int = MAX_POINTS) -> dict:
    """Return everything `grid_map` draws for `scope` and `month`, as plain picklable data (so the
    page can cache it): level, grids, per-grid counts and volume, station plan and rates,
    stations, competitor stations, customer points per group (None when aggregated), heat cells."""
    level = scope_level(engine, scope)
    # The independent reads run side by side on pooled connections (SQLite WAL readers and
    # PostgreSQL backends both run concurrently): at a million customers, 1.9 s one after another.
    jobs = {
        "grids": (grids, scope),
        "counts": (grid_customer_counts, scope, month),
        "volume": (grid_volume, scope, month),
        "plan": (station_plan, scope, month),
        "rates": (station_rates, scope, month),
        "stations": (stations, scope),
        "competitor_stations": (competitor_stations, scope),
        **{f"n_{grp}": (customer_count, scope, month, grp) for grp in STATUS_GROUPS},
    }
    got = queries.side_by_side(engine, jobs)
    data = {"scope": scope, "month": month, "level": level, "points": {}, "aggregated": {},
            **{k: v for k, v in got.items() if not k.startswith("n_")}}
    for grp in STATUS_GROUPS:
        n = got[f"n_{grp}"]
        if level in INDIVIDUAL_LEVELS and n <= max_points:
            data["points"][grp] = customer_points(engine, scope, month, grp)
        else:
            data["points"][grp] = None
            data["aggregated"][grp] = n
    own = data["points"]["own"]
    if own is not None and len(own) <= max_points:
        heat = own.loc[own["volume_t"] > 0, ["lon", "lat", "volume_t"]]
    else:
        heat = volume_bins(engine, scope, month, HEAT_CELL_DEG.get(level, 0.01))
    data["heat"] = heat.reset_index(drop=True)
    return data


def grid_panel(data: Mapping, code: str) -> dict | None:
    """Return what the clicked grid's panel shows, from `grid_map_data` output: the grid row
    (owner 网格负责人, phone, duties, station, geometry …) with `tiers` = {tier: customers on
    the books}, `potential` and `competitor` counts. None for a code not in the data."""
    g = data["grids"]
    row = g.loc[g["code"] == code]
    if row.empty:
        return None
    grid = row.iloc[0].to_dict()
    counts = data["counts"]
    mine = counts.loc[counts["grid_id"] == grid["id"]]
    own = mine.loc[mine["grp"] == "own"]
    grid["tiers"] = {tier: int(own.loc[own["tier"] == tier, "customers"].sum()) for tier in reversed(TIERS)}
    for grp in ("potential", "competitor"):
        grid[grp] = int(mine.loc[mine["grp"] == grp, "customers"].sum())
    return grid


# --- Customers around a station by ring (客户地图) ---------------------------------------------


def parse_radii(text: str) -> tuple[float, ...]:
    """Parse ring radii typed as "1, 3, 5" (km; commas, spaces or 、) into an increasing tuple."""
    parts = [p for p in re.split(r"[\s,，、;；]+", text or "") if p]
    try:
        radii = tuple(float(p) for p in parts)
    except ValueError as exc:
        raise ValueError(f"radii must be numbers in km, got {text!r}") from exc
    if not radii or any(not math.isfinite(r) or r <= 0 or r > 100 for r in radii) or list(radii) != sorted(set(radii)):
        raise ValueError(f"radii must be increasing numbers between 0 and 100 km, got {text!r}")
    return radii


def customer_rings(engine: Engine, station_id: int, radii_km: Iterable[float] = (1, 3, 5), *,
                   scope: str | None = None) -> dict:
    """Return the station customer map 客户地图 (004 Jilin): customers around a station by ring.

    Rings are [0, r1), [r1, r2), … km by great-circle (haversine) distance from the station.
    Counts existing 存量, potential 潜在 and competitor 竞争对手 customers inside `scope`
    (default: the station's own customers; the page passes the viewer's scope). Returns
    {"station": dict, "radii_km": [...], "rings": DataFrame(ring, inner_km, outer_km, existing,
    potential, competitor), "customers": DataFrame of customers within the outer radius with
    distance_km and ring, "potential": potential customers nearest first}. Raises ValueError for
    a station outside `scope` or bad radii.
    """
    radii = [float(r) for r in radii_km]
    if not radii or any(r <= 0 for r in radii) or radii != sorted(set(radii)):
        raise ValueError(f"radii must be positive and increasing, got {list(radii_km)}")
    with engine.connect() as conn:
        path = conn.execute(text("SELECT org_path FROM station WHERE id = :id"), {"id": int(station_id)}).scalar()
    if path is None:
        raise ValueError(f"no station {station_id}")
    scope = scope or path
    station = station_in_scope(engine, scope, station_id)
    if station is None:
        raise ValueError(f"station {station_id} is not in scope {scope}")
    near = customers_near(engine, scope, station["lon"], station["lat"], radii[-1])
    d_km = haversine_m(station["lon"], station["lat"], near["lon"].to_numpy(float), near["lat"].to_numpy(float)) / 1000.0
    near = near.assign(distance_km=np.round(np.atleast_1d(d_km), 3) if len(near) else [])
    near = near.loc[near["distance_km"] < radii[-1]].copy()
    edges = [0.0] + radii
    near["ring"] = np.searchsorted(np.array(radii), near["distance_km"].to_numpy(float), side="right")
    rows = []
    for i in range(len(radii)):
        ring = near.loc[near["ring"] == i]
        rows.append({"ring": f"{edges[i]:g}–{edges[i + 1]:g} km", "inner_km": edges[i], "outer_km": edges[i + 1],
                     **{s: int((ring["status"] == s).sum()) for s in ("existing", "potential", "competitor")}})
    rings = pd.DataFrame(rows, columns=["ring", "inner_km", "outer_km", "existing", "potential", "competitor"])
    near = near.sort_values(["distance_km", "code"]).reset_index(drop=True)
    potential = near.loc[near["status"] == "potential",
                         ["code", "name", "kind", "sub_type", "contact", "phone", "distance_km"]].reset_index(drop=True)
    from lib.maps.context import features as context_features  # context reads this module's org_boundaries

    return {"station": station, "radii_km": radii, "rings": rings, "customers": near, "potential": potential,
            "context": context_features(engine, station["org_path"])}

