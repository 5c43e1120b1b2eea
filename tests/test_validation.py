"""One customer spec (issue 12): the form (lib.customers.validate, create) and the import
(lib.importer.check_frame, import_file) accept and refuse exactly the same values for every customer
field, with the same error code, and the codes read as Chinese in the zh catalog."""
from __future__ import annotations

import datetime as dt
import re

import pandas as pd
import pytest
from _import_as import import_file as import_as
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
    report = import_as(db, "customers", df.to_csv(index=False).encode(), "c.csv", scope=station.scope,
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


# --- values as people write them (issue 13) --------------------------------------------------------


def _one(col: str, cells: list[str]) -> pd.DataFrame:
    return pd.DataFrame({col: pd.Series(cells, dtype=object)})


@pytest.mark.parametrize("col, options, cells, expected", [
    ("status", customers.STATUSES, ["存量", "潜在客户", "Existing", " LOST ", "竞争对手", "competitor"],
     ["existing", "potential", "existing", "lost", "competitor", "competitor"]),
    ("kind", customers.KINDS, ["机构客户", "个人", "ＰＥＲＳＯＮＡＬ", "Institutional", ""],
     ["institutional", "personal", "personal", "institutional", ""]),
    ("fuel", customers.FUELS, ["柴油", "汽 油", "汽柴油", "Both"], ["diesel", "gasoline", "both", "both"]),
    ("payment", customers.PAYMENTS, ["加油卡", "fuel card", "银行卡", "现金"], ["fuel_card", "fuel_card", "bank_card", "cash"]),
    ("agreement", customers.AGREEMENTS, ["省公司", "地市分公司", "区县/片区", "City branch"],
     ["province", "city", "district", "city"]),
    # tiers and org levels share their codes: the column says which labels apply
    ("tier_override", rules.TIERS, ["省级", "区县级", "Station"], ["province", "district", "station"]),
    ("level", ("province", "city", "district"), ["省公司", "地市分公司", "District"], ["province", "city", "district"]),
], ids=["status", "kind", "fuel", "payment", "agreement", "tier", "org-level"])
def test_choice_accepts_codes_and_the_uis_labels(col, options, cells, expected):
    ck = validation.Checker(_one(col, cells))
    assert ck.choice(col, options).tolist() == expected
    assert ck.errors == []


def test_a_bad_choice_lists_the_labels_in_the_readers_language():
    ck = validation.Checker(_one("status", ["好客户"]))
    ck.choice("status", customers.STATUSES)
    (issue,) = ck.errors
    assert issue.code == "bad_choice" and issue.row == 2
    assert "存量/潜在/竞争对手/流失" in issue.text(translator("zh"))
    assert "Existing/Potential" in issue.message


@pytest.mark.parametrize("cell, month", [
    ("2026-01", "2026-01"), ("2026/1", "2026-01"), ("2026.1", "2026-01"), ("202601", "2026-01"),
    ("2026年1月", "2026-01"), ("2026年01月份", "2026-01"), ("2026年1月15日", "2026-01"), ("2026-01-15", "2026-01"),
    ("2026-01-15 00:00:00", "2026-01"), ("２０２６年１１月", "2026-11"),
    ("1月", None), ("2026-13", None), ("01/2026", None), ("2026", None), ("下个月", None),
])
def test_months_as_people_write_them(cell, month):
    ck = validation.Checker(_one("m", [cell]))
    out = ck.month("m")
    assert (out.iloc[0] if not ck.errors else None) == month
    assert [e.code for e in ck.errors] == ([] if month else ["bad_month"])


@pytest.mark.parametrize("cell, day", [
    ("2026-01-15", dt.date(2026, 1, 15)), ("2026/1/5", dt.date(2026, 1, 5)), ("2026.1.15", dt.date(2026, 1, 15)),
    ("20260115", dt.date(2026, 1, 15)), ("2026年1月15日", dt.date(2026, 1, 15)), ("2026年1月5号", dt.date(2026, 1, 5)),
    ("2026-01-15 08:30", dt.date(2026, 1, 15)), ("2026-01-15T08:30:00", dt.date(2026, 1, 15)),
    ("15/01/2026", None), ("01/15/2026", None), ("2026-02-30", None), ("1月15日", None), ("昨天", None),
], ids=lambda v: str(v))
def test_dates_as_people_write_them_and_ambiguous_ones_refused(cell, day):
    ck = validation.Checker(_one("d", [cell]))
    out = ck.date("d")
    assert (None if pd.isna(out.iloc[0]) else out.iloc[0]) == day
    assert [e.code for e in ck.errors] == ([] if day else ["bad_date"])


@pytest.mark.parametrize("col, cell, value", [
    ("diesel_t", "12吨", 12.0), ("diesel_t", "12.5 t", 12.5), ("gasoline_t", "1,200", 1200.0), ("gasoline_t", "６", 6.0),
    ("card_cny", "1.2万", 12000.0), ("card_cny", "1.2万元", 12000.0), ("card_cny", "￥8,000", 8000.0),
    ("card_cny", "12000元", 12000.0),
    ("diesel_t", "12元", None), ("card_cny", "12吨", None), ("visits", "12次", None), ("diesel_t", "很多", None),
])
def test_numbers_with_their_units(col, cell, value):
    ck = validation.Checker(_one(col, [cell]))
    out = ck.number(col)
    assert (None if pd.isna(out.iloc[0]) else out.iloc[0]) == value
    assert [e.code for e in ck.errors] == ([] if value is not None else ["not_number"])


@pytest.mark.parametrize("cell, value", [("是", True), ("否", False), ("√", True), ("×", False), ("有", True),
                                         ("Yes", True), ("", False), ("也许", None)])
def test_yes_no_as_people_write_them(cell, value):
    ck = validation.Checker(_one("f", [cell]))
    out = ck.flag_values("f")
    assert [e.code for e in ck.errors] == ([] if value is not None else ["bad_choice"])
    if value is not None:
        assert bool(out.iloc[0]) is value


def test_the_customer_form_takes_labels_too():
    row = customers.validate(BASE | {"station_id": 1, "kind": "个人客户", "sub_type": "私家车", "status": "潜在", "fuel": "汽油",
                                     "payment": "现金", "loyalty": "潜在", "value_class": "二类"}, TODAY)
    assert (row["kind"], row["sub_type"], row["status"], row["fuel"], row["payment"], row["loyalty"],
            row["value_class"]) == ("personal", "private_car", "potential", "gasoline", "cash", "potential", 2)
