"""Surveys 调查 (issue 15 point 4; 002 §6.5.1 潜在客户普查 July/December, appendix 2; §6.5.2 专项调查):
lib.surveys, the surveys import and pages/surveys.py. Status per station and district against plain
SQL + Python; bad input refused naming the field and row, by the form and the import alike, with no
table changed; the page and the import write the same rows; rights (station managers for their own
station only, read-only roles refused)."""
from __future__ import annotations

import datetime as dt
import json
from collections import Counter

import pandas as pd
import pytest
from _import_as import import_file
from _work_db import count, db, small_url, user  # noqa: F401 (fixtures)
from apptest_helpers import T, open_page, submit, survey_states
from sqlalchemy import text

from lib import export, importer, surveys
from lib.tiers import NotAllowed
from lib.validation import ValidationError

TODAY = dt.date.today()
MONTH = "2026-10"
TABLES = ("survey_submission", "special_survey", "audit_log")


def snapshot(engine) -> dict:
    return {t: count(engine, f"SELECT COUNT(*) FROM {t}") for t in TABLES}


def unit_of(engine, code: str) -> int:
    with engine.connect() as conn:
        return conn.execute(text("SELECT id FROM org_unit WHERE code = :c"), {"c": code}).scalar_one()


def codes(engine, login: str) -> dict:
    """The station of `login` (a station manager), another station of its district, a station of
    another city, its district."""
    me = user(engine, login)
    with engine.connect() as conn:
        q = lambda sql, **p: conn.execute(text(sql), p).scalar()  # noqa: E731
        own = q("SELECT code FROM org_unit WHERE path = :p", p=me.scope)
        district = me.scope[:me.scope.rstrip("/").rfind("/") + 1]
        city = district[:district.rstrip("/").rfind("/") + 1]
        return {"own": own, "district": q("SELECT code FROM org_unit WHERE path = :p", p=district),
                "sibling": q("SELECT code FROM org_unit WHERE level = 'station' AND path LIKE :d AND path <> :p "
                             "ORDER BY path LIMIT 1", d=district + "%", p=me.scope),
                "far": q("SELECT code FROM org_unit WHERE level = 'station' AND path NOT LIKE :c ORDER BY path LIMIT 1",
                         c=city + "%")}


# --- periods and status 调查期与报送情况 ------------------------------------------------------------------


@pytest.mark.parametrize("month,period,following", [
    ("2026-01", "2025-12", "2026-07"), ("2026-06", "2025-12", "2026-07"), ("2026-07", "2026-07", "2026-12"),
    ("2026-10", "2026-07", "2026-12"), ("2026-12", "2026-12", "2027-07"),
])
def test_survey_periods_are_july_and_december(month, period, following):
    assert surveys.survey_period(month) == period
    assert surveys.next_survey_period(month) == following


@pytest.mark.parametrize("day,periods", [
    (dt.date(2026, 12, 2), ["2026-12", "2026-07", "2025-12", "2025-07"]),
    (dt.date(2026, 7, 1), ["2026-07", "2025-12", "2025-07", "2024-12"]),
    (dt.date(2026, 6, 30), ["2025-12", "2025-07", "2024-12", "2024-07"]),
])
def test_the_form_offers_the_periods_begun(day, periods):
    assert surveys.recent_periods(day) == periods


def test_survey_status_against_independent_sql(engine):
    status = surveys.survey_status(engine, "/37/", MONTH)
    expected = survey_states(engine, "/", "2026-07", "2026-10-31", pending=False)
    assert dict(zip(status["station_unit_id"], status["status"])) == {k: v[1] for k, v in expected.items()}
    assert {"missing", "late", "on_time"} <= set(status["status"])
    assert list(status["status"])[0] == "missing"  # the stations to chase first
    assert (status["due_on"] == dt.date(2026, 7, 31)).all()


def test_survey_due_this_month_is_pending_not_missing(engine):
    status = surveys.survey_status(engine, "/37/", "2026-07")
    assert "missing" not in set(status["status"]) and "pending" in set(status["status"])


@pytest.mark.parametrize("month,period,month_end", [(MONTH, "2026-07", "2026-10-31"), ("2026-07", "2026-07", "2026-07-31"),
                                                     ("2026-03", "2025-12", "2026-03-31")])
