"""Imports (issue 6): clean files in UTF-8 and GBK, one bad row changes nothing, malformed files get
a clear message, impossible counts are rejected, codes stay text, grids keep the partition, and the
row checks hold for any input (hypothesis)."""
from __future__ import annotations

import datetime as dt
import io
import json

import numpy as np
import pandas as pd
import pytest
from _import_as import import_file
from _work_db import count, db, small_url, user  # noqa: F401 (fixtures)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import Workbook
from sqlalchemy import text

from lib import importer
from lib.importer import Checker, Context, check_frame

TODAY = dt.date(2026, 11, 20)
TABLES = ("customer", "monthly_consumption", "station_traffic", "visit", "grid", "station_monthly")


def snapshot(engine) -> dict:
    """Row counts and a checksum of every table an import may touch."""
    out = {t: count(engine, f"SELECT COUNT(*) FROM {t}") for t in TABLES}
    with engine.connect() as conn:
        out["sums"] = tuple(round(float(x or 0), 6) for x in conn.execute(text(
            "SELECT (SELECT SUM(gasoline_t + diesel_t) FROM monthly_consumption), "
            "(SELECT SUM(entering) FROM station_traffic), (SELECT SUM(diesel_t) FROM station_monthly)")).one())
        out["grids"] = conn.execute(text("SELECT SUM(LENGTH(geometry)) FROM grid")).scalar()
    return out


def codes(engine, n: int, scope: str = "/") -> list[str]:
    with engine.connect() as conn:
        return conn.execute(text("SELECT code FROM customer WHERE status = 'existing' AND org_path LIKE :s "
                                 "ORDER BY code LIMIT :n"), {"s": scope + "%", "n": n}).scalars().all()


def consumption_frame(engine, n: int, month: str = "2026-11") -> pd.DataFrame:
    """n rows: distinct customers in `month`, then the same customers in earlier months when needed."""
    cs = codes(engine, n)
    months = [month] + [f"2026-{m:02d}" for m in range(10, 0, -1)]
    pairs = [(c, m) for m in months for c in cs][:n]
    rng = np.random.default_rng(1)
    return pd.DataFrame({"customer_code": [c for c, _ in pairs], "month": [m for _, m in pairs],
                         "gasoline_t": rng.uniform(0, 3, n).round(3), "diesel_t": rng.uniform(0, 9, n).round(3),
                         "card_cny": 100, "visits": 3})


def csv_bytes(df: pd.DataFrame, encoding: str = "utf-8") -> bytes:
    return df.to_csv(index=False).encode(encoding)


# --- clean files ------------------------------------------------------------------------------------


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk", "gb18030"])
def test_clean_consumption_file_imports_and_refreshes_the_summary(db, encoding):
    df = consumption_frame(db, 400).rename(columns={"customer_code": "客户代码", "month": "月份"})  # Chinese headers
    assert set(df["月份"]) == {"2026-11"}
    report = import_file(db, "consumption", csv_bytes(df, encoding), "消费.csv", today=TODAY)
    assert report.ok, report.errors
    assert (report.rows, report.inserted, report.updated) == (400, 400, 0)
    with db.connect() as conn:
        detail = conn.execute(text("SELECT SUM(m.diesel_t) FROM monthly_consumption m WHERE m.month = '2026-11'")).scalar()
        summary = conn.execute(text("SELECT SUM(diesel_t) FROM station_monthly WHERE month = '2026-11'")).scalar()
        audit = conn.execute(text("SELECT COUNT(*) FROM audit_log WHERE action = 'import' AND entity = 'consumption'")).scalar()
    assert detail == pytest.approx(df["diesel_t"].sum()) and summary == pytest.approx(detail)
    assert audit == 1
    again = import_file(db, "consumption", csv_bytes(df, encoding), "消费.csv", today=TODAY)
    assert again.ok and (again.inserted, again.updated) == (0, 400)  # the same month is replaced, not doubled


