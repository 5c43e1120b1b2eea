"""Stations 加油站 (lib.stations): one station created and edited through the functions the page calls,
rights refused below the UI, the three import kinds (stations, competitor_stations, station_sales)
accepted and each malformed file refused with no table changed, and daily sales 日销量 and grade
recomputed from the monthly sales against an independent computation."""
from __future__ import annotations

import calendar
import datetime as dt

import pandas as pd
import pytest
import shapely
from _import_as import import_file
from _work_db import count, db, small_url, user  # noqa: F401 (fixtures)
from sqlalchemy import text

from lib import stations
from lib.validation import ValidationError

TODAY = dt.date(2026, 11, 20)
TABLES = ("station", "org_unit", "competitor_station", "station_sales", "audit_log")


def snapshot(engine) -> dict:
    """Row counts and checksums of every table the station writes touch (the audit log included)."""
    out = {t: count(engine, f"SELECT COUNT(*) FROM {t}") for t in TABLES}
    with engine.connect() as conn:
        out["sums"] = tuple(round(float(x or 0), 6) for x in conn.execute(text(
            "SELECT (SELECT SUM(lon + lat + nozzles + daily_sales_t) FROM station), "
            "(SELECT SUM(gasoline_t + diesel_t) FROM station_sales), (SELECT SUM(lon) FROM competitor_station)")).one())
        out["names"] = tuple(conn.execute(text("SELECT name FROM station ORDER BY id")).scalars())
    return out


def districts(engine, n: int = 2) -> list[dict]:
    """The first `n` districts with a boundary: code, path, a point inside and one just outside it."""
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT code, path, boundary FROM org_unit WHERE level = 'district' "
                                 "AND boundary IS NOT NULL ORDER BY path LIMIT :n"), {"n": n}).mappings().all()
    out = []
    for r in rows:
        shape = shapely.from_geojson(r["boundary"])
        inside = shape.point_on_surface()
        minx, miny, maxx, maxy = shape.bounds
        out.append({"code": r["code"], "path": r["path"], "lon": round(inside.x, 6), "lat": round(inside.y, 6),
                    "out_lon": round(maxx + 0.05, 6), "out_lat": round((miny + maxy) / 2, 6)})
    return out


def csv(rows: list[dict]) -> bytes:
    return pd.DataFrame(rows).astype(str).to_csv(index=False).encode("utf-8")


def station_row(d: dict, code: str, **over) -> dict:
    return {"加油站代码": code, "加油站名称": f"测试站{code}", "区县代码": d["code"], "经度": d["lon"], "纬度": d["lat"],
            "开业日期": "2015-03-01", "油枪数": "10"} | over


def independent_daily(monthly: dict[str, float]) -> float:
    """The last 12 known months' tonnes ÷ their days, computed here from the calendar."""
    last = sorted(monthly)[-12:]
    days = sum(calendar.monthrange(int(m[:4]), int(m[5:]))[1] for m in last)
    return sum(monthly[m] for m in last) / days


def independent_grade(daily: float) -> str:
    """001 Chongqing thresholds (DOMAIN §9, 以上/以下 include the number): graded ≥ 3 t/day, reform ≤ 2 t/day."""
    return "graded" if daily >= 3 else "reform" if daily <= 2 else "regular"


# --- one station through the functions the page calls ----------------------------------------------


