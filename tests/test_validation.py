"""One customer spec (issue 12): the form (lib.customers.validate, create) and the import
(lib.importer.check_frame, import_file) accept and refuse exactly the same values for every customer
field, with the same error code, and the codes read as Chinese in the zh catalog."""
from __future__ import annotations

import datetime as dt
import re

import pandas as pd
import pytest
from _work_db import db, small_url, user  # noqa: F401 (fixtures)
from sqlalchemy import text

from lib import customers, importer, rules, validation
from lib.i18n import catalog, translator
from lib.importer import Context, check_frame
from lib.validation import CODES, Issue, ValidationError

TODAY = dt.date(2026, 11, 20)
BASE = {"name": "测试新客户", "kind": "personal", "sub_type": "private_car", "phone": "13712345678",
        "gasoline_t": "0.3"}
# references are resolved against the database by each path (station_id on the form, station_code in a file)
REFERENCE_CODES = {"unknown_station", "unknown_grid", "unknown_manager", "outside_scope", "unknown_customer"}


def _valid_credit_code() -> str:
    head = "91370102MA3C4XYM0"
    return next(head + c for c in "0123456789ABCDEFGHJKLMNPQRTUWXY" if customers.credit_code_ok(head + c))


# (field changes, the code expected on `field`, or None when both accept) — one row per accepted
# format and per reason to refuse; `field` is the first key of the changes.
CASES = [
    ({"name": ""}, "required"), ({"name": "甲" * 200}, None), ({"name": "甲" * 201}, "too_long"),
    ({"kind": ""}, "required"), ({"kind": "company"}, "bad_choice"), ({"kind": "institutional", "sub_type": "mining"}, None),
    ({"sub_type": "spaceship"}, "bad_choice"), ({"sub_type": ""}, None), ({"sub_type": "mining"}, "bad_choice"),
    ({"phone": "12ab"}, "bad_phone"), ({"phone": "0531-8888 6666"}, None), ({"phone": "+8613712345678"}, None),
    ({"phone": "1234"}, "bad_phone"),
    ({"credit_code": "91370102ABC"}, "bad_credit_code"), ({"credit_code": _valid_credit_code()}, None),
    ({"credit_code": _valid_credit_code().lower()}, None), ({"credit_code": _valid_credit_code()[:-1] + "#"}, "bad_credit_code"),
    ({"contact": "张" * 50}, None), ({"contact": "张" * 51}, "too_long"),
    ({"fuel": "kerosene"}, "bad_choice"), ({"fuel": "diesel"}, None), ({"fuel": ""}, None),
    ({"fuel_segment": "x" * 31}, "too_long"), ({"industry": "x" * 31}, "too_long"),
    ({"payment": "barter"}, "bad_choice"), ({"payment": "fuel_card"}, None),
    ({"status": "gone"}, "bad_choice"), ({"status": "potential"}, None),
    ({"value_class": "7"}, "out_of_range"), ({"value_class": "2.5"}, "not_integer"), ({"value_class": "x"}, "not_number"),
    ({"value_class": "2"}, None), ({"value_class": ""}, None),
    ({"loyalty": "fickle"}, "bad_choice"), ({"loyalty": "fixed"}, None),
    ({"gasoline_t": "-1"}, "out_of_range"), ({"gasoline_t": "lots"}, "not_number"), ({"gasoline_t": "nan"}, "not_number"),
    ({"gasoline_t": "inf"}, "not_number"), ({"gasoline_t": "1,234.5"}, None), ({"gasoline_t": " 7 "}, None),
    ({"diesel_t": "100001"}, "out_of_range"), ({"card_cny": "1e11"}, "out_of_range"), ({"card_cny": "120000"}, None),
    ({"agreement": "village"}, "bad_choice"), ({"agreement": "city"}, None),
    ({"province_procurement": "maybe"}, "bad_choice"), ({"province_procurement": "是"}, None),
    ({"province_procurement": "YES"}, None), ({"stable": "2"}, "bad_choice"), ({"stable": "否"}, None),
    ({"stable": "True"}, None),
    ({"developed_month": "2026-01"}, None), ({"developed_month": "2026/01"}, None), ({"developed_month": "202601"}, None),
    ({"developed_month": "2026-1"}, None), ({"developed_month": "2026-01-15"}, None),
    ({"developed_month": "2026-13"}, "bad_month"), ({"developed_month": "Jan 2026"}, "bad_month"),
    ({"developed_month": "2026-12"}, "future_month"), ({"developed_month": "2026-11"}, None),
    ({"lost_month": "", "status": "lost"}, "lost_month_required"), ({"lost_month": "2026/03", "status": "lost"}, None),
    ({"lost_month": "2025-01", "developed_month": "2025-06"}, "lost_before_developed"),
    ({"lost_month": "2026/13"}, "bad_month"),
    ({"lost_reason": "原" * 101}, "too_long"), ({"competitor": "对" * 51}, "too_long"),
    ({"lon": "200", "lat": "36"}, "out_of_range"), ({"lon": "117", "lat": ""}, "lon_lat"),
    ({"lon": "东经", "lat": "36"}, "not_number"), ({"lon": "117.02", "lat": "36.6"}, None),
    ({"lat": "99", "lon": "117"}, "out_of_range"),
    ({"manager_id": "abc"}, "not_number"),
]




