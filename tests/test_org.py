"""Org units 组织单元 (lib.org): the organisation from the real map (issue 13 part 1), one unit at a time,
and the `org_units` import with its refusals."""
from __future__ import annotations

import json

import pytest
import shapely
from _import_as import import_file as import_as
from sqlalchemy import text

from lib import auth, importer, org, regions
from lib.db import make_engine, upgrade
from lib.grids import area_m2, check_partition, from_geojson
from lib.validation import ValidationError


def _company(url: str):
    """An empty database after the first start: the province unit "37" and its first admin."""
    engine = make_engine(url)
    upgrade(engine)
    uid = auth.create_first_admin(engine, "boss", "王总", "long enough pw", "37", "山东省分公司")
    return engine, auth.session_user(engine, uid)


@pytest.fixture()
def company(fresh_url):
    engine, admin = _company(fresh_url)
    yield engine, admin
    engine.dispose()


def _units(engine) -> dict[str, dict]:
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT u.code, u.name, u.level, u.path, u.adcode, u.boundary, u.lon, u.lat, "
                                 "u.manager_name, u.manager_phone, p.code AS parent FROM org_unit u "
                                 "LEFT JOIN org_unit p ON p.id = u.parent_id")).mappings().all()
    return {r["code"]: dict(r) for r in rows}


def test_setup_from_map_creates_shandong_with_real_names_codes_and_boundaries(company):
    engine, admin = company
    seen = []
    counts = org.setup_from_map(engine, admin, "37", progress=lambda f, s: seen.append((f, s)))
    assert counts == {"created": 16 + 136, "existing": 0, "left_out": 0, "areas": 0}
    assert seen[-1][0] == pytest.approx(1.0) and len(seen) == 16
    units = _units(engine)
    prov = regions.province("37")
    cities = [u for u in units.values() if u["level"] == "city"]
    districts = [u for u in units.values() if u["level"] == "district"]
    assert len(cities) == 16 and len(districts) == 136
    assert units["3701"]["name"] == "济南市分公司" and units["3701"]["adcode"] == "370100"
    assert units["370102"]["name"] == "历下区" and units["370102"]["path"] == "/37/3701/370102/"
    assert units["370102"]["parent"] == "3701" and units["3701"]["parent"] == "37"
    assert {d["adcode"] for d in districts} == {d.adcode for d in prov.districts()}
    assert {d["name"] for d in districts} == {d.name for d in prov.districts()}
    assert all(u["boundary"] and u["lon"] and u["lat"] for u in cities + districts)
    assert units["37"]["adcode"] == "370000" and units["37"]["boundary"]  # the root gets the province's map
    # the districts partition their city within 1 m² (stored GeoJSON, as grids will see it)
    for c in cities:
        cells = {d["code"]: from_geojson(d["boundary"]) for d in districts if d["parent"] == c["code"]}
        report = check_partition(cells, from_geojson(c["boundary"]), tolerance_m2=1.0)
        assert report.ok, (c["name"], report.overlaps[:3], report.gaps[:3], report.outside[:3])
        centre = shapely.Point(c["lon"], c["lat"])
        assert from_geojson(c["boundary"]).contains(centre)
    # re-running is idempotent: nothing created, nothing changed
    org.rename(engine, admin, "370102", "历下片区")
    again = org.setup_from_map(engine, admin, "37")
    assert again["created"] == 0 and again["existing"] == 152
    assert _units(engine)["370102"]["name"] == "历下片区"


def test_leave_out_rename_and_group_counties_into_an_area(company):
    engine, admin = company
    jinan = regions.province("37").cities[0]
    kept = [d.adcode for d in jinan.children if d.adcode != "370102"]  # 历下区 left out
    counts = org.setup_from_map(engine, admin, "37", cities=["370100", "3702"], districts=kept + ["370202"],
                                renames={"370100": "济南公司", "370103": "市中"},
                                areas={"济南东片区": ["370112", "370113"]})
    units = _units(engine)
    assert set(u["code"] for u in units.values() if u["level"] == "city") == {"3701", "3702"}
    assert units["3701"]["name"] == "济南公司" and units["370103"]["name"] == "市中"
    assert "370102" not in units and "370112" not in units and "370113" not in units
    assert "370203" not in units  # a district of 青岛 not listed
    area = units["3701P01"]
    assert (area["name"], area["level"], area["parent"], area["adcode"]) == ("济南东片区", "district", "3701", None)
    members = [d.geometry for d in jinan.children if d.adcode in ("370112", "370113")]
    assert area_m2(from_geojson(area["boundary"])) == pytest.approx(sum(area_m2(g) for g in members), rel=1e-6)
    assert counts["areas"] == 1 and counts["created"] == 2 + (len(kept) - 2 + 1) + 1
    # running again (without the areas) neither re-creates the grouped counties nor changes anything
    again = org.setup_from_map(engine, admin, "37", cities=["370100"], districts=kept)
    assert again["created"] == 0
    assert "370112" not in _units(engine)


