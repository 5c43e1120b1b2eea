"""Day one 第一天 of a real company (issue 13, "Done means"): from an EMPTY database (SQLite; the
PostgreSQL pass when TEST_DATABASE_URL is set) the first admin is created, then a small company is
imported from files this test writes itself — not lib.demo: org units with boundaries (GeoJSON),
stations, grids (GeoJSON), customer managers, customers, three months of consumption and traffic,
development targets, four-rates targets and station sales. The overview, tiers, plan, four-rates and
churn figures (the lib functions the pages call) are then checked, for the province and each city,
against sums computed here from those files and the rule book (DOMAIN §3 tiers, §9 grades).
Every step goes through lib.importer.import_file (the organisation too, from the org_units import);
a development case 客户开发 is then opened and moved with lib.development (002 §6.5.4).
"""
from __future__ import annotations

import csv
import io
import json
import os
import uuid
from dataclasses import dataclass, field

import pytest
from _import_as import import_file as import_as
from sqlalchemy import text

from lib import auth, checklist, development, four_rates, months, queries, tiers, tracking
from lib.config import rules as config
from lib.db import make_engine, upgrade

M = "2026-10"  # the month the dashboards show
MONTHS = ("2026-08", "2026-09", "2026-10")

# --- the company, as its files say -------------------------------------------------------------------


def box(x0: float, y0: float, x1: float, y1: float) -> dict:
    """A GeoJSON rectangle (WGS-84 lon/lat)."""
    return {"type": "Polygon", "coordinates": [[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]]}


PROVINCE = ("37", "山东省分公司")
CITIES = [("3701", "济南分公司", box(117.0, 36.6, 117.2, 36.7)), ("3702", "青岛分公司", box(120.3, 36.0, 120.4, 36.1))]
DISTRICTS = [("370102", "历下区", "3701", box(117.0, 36.6, 117.1, 36.7)),
             ("370103", "市中区", "3701", box(117.1, 36.6, 117.2, 36.7)),
             ("370202", "市南区", "3702", box(120.3, 36.0, 120.4, 36.1))]
# code, name, district, lon, lat, opened_on, nozzles
STATIONS = [("370102001", "历下第一加油站", "370102", 117.02, 36.65, "2008-05-01", 8),
            ("370102002", "历下第二加油站", "370102", 117.08, 36.65, "2012-09-15", 6),
            ("370103001", "市中加油站", "370103", 117.15, 36.65, "2015-03-20", 10),
            ("370202001", "市南加油站", "370202", 120.35, 36.05, "2010-11-11", 12)]
# grids partition each district (000 §2 全覆盖、无交叉): code, name, station, geometry
GRIDS = [("G370102001", "历下西网格", "370102001", box(117.0, 36.6, 117.05, 36.7)),
         ("G370102002", "历下东网格", "370102002", box(117.05, 36.6, 117.1, 36.7)),
         ("G370103001", "市中网格", "370103001", box(117.1, 36.6, 117.2, 36.7)),
         ("G370202001", "市南网格", "370202001", box(120.3, 36.0, 120.4, 36.1))]
MANAGERS = [("KM001", "张伟", "13800000001", "370102001", "2024-03-01", "junior"),
            ("KM002", "李娜", "13800000002", "370103001", "2025-11-01", "trainee"),
            ("KM003", "王强", "13800000003", "370202001", "2020-06-15", "middle")]
STATION_OF = {s[0]: s for s in STATIONS}
GRID_OF_STATION = {g[2]: g[0] for g in GRIDS}


@dataclass
class Customer:
    """One row of the customers file and its consumption rows {month: (gasoline t, diesel t, card CNY)}."""

    name: str
    kind: str
    station: str
    fuel: str
    payment: str
    status: str = "existing"
    g: float = 0.0  # monthly gasoline demand 汽油月需求 (t)
    d: float = 0.0  # monthly diesel demand 柴油月需求 (t)
    c: float = 0.0  # yearly anonymous-card purchase 不记名卡年采购额 (CNY)
    procurement: bool = False
    developed: str | None = None
    lost: str | None = None
    lost_reason: str | None = None
    competitor: str | None = None
    use: dict = field(default_factory=dict)

    def row(self) -> dict:
        st = STATION_OF[self.station]
        sub_type = "logistics" if self.kind == "institutional" else "private_car"
        return {"name": self.name, "kind": self.kind, "sub_type": sub_type, "station_code": self.station,
                "grid_code": GRID_OF_STATION[self.station], "fuel": self.fuel, "payment": self.payment,
                "status": self.status, "gasoline_t": f"{self.g:g}", "diesel_t": f"{self.d:g}", "card_cny": f"{self.c:g}",
                "province_procurement": "是" if self.procurement else "否", "developed_month": self.developed or "",
                "lost_month": self.lost or "", "lost_reason": self.lost_reason or "", "competitor": self.competitor or "",
                "lon": f"{st[3] + 0.003 * (len(self.name) % 5):.4f}", "lat": f"{st[4] + 0.002 * (len(self.name) % 7):.4f}"}