def _generic_cases(f: validation.Field) -> list:
    """Cases for an extension field 扩展字段 (stored="extra") made from its spec row: its checks are the
    generic ones of its `Field.check`, so adding one needs no hand-written case here."""
    k = f.key
    return {
        "text": [({k: "x" * f.max_len}, None), ({k: "x" * (f.max_len + 1)}, "too_long")],
        "number": [({k: "abc"}, "not_number"), ({k: f"{f.hi * 10 + 1:g}"}, "out_of_range")],
        "integer": [({k: "abc"}, "not_number"), ({k: f"{f.hi * 10 + 1:g}"}, "out_of_range")],
        "choice": [({k: "no-such-value"}, "bad_choice")] + [({k: o}, None) for o in f.options[:1]],
        "flag": [({k: "maybe"}, "bad_choice"), ({k: "是"}, None)],
        "month": [({k: "2026-13"}, "bad_month"), ({k: "2026/01"}, None)],
        "date": [({k: "2026-02-30"}, "bad_date"), ({k: "2026/01/15"}, None)],
    }.get(f.check, [])


CASES += [case for f in customers.FIELDS if f.stored == "extra" and f.form and f.file for case in _generic_cases(f)]


def _ids(case):
    changes, code = case
    return f"{next(iter(changes))}={list(changes.values())[0]!r}->{code or 'ok'}"


def _context() -> Context:
    stations = pd.DataFrame({"code": ["S1"], "id": [1], "org_path": ["/1/"], "org_unit_id": [1],
                             "district_id": [0]}).set_index("code")
    return Context("/", TODAY, stations, pd.DataFrame({"code": ["G1"], "id": [1], "station_id": [1]}),
                   pd.DataFrame({"id": [], "org_unit_id": []}).set_index("id"))


def form_codes(data: dict) -> set[tuple[str, str]]:
    """(field, code) of every issue the form path finds (no database: references aside)."""
    try:
        customers.validate(data | {"station_id": 1}, TODAY)
    except ValidationError as exc:
        return {(e.column, e.code) for e in exc.errors}
    return set()


def import_codes(data: dict) -> set[tuple[str, str]]:
    """(field, code) of every issue the import finds in a one-row file of the same values."""
    df = pd.DataFrame([{k: "" for k, _, _ in importer.COLUMNS["customers"]} | data | {"station_code": "S1"}],
                      dtype=object)
    _, ck = check_frame("customers", df, _context())
    return {(e.column, e.code) for e in ck.errors if e.code not in REFERENCE_CODES}