def test_clean_customer_file_in_gbk_assigns_codes_and_keeps_leading_zeros(db):
    with db.connect() as conn:
        station = conn.execute(text("SELECT code FROM station ORDER BY code LIMIT 1")).scalar()
    df = pd.DataFrame({"客户名称": ["泰山示例物流有限公司", "0012", "张三"], "客户类型": ["institutional", "personal", "personal"],
                       "客户性质": ["logistics", "private_car", "private_car"], "加油站代码": [station] * 3,
                       "电话": ["05318888666", "0012345678", "13900001111"], "柴油月需求(吨)": ["55", "", "0.5"],
                       "联系人": ["0012", "", ""]})
    report = import_file(db, "customers", csv_bytes(df, "gbk"), "客户.csv", today=TODAY)
    assert report.ok, report.errors
    assert report.inserted == 3
    with db.connect() as conn:
        rows = conn.execute(text("SELECT name, phone, contact, code, computed_tier, tier_rule, size FROM customer "
                                 "WHERE phone IN ('05318888666', '0012345678', '13900001111') ORDER BY phone")).all()
    assert [r.phone for r in rows] == ["0012345678", "05318888666", "13900001111"]
    assert rows[0].name == "0012" and rows[1].contact == "0012"
    assert rows[1].computed_tier == "city" and rows[1].tier_rule == "city.diesel" and rows[1].size == "large"
    from lib.rules import parse_customer_code
    parsed = [parse_customer_code(r.code) for r in rows]
    assert all(p["unit"] == station for p in parsed)
    assert parsed[1]["kind"] == "institutional" and parsed[1]["class_code"] == 10


def test_customer_codes_continue_after_the_highest_number(db):
    from lib.rules import parse_customer_code
    with db.connect() as conn:
        station = conn.execute(text("SELECT code FROM station ORDER BY code LIMIT 1")).scalar()
        top = max(parse_customer_code(c)["seq"] for c in conn.execute(text(
            "SELECT code FROM customer WHERE code LIKE :p"), {"p": f"{station}G21%"}).scalars())
    df = pd.DataFrame({"name": ["甲", "乙"], "kind": "personal", "sub_type": "private_car", "station_code": station})
    assert import_file(db, "customers", csv_bytes(df), "c.csv", today=TODAY).ok
    with db.connect() as conn:
        new = conn.execute(text("SELECT code FROM customer WHERE name IN ('甲', '乙') ORDER BY code")).scalars().all()
    assert [parse_customer_code(c)["seq"] for c in new] == [top + 1, top + 2]


def test_existing_customer_code_updates_that_customer(db):
    with db.connect() as conn:
        row = conn.execute(text("SELECT c.code, c.name, s.code AS station FROM customer c JOIN station s "
                                "ON s.id = c.station_id WHERE c.kind = 'personal' AND c.manager_id IS NULL "
                                "ORDER BY c.code LIMIT 1")).one()
    df = pd.DataFrame({"code": [row.code], "name": ["改名后的客户"], "kind": ["personal"], "sub_type": ["private_car"],
                       "station_code": [row.station], "gasoline_t": ["6"]})
    report = import_file(db, "customers", csv_bytes(df), "c.csv", today=TODAY)
    assert report.ok and (report.inserted, report.updated) == (0, 1)
    with db.connect() as conn:
        name, tier = conn.execute(text("SELECT name, computed_tier FROM customer WHERE code = :c"), {"c": row.code}).one()
    assert (name, tier) == ("改名后的客户", "city")


def test_excel_file_imports_with_text_codes(db):
    df = consumption_frame(db, 50)
    wb = Workbook()
    ws = wb.active
    ws.append(list(df.columns))
    for r in df.itertuples(index=False):
        ws.append(list(r))
    buf = io.BytesIO()
    wb.save(buf)
    report = import_file(db, "consumption", buf.getvalue(), "消费.xlsx", today=TODAY)
    assert report.ok, report.errors
    assert report.inserted == 50


def test_traffic_and_visits_import(db):
    with db.connect() as conn:
        station = conn.execute(text("SELECT code FROM station ORDER BY code LIMIT 1")).scalar()
    traffic = pd.DataFrame({"station_code": station, "day": ["2026-11-01", "2026-11-02"], "passing_car": [5000, 5100],
                            "entering": [600, 610], "fuelled": [550, 560], "transactions": [570, 580],
                            "full_tank": [300, 310], "identified": [200, 210], "returned": [90, 95]})
    report = import_file(db, "traffic", csv_bytes(traffic), "t.csv", today=TODAY)
    assert report.ok, report.errors
    assert report.inserted == 2
    visits = pd.DataFrame({"customer_code": codes(db, 2), "mode": ["phone", "visit"],
                           "planned_on": ["2026-11-25", ""], "done_on": ["", "2026-11-10"], "note": ["", "上门拜访"]})
    before = count(db, "SELECT COUNT(*) FROM visit")
    report = import_file(db, "visits", csv_bytes(visits), "v.csv", today=TODAY)
    assert report.ok, report.errors
    assert count(db, "SELECT COUNT(*) FROM visit") == before + 2