@pytest.mark.parametrize("kwargs, column, code", [
    ({"cities": ["379900"]}, "cities", "unknown_region"),
    ({"areas": {"A": ["370112", "370202"]}}, "areas", "area_city"),
    ({"areas": {"A": ["370112"], "B": ["370112"]}}, "areas", "area_twice"),
    ({"areas": {"A": []}}, "areas", "area_empty"),
], ids=["unknown-city", "area-across-cities", "district-in-two-areas", "empty-area"])
def test_bad_choices_are_refused_and_nothing_is_written(company, kwargs, column, code):
    engine, admin = company
    with pytest.raises(ValidationError) as exc:
        org.setup_from_map(engine, admin, "37", **kwargs)
    assert (exc.value.errors[0].column, exc.value.errors[0].code) == (column, code)
    assert list(_units(engine)) == ["37"]


def test_another_province_recodes_an_empty_root_but_not_a_set_up_one(company):
    engine, admin = company
    org.setup_from_map(engine, admin, "11")  # 北京: the root had no children, it becomes "11"
    units = _units(engine)
    assert units["11"]["path"] == "/11/" and "37" not in units
    assert auth.session_user(engine, admin.id).scope == "/11/"
    with pytest.raises(ValidationError) as exc:
        org.setup_from_map(engine, auth.session_user(engine, admin.id), "37")
    assert exc.value.errors[0].code == "province_mismatch"


def test_a_non_admin_is_refused_below_the_ui(company):
    engine, admin = company
    org.setup_from_map(engine, admin, "37", cities=["370100"])
    city = engine.connect().execute(text("SELECT id FROM org_unit WHERE code = '3701'")).scalar_one()
    uid = auth.create_user(engine, admin, "jinan", "济南经理", "city_manager", city, "long enough pw")
    manager = auth.session_user(engine, uid)
    before = _units(engine)
    for call in (lambda: org.setup_from_map(engine, manager, "37"),
                 lambda: org.rename(engine, manager, "370102", "x"),
                 lambda: org.set_manager(engine, manager, "370102", "张三", "13800000000"),
                 lambda: org.set_boundary(engine, manager, "370102", json.dumps(_square(117.0, 36.6)))):
        with pytest.raises(PermissionError):
            call()
    assert _units(engine) == before


def _square(lon, lat, d=0.01):
    return {"type": "Polygon", "coordinates": [[[lon, lat], [lon + d, lat], [lon + d, lat + d], [lon, lat + d],
                                                [lon, lat]]]}


def test_rename_manager_and_own_boundary(company):
    engine, admin = company
    org.setup_from_map(engine, admin, "37", cities=["370100"])
    org.rename(engine, admin, "370102", "历下营销片区")
    org.set_manager(engine, admin, "370102", "张经理", "0531-88886666")
    org.set_boundary(engine, admin, "370102", json.dumps({"type": "Feature", "properties": {},
                                                          "geometry": _square(117.05, 36.65)}).encode())
    u = _units(engine)["370102"]
    assert (u["name"], u["manager_name"], u["manager_phone"]) == ("历下营销片区", "张经理", "0531-88886666")
    assert from_geojson(u["boundary"]).equals(shapely.geometry.shape(_square(117.05, 36.65)))
    assert (u["lon"], u["lat"]) == pytest.approx((117.055, 36.655))
    with engine.connect() as conn:
        actions = conn.execute(text("SELECT action FROM audit_log WHERE entity = 'org_unit' AND entity_id = :i"),
                               {"i": str(engine.connect().execute(text(
                                   "SELECT id FROM org_unit WHERE code = '370102'")).scalar_one())}).scalars().all()
    assert actions.count("update") == 3
    cases = [(lambda: org.rename(engine, admin, "370102", ""), "name", "required"),
             (lambda: org.set_manager(engine, admin, "370102", "张", "phone?"), "manager_phone", "bad_phone"),
             (lambda: org.set_boundary(engine, admin, "370102", '{"type": "Point", "coordinates": [117, 36]}'),
              "boundary", "not_polygon"),
             (lambda: org.set_boundary(engine, admin, "370102", json.dumps(_square(-3.0, 51.0))), "boundary",
              "out_of_china"),
             (lambda: org.rename(engine, admin, "999999", "x"), "code", "not_found")]
    for call, column, code in cases:
        with pytest.raises(ValidationError) as exc:
            call()
        assert (exc.value.errors[0].column, exc.value.errors[0].code) == (column, code)
    assert _units(engine)["370102"] == u


