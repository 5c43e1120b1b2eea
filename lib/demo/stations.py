"""Stage 2, stations 组织与网格: org units (province → cities → districts → stations), stations, grids
网格 (each district split among its stations), customer managers 客户经理 and patches 包区.

Stations and districts are plain dicts (id, code, name, path, lon, lat, manager, grid, …) that the
later stages read; each function returns the rows of its table as a frame (lib.demo.common.frame).
"""
from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
import shapely

from lib.demo.common import (
    KM_PER_DEG_LAT,
    Ids,
    frame,
    km_per_deg_lon,
    person_names,
    phones,
    random_points_in,
    voronoi_split,
)
from lib.demo.words import OWNER_DUTIES
from lib.grids import area_m2, to_geojson

UNIT_COLUMNS = ("id", "code", "name", "name_en", "level", "parent_id", "path", "manager_name", "manager_phone",
                "boundary", "lon", "lat", "staff", "adcode")


@dataclass
class Org:
    """The organisation 组织: province, cities, districts and stations as dicts, and the org_unit rows."""

    province: dict
    cities: list[dict]
    districts: list[dict]
    stations: list[dict]
    units: pd.DataFrame

    @property
    def n_stations(self) -> int:
        return len(self.stations)


def station_count(customers: int) -> int:
    """Stations for a customer count: about customers/200 (min 30), growing slower past 100k, ≤ 1200."""
    if customers <= 100_000:
        n = customers / 200
    else:
        n = 500 * (customers / 100_000) ** 0.301
    return int(min(1200, max(30, round(n))))


def build_org(rng: np.random.Generator, ids: Ids, cities: list[dict]) -> Org:
    """Org units with their managers' names and phones; fills `id`, `path`, `manager` of each city."""
    n_units = 1 + len(cities) + sum(len(c["districts"]) for c in cities) + sum(
        sum(len(x) for x in c["stations_xy"]) for c in cities)
    unit_ids = ids.take("org_unit", n_units).tolist()
    people = person_names(rng, n_units)
    tel = phones(rng, n_units)
    rows: list[tuple] = []

    def add_unit(*values, adcode=None):  # code, name, en, level, parent, path, boundary, lon, lat, staff
        i = len(rows)
        code, name, en, level, parent, path, boundary, lon, lat, staff = values
        rows.append((unit_ids[i], code, name, en, level, parent, path, people[i], tel[i], boundary, lon, lat, staff,
                     adcode))
        return unit_ids[i], people[i], tel[i]

    province_poly = shapely.union_all([c["poly"] for c in cities])
    prov_id, *_ = add_unit("37", "山东省分公司", "Shandong Provincial Company", "province", None, "/37/",
                           to_geojson(province_poly), 118.5, 36.4, int(rng.integers(40, 70)), adcode="370000")
    districts = []
    for c in cities:
        c_path = f"/37/{c['code']}/"
        # official names: 济南市分公司 for a city company 地市分公司, the district's own name below
        c["id"], c["manager"], _ = add_unit(c["code"], f"{c['full']}分公司", f"{c['en']} Branch", "city", prov_id,
                                            c_path, to_geojson(c["poly"]), c["lon"], c["lat"],
                                            int(rng.integers(12, 31)), adcode=c["adcode"])
        c["path"] = c_path
        for di, (names, dpoly) in enumerate(zip(c["districts"], c["district_polys"])):
            districts.append(_district(rng, add_unit, c, di, names, dpoly))
    units = frame({k: [r[j] for r in rows] for j, k in enumerate(UNIT_COLUMNS)})
    stations = [s for d in districts for s in d["stations"]]
    return Org(dict(id=prov_id, path="/37/"), cities, districts, stations, units)