def test_dry_run_reports_counts_and_changes_nothing(db):
    before = snapshot(db)
    report = import_file(db, "consumption", csv_bytes(consumption_frame(db, 300)), "c.csv", dry_run=True, today=TODAY)
    assert report.ok and report.dry_run and report.inserted == 300
    assert snapshot(db) == before


def test_progress_is_reported_up_to_done(db):
    calls = []
    import_file(db, "consumption", csv_bytes(consumption_frame(db, 100)), "c.csv", today=TODAY,
                progress=lambda f, s: calls.append((f, s)))
    fractions = [f for f, _ in calls]
    assert fractions == sorted(fractions) and calls[-1] == (1.0, "done")
    assert {"read", "check", "write"} <= {s for _, s in calls}


# --- one bad row among thousands -------------------------------------------------------------------


@pytest.mark.parametrize("column,value,code", [
    ("diesel_t", "abc", "not_number"),
    ("gasoline_t", "-1", "out_of_range"),
    ("month", "2026-13", "bad_month"),
    ("customer_code", "NOSUCHCODE1", "unknown_customer"),
    ("visits", "2.5", "not_integer"),
], ids=["not-a-number", "negative", "bad-month", "unknown-customer", "fraction"])
def test_one_bad_row_among_thousands_changes_nothing(db, column, value, code):
    df = consumption_frame(db, 5000).astype(object)
    bad = 3210
    df.loc[bad, column] = value
    before = snapshot(db)
    report = import_file(db, "consumption", csv_bytes(df), "c.csv", today=TODAY)
    assert not report.ok
    assert report.inserted == report.updated == 0
    assert [(e.row, e.column, e.code) for e in report.errors] == [(bad + 2, column, code)]
    assert value in report.errors[0].message or code in ("out_of_range",)
    assert snapshot(db) == before


def test_duplicate_rows_within_the_file_are_reported(db):
    df = consumption_frame(db, 30)
    df = pd.concat([df, df.iloc[[4]]], ignore_index=True)
    report = import_file(db, "consumption", csv_bytes(df), "c.csv", today=TODAY)
    assert not report.ok
    assert [(e.row, e.code, e.params["first"]) for e in report.errors] == [(32, "duplicate", 6)]


@pytest.mark.parametrize("column,value", [("entering", 6000), ("fuelled", 700), ("full_tank", 600), ("returned", 250),
                                          ("identified", 900)])
def test_traffic_count_above_100_percent_rejects_the_row(db, column, value):
    with db.connect() as conn:
        station = conn.execute(text("SELECT code FROM station ORDER BY code LIMIT 1")).scalar()
    traffic = pd.DataFrame({"station_code": station, "day": ["2026-11-01", "2026-11-02"], "passing_car": 5000,
                            "entering": 600, "fuelled": 550, "transactions": 570, "full_tank": 300,
                            "identified": 200, "returned": 90})
    traffic.loc[1, column] = value
    before = snapshot(db)
    report = import_file(db, "traffic", csv_bytes(traffic), "t.csv", today=TODAY)
    assert not report.ok
    assert [(e.row, e.column, e.code) for e in report.errors] == [(3, column, "rate_above_100")]
    assert snapshot(db) == before


def test_station_manager_cannot_import_for_another_station(db):
    station = user(db, "station")
    with db.connect() as conn:
        other = conn.execute(text("SELECT code FROM customer WHERE org_path NOT LIKE :s ORDER BY code LIMIT 1"),
                             {"s": station.scope + "%"}).scalar()
    own = codes(db, 3, station.scope)
    assert own and other
    df = pd.DataFrame({"customer_code": own + [other], "month": "2026-11", "diesel_t": 1})
    before = snapshot(db)
    report = import_file(db, "consumption", csv_bytes(df), "c.csv", scope=station.scope, today=TODAY)
    assert [(e.row, e.column, e.code) for e in report.errors] == [(len(own) + 2, "customer_code", "outside_scope")]
    assert snapshot(db) == before


# --- malformed files --------------------------------------------------------------------------------


def _formula_workbook() -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.append(["customer_code", "month", "diesel_t"])
    ws.append(["370102001G210000011", "2026-11", "=1+1"])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