def test_admin_creates_and_edits_a_station(db):
    d = districts(db, 1)[0]
    admin = user(db, "admin")
    sid = stations.create_station(db, admin, {"code": "t9001", "name": "新站", "district_code": d["code"],
                                              "lon": d["lon"], "lat": d["lat"], "opened_on": dt.date(2020, 1, 2),
                                              "nozzles": 6}, today=TODAY)
    with db.connect() as conn:
        s = conn.execute(text("SELECT s.code, s.org_path, s.nozzles, s.grade, u.level, u.path, p.code AS parent "
                              "FROM station s JOIN org_unit u ON u.id = s.org_unit_id JOIN org_unit p ON p.id = u.parent_id "
                              "WHERE s.id = :i"), {"i": sid}).mappings().one()
        grids = conn.execute(text("SELECT COUNT(*) FROM grid WHERE station_id = :i"), {"i": sid}).scalar()
    assert (s["code"], s["org_path"], s["path"], s["level"], s["parent"], s["nozzles"]) == (
        "T9001", d["path"] + "T9001/", d["path"] + "T9001/", "station", d["code"], 6)
    assert grids == 0  # grids come from the grid import or editor
    stations.update_station(db, admin, sid, {"name": "改名站", "nozzles": 9}, today=TODAY)
    assert stations.station_values(db, admin.scope, sid)["name"] == "改名站"
    assert count(db, "SELECT nozzles FROM station WHERE id = :i", i=sid) == 9
    assert count(db, "SELECT COUNT(*) FROM audit_log WHERE entity = 'station' AND entity_id = :i", i=str(sid)) == 2


def test_a_station_without_coordinates_stands_in_its_district(db):
    d = districts(db, 1)[0]
    sid = stations.create_station(db, user(db, "admin"), {"code": "T9002", "name": "无坐标站", "district_code": d["code"]},
                                  today=TODAY)
    with db.connect() as conn:
        lon, lat, boundary = conn.execute(text("SELECT s.lon, s.lat, d.boundary FROM station s JOIN org_unit u ON "
                                               "u.id = s.org_unit_id JOIN org_unit d ON d.id = u.parent_id WHERE s.id = :i"),
                                          {"i": sid}).one()
    assert shapely.from_geojson(boundary).buffer(1e-6).contains(shapely.Point(lon, lat))


@pytest.mark.parametrize(("login", "code"), [("viewer", "read_only"), ("station", "read_only"),
                                             ("custmgr", "read_only"), ("area", "outside_scope")], ids=str)
def test_rights_are_refused_below_the_ui(db, login, code):
    """Only province, city and district admins create stations, and only inside their scope."""
    me = user(db, login)
    with db.connect() as conn:
        other = conn.execute(text("SELECT code FROM org_unit WHERE level = 'district' AND path NOT LIKE :s ORDER BY path"),
                             {"s": me.scope + "%"}).scalars().first()
    before = snapshot(db)
    with pytest.raises(ValidationError) as exc:
        stations.create_station(db, me, {"code": "T9003", "name": "越权站", "district_code": other}, today=TODAY)
    assert exc.value.errors[0].code == code
    assert snapshot(db) == before


def test_district_manager_creates_inside_their_district_and_cannot_move_a_station(db):
    area = user(db, "area")
    with db.connect() as conn:
        mine = conn.execute(text("SELECT code FROM org_unit WHERE path = :p"), {"p": area.scope}).scalar_one()
        other = conn.execute(text("SELECT code FROM org_unit WHERE level = 'district' AND path <> :p"),
                             {"p": area.scope}).scalars().first()
    sid = stations.create_station(db, area, {"code": "T9004", "name": "片区新站", "district_code": mine}, today=TODAY)
    with pytest.raises(ValidationError) as exc:
        stations.update_station(db, user(db, "admin"), sid, {"district_code": other}, today=TODAY)
    assert exc.value.errors[0].code == "station_moved"
    with pytest.raises(ValidationError) as exc:
        stations.create_station(db, area, {"code": "T9004", "name": "重复", "district_code": mine}, today=TODAY)
    assert exc.value.errors[0].code == "code_taken"


def test_an_edit_outside_the_scope_is_not_found(db):
    area = user(db, "area")
    with db.connect() as conn:
        sid = conn.execute(text("SELECT id FROM station WHERE org_path NOT LIKE :s ORDER BY id"),
                           {"s": area.scope + "%"}).scalars().first()
    with pytest.raises(ValidationError) as exc:
        stations.update_station(db, area, sid, {"name": "x"}, today=TODAY)
    assert exc.value.errors[0].code == "not_found"


# --- imports -------------------------------------------------------------------------------------------