@pytest.mark.parametrize("level", ["province", "city", "district"])
def test_district_status_equals_an_independent_count(engine, month, period, month_end, level):
    with engine.connect() as conn:
        scope = conn.execute(text("SELECT path FROM org_unit WHERE level = :l ORDER BY path LIMIT 1"),
                             {"l": level}).scalar()
    expected = survey_states(engine, scope, period, month_end, pending=period == month)
    per_district = Counter((d, s) for d, s in expected.values())
    got = surveys.district_status(engine, scope, month)
    assert len(got) == len({d for d, _ in expected.values()}) > 0
    for r in got.to_dict("records"):
        d = r["district_id"]
        assert (r["on_time"], r["reported_late"], r["missing"], r["pending"]) == tuple(
            per_district[(d, s)] for s in ("on_time", "late", "missing", "pending"))
        assert r["stations"] == sum(1 for dd, _ in expected.values() if dd == d) and r["period"] == period


def test_potential_customers_are_potential_or_competitors_in_scope(engine):
    with engine.connect() as conn:
        scope = conn.execute(text("SELECT path FROM org_unit WHERE level = 'district' ORDER BY path LIMIT 1")).scalar()
        n = conn.execute(text("SELECT COUNT(*) FROM customer WHERE org_path LIKE :s AND status IN "
                              "('potential', 'competitor')"), {"s": scope + "%"}).scalar()
    pot = surveys.potential_customers(engine, scope)
    assert len(pot) == n > 0 and set(pot["status"]) <= {"potential", "competitor"}


# --- one check for the form and the import 表单与导入同一校验 ----------------------------------------------

PERIOD = "2024-12"  # before the small demo's history (2025-09 to 2026-10): no survey recorded yet
FUTURE = (TODAY + dt.timedelta(days=3)).isoformat()


def base(kind: str, c: dict) -> dict:
    if kind == "periodic":
        return {"survey_type": "periodic", "station_code": c["own"], "period": PERIOD, "submitted_on": "2024-12-20",
                "potential_customers": "5", "note": "走访", "n_mall": "2", "n_school": "1"}
    return {"survey_type": "special", "org_code": c["own"], "topic": "冬季物流车队", "target_group": "物流企业",
            "started_on": "2026-11-02", "ended_on": "2026-11-06", "potential_customers": "3", "n_enterprise": "4"}


def call_form(engine, actor, cells: dict):
    """The form's lib call with the values of a file row (numbers and dates as the widgets give them)."""
    objects = {k[2:]: int(v) for k, v in cells.items() if k.startswith("n_")}
    day = lambda k: dt.date.fromisoformat(cells[k]) if cells.get(k) else None  # noqa: E731
    if cells["survey_type"] == "periodic":
        return surveys.record_survey(engine, actor, unit_of(engine, cells["station_code"]), cells["period"],
                                     int(cells["potential_customers"]), cells["note"], day("submitted_on"),
                                     objects=objects)
    return surveys.record_special_survey(engine, actor, unit_of(engine, cells["org_code"]), topic=cells["topic"],
                                         group=cells["target_group"], objects=objects, started_on=day("started_on"),
                                         ended_on=day("ended_on"), customers_found=int(cells["potential_customers"]))


# (id, survey type, change to the row, column named, code, through: form / file / both)
BAD = [
    ("periodic future date", "periodic", {"submitted_on": FUTURE}, "submitted_on", "future_date", "both"),
    ("periodic not July/December", "periodic", {"period": "2024-11"}, "period", "bad_period", "both"),
    ("periodic negative count", "periodic", {"potential_customers": "-1"}, "potential_customers", "out_of_range", "both"),
    ("periodic negative object count", "periodic", {"n_mall": "-2"}, "n_mall", "out_of_range", "both"),
    ("periodic unknown object type", "periodic", {"n_moon": "1"}, "objects", "bad_choice", "form"),
    ("periodic outside scope", "periodic", {"station_code": "far"}, "station_code", "outside_scope", "file"),
    ("periodic outside scope (form)", "periodic", {"station_code": "far"}, "unit", "outside_scope", "form"),
    ("periodic other station", "periodic", {"station_code": "sibling"}, "unit", "outside_scope", "form"),
    ("periodic no period", "periodic", {"period": ""}, "period", "required", "file"),
    ("special future end", "special", {"ended_on": FUTURE}, "ended_on", "future_date", "both"),
    ("special ends before start", "special", {"ended_on": "2026-11-01"}, "ended_on", "ends_before_start", "both"),
    ("special no object", "special", {"n_enterprise": "0"}, "objects", "objects_required", "both"),
    ("special unknown object type", "special", {"n_moon": "1"}, "objects", "bad_choice", "form"),
    ("special negative count", "special", {"potential_customers": "-4"}, "potential_customers", "out_of_range", "both"),
    ("special no topic", "special", {"topic": ""}, "topic", "required", "both"),
    ("special no group", "special", {"target_group": ""}, "target_group", "required", "both"),
    ("special outside scope", "special", {"org_code": "far"}, "org_code", "outside_scope", "file"),
    ("special district above the station", "special", {"org_code": "district"}, "unit", "outside_scope", "form"),
]