MALFORMED = {
    "undecodable": (b"customer_code,month\n\xff\xfe\xfd\x80abc,2026-11\n", "c.csv", "undecodable"),
    "missing-column": (b"customer_code,diesel_t\nX,1\n", "c.csv", "missing_column"),
    "empty": (b"", "c.csv", "empty"),
    "blank": (b"\xef\xbb\xbf \r\n\r\n", "c.csv", "empty"),
    "header-only": (b"customer_code,month,diesel_t\n", "c.csv", "no_rows"),
    "binary": (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4, "c.csv", "binary"),
    "ragged": (b"customer_code,month\nA,2026-11,1,2,3\n", "c.csv", "parse"),
    "not-a-workbook": (b"PK\x03\x04 this is no zip", "c.xlsx", "unreadable_excel"),
    "csv-named-xlsx": (b"customer_code,month\n", "c.xlsx", "unreadable_excel"),
    "old-xls": (b"\xd0\xcf\x11\xe0" + b"\x00" * 100, "c.xls", "bad_format"),
    "formulas": (_formula_workbook(), "c.xlsx", "formulas"),
}


@pytest.mark.parametrize("case", list(MALFORMED), ids=list(MALFORMED))
def test_malformed_files_get_a_clear_message_and_change_nothing(db, case):
    data, name, code = MALFORMED[case]
    before = snapshot(db)
    report = import_file(db, "consumption", data, name, today=TODAY)
    assert not report.ok
    assert [e.code for e in report.errors] == [code]
    assert report.errors[0].message and "{" not in report.errors[0].message
    assert snapshot(db) == before
    if code == "formulas":
        assert report.errors[0].params["cell"] == "C2"
    if code == "missing_column":
        assert report.errors[0].column == "month" and report.errors[0].row == 1


def test_huge_file_is_refused_before_reading(db, monkeypatch):
    monkeypatch.setattr(importer, "limits", lambda: {"max_bytes": 10_000, "max_rows": 100})
    data = csv_bytes(consumption_frame(db, 600))
    assert len(data) > 10_000
    before = snapshot(db)
    report = import_file(db, "consumption", data, "c.csv", today=TODAY)
    assert [e.code for e in report.errors] == ["too_large"] and not report.ok
    assert snapshot(db) == before


def test_too_many_rows_is_refused(db, monkeypatch):
    monkeypatch.setattr(importer, "limits", lambda: {"max_bytes": 10**9, "max_rows": 100})
    report = import_file(db, "consumption", csv_bytes(consumption_frame(db, 150)), "c.csv", today=TODAY)
    assert [e.code for e in report.errors] == ["too_many_rows"]


def test_unknown_kind_is_a_report_not_an_exception(db):
    report = import_file(db, "shops", b"a,b\n1,2\n", "x.csv")
    assert not report.ok and report.errors[0].code == "unknown_kind"


# --- grids (GeoJSON) --------------------------------------------------------------------------------


def _district_grids(engine):
    with engine.connect() as conn:
        district = conn.execute(text("SELECT u.parent_id FROM station s JOIN org_unit u ON u.id = s.org_unit_id "
                                     "ORDER BY s.code LIMIT 1")).scalar()
        rows = conn.execute(text(
            "SELECT g.code, g.name, s.code AS station, g.geometry FROM grid g JOIN station s ON s.id = g.station_id "
            "JOIN org_unit u ON u.id = s.org_unit_id WHERE u.parent_id = :d ORDER BY g.code"), {"d": district}).all()
    return [{"type": "Feature", "properties": {"code": r.code, "name": r.name + "(新)", "station_code": r.station,
                                               "owner_name": "测试"}, "geometry": json.loads(r.geometry)} for r in rows]


def test_grids_that_keep_the_partition_are_saved(db):
    feats = _district_grids(db)
    report = import_file(db, "grids", json.dumps({"type": "FeatureCollection", "features": feats}).encode(),
                         "grids.geojson")
    assert report.ok, report.errors
    assert report.updated == len(feats) and report.inserted == 0
    assert count(db, "SELECT COUNT(*) FROM grid WHERE name LIKE '%(新)'") == len(feats)


def test_grids_that_break_the_partition_change_nothing(db):
    from shapely.affinity import translate
    from shapely.geometry import mapping, shape

    feats = _district_grids(db)
    moved = translate(shape(feats[0]["geometry"]), xoff=0.01)  # overlaps a neighbour, leaves a gap
    feats[0]["geometry"] = mapping(moved)
    before = snapshot(db)
    report = import_file(db, "grids", json.dumps({"type": "FeatureCollection", "features": feats}).encode(),
                         "grids.geojson")
    assert not report.ok
    assert {"overlap", "gap"} <= {e.code for e in report.errors}
    assert any(e.row == 1 for e in report.errors if e.code == "overlap")
    assert snapshot(db) == before