AUG, SEP, OCT = MONTHS
CUSTOMERS = [
    # 历下 370102
    Customer("济南宏达物流有限公司", "institutional", "370102001", "diesel", "fuel_card", d=60,
             use={AUG: (0, 55, 0), SEP: (0, 62, 0), OCT: (0, 58, 0)}),  # city tier (D ≥ 50)
    Customer("历下建工集团有限公司", "institutional", "370102001", "diesel", "fuel_card", d=30,
             use={AUG: (0, 30, 0), SEP: (0, 28, 0), OCT: (0, 10, 0)}),  # district; volume drop 量降 in Oct
    Customer("国网山东电力历下供电中心", "institutional", "370102002", "gasoline", "fuel_card", g=3, procurement=True,
             use={AUG: (3.2, 0, 0), SEP: (2.9, 0, 0), OCT: (3.1, 0, 0)}),  # province (unified procurement)
    Customer("泉城出租汽车公司", "institutional", "370102002", "gasoline", "fuel_card", g=6,
             use={AUG: (6.5, 0, 0), SEP: (5.8, 0, 0), OCT: (6.1, 0, 0)}),  # city (G ≥ 5)
    Customer("赵先生", "personal", "370102001", "gasoline", "fuel_card", g=0.3, developed=OCT,
             use={OCT: (0.25, 0, 800)}),  # new personal card customer 新开发 in Oct
    Customer("钱女士", "personal", "370102001", "gasoline", "fuel_card", g=0.2, developed=OCT, use={OCT: (0.18, 0, 500)}),
    Customer("孙先生", "personal", "370102002", "gasoline", "cash", g=0.4,
             use={AUG: (0.4, 0, 0), SEP: (0.35, 0, 0), OCT: (0.42, 0, 0)}),
    Customer("李先生", "personal", "370102002", "diesel", "fuel_card", d=1.5, c=150000,
             use={AUG: (0, 1.4, 12000), SEP: (0, 1.6, 13000), OCT: (0, 1.5, 12500)}),  # district (C ≥ 100,000)
    # 市中 370103
    Customer("市中区机关事务服务中心", "institutional", "370103001", "gasoline", "cash", g=1, c=50000,
             use={AUG: (1.1, 0, 0)}),  # station tier; silent 沉默 since September
    Customer("济南新材料科技有限公司", "institutional", "370103001", "diesel", "fuel_card", d=12, developed=OCT,
             use={OCT: (0, 11.5, 0)}),  # new institutional customer in Oct
    Customer("周先生", "personal", "370103001", "gasoline", "bank_card", g=2.5,
             use={AUG: (2.4, 0, 0), SEP: (2.6, 0, 0), OCT: (2.5, 0, 0)}),  # district (2 ≤ G < 5)
    Customer("吴女士", "personal", "370103001", "gasoline", "fuel_card", g=0.5, status="lost", lost=SEP,
             lost_reason="价格", competitor="中石化", use={AUG: (0.5, 0, 300)}),  # lost in Sep
    Customer("郑先生", "personal", "370103001", "gasoline", "fuel_card", g=0.3, developed=SEP,
             use={SEP: (0.3, 0, 200), OCT: (0.28, 0, 210)}),
    Customer("济南潜在客户物流", "institutional", "370103001", "diesel", "cash", status="potential", d=8),
    # 市南 370202
    Customer("青岛港集装箱运输公司", "institutional", "370202001", "diesel", "fuel_card", d=45,
             use={AUG: (0, 44, 0), SEP: (0, 47, 0), OCT: (0, 46, 0)}),  # district
    Customer("青岛远洋渔业公司", "institutional", "370202001", "diesel", "bank_card", d=25, status="lost", lost=OCT,
             lost_reason="搬迁", competitor="中石化", use={AUG: (0, 24, 0), SEP: (0, 20, 0)}),  # lost in Oct
    Customer("青岛城市公交集团", "institutional", "370202001", "diesel", "fuel_card", d=120, c=2_000_000,
             use={AUG: (0, 118, 150000), SEP: (0, 121, 160000), OCT: (0, 119, 170000)}),  # city (D ≥ 50; C ≥ 1,000,000)
    Customer("冯先生", "personal", "370202001", "gasoline", "fuel_card", g=0.6, developed=OCT, use={OCT: (0.6, 0, 900)}),
    Customer("陈女士", "personal", "370202001", "gasoline", "fuel_card", g=5.5,
             use={AUG: (5.2, 0, 3000), SEP: (5.6, 0, 3100), OCT: (2.0, 0, 1000)}),  # city (personal G ≥ 5)
]
# development targets 开发目标 (002 §6.5.3; appendix 1); units without a row take the rule book's default
TARGETS = [("370102", OCT, "institutional", 2), ("370103", OCT, "institutional", 1), ("370102", SEP, "institutional", 1),
           ("370102001", OCT, "personal_card", 12), ("370102002", OCT, "personal_card", 11),
           ("370202001", OCT, "personal_card", 14)]  # never below the station-average floor of 10 (002 §6.5.3)