# --- the org_units import ---------------------------------------------------------------------------

HEADER = "组织代码,名称,层级,上级代码,负责人,负责人电话,边界\n"


def _csv(*rows: str) -> bytes:
    return (HEADER + "".join(r + "\n" for r in rows)).encode("utf-8")


def _cell(geom: dict) -> str:
    return '"' + json.dumps(geom).replace('"', '""') + '"'


def test_import_csv_creates_and_updates_units(company):
    engine, _ = company
    data = _csv(f"3799,示范分公司,city,37,李四,13900000000,{_cell(_square(118.0, 36.0, 0.2))}",
                f"379901,示范一区,区县,3799,,,{_cell(_square(118.0, 36.0, 0.1))}",
                "37,山东省分公司（新名）,province,,,,")
    report = import_as(engine, "org_units", data, "units.csv", actor="boss")
    assert report.ok, report.errors_frame()
    assert (report.inserted, report.updated) == (2, 1)
    units = _units(engine)
    assert units["379901"]["path"] == "/37/3799/379901/" and units["379901"]["parent"] == "3799"
    assert units["3799"]["manager_phone"] == "13900000000"
    assert units["37"]["name"] == "山东省分公司（新名）"
    # again, renaming and with no boundary: the stored boundary stays
    report = import_as(engine, "org_units", _csv("379901,示范区,district,3799,,,"), "u.csv")
    assert report.ok and (report.inserted, report.updated) == (0, 1)
    assert _units(engine)["379901"]["name"] == "示范区" and _units(engine)["379901"]["boundary"]


def test_import_geojson_feature_collection(company):
    engine, admin = company
    org.setup_from_map(engine, admin, "37", cities=["370100"], districts=["370102"])
    fc = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"code": "3701P01", "name": "新片区", "level": "district",
                                           "parent_code": "3701", "manager_name": "王五"},
         "geometry": _square(117.3, 36.7)},
        {"type": "Feature", "properties": {"组织代码": "370102", "名称": "历下区", "层级": "区县", "上级代码": "3701"},
         "geometry": _square(117.0, 36.6)}]}
    report = import_as(engine, "org_units", json.dumps(fc, ensure_ascii=False).encode(), "units.geojson")
    assert report.ok, report.errors_frame()
    assert (report.inserted, report.updated) == (1, 1)
    units = _units(engine)
    assert units["3701P01"]["manager_name"] == "王五"
    assert from_geojson(units["370102"]["boundary"]).equals(shapely.geometry.shape(_square(117.0, 36.6)))


BAD = {
    "missing-column": (b"\xe7\xbb\x84\xe7\xbb\x87\xe4\xbb\xa3\xe7\xa0\x81,\xe5\x90\x8d\xe7\xa7\xb0\n3799,x\n",
                       "units.csv", 1, "level", "missing_column"),
    "unknown-parent": (_csv("379901,一区,district,3798,,,"), "u.csv", 2, "上级代码", "unknown_parent"),
    "duplicate-code": (_csv("3799,甲,city,37,,,", "3799,乙,city,37,,,"), "u.csv", 3, "组织代码", "duplicate"),
    "wrong-level": (_csv("3799,甲,district,37,,,"), "u.csv", 2, "层级", "level_under_parent"),
    "not-a-polygon": (_csv('3799,甲,city,37,,,"{""type"": ""LineString"", ""coordinates"": [[117,36],[118,37]]}"'),
                      "u.csv", 2, "边界", "not_polygon"),
    "outside-china": (_csv(f"3799,甲,city,37,,,{_cell(_square(2.35, 48.85))}"), "u.csv", 2, "边界", "out_of_china"),
    "geojson-point": (json.dumps({"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {
        "code": "3799", "name": "甲", "level": "city", "parent_code": "37"},
        "geometry": {"type": "Point", "coordinates": [117, 36]}}]}).encode(), "u.geojson", 1, "boundary",
        "not_polygon"),
}


@pytest.mark.parametrize("case", list(BAD), ids=list(BAD))
def test_import_refuses_malformed_files_naming_row_and_column(company, case):
    engine, _ = company
    data, name, row, column, code = BAD[case]
    before = _units(engine)
    report = import_as(engine, "org_units", data, name)
    assert not report.ok
    first = report.errors[0]
    assert (first.row, first.column, first.code) == (row, column, code), report.errors_frame()
    assert _units(engine) == before