@pytest.mark.parametrize("payload,code", [
    (b'{"type": "Feature"}', "bad_geojson"), (b"not json at all", "bad_geojson"),
    (b'{"type": "FeatureCollection", "features": []}', "no_rows"),
    (json.dumps({"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {
        "code": "G1", "name": "x", "station_code": "nosuch"}, "geometry": {"type": "Point", "coordinates": [1, 2]}}]}
     ).encode(), "bad_geometry"),
], ids=["feature", "text", "no-features", "point"])
def test_bad_geojson_is_reported(db, payload, code):
    report = import_file(db, "grids", payload, "g.geojson")
    assert not report.ok and code in {e.code for e in report.errors}


# --- templates ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", [k for k in importer.KINDS if k != "grids"])
@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_templates_have_every_column_and_read_back_as_header_only(db, kind, fmt):
    data = importer.template(kind, fmt, "zh")
    frame = importer.read_table(data, f"t.{fmt}")
    assert list(frame.columns) == [zh for _, zh, _ in importer.COLUMNS[kind]]
    report = import_file(db, kind, data, f"t.{fmt}")
    assert [e.code for e in report.errors] == ["no_rows"]


def test_grid_template_is_a_feature_collection():
    obj = json.loads(importer.template("grids"))
    assert obj["type"] == "FeatureCollection" and obj["features"][0]["geometry"]["type"] == "Polygon"


# --- property-based row checks -------------------------------------------------------------------------

TEXT = st.one_of(st.text(max_size=12), st.from_regex(r"-?\d{1,6}(\.\d{1,4})?", fullmatch=True),
                 st.sampled_from(["", "nan", "inf", "1e5", "1,234.5", " 7 ", "０", "--1"]))


@given(st.lists(TEXT, min_size=1, max_size=40))
@settings(max_examples=150, deadline=None)
def test_number_check_accepts_only_finite_values_in_range(values):
    df = pd.DataFrame({"x": pd.Series([str(v).strip() for v in values], dtype=object)})
    ck = Checker(df)
    num = ck.number("x", lo=0, hi=1000)
    flagged = {e.row - 2 for e in ck.errors}
    for i in range(len(df)):
        if i in flagged:
            assert all(e.column == "x" for e in ck.errors if e.row - 2 == i)
        else:
            assert np.isfinite(num.iloc[i]) and 0 <= num.iloc[i] <= 1000
    assert ck.bad.sum() == len(flagged)


@given(st.lists(st.one_of(st.from_regex(r"\d{4}-\d{1,2}", fullmatch=True), st.text(max_size=8)), min_size=1,
                max_size=30))
@settings(max_examples=150, deadline=None)
def test_month_check_gives_valid_months_or_an_error(values):
    df = pd.DataFrame({"m": pd.Series([v.strip() for v in values], dtype=object)})
    ck = Checker(df)
    months = ck.month("m", required=True)
    flagged = {e.row - 2 for e in ck.errors}
    for i, m in enumerate(months):
        if i not in flagged:
            assert len(m) == 7 and m[4] == "-" and 1 <= int(m[5:]) <= 12


COUNTS = st.integers(min_value=0, max_value=2000)


@given(st.lists(st.tuples(COUNTS, COUNTS, COUNTS, COUNTS, COUNTS, COUNTS, COUNTS), min_size=1, max_size=25))
@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_accepted_traffic_rows_never_have_a_rate_above_100_percent(rows):
    stations = pd.DataFrame({"code": ["S1"], "id": [1], "org_path": ["/1/"], "org_unit_id": [1],
                             "district_id": [1]}).set_index("code")
    ctx = Context("/1/", TODAY, stations, pd.DataFrame(columns=["code", "id", "station_id"]),
                  pd.DataFrame(columns=["org_unit_id"]))
    df = pd.DataFrame([{"station_code": "S1", "day": (dt.date(2026, 1, 1) + dt.timedelta(days=i)).isoformat(),
                        "passing_car": str(a), "passing_medium": "", "passing_truck": "", "passing_bus": "",
                        "entering": str(b), "fuelled": str(c), "transactions": str(d), "full_tank": str(e),
                        "identified": str(f), "returned": str(g), "peak_nozzle_lifts": "", "sampling": ""}
                       for i, (a, b, c, d, e, f, g) in enumerate(rows)], dtype=object)
    out, ck = check_frame("traffic", df, ctx)
    ok = ~ck.bad
    good = out[ok]
    assert (good["entering"] <= good["passing"]).all() and (good["fuelled"] <= good["entering"]).all()
    assert (good["full_tank"] <= good["transactions"]).all() and (good["returned"] <= good["identified"]).all()
    expected_bad = [(b > a) or (c > b) or (e > d) or (g > f) or (f > c) for a, b, c, d, e, f, g in rows]
    assert list(ck.bad) == expected_bad