RATE_TARGETS = [("370102001", "entry_rate", "12%"), ("370102001", "fill_up_rate", "0.55"),
                ("370102001", "return_rate", "40%"), ("370102001", "pass_through_rate", "0.9"),
                ("370202001", "entry_rate", "0.10"), ("370202001", "pass_through_rate", "88%")]
# station sales 加油站月销量 (t; walk-in customers included): grade from daily sales (001 Chongqing)
SALES_PER_DAY = {"370102001": 8.0, "370102002": 4.0, "370103001": 2.5, "370202001": 1.0}


def traffic(station_index: int, day) -> dict:
    """The traffic counts of one station and day (all rates below 100 %, as the import demands)."""
    k = station_index * 37 + day.day * 3 + day.month
    passing = {"passing_car": 3000 + 11 * k % 900, "passing_medium": 300 + k % 50, "passing_truck": 400 + k % 70,
               "passing_bus": 80 + k % 20}
    entering = 500 + 7 * k % 300
    fuelled = entering - 20 - k % 30
    transactions = fuelled + 15
    identified = fuelled // 3
    return passing | {"entering": entering, "fuelled": fuelled, "transactions": transactions,
                      "full_tank": transactions // 2 + k % 40, "identified": identified,
                      "returned": identified // 2 + k % 10, "peak_nozzle_lifts": 60 + k % 25}


def traffic_rows() -> list[dict]:
    rows = []
    for i, s in enumerate(STATIONS):
        for month in MONTHS:
            day = months.first_day(month)
            while months.of(day) == month:
                rows.append({"station_code": s[0], "day": day.isoformat(), **traffic(i, day)})
                day = day.fromordinal(day.toordinal() + 1)
    return rows


# --- the files -----------------------------------------------------------------------------------------


def csv_file(rows: list[dict]) -> bytes:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue().encode("utf-8")


def geojson_file(features: list[tuple[dict, dict]]) -> bytes:
    return json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": props, "geometry": geom} for props, geom in features]},
        ensure_ascii=False).encode("utf-8")


def org_units_file() -> bytes:
    cities = [({"code": c, "name": n, "level": "city", "parent_code": PROVINCE[0], "manager_name": "",
                "manager_phone": ""}, g) for c, n, g in CITIES]
    districts = [({"code": c, "name": n, "level": "district", "parent_code": p, "manager_name": f"{n}经理",
                   "manager_phone": "053100000000"}, g) for c, n, p, g in DISTRICTS]
    return geojson_file(cities + districts)


def stations_file() -> bytes:
    keys = ("code", "name", "district_code", "lon", "lat", "opened_on", "nozzles")
    return csv_file([dict(zip(keys, (str(v) for v in s))) for s in STATIONS])


def grids_file() -> bytes:
    return geojson_file([({"code": c, "name": n, "station_code": s, "owner_name": f"{STATION_OF[s][1]}站长",
                           "owner_phone": "13900000000", "owner_duties": "网格客户开发与维护"}, g) for c, n, s, g in GRIDS])