def test_stations_file_creates_new_and_updates_existing_codes(db):
    d1, d2 = districts(db, 2)
    with db.connect() as conn:
        old = conn.execute(text("SELECT s.code, d.code AS district FROM station s JOIN org_unit u ON u.id = s.org_unit_id "
                                "JOIN org_unit d ON d.id = u.parent_id WHERE d.code = :d ORDER BY s.code"),
                           {"d": d1["code"]}).mappings().first()
    rows = [station_row(d1, "T1001"), station_row(d2, "T1002", 经度="", 纬度=""),
            station_row(d1, old["code"], 加油站名称="更新后的站名", 油枪数="14")]
    report = import_file(db, "stations", csv(rows), "s.csv", today=TODAY)
    assert report.ok, report.errors_frame()
    assert (report.inserted, report.updated) == (2, 1)
    with db.connect() as conn:
        got = dict(conn.execute(text("SELECT code, org_path FROM station WHERE code IN ('T1001', 'T1002')")).all())
        name, nozzles = conn.execute(text("SELECT name, nozzles FROM station WHERE code = :c"), {"c": old["code"]}).one()
    assert got == {"T1001": d1["path"] + "T1001/", "T1002": d2["path"] + "T1002/"}
    assert (name, nozzles) == ("更新后的站名", 14)


def test_competitor_file_inserts_then_updates_by_name_in_the_district(db):
    d = districts(db, 1)[0]
    rows = [{"竞争对手名称": "民营甲站", "品牌": "民营", "区县代码": d["code"], "经度": d["lon"], "纬度": d["lat"]}]
    first = import_file(db, "competitor_stations", csv(rows), "c.csv", today=TODAY)
    again = import_file(db, "competitor_stations", csv([rows[0] | {"品牌": "中石化"}]), "c.csv", today=TODAY)
    assert first.ok and again.ok, (first.errors_frame(), again.errors_frame())
    assert (first.inserted, again.updated) == (1, 1)
    assert count(db, "SELECT COUNT(*) FROM competitor_station WHERE name = '民营甲站' AND brand = '中石化' "
                     "AND org_path = :p", p=d["path"]) == 1


def _sales_rows(code: str, monthly: dict[str, float]) -> list[dict]:
    return [{"加油站代码": code, "月份": m, "汽油(吨)": round(t * 0.6, 6), "柴油(吨)": round(t * 0.4, 6)}
            for m, t in monthly.items()]


@pytest.mark.parametrize(("monthly", "grade"), [
    ({"2026-01": 150.0, "2026-02": 150.0, "2026-03": 150.0}, "graded"),  # 450 t / 90 days = 5 t/day
    ({"2026-08": 40.0, "2026-09": 45.0, "2026-10": 31.0}, "reform"),  # 116 t / 92 days
    ({f"{2025 + (i + 5) // 12}-{(i + 5) % 12 + 1:02d}": 100.0 + 10 * i for i in range(14)}, "graded"),  # last 12 of 14 (≥ 2000 t/year is a target, not a grade)
    ({"2026-09": 75.0}, "regular"),  # one month known: 2.5 t/day
], ids=["3-months", "reform", "14-months-last-12", "1-month"])
def test_station_sales_recompute_daily_sales_and_grade(db, monthly, grade):
    with db.connect() as conn:
        code, sid = conn.execute(text("SELECT code, id FROM station ORDER BY id")).first()
    report = import_file(db, "station_sales", csv(_sales_rows(code, monthly)), "sales.csv", today=TODAY)
    assert report.ok, report.errors_frame()
    expected = independent_daily(monthly)
    with db.connect() as conn:
        daily, got = conn.execute(text("SELECT daily_sales_t, grade FROM station WHERE id = :i"), {"i": sid}).one()
    assert daily == pytest.approx(expected, abs=1e-3)
    assert got == independent_grade(expected) == grade