@pytest.mark.parametrize("case", CASES, ids=[_ids(c) for c in CASES])
def test_form_and_import_accept_and_refuse_the_same_values(case):
    changes, code = case
    data = BASE | changes
    field = next(iter(changes))
    expected = set() if code is None else {(field, code)}
    assert form_codes(data) == expected
    assert import_codes(data) == expected


def test_every_shared_customer_field_has_a_case():
    shared = {f.key for f in customers.FIELDS if f.form and f.file}
    covered = {next(iter(changes)) for changes, _ in CASES}
    assert shared - covered == set()


@pytest.mark.parametrize("value,stored", [("2026-01", "2026-01"), ("2026/01", "2026-01"), ("202601", "2026-01"),
                                          ("2026-1", "2026-01"), ("2026-01-15", "2026-01")])
def test_form_and_import_store_the_same_month(value, stored):
    row = customers.validate(BASE | {"station_id": 1, "developed_month": value}, TODAY)
    df = pd.DataFrame([{k: "" for k, _, _ in importer.COLUMNS["customers"]} | BASE
                       | {"station_code": "S1", "developed_month": value}], dtype=object)
    out, ck = check_frame("customers", df, _context())
    assert not ck.errors
    assert row["developed_month"] == out.at[0, "developed_month"] == stored


def test_form_values_of_widgets_are_read_as_the_file_would_hold_them():
    row = customers.validate({"name": "甲", "kind": "personal", "station_id": 3, "gasoline_t": 2.0, "stable": True,
                              "province_procurement": False, "agreement": None, "grid_id": None}, TODAY)
    assert (row["gasoline_t"], row["stable"], row["province_procurement"]) == (2.0, True, False)
    assert row["agreement"] is None and row["grid_id"] is None and row["station_id"] == 3
    decision = rules.tier_decision(2.0, 0.0, 0.0, institutional=False, agreement=None, province_procurement=False,
                                   stable=True)
    assert (row["computed_tier"], row["tier_rule"], row["size"]) == (decision.tier, decision.rule, None)


def test_validation_error_lists_every_bad_field():
    with pytest.raises(ValidationError) as err:
        customers.validate(BASE | {"name": "", "phone": "12ab", "station_id": 1}, TODAY)
    assert [(e.column, e.code) for e in err.value.errors] == [("name", "required"), ("phone", "bad_phone")]
    assert str(err.value) == "name: required"
    assert isinstance(err.value, ValueError)


# --- messages in the user's language -----------------------------------------------------------------

CJK = re.compile(r"[\u4e00-\u9fff]")


@pytest.mark.parametrize("code", CODES)
def test_every_error_code_reads_as_chinese_in_zh(code):
    zh, en = catalog("zh")[f"err.{code}"], catalog("en")[f"err.{code}"]
    assert CJK.search(zh), zh
    assert not CJK.search(en), en


def test_form_error_shown_in_chinese(db):
    station = user(db, "station")
    with db.connect() as conn:
        sid = conn.execute(text("SELECT id FROM station WHERE org_path LIKE :s ORDER BY id LIMIT 1"),
                           {"s": station.scope + "%"}).scalar_one()
    with pytest.raises(ValueError) as err:
        customers.create(db, station, BASE | {"station_id": sid, "name": "", "developed_month": "2026/13"}, today=TODAY)
    shown = validation.describe(err.value, translator("zh"))
    assert shown == "名称: 必填; 开发月份: 月份格式应为 YYYY-MM：2026/13"
    assert not re.search(r"[a-z]{4,}", shown.replace("YYYY", ""))  # no English words ("required")
    assert validation.describe(err.value, translator("en")) == "Name: Required; Developed: Not a month YYYY-MM: 2026/13"