def managers_file() -> bytes:
    keys = ("code", "name", "phone", "station_code", "hired_on", "level")
    return csv_file([dict(zip(keys, m)) for m in MANAGERS])


def customers_file() -> bytes:
    return csv_file([c.row() for c in CUSTOMERS])


def consumption_file(codes: dict[str, str]) -> bytes:
    return csv_file([{"customer_code": codes[c.name], "month": m, "gasoline_t": f"{g:g}", "diesel_t": f"{d:g}",
                      "card_cny": f"{card:g}", "visits": str(visits(c, m))} for c in CUSTOMERS
                     for m, (g, d, card) in c.use.items()])


def visits(c: Customer, month: str) -> int:
    """Fuelling visits 加油次数 of a consumption row: 1, 2 or 4 by name and month, so the return rate
    (customers with ≥ 2 ÷ with ≥ 1, issue 15) is neither 0 nor 1."""
    return (1, 2, 4)[(len(c.name) + int(month[5:7])) % 3]


def return_rate(scope: str) -> float | None:
    """顾客回头率 counted by hand: customers on the books with ≥ 2 visits in M ÷ those with ≥ 1."""
    fuelled = [visits(c, M) for c in scope_customers(scope) if on_books(c, M) and M in c.use]
    return sum(v >= 2 for v in fuelled) / len(fuelled) if fuelled else None


def targets_file() -> bytes:
    return csv_file([{"org_code": o, "month": m, "kind": k, "target": str(t)} for o, m, k, t in TARGETS])


def rate_targets_file() -> bytes:
    return csv_file([{"station_code": s, "rate": r, "target": t} for s, r, t in RATE_TARGETS])


def station_sales_file() -> bytes:
    rows = []
    for code, per_day in SALES_PER_DAY.items():
        for m in MONTHS:
            total = per_day * months.days_in(m)
            rows.append({"station_code": code, "month": m, "gasoline_t": f"{total * 0.6:g}", "diesel_t": f"{total * 0.4:g}"})
    return csv_file(rows)


# --- the empty database and the imports ------------------------------------------------------------------


@pytest.fixture(scope="module")
def empty_url(tmp_path_factory):
    """An empty database of the backend under test (module-wide: the company is built once)."""
    base = os.environ.get("TEST_DATABASE_URL")
    if not base:
        yield f"sqlite:///{tmp_path_factory.mktemp('day_one') / 'company.db'}"
        return
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url

    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield make_url(base).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@dataclass
class Company:
    engine: object
    reports: dict  # kind → ImportReport
    codes: dict  # customer name → code the import gave


@pytest.fixture(scope="module")
def company(empty_url):
    engine = make_engine(empty_url)
    upgrade(engine)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM org_unit")).scalar_one() == 0  # really empty
    auth.create_first_admin(engine, "boss", "省公司管理员", "first-day-2026", *PROVINCE)
    reports = {}

    def load(kind: str, data: bytes, name: str):
        report = import_as(engine, kind, data, name, actor="boss")
        assert report.ok, (kind, report.errors_frame().head(10).to_dict("records"))
        reports[kind] = report

    load("org_units", org_units_file(), "org_units.geojson")
    load("stations", stations_file(), "stations.csv")
    load("grids", grids_file(), "grids.geojson")
    load("managers", managers_file(), "managers.csv")
    load("customers", customers_file(), "customers.csv")
    with engine.connect() as conn:
        codes = dict(conn.execute(text("SELECT name, code FROM customer")).all())
    load("consumption", consumption_file(codes), "consumption.csv")
    load("traffic", csv_file(traffic_rows()), "traffic.csv")
    load("targets", targets_file(), "targets.csv")
    load("rate_targets", rate_targets_file(), "rate_targets.csv")
    load("station_sales", station_sales_file(), "station_sales.csv")
    yield Company(engine, reports, codes)
    engine.dispose()


# --- the figures, computed from the files ------------------------------------------------------------------

SCOPES = {"province": "/37/", "3701": "/37/3701/", "3702": "/37/3702/"}


def city_of(station: str) -> str:
    return station[:4]


def in_scope(station: str, scope: str) -> bool:
    return scope == "/37/" or f"/{city_of(station)}/" in scope


def scope_customers(scope: str) -> list[Customer]:
    return [c for c in CUSTOMERS if in_scope(c.station, scope)]