def test_sales_of_a_month_imported_again_replace_that_month(db):
    with db.connect() as conn:
        code, sid = conn.execute(text("SELECT code, id FROM station ORDER BY id")).first()
    first = import_file(db, "station_sales", csv(_sales_rows(code, {"2026-09": 90.0, "2026-10": 93.0})), "a.csv",
                        today=TODAY)
    again = import_file(db, "station_sales", csv(_sales_rows(code, {"2026-10": 31.0})), "b.csv", today=TODAY)
    assert (first.inserted, again.inserted, again.updated) == (2, 0, 1)
    assert count(db, "SELECT COUNT(*) FROM station_sales WHERE station_id = :i", i=sid) == 2
    daily = independent_daily({"2026-09": 90.0, "2026-10": 31.0})
    with db.connect() as conn:
        assert conn.execute(text("SELECT daily_sales_t FROM station WHERE id = :i"), {"i": sid}).scalar() == \
            pytest.approx(daily, abs=1e-3)


def test_set_sales_from_the_form_checks_rights_and_recomputes(db):
    station = user(db, "station")
    with db.connect() as conn:
        code = conn.execute(text("SELECT code FROM station WHERE org_path = :p"), {"p": station.scope}).scalar_one()
        other = conn.execute(text("SELECT code FROM station WHERE org_path <> :p ORDER BY id"),
                             {"p": station.scope}).scalars().first()
    daily, grade = stations.set_sales(db, station, code, "2026-10", 62.0, 31.0, today=TODAY)
    assert daily == pytest.approx(93.0 / 31, abs=1e-3) and grade == independent_grade(93.0 / 31)
    for who, target, err in (("station", other, "outside_scope"), ("viewer", code, "read_only"),
                             ("station", code, "future_month")):
        with pytest.raises(ValidationError) as exc:
            stations.set_sales(db, user(db, who), target, "2027-01" if err == "future_month" else "2026-10", 1, 1,
                               today=TODAY)
        assert exc.value.errors[0].code == err


def _malformed(db) -> dict:
    d1, d2 = districts(db, 2)
    with db.connect() as conn:
        existing = conn.execute(text("SELECT code FROM station ORDER BY id")).scalar()
        city = conn.execute(text("SELECT code FROM org_unit WHERE level = 'city' ORDER BY path")).scalar()
    return {
        "st-missing-column": ("stations", [{k: v for k, v in station_row(d1, "T2001").items() if k != "区县代码"}],
                              "admin", "missing_column", "district_code"),
        "st-unknown-district": ("stations", [station_row(d1, "T2001", 区县代码="999999")], "admin",
                                "unknown_district", "区县代码"),
        "st-city-not-district": ("stations", [station_row(d1, "T2001", 区县代码=city)], "admin", "unknown_district",
                                 "区县代码"),
        "st-outside-scope": ("stations", [station_row(d2, "T2001")], "area", "outside_scope", "区县代码"),
        "st-duplicate-code": ("stations", [station_row(d1, "T2001"), station_row(d1, "t2001")], "admin", "duplicate",
                              "加油站代码"),
        "st-code-of-a-unit": ("stations", [station_row(d1, city)], "admin", "code_taken", "加油站代码"),
        "st-out-of-china": ("stations", [station_row(d1, "T2001", 经度="-3.5", 纬度="40.4")], "admin", "out_of_china",
                            "经度"),
        "st-outside-district": ("stations", [station_row(d1, "T2001", 经度=d1["out_lon"], 纬度=d1["out_lat"])], "admin",
                                "outside_district", "经度"),
        "st-moved": ("stations", [station_row(d2, existing)], "admin", "station_moved", "区县代码"),
        "st-bad-nozzles": ("stations", [station_row(d1, "T2001", 油枪数="八")], "admin", "not_number", "油枪数"),
        "st-lon-only": ("stations", [station_row(d1, "T2001", 纬度="")], "admin", "lon_lat", "经度"),
        "co-unknown-district": ("competitor_stations", [{"竞争对手名称": "甲", "品牌": "民营", "区县代码": "999999",
                                                         "经度": d1["lon"], "纬度": d1["lat"]}], "admin",
                                "unknown_district", "区县代码"),
        "co-out-of-china": ("competitor_stations", [{"竞争对手名称": "甲", "品牌": "民营", "区县代码": d1["code"],
                                                     "经度": "200", "纬度": d1["lat"]}], "admin", "out_of_range", "经度"),
        "co-missing-column": ("competitor_stations", [{"竞争对手名称": "甲", "区县代码": d1["code"], "经度": d1["lon"],
                                                       "纬度": d1["lat"]}], "admin", "missing_column", "brand"),
        "sa-unknown-station": ("station_sales", [{"加油站代码": "NOPE1", "月份": "2026-10", "汽油(吨)": "1"}], "admin",
                               "unknown_station", "加油站代码"),
        "sa-bad-month": ("station_sales", [{"加油站代码": existing, "月份": "2026-13", "汽油(吨)": "1"}], "admin",
                         "bad_month", "月份"),
        "sa-future-month": ("station_sales", [{"加油站代码": existing, "月份": "2027-01", "汽油(吨)": "1"}], "admin",
                            "future_month", "月份"),
        "sa-negative": ("station_sales", [{"加油站代码": existing, "月份": "2026-10", "汽油(吨)": "-1"}], "admin",
                        "out_of_range", "汽油(吨)"),
        "sa-duplicate": ("station_sales", [{"加油站代码": existing, "月份": "2026-10", "汽油(吨)": "1"},
                                           {"加油站代码": existing, "月份": "2026-10", "汽油(吨)": "2"}], "admin",
                         "duplicate", "月份"),
        "sa-outside-scope": ("station_sales", [{"加油站代码": existing, "月份": "2026-10", "汽油(吨)": "1"}], "custmgr",
                             "outside_scope", "加油站代码"),
    }