def _district(rng: np.random.Generator, add_unit, c: dict, di: int, names: tuple, dpoly) -> dict:
    """One district's org unit and its stations' units, stations numbered from the city centre out."""
    dcode, dname, den = names
    d_path = f"{c['path']}{dcode}/"
    rp = dpoly.point_on_surface()
    d_id, d_mgr, _ = add_unit(dcode, dname, den, "district", c["id"], d_path, to_geojson(dpoly),
                              rp.x, rp.y, int(rng.integers(3, 8)), adcode=dcode)
    d = dict(id=d_id, code=dcode, name=dname, en=den, path=d_path, poly=dpoly, city=c, manager=d_mgr, stations=[])
    xy = c["stations_xy"][di]
    kx = km_per_deg_lon(c["lat"])
    order = np.argsort(np.hypot((xy[:, 0] - c["lon"]) * kx, (xy[:, 1] - c["lat"]) * KM_PER_DEG_LAT))
    short = dname[:-1] if len(dname) > 2 else dname
    short_en = den.rsplit(" ", 1)[0]
    for no, j in enumerate(order.tolist(), start=1):
        scode = f"{dcode}{no:03d}"
        sname = f"{c['name']}{short}第{no}加油站"
        sen = f"{short_en} No.{no} Station"
        x, y = float(xy[j, 0]), float(xy[j, 1])
        dist_km = math.hypot((x - c["lon"]) * kx, (y - c["lat"]) * KM_PER_DEG_LAT)
        nozzles = int(np.clip(rng.normal(12 - min(dist_km, 40) / 6, 3), 4, 16))
        staff = int(nozzles // 2 + rng.integers(4, 9))
        s_id, s_mgr, s_phone = add_unit(scode, sname, sen, "station", d_id, f"{d_path}{scode}/", None, x, y, staff)
        d["stations"].append(dict(unit_id=s_id, code=scode, name=sname, en=sen, lon=x, lat=y,
                                  path=f"{d_path}{scode}/", manager=s_mgr, phone=s_phone,
                                  nozzles=nozzles, dist_km=dist_km, district=d))
    return d


def station_rows(rng: np.random.Generator, ids: Ids, org: Org) -> pd.DataFrame:
    """Station rows 加油站; sets each station's `id` and walk-in sales `walkin_t` (t/day)."""
    st = org.stations
    n = len(st)
    sid = ids.take("station", n)
    opened = [dt.date(1995, 1, 1) + dt.timedelta(days=int(x)) for x in rng.integers(0, 365 * 27, n)]
    # walk-in sales 非卡客户 (t/day): bigger stations with more nozzles sell more to passers-by
    walkin = np.exp(rng.normal(np.log(1.2), 0.5, n)) * np.array([s["nozzles"] for s in st]) / 10
    for i, s in enumerate(st):
        s["id"] = int(sid[i])
        s["walkin_t"] = float(walkin[i])
    return frame({
        "id": sid, "org_unit_id": [s["unit_id"] for s in st], "org_path": [s["path"] for s in st],
        "code": [s["code"] for s in st], "name": [s["name"] for s in st], "lon": [s["lon"] for s in st],
        "lat": [s["lat"] for s in st], "opened_on": opened, "nozzles": [s["nozzles"] for s in st],
        "daily_sales_t": [0.0] * n, "grade": ["regular"] * n,
    })


def grid_rows(ids: Ids, org: Org) -> pd.DataFrame:
    """Grids 网格: each district split among its stations (Voronoi cells, 全覆盖、无交叉); sets `grid`, `grid_id`."""
    gid = ids.take("grid", org.n_stations).tolist()
    rows = []
    for d in org.districts:
        xy = np.array([(s["lon"], s["lat"]) for s in d["stations"]])
        for s, cell in zip(d["stations"], voronoi_split(xy, d["poly"])):
            s["grid"] = cell
            s["grid_id"] = gid[len(rows)]
            shapely.prepare(cell)
            rows.append((s["grid_id"], f"WG{s['code']}", f"{s['name']}网格", s["id"], s["path"], to_geojson(cell),
                         s["manager"], s["phone"], OWNER_DUTIES, round(area_m2(cell) / 1e6, 3)))
    names = ("id", "code", "name", "station_id", "org_path", "geometry", "owner_name", "owner_phone", "owner_duties",
             "area_km2")
    return frame({k: [r[j] for r in rows] for j, k in enumerate(names)})


def managers(rng: np.random.Generator, ids: Ids, org: Org, as_of: dt.date) -> list[dict]:
    """Customer managers 客户经理: 1–3 per station, some hired in the last 3 months (trainees)."""
    n_mgr = np.clip(np.round(rng.normal(2.0, 0.7, org.n_stations)), 1, 3).astype(int)
    total = int(n_mgr.sum())
    mids = ids.take("customer_manager", total)
    names = person_names(rng, total)
    tel = phones(rng, total)
    recent = rng.random(total) < 0.12
    days_back = np.where(recent, rng.integers(5, 88, total), rng.integers(120, 365 * 12, total))
    hired = [as_of - dt.timedelta(days=int(x)) for x in days_back]
    k = 0
    out = []
    for s, nm in zip(org.stations, n_mgr.tolist()):
        s["managers"] = []
        for _ in range(nm):
            mg = dict(id=int(mids[k]), name=names[k], phone=tel[k], hired_on=hired[k], station=s)
            s["managers"].append(mg)
            out.append(mg)
            k += 1
    return out


def patch_seeds(rng: np.random.Generator, s: dict, n: int) -> np.ndarray:
    """n seeds of a grid's patches: evenly around the station 1.5 km out (inside the grid, else a random
    point of it), so that the patches share the station's surroundings, where its customers are, like
    slices (a rural district's grid reaches tens of km beyond them)."""
    kx = km_per_deg_lon(s["lat"])
    ang = rng.uniform(0, 2 * np.pi) + 2 * np.pi * np.arange(n) / n
    pts = np.column_stack([s["lon"] + 1.5 * np.cos(ang) / kx, s["lat"] + 1.5 * np.sin(ang) / KM_PER_DEG_LAT])
    outside = ~shapely.contains_xy(s["grid"], pts[:, 0], pts[:, 1])
    if outside.any():
        pts[outside] = random_points_in(rng, s["grid"], int(outside.sum()))
    return pts


def patch_rows(rng: np.random.Generator, ids: Ids, org: Org) -> pd.DataFrame:
    """Patches 包区: each grid split into one part per customer manager; sets each station's `patches`."""
    rows = []
    for s in org.stations:
        nm = len(s["managers"])
        if nm == 1:
            parts = [s["grid"]]
        else:
            parts = voronoi_split(patch_seeds(rng, s, nm), s["grid"])
        s["patches"] = parts
        for no, (part, mg) in enumerate(zip(parts, s["managers"]), start=1):
            shapely.prepare(part)
            rows.append((s["grid_id"], f"{s['name']}网格第{no}包区", to_geojson(part), mg["id"]))
    cols = {k: [r[j] for r in rows] for j, k in enumerate(("grid_id", "name", "geometry", "manager_id"))}
    cols["id"] = ids.take("patch", len(rows))
    return frame(cols)