def on_books(c: Customer, month: str) -> bool:
    """在册 (lib.queries.on_books, DOMAIN §4): existing, or lost after the month; developed by then."""
    return (c.status == "existing" or (c.status == "lost" and c.lost > month)) and (c.developed or "") <= month


def volume(c: Customer, month: str) -> float:
    g, d, _ = c.use.get(month, (0, 0, 0))
    return g + d


def tier(c: Customer) -> str:
    """DOMAIN §3 / 002 §6.3.1 from the stored demand (no agreements in these files)."""
    if (c.kind == "institutional" and c.procurement) or c.c >= 20_000_000:
        return "province"
    if c.g >= 5 or c.d >= 50 or c.c >= 1_000_000:
        return "city"
    if c.g >= 2 or c.d >= 20 or c.c >= 100_000:
        return "district"
    return "station"


def traffic_sums(scope: str) -> dict[str, float]:
    rows = [r for r in traffic_rows() if r["day"].startswith(M) and in_scope(r["station_code"], scope)]
    s = {k: sum(r[k] for r in rows) for k in ("entering", "fuelled", "transactions", "full_tank", "identified",
                                             "returned")}
    s["passing"] = sum(r[k] for r in rows for k in ("passing_car", "passing_medium", "passing_truck", "passing_bus"))
    return s


def rate_target(station: str, rate: str) -> float:
    """The rate target the file gives the station, else the rule book's (config [four_rates])."""
    given = {(s, r): t for s, r, t in RATE_TARGETS}.get((station, rate))
    if given is None:
        return float(config()["four_rates"]["targets"][rate])
    return float(given[:-1]) / 100 if given.endswith("%") else float(given)


def grade(per_day: float) -> str:
    """DOMAIN §9 / 001 Chongqing (以上/以下 include the number): ≥ 3 t/day graded, ≤ 2 t/day reform."""
    return "graded" if per_day >= 3 else "reform" if per_day <= 2 else "regular"


# --- tests -------------------------------------------------------------------------------------------------


FILES = {"org_units": len(CITIES) + len(DISTRICTS), "stations": len(STATIONS), "grids": len(GRIDS),
         "managers": len(MANAGERS), "customers": len(CUSTOMERS), "consumption": sum(len(c.use) for c in CUSTOMERS),
         "traffic": len(traffic_rows()), "targets": len(TARGETS), "rate_targets": len(RATE_TARGETS),
         "station_sales": len(SALES_PER_DAY) * len(MONTHS)}


@pytest.mark.parametrize("kind", list(FILES))
def test_each_file_imports_completely(company, kind):
    report = company.reports[kind]
    assert (report.rows, report.inserted, report.updated) == (FILES[kind], FILES[kind], 0)


def test_the_organisation_is_the_files(company):
    with company.engine.connect() as conn:
        units = dict(conn.execute(text("SELECT code, level FROM org_unit")).all())
        boundaries = conn.execute(text("SELECT COUNT(*) FROM org_unit WHERE level = 'district' AND boundary IS NOT NULL")).scalar_one()
        stations = conn.execute(text("SELECT code, org_path FROM station ORDER BY code")).all()
    assert units == {PROVINCE[0]: "province"} | {c: "city" for c, _, _ in CITIES} | \
        {c: "district" for c, *_ in DISTRICTS} | {s[0]: "station" for s in STATIONS}
    assert boundaries == len(DISTRICTS)
    assert stations == [(s[0], f"/37/{s[2][:4]}/{s[2]}/{s[0]}/") for s in STATIONS]


@pytest.mark.parametrize("scope", SCOPES.values(), ids=SCOPES.keys())
def test_overview_figures(company, scope):
    got = queries.overview(company.engine, scope, M)
    mine = scope_customers(scope)
    assert got["customers"] == sum(on_books(c, M) for c in mine)
    assert got["volume"]["total_t"] == pytest.approx(sum(volume(c, M) for c in mine))
    assert got["volume"]["diesel_t"] == pytest.approx(sum(c.use.get(M, (0, 0, 0))[1] for c in mine))
    assert got["volume_last_year"]["total_t"] == 0
    assert got["churned"] == sum(c.lost == M for c in mine)
    assert got["by_tier"] == {t: sum(on_books(c, M) and tier(c) == t for c in mine)
                              for t in ("province", "city", "district", "station")}
    s = traffic_sums(scope)
    assert got["four_rates"] == pytest.approx({
        "entry_rate": s["entering"] / s["passing"], "fill_up_rate": s["full_tank"] / s["transactions"],
        "return_rate": return_rate(scope), "pass_through_rate": s["fuelled"] / s["entering"]})
    assert got["plan"] == _plan(company, scope)