@given(st.lists(st.from_regex(r"0[0-9]{1,11}", fullmatch=True), min_size=1, max_size=20))
@settings(max_examples=60, deadline=None)
def test_codes_and_phones_stay_text(values):
    for enc in ("utf-8-sig", "gbk"):
        data = ("客户代码,电话\n" + "".join(f"{v},{v}\n" for v in values)).encode(enc)
        frame = importer.read_table(data, "x.csv")
        assert frame["客户代码"].tolist() == values and frame["电话"].tolist() == values


# --- throughput (a demo database this test may write into: GRIDCRM_BENCH_IMPORT_DB=sqlite:////tmp/x.db) ---

BENCH_DB = __import__("os").environ.get("GRIDCRM_BENCH_IMPORT_DB")


@pytest.mark.skipif(not BENCH_DB, reason="set GRIDCRM_BENCH_IMPORT_DB to a demo database the benchmark may change")
def test_validated_import_throughput():
    import time

    from lib.db import make_engine

    engine = make_engine(BENCH_DB)
    with engine.connect() as conn:
        cs = conn.execute(text("SELECT code FROM customer WHERE status = 'existing' ORDER BY code LIMIT 25000")).scalars().all()
        stations = conn.execute(text("SELECT code FROM station ORDER BY code")).scalars().all()
    rng = np.random.default_rng(3)
    months = ["2026-06", "2026-07", "2026-08", "2026-09", "2026-10"]
    cons = pd.DataFrame({"customer_code": [c for m in months for c in cs], "month": [m for m in months for _ in cs]})
    cons["gasoline_t"] = rng.uniform(0, 2, len(cons)).round(3)
    cons["diesel_t"] = rng.uniform(0, 5, len(cons)).round(3)
    cons["card_cny"], cons["visits"] = 500, 4
    n = 20_000
    cust = pd.DataFrame({"name": [f"压测客户{i}" for i in range(n)], "kind": "personal", "sub_type": "private_car",
                         "station_code": [stations[i % len(stations)] for i in range(n)],
                         "phone": [f"1390{i:07d}" for i in range(n)], "gasoline_t": "0.2"})
    days = pd.date_range("2026-01-01", periods=60).strftime("%Y-%m-%d")
    traffic = pd.DataFrame([{"station_code": s, "day": d, "passing_car": 5000, "entering": 600, "fuelled": 560,
                             "transactions": 580, "full_tank": 320, "identified": 200, "returned": 90}
                            for s in stations for d in days])
    results = {}
    for kind, frame, enc in (("consumption", cons, "gbk"), ("customers", cust, "utf-8-sig"), ("traffic", traffic, "utf-8")):
        data = frame.to_csv(index=False).encode(enc)
        t0 = time.perf_counter()
        report = import_file(engine, kind, data, f"{kind}.csv", today=TODAY)
        seconds = time.perf_counter() - t0
        assert report.ok, report.errors[:3]
        results[kind] = (len(frame), len(frame) / seconds)
    print("validated import:", ", ".join(f"{k} {n:,} rows at {r:,.0f} rows/s" for k, (n, r) in results.items()))
    assert results["consumption"][1] >= 20_000


def test_errors_name_the_column_as_the_file_wrote_it(db):
    df = consumption_frame(db, 20).astype(object).rename(columns={"customer_code": "客户代码", "diesel_t": "柴油(吨)"})
    df.loc[7, "柴油(吨)"] = "三吨"
    report = import_file(db, "consumption", csv_bytes(df, "gbk"), "c.csv", today=TODAY)
    assert [(e.row, e.column, e.code, e.params["value"]) for e in report.errors] == [(9, "柴油(吨)", "not_number", "三吨")]