def test_scope_errors_of_the_form_are_codes_too(db):
    station = user(db, "station")
    with db.connect() as conn:
        other = conn.execute(text("SELECT id, code FROM station WHERE org_path NOT LIKE :s ORDER BY id LIMIT 1"),
                             {"s": station.scope + "%"}).one()
    with pytest.raises(ValidationError) as err:
        customers.create(db, station, BASE | {"station_id": other.id}, today=TODAY)
    assert [(e.column, e.code, e.params) for e in err.value.errors] == [("station_id", "outside_scope",
                                                                          {"value": other.code})]
    zh = validation.describe(err.value, translator("zh"))
    assert other.code in zh and "不在您的管理范围内" in zh


def test_import_and_form_refuse_a_future_month_with_the_same_zh_message(db):
    station = user(db, "station")
    with db.connect() as conn:
        sid, scode = conn.execute(text("SELECT id, code FROM station WHERE org_path LIKE :s ORDER BY id LIMIT 1"),
                                  {"s": station.scope + "%"}).one()
    with pytest.raises(ValidationError) as err:
        customers.create(db, station, BASE | {"station_id": sid, "developed_month": "2027/01"}, today=TODAY)
    df = pd.DataFrame([BASE | {"station_code": scode, "developed_month": "2027/01"}])
    report = importer.import_file(db, "customers", df.to_csv(index=False).encode(), "c.csv", scope=station.scope,
                                  today=TODAY)
    zh = translator("zh")
    assert [e.text(zh) for e in err.value.errors] == [e.text(zh) for e in report.errors] == ["2027-01 晚于本月"]


def test_issue_message_is_english_and_text_follows_the_language():
    issue = Issue(3, "month", "bad_month", {"value": "2026-13"})
    assert issue.message == "Not a month YYYY-MM: 2026-13"
    assert issue.text(translator("zh")) == "月份格式应为 YYYY-MM：2026-13"


# --- visits: the form (lib.visits.plan, record) and the import share lib.visits.FIELDS ------------------

TOMORROW = (TODAY + dt.timedelta(days=1)).isoformat()
VISIT_CASES = [
    ({"mode": "fax", "done_on": "2026-11-02", "note": "电话"}, {("mode", "bad_choice")}),
    ({"mode": "", "done_on": "2026-11-02", "note": "电话"}, {("mode", "required")}),
    ({"mode": "phone", "done_on": TOMORROW, "note": "电话"}, {("done_on", "future_date")}),
    ({"mode": "phone", "done_on": "2026/11/02", "note": "电话"}, set()),
    ({"mode": "phone", "done_on": "2026-11-31", "note": "电话"}, {("done_on", "bad_date")}),
    ({"mode": "phone", "done_on": "2026-11-02", "note": ""}, {("note", "required")}),
    ({"mode": "phone", "done_on": "2026-11-02", "note": "记" * 2001}, {("note", "too_long")}),
    ({"mode": "visit", "planned_on": TOMORROW, "note": ""}, set()),
    ({"mode": "visit", "planned_on": "明天"}, {("planned_on", "bad_date")}),
    ({"mode": "visit"}, {("planned_on", "date_required")}),
]


@pytest.mark.parametrize("values,expected", VISIT_CASES, ids=[str(i) for i in range(len(VISIT_CASES))])
def test_visit_form_and_import_accept_and_refuse_the_same_values(values, expected):
    from lib import visits

    try:
        visits.validate(TODAY, **values)
        form = set()
    except ValidationError as exc:
        form = {(e.column, e.code) for e in exc.errors}
    customers_ = pd.DataFrame({"code": ["C1"], "id": [1], "org_path": ["/1/"], "station_id": [1],
                               "manager_id": [None]}).set_index("code")
    ctx = _context()
    ctx.customers = customers_
    df = pd.DataFrame([{k: "" for k, _, _ in importer.COLUMNS["visits"]} | values | {"customer_code": "C1"}],
                      dtype=object)
    _, ck = check_frame("visits", df, ctx)
    assert form == {(e.column, e.code) for e in ck.errors} == expected