def _plan(company, scope: str) -> dict:
    """Targets from the targets file (the rule book's defaults for units it leaves out, 002 §6.5.3),
    actuals = the customers the file says were developed in the month."""
    p = config()["development"]
    given = {(o, k): t for o, m, k, t in TARGETS if m == M}
    districts = [d[0] for d in DISTRICTS if in_scope(d[0] + "000", scope)]
    stations = [s[0] for s in STATIONS if in_scope(s[0], scope)]
    inst_t = sum(given.get((d, "institutional"), p["institutional_per_district_month"]) for d in districts)
    card_t = sum(given.get((s, "personal_card"), p["personal_card_per_station_month"]) for s in stations)
    mine = [c for c in scope_customers(scope) if c.developed == M]
    # 002 §6.5.4.5: an institution counts as developed only with its supply agreement; these files hold
    # none, so the October institution (济南新材料科技) is shown apart (lib.development.totals), not counted
    inst_a = 0
    apart = sum(c.kind == "institutional" for c in mine)
    card_a = sum(c.kind == "personal" and c.payment == "fuel_card" for c in mine)
    return {"institutional": {"target": inst_t, "actual": inst_a, "completion": inst_a / inst_t, "no_agreement": apart},
            "personal_card": {"target": card_t, "actual": card_a, "completion": card_a / card_t}}


@pytest.mark.parametrize("scope", SCOPES.values(), ids=SCOPES.keys())
def test_tiers_figures(company, scope):
    dist = tiers.distribution(company.engine, scope, M)
    by_tier = tiers.by_dimension(dist, "tier").set_index("tier")
    mine = [c for c in scope_customers(scope) if on_books(c, M)]
    for t in ("province", "city", "district", "station"):
        theirs = [c for c in mine if tier(c) == t]
        assert int(by_tier["customers"].get(t, 0)) == len(theirs), t
        assert float(by_tier["volume_t"].get(t, 0)) == pytest.approx(sum(volume(c, M) for c in theirs)), t
    assert int(dist["customers"].sum()) == len(mine) > 0


@pytest.mark.parametrize("scope", SCOPES.values(), ids=SCOPES.keys())
def test_plan_figures(company, scope):
    got = development.totals(company.engine, scope, M)
    developed = [c for c in scope_customers(scope) if c.developed == M and c.kind == "institutional"]
    assert got["institutional"]["no_agreement"] == len(developed)
    assert got == _plan(company, scope)
    assert development.summary(company.engine, scope, M)["stations"] == sum(in_scope(s[0], scope) for s in STATIONS)


@pytest.mark.parametrize("scope", SCOPES.values(), ids=SCOPES.keys())
def test_four_rates_figures(company, scope):
    got = four_rates.summary(company.engine, scope, M)
    s = traffic_sums(scope)
    assert got["rates"] == pytest.approx({
        "entry_rate": s["entering"] / s["passing"], "fill_up_rate": s["full_tank"] / s["transactions"],
        "return_rate": return_rate(scope), "pass_through_rate": s["fuelled"] / s["entering"]})
    stations = [st[0] for st in STATIONS if in_scope(st[0], scope)]
    assert got["stations"] == len(stations)
    for rate in ("entry_rate", "fill_up_rate", "return_rate", "pass_through_rate"):
        expected = sum(rate_target(st, rate) for st in stations) / len(stations)
        assert got["targets"][rate] == pytest.approx(expected), rate


def _prev3_avg(c: Customer) -> float | None:
    """The mean monthly volume of the months before M on the books since the data begins (lib.tracking)."""
    first = min(m for cust in CUSTOMERS for m in cust.use)
    before = [m for m in MONTHS[:-1] if m >= max(first, c.developed or first)]
    return sum(volume(c, m) for m in before) / len(before) if before else None