def _row(kind, change, c):
    row = base(kind, c) | change
    return {k: c.get(v, v) if k in ("station_code", "org_code") else v for k, v in row.items()}


@pytest.mark.parametrize("case,kind,change,column,code,through", [b for b in BAD if b[-1] != "file"],
                         ids=[b[0] for b in BAD if b[-1] != "file"])
def test_the_form_refuses_bad_input_naming_the_field(db, case, kind, change, column, code, through):
    c = codes(db, "station")
    before = snapshot(db)
    with pytest.raises(ValidationError) as err:
        call_form(db, user(db, "station"), _row(kind, change, c))
    assert (err.value.errors[0].column, err.value.errors[0].code) == (column, code)
    assert snapshot(db) == before


@pytest.mark.parametrize("case,kind,change,column,code,through", [b for b in BAD if b[-1] != "form"],
                         ids=[b[0] for b in BAD if b[-1] != "form"])
def test_the_import_refuses_bad_input_naming_row_and_column(db, case, kind, change, column, code, through):
    c = codes(db, "station")
    good = _row(kind, {}, c) | {"topic": "另一个专项", "period": "2024-07", "submitted_on": "2024-07-20"}
    before = snapshot(db)
    report = import_file(db, "surveys", _csv([good, _row(kind, change, c)]), "surveys.csv", user=user(db, "station"))
    assert not report.ok
    assert (report.errors[0].row, report.errors[0].column, report.errors[0].code) == (3, column, code)
    assert snapshot(db) == before  # all or nothing: the good row is not written either


def _csv(rows: list[dict]) -> bytes:
    return pd.DataFrame(rows).fillna("").to_csv(index=False).encode("utf-8")


# --- rights 权限 ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("login,allowed", [("station", True), ("area", True), ("city", True), ("admin", True),
                                           ("viewer", False), ("custmgr", False)])
@pytest.mark.parametrize("kind", ["periodic", "special"])
def test_who_may_record_a_survey(db, login, allowed, kind):
    c = codes(db, "station")
    before = snapshot(db)
    if allowed:
        call_form(db, user(db, login), _row(kind, {}, c))
        assert snapshot(db)[kind == "periodic" and "survey_submission" or "special_survey"] == before[
            kind == "periodic" and "survey_submission" or "special_survey"] + 1
        return
    with pytest.raises(NotAllowed):
        call_form(db, user(db, login), _row(kind, {}, c))
    report = import_file(db, "surveys", _csv([_row(kind, {}, c)]), "surveys.csv", user=user(db, login))
    assert not report.ok and report.errors[0].code == "not_allowed"
    assert snapshot(db) == before


def test_a_survey_is_recorded_once_and_counts_on_time(db):
    station = user(db, "station")
    unit = unit_of(db, codes(db, "station")["own"])
    surveys.record_survey(db, station, unit, PERIOD, 7, submitted_on=dt.date(2024, 12, 20), objects={"mall": 3})
    with pytest.raises(ValidationError) as err:
        surveys.record_survey(db, station, unit, PERIOD, 8, submitted_on=dt.date(2024, 12, 21))
    assert err.value.errors[0].code == "already_recorded"
    row = surveys.survey_status(db, station.scope, "2025-01").iloc[0]
    assert row["status"] == "on_time" and row["potential_customers"] == 7
    shown = surveys.recorded(db, station.scope)
    first = shown[shown["period"] == PERIOD].iloc[0]
    assert (first["n_mall"], first["recorded_by"], first["survey_type"]) == (3, "station", "periodic")


# --- the page and the import give the same rows 页面与导入写入相同的行 -------------------------------------------


def _stored(engine, kind: str) -> list[dict]:
    table, drop = ("survey_submission", {"id"}) if kind == "periodic" else ("special_survey", {"id", "recorded_at"})
    with engine.connect() as conn:
        rows = [dict(r) for r in conn.execute(text(f"SELECT * FROM {table} WHERE note LIKE 'same-%'")).mappings()]
    for r in rows:
        r["objects"] = json.loads(r["objects"]) if isinstance(r["objects"], str) else r["objects"]
        r.update({k: str(v)[:10] for k, v in r.items() if "_on" in k})
    return [{k: v for k, v in r.items() if k not in drop} for r in rows]