MALFORMED = ["st-missing-column", "st-unknown-district", "st-city-not-district", "st-outside-scope",
             "st-duplicate-code", "st-code-of-a-unit", "st-out-of-china", "st-outside-district", "st-moved",
             "st-bad-nozzles", "st-lon-only", "co-unknown-district", "co-out-of-china", "co-missing-column",
             "sa-unknown-station", "sa-bad-month", "sa-future-month", "sa-negative", "sa-duplicate", "sa-outside-scope"]


@pytest.mark.parametrize("case", MALFORMED)
def test_malformed_files_are_refused_with_row_and_column_and_change_nothing(db, case):
    kind, rows, login, code, column = _malformed(db)[case]
    me = user(db, login)
    if login == "custmgr":  # a customer manager's scope lies below their station: another station is outside it
        with db.connect() as conn:
            other = conn.execute(text("SELECT code FROM station WHERE :s NOT LIKE org_path || '%' ORDER BY id"),
                                 {"s": me.scope}).scalars().first()
        rows = [r | {"加油站代码": other} for r in rows]
    before = snapshot(db)
    report = import_file(db, kind, csv(rows), "bad.csv", scope=me.scope, actor=me.login, today=TODAY)
    assert not report.ok
    first = report.errors[0]
    assert (first.code, first.column) == (code, column), report.errors_frame()
    assert first.row == (1 if code == "missing_column" else len(rows) + 1 if code == "duplicate" else 2)
    assert snapshot(db) == before


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_downloaded_lists_import_back_unchanged(db, lang):
    """Export → import: the station and competitor lists the page downloads are files their imports
    read; imported again they update every row and change no figure."""
    admin = user(db, "admin")
    d = districts(db, 1)[0]
    stations.save_competitor(db, admin, {"name": "民营乙站", "brand": "民营", "district_code": d["code"],
                                         "lon": d["lon"], "lat": d["lat"]}, today=TODAY)
    before = snapshot(db)
    for kind, frame in (("stations", stations.table(db, admin.scope)),
                        ("competitor_stations", stations.competitors(db, admin.scope))):
        data = stations.as_import(frame, kind, lang, {"grade": "grade_shown"}
                                  if kind == "stations" else None).to_csv(index=False).encode("utf-8-sig")
        report = import_file(db, kind, data, f"{kind}.csv", today=TODAY)
        assert report.ok, report.errors_frame().head()
        assert (report.inserted, report.updated) == (0, len(frame))
    after = snapshot(db)
    assert {k: v for k, v in after.items() if k != "audit_log"} == {k: v for k, v in before.items() if k != "audit_log"}