def test_import_refuses_a_unit_outside_the_importers_scope(company):
    engine, admin = company
    org.setup_from_map(engine, admin, "37", cities=["370100", "370200"])
    before = _units(engine)
    report = import_as(engine, "org_units", _csv("370202,市南,district,3702,,,"), "u.csv",
                                  scope="/37/3701/")
    assert not report.ok and (report.errors[0].column, report.errors[0].code) == ("组织代码", "outside_scope")
    report = import_as(engine, "org_units", _csv("370102,历下,district,3702,,,"), "u.csv")
    assert not report.ok and report.errors[0].code == "org_moved"  # a unit does not move to another city
    assert _units(engine) == before


def test_template_has_the_chinese_headers():
    header = importer.template("org_units", "csv", "zh").decode("utf-8-sig").strip().split(",")
    assert header == ["组织代码", "名称", "层级", "上级代码", "负责人", "负责人电话", "边界"]


def test_the_setup_table_as_edited_becomes_the_choices():
    """The page's table (region_rows, then names, keep and area edited) → setup_from_map's arguments."""
    rows = org.region_rows("37")
    assert len(rows) == 16 + 136 and rows.iloc[0]["name"] == "济南市分公司"
    rows.loc[rows["adcode"] == "370102", "keep"] = False
    rows.loc[rows["adcode"] == "370103", "name"] = "市中"
    rows.loc[rows["adcode"].isin(["370112", "370113"]), "area"] = " 济南东片区 "
    rows.loc[rows["adcode"] == "370200", "keep"] = False
    got = org.choices_from_table(rows)
    assert "370102" not in got["districts"] and "370200" not in got["cities"] and len(got["cities"]) == 15
    assert got["renames"] == {"370103": "市中"}
    assert got["areas"] == {"济南东片区": ["370112", "370113"]}


def test_only_admins_are_offered_the_org_units_import():
    from lib.importer.specs import kinds_for

    assert "org_units" in kinds_for("province_admin")
    assert "org_units" not in kinds_for("city_manager") and "customers" in kinds_for("city_manager")


def test_a_district_boundary_its_grids_no_longer_partition_is_refused(small):
    """Own boundaries may not break the grids' partition of a district (000 §2): the page's edit and
    the import both refuse, naming the boundary, and nothing changes."""
    with small.connect() as conn:
        code, boundary = conn.execute(text(
            "SELECT d.code, d.boundary FROM org_unit d WHERE d.level = 'district' AND EXISTS (SELECT 1 FROM grid g "
            "JOIN station s ON s.id = g.station_id JOIN org_unit st ON st.id = s.org_unit_id "
            "WHERE st.parent_id = d.id) ORDER BY d.path LIMIT 1")).one()
        parent = conn.execute(text("SELECT p.code FROM org_unit d JOIN org_unit p ON p.id = d.parent_id "
                                   "WHERE d.code = :c"), {"c": code}).scalar_one()
    admin = auth.session_user(small, small.connect().execute(text(
        "SELECT id FROM app_user WHERE login = 'admin'")).scalar_one())
    shrunk = from_geojson(boundary).buffer(-0.01)
    with pytest.raises(ValidationError) as exc:
        org.set_boundary(small, admin, code, json.dumps(shapely.geometry.mapping(shrunk)))
    assert (exc.value.errors[0].column, exc.value.errors[0].code) == ("boundary", "outside")
    report = import_as(small, "org_units", _csv(f"{code},x,district,{parent},,,"
                                                           f"{_cell(shapely.geometry.mapping(shrunk))}"), "u.csv")
    assert not report.ok and (report.errors[0].row, report.errors[0].column, report.errors[0].code) == \
        (2, "边界", "outside")
    assert _units(small)[code]["boundary"] == boundary
    # the same boundary again is accepted (the grids partition it)
    org.set_boundary(small, admin, code, boundary)


def test_downloaded_units_import_back_unchanged(company):
    """Export → edit → import: the setup page's GeoJSON download is a file the org_units import reads."""
    engine, admin = company
    org.setup_from_map(engine, admin, "37", cities=["370100"], areas={"东片区": ["370112", "370113"]})
    before = _units(engine)
    data = json.loads(org.units_geojson(engine, "/37/"))
    assert len(data["features"]) == len(before)
    data["features"][1]["properties"]["name"] = "济南分公司"
    report = import_as(engine, "org_units", json.dumps(data, ensure_ascii=False).encode(), "org_units.geojson")
    assert report.ok, report.errors_frame()
    assert (report.inserted, report.updated) == (0, len(before))
    after = _units(engine)
    assert after["3701"]["name"] == "济南分公司"
    assert {c: u for c, u in after.items() if c != "3701"} == {c: u for c, u in before.items() if c != "3701"}