def _fill(at, prefix: str, values: dict) -> None:
    for key, value in values.items():
        for kind in ("selectbox", "date_input", "number_input", "text_input", "text_area"):
            found = [w for w in getattr(at, kind) if w.key == f"{prefix}_{key}"]
            if found:
                found[0].set_value(value)
                break
        else:
            raise AssertionError(f"no widget {prefix}_{key}")


@pytest.mark.parametrize("kind", ["periodic", "special"])
def test_page_and_import_write_the_same_rows(db, monkeypatch, kind):
    monkeypatch.setenv("DATABASE_URL", db.url.render_as_string(hide_password=False))
    c = codes(db, "station")
    period, day = surveys.recent_periods(TODAY)[0], TODAY - dt.timedelta(days=1)
    with db.begin() as conn:  # the period may hold a demo survey of this station: the page records it anew
        conn.execute(text("DELETE FROM survey_submission WHERE org_unit_id = :u AND period = :p"),
                     {"u": unit_of(db, c["own"]), "p": period})
    at = open_page("pages/surveys.py", login="station")
    if kind == "periodic":
        _fill(at, "survey_p", {"period": period, "day": day, "found": 6, "note": "same-p", "obj_enterprise": 3,
                               "obj_town": 2})
        at = submit(at, T("surveys.save_periodic"))
        cells = {"station_code": c["own"], "period": period, "submitted_on": day.isoformat(), "potential_customers": 6,
                 "note": "same-p", "n_enterprise": 3, "n_town": 2}
    else:
        _fill(at, "survey_s", {"topic": "冬季物流车队", "group": "物流企业", "start": day - dt.timedelta(days=5),
                               "end": day, "found": 2, "note": "same-s", "obj_business_district": 4})
        at = submit(at, T("surveys.save_special"))
        cells = {"survey_type": "special", "org_code": c["own"], "topic": "冬季物流车队", "target_group": "物流企业",
                 "started_on": (day - dt.timedelta(days=5)).isoformat(), "ended_on": day.isoformat(),
                 "potential_customers": 2, "note": "same-s", "n_business_district": 4}
    assert not at.exception and not at.error, [e.value for e in at.error]
    from_page = _stored(db, kind)
    assert len(from_page) == 1 and from_page[0]["objects"]
    with db.begin() as conn:
        conn.execute(text(f"DELETE FROM {'survey_submission' if kind == 'periodic' else 'special_survey'} "
                          "WHERE note LIKE 'same-%'"))
    report = import_file(db, "surveys", _csv([cells]), "surveys.csv", user=user(db, "station"))
    assert report.ok, [e.message for e in report.errors]
    assert _stored(db, kind) == from_page
    again = import_file(db, "surveys", _csv([cells]), "surveys.csv", user=user(db, "station"))
    assert again.ok and _stored(db, kind) == from_page  # the same row given again is skipped, not doubled


@pytest.mark.parametrize("lang,fmt_", [("zh", "csv"), ("en", "xlsx")])
def test_a_downloaded_surveys_file_goes_back_in_unchanged(db, lang, fmt_):
    c = codes(db, "station")
    call_form(db, user(db, "station"), _row("special", {}, c))
    call_form(db, user(db, "station"), _row("periodic", {}, c))
    city = user(db, "city")
    frame = export.import_frame(db, "surveys", city.scope, lang)
    assert len(frame) == count(db, "SELECT COUNT(*) FROM survey_submission WHERE org_path LIKE :s", s=city.scope + "%") \
        + count(db, "SELECT COUNT(*) FROM special_survey WHERE org_path LIKE :s", s=city.scope + "%")
    data = (export.import_csv if fmt_ == "csv" else export.import_xlsx)(db, "surveys", city.scope, lang)
    before = snapshot(db)
    report = import_file(db, "surveys", data, f"surveys.{fmt_}", user=city)
    assert report.ok, [e.message for e in report.errors[:3]]
    assert {k: v for k, v in snapshot(db).items() if k != "audit_log"} == {
        k: v for k, v in before.items() if k != "audit_log"}  # every row as recorded: skipped


def test_the_import_kind_needs_surveys_record():
    assert importer.people.ACTIONS["surveys"] == "surveys.record"