@pytest.mark.parametrize("scope", SCOPES.values(), ids=SCOPES.keys())
def test_churn_figures(company, scope):
    got = tracking.summary(company.engine, scope, M)
    inst = [c for c in scope_customers(scope) if c.kind == "institutional" and on_books(c, M)]
    share, silent_n = config()["churn"]["drop_share"], config()["churn"]["silent_months"]
    quiet = MONTHS[-silent_n:]

    def warned(c: Customer) -> bool:  # 流失预警: silent 沉默 or volume drop 量降 (config [churn])
        silent = all(volume(c, m) == 0 for m in quiet) and any(volume(c, m) > 0 for m in MONTHS if m not in quiet)
        avg = _prev3_avg(c)
        return silent or (avg is not None and avg > 0 and volume(c, M) < share * avg)

    expected = sum(warned(c) for c in inst)
    assert got["warnings"] == expected
    assert expected > 0 or scope == "/37/3702/"  # a silent and a dropping customer in 济南 (3701)
    assert got["lost"] == sum(c.kind == "institutional" and c.lost == M for c in scope_customers(scope))
    assert got["institutional"] == len(inst)
    assert got["volume_t"] == pytest.approx(sum(volume(c, M) for c in inst))
    avg3 = sum(a for c in inst if (a := _prev3_avg(c)) is not None)
    assert got["vs_avg3"] == pytest.approx((got["volume_t"] - avg3) / avg3)


@pytest.mark.parametrize("scope", SCOPES.values(), ids=SCOPES.keys())
def test_station_grades(company, scope):
    got = tracking.station_grades(company.engine, scope).set_index("code")
    stations = [s[0] for s in STATIONS if in_scope(s[0], scope)]
    assert sorted(got.index) == sorted(stations)
    for code in stations:
        assert got.at[code, "daily_sales_t"] == pytest.approx(SALES_PER_DAY[code])
        assert got.at[code, "grade"] == grade(SALES_PER_DAY[code]), code
    assert len({grade(SALES_PER_DAY[c]) for c in stations}) > 1 or scope == "/37/3702/"  # grades differ


def test_the_checklist_of_day_one(company):
    """The setup checklist on the new company: what the files brought is complete, what was not
    imported is named (lib.checklist)."""
    items = checklist.checklist(company.engine, "/37/", M).set_index("check")
    for check in ("stations", "customers", "consumption", "traffic", "boundaries", "grids", "coordinates"):
        assert items.at[check, "status"] == "ok", check
    assert items.at["tier_history", "done"] == len(MONTHS)  # three months of consumption of the last 12
    assert items.at["station_sales", "status"] == "ok"
    assert items.at["managers", "status"] == "partial"  # one station of four has no customer manager
    assert (items.at["managers", "done"], items.at["managers", "total"]) == (len({m[3] for m in MANAGERS}), len(STATIONS))
    assert items.at["competitors", "status"] == "missing"  # no competitor stations file on day one
    card = items.at["targets_card", "done"]
    assert card == len({o for o, m, k, _ in TARGETS if m == M and k == "personal_card"})


def test_a_development_case_on_day_one(company):
    """Development cases 客户开发 (002 §6.5.4) have a writer outside lib.demo: the potential customer of
    the file gets a case, moved forward on the plan page's functions; the pipeline counts it in its
    month, and signing waits for the supply agreement (§6.5.4.5)."""
    import datetime as dt

    from lib.validation import ValidationError

    with company.engine.connect() as conn:
        boss_id = conn.execute(text("SELECT id FROM app_user WHERE login = 'boss'")).scalar_one()
    boss = auth.session_user(company.engine, boss_id)
    code = company.codes["济南潜在客户物流"]
    with company.engine.connect() as conn:
        cid = conn.execute(text("SELECT id FROM customer WHERE code = :c"), {"c": code}).scalar_one()
    case = development.open_case(company.engine, boss, cid, team="济南分公司重点客户开发组(摘牌)",
                                 started_on=dt.date(2026, 10, 20))
    development.advance(company.engine, boss, case, "plan", on=dt.date(2026, 10, 25), note="公关方案已定")
    with pytest.raises(ValidationError, match="supply agreement"):
        development.advance(company.engine, boss, case, "signed")
    pipe = {scope: development.pipeline(company.engine, scope, M).set_index("stage") for scope in SCOPES.values()}
    assert pipe["/37/"].at["plan", "cases"] == pipe["/37/3701/"].at["plan", "cases"] == 1
    assert pipe["/37/"].at["collect", "reached"] == 1 and pipe["/37/3702/"]["cases"].sum() == 0
    assert development.pipeline(company.engine, "/37/", MONTHS[1])["cases"].sum() == 0  # started in October
    assert development.summary(company.engine, "/37/3701/", M)["open_cases"] == 1
