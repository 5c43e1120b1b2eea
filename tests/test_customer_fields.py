"""A field added to the customer spec 客户字段 (issue 12) with one spec row (stored="extra") and one
catalog label appears everywhere a customer field belongs: the new/edit form, the profile, the archive
table and its CSV download, the import and its template; it is stored in customer.extra 扩展字段 and
checked with the same error codes by the form and the import. The rows are added for each test by
monkeypatching lib.customers.FIELDS and the catalogs."""
from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pandas as pd
import pytest
from _import_as import import_file as import_as
from _work_db import db, small_url, user  # noqa: F401 (fixtures)
from apptest_helpers import session_token
from sqlalchemy import text
from streamlit.testing.v1 import AppTest

from lib import customers, export, importer
from lib.i18n import catalog, translator
from lib.ui import Keys, md_escape
from lib.validation import Field, ValidationError
from lib.vocab import labelled

ROOT = Path(__file__).resolve().parent.parent
TODAY = dt.date(2026, 11, 20)
WECHAT = Field("test_wechat", "测试微信号", max_len=20, stored="extra")
FLEET = Field("test_fleet", "测试车队规模", "integer", lo=0, hi=500, stored="extra")
LABELS = {"zh": {"col.test_wechat": "测试微信号", "col.test_fleet": "测试车队规模"},
          "en": {"col.test_wechat": "WeChat (test)", "col.test_fleet": "Fleet (test)"}}
BASE = {"name": "扩展字段测试客户", "kind": "personal", "sub_type": "private_car", "phone": "13700001111",
        "gasoline_t": "0.3"}


@pytest.fixture(autouse=True)
def extra_fields(monkeypatch):
    """The two spec rows and their labels, for this test only."""
    monkeypatch.setattr(customers, "FIELDS", (*customers.FIELDS, WECHAT, FLEET))
    for lang, labels in LABELS.items():
        for key, label in labels.items():
            monkeypatch.setitem(catalog(lang), key, label)


def _station(engine, who) -> tuple[int, str]:
    with engine.connect() as conn:
        return tuple(conn.execute(text("SELECT id, code FROM station WHERE org_path LIKE :s ORDER BY id LIMIT 1"),
                                  {"s": who.scope + "%"}).one())


def _stored_extra(engine, cid: int) -> dict:
    with engine.connect() as conn:
        raw = conn.execute(text("SELECT extra FROM customer WHERE id = :i"), {"i": cid}).scalar_one()
    return customers.extra_dict(raw)


def _open(engine, lang: str = "en") -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    with engine.connect() as conn:
        uid = conn.execute(text("SELECT id FROM app_user WHERE login = 'admin'")).scalar_one()
    at.session_state[Keys.LANG] = lang
    at.session_state[Keys.SESSION] = session_token(uid, engine.url.render_as_string(hide_password=False))
    at.run()
    at.switch_page("pages/customers.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


# --- storage: the form path (create / update) -------------------------------------------------------------


def test_create_stores_the_extra_fields_and_update_merges(db):
    admin = user(db, "admin")
    sid, _ = _station(db, admin)
    cid, code = customers.create(db, admin, BASE | {"station_id": sid, "test_wechat": " wx_123 ", "test_fleet": 12},
                                 today=TODAY)
    assert _stored_extra(db, cid) == {"test_wechat": "wx_123", "test_fleet": 12}
    assert customers.get(db, admin.scope, cid)["test_wechat"] == "wx_123"
    with db.begin() as conn:  # a key of a field no longer in the spec
        conn.execute(text("UPDATE customer SET extra = :e WHERE id = :i"),
                     {"e": json.dumps({"test_wechat": "wx_123", "test_fleet": 12, "retired": "x"}), "i": cid})
    # an update that leaves the extension fields out keeps them
    assert customers.update(db, admin, cid, {"contact": "李四"}) == {"contact": ("", "李四")}
    assert _stored_extra(db, cid) == {"test_wechat": "wx_123", "test_fleet": 12, "retired": "x"}
    # changing one changes only that one (merge, not replace); the change is reported and audited
    assert customers.update(db, admin, cid, {"test_fleet": 30}) == {"test_fleet": (12, 30)}
    assert _stored_extra(db, cid) == {"test_wechat": "wx_123", "test_fleet": 30, "retired": "x"}
    # emptying a field removes its key
    customers.update(db, admin, cid, {"test_wechat": ""})
    assert _stored_extra(db, cid) == {"test_fleet": 30, "retired": "x"}
    with db.connect() as conn:
        audited = conn.execute(text("SELECT COUNT(*) FROM audit_log WHERE entity = 'customer' AND entity_id = :i "
                                    "AND action = 'update'"), {"i": str(cid)}).scalar_one()
    assert audited == 3


def test_summaries_do_not_see_the_extra_column(db):
    """customer_monthly has no extension fields: they are not measures."""
    with db.connect() as conn:
        cols = {r[1] for r in conn.exec_driver_sql("PRAGMA table_info(customer_monthly)")} if \
            db.dialect.name == "sqlite" else set(pd.read_sql_query(
                text("SELECT * FROM customer_monthly LIMIT 0"), conn).columns)
    assert "extra" not in cols and "test_wechat" not in cols


# --- the same checks on both paths -------------------------------------------------------------------------


@pytest.mark.parametrize("value,code", [({"test_wechat": "w" * 21}, "too_long"),
                                        ({"test_fleet": "many"}, "not_number"),
                                        ({"test_fleet": "501"}, "out_of_range"),
                                        ({"test_fleet": "2.5"}, "not_integer")])
def test_form_and_import_refuse_bad_values_with_the_same_code(db, value, code):
    admin = user(db, "admin")
    sid, scode = _station(db, admin)
    field = next(iter(value))
    with pytest.raises(ValidationError) as err:
        customers.create(db, admin, BASE | {"station_id": sid} | value, today=TODAY)
    assert [(e.column, e.code) for e in err.value.errors] == [(field, code)]
    csv = pd.DataFrame([BASE | {"station_code": scode} | value]).to_csv(index=False).encode()
    report = import_as(db, "customers", csv, "c.csv", scope=admin.scope, today=TODAY)
    assert not report.ok
    assert [(e.column, e.code) for e in report.errors] == [(field, code)]


# --- import and template -----------------------------------------------------------------------------------


@pytest.mark.parametrize("lang,headers", [("zh", ["测试微信号", "测试车队规模"]), ("en", ["test_wechat", "test_fleet"])])
def test_template_has_the_new_columns(lang, headers):
    header = importer.template("customers", "csv", lang).decode("utf-8-sig").strip().split(",")
    assert header[-2:] == headers


def test_import_round_trips_the_extra_fields(db):
    admin = user(db, "admin")
    _, scode = _station(db, admin)
    new = pd.DataFrame([BASE | {"station_code": scode, "测试微信号": "wx_file", "测试车队规模": "7"}])
    new = new.rename(columns={"name": "客户名称"})
    report = import_as(db, "customers", new.to_csv(index=False).encode("utf-8-sig"), "c.csv",
                                  scope=admin.scope, today=TODAY)
    assert report.ok, report.errors
    with db.connect() as conn:
        cid, code = conn.execute(text("SELECT id, code FROM customer WHERE name = :n"), {"n": BASE["name"]}).one()
    assert _stored_extra(db, cid) == {"test_wechat": "wx_file", "test_fleet": 7}
    # the archive's row, downloaded as the page does, re-imported unchanged: the same values
    page = customers.search(db, admin.scope, customers.Filters(code=code))
    assert page.rows.loc[0, "test_wechat"] == "wx_file" and page.rows.loc[0, "test_fleet"] == 7
    # an update naming only the wechat column keeps the fleet and any other stored key
    upd = pd.DataFrame([{"code": code, "name": BASE["name"], "kind": "personal", "station_code": scode,
                         "phone": BASE["phone"], "test_wechat": "wx_new"}])
    report = import_as(db, "customers", upd.to_csv(index=False).encode(), "u.csv", scope=admin.scope,
                                  today=TODAY)
    assert report.ok and report.updated == 1, report.errors
    assert _stored_extra(db, cid) == {"test_wechat": "wx_new", "test_fleet": 7}


# --- the pages: form, profile, archive table and its download -------------------------------------------------


def test_table_and_download_label_the_new_column(db):
    admin = user(db, "admin")
    sid, _ = _station(db, admin)
    _, code = customers.create(db, admin, BASE | {"station_id": sid, "test_wechat": "wx_dl"}, today=TODAY)
    rows = customers.search(db, admin.scope, customers.Filters(code=code)).rows
    shown = labelled(rows, translator("en"), ["code", "test_wechat", "test_fleet"])
    assert list(shown.columns) == ["Customer code", "WeChat (test)", "Fleet (test)"]
    csv = export.csv_bytes(shown).decode("utf-8-sig").splitlines()
    assert csv[0] == "Customer code,WeChat (test),Fleet (test)" and csv[1] == f"{code},wx_dl,"


def test_form_profile_and_archive_show_the_new_field(db, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", db.url.render_as_string(hide_password=False))
    at = _open(db)
    K = Keys.Customers
    box = at.text_input(key=K.field(K.NEW, "test_wechat"))
    assert box.label == "WeChat (test)" and box.max_chars == 20
    assert at.number_input(key=K.field(K.NEW, "test_fleet")).label == "Fleet (test)"
    # the new-customer form saves it (customers.create through the page)
    at.text_input(key=K.field(K.NEW, "name")).input(BASE["name"])
    box.input("wx_form")
    at.number_input(key=K.field(K.NEW, "test_fleet")).set_value(4)
    at.button(key="FormSubmitter:" + K.NEW_FORM + "-" + translator("en")("cust.create")).click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    with db.connect() as conn:
        cid, code = conn.execute(text("SELECT id, code FROM customer WHERE name = :n"), {"n": BASE["name"]}).one()
    assert _stored_extra(db, cid) == {"test_wechat": "wx_form", "test_fleet": 4}
    # the archive table shows it, the profile lists it, the edit form is prefilled with it
    at.text_input(key=K.Q_CODE).input(code)
    at.button(key="FormSubmitter:" + K.SEARCH_FORM + "-" + translator("en")("cust.search")).click().run()
    assert not at.exception
    table = at.dataframe[0].value
    assert table["WeChat (test)"].tolist() == ["wx_form"] and table["Fleet (test)"].tolist() == [4]
    assert any(md_escape("WeChat (test): wx_form") in m.value and "Fleet (test): 4" in m.value
               for m in at.markdown)  # shown literally (Markdown-escaped: the "_" is no emphasis)
    edit = at.text_input(key=K.field(Keys.row(K.EDIT, cid), "test_wechat"))
    assert edit.value == "wx_form"
    edit.input("wx_edit")
    at.button(key="FormSubmitter:" + K.EDIT_FORM + "-" + translator("en")("cust.update")).click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert _stored_extra(db, cid) == {"test_wechat": "wx_edit", "test_fleet": 4}


def test_existing_widget_keys_are_unchanged():
    """Browser tests and AppTests find the form's widgets by these keys."""
    K = Keys.Customers
    keys = {K.field(K.NEW, f.key) for f in customers.FIELDS if f.form and f.widget}
    for old in ("cust_new_name", "cust_new_phone", "cust_new_cc", "cust_new_contact", "cust_new_kind",
                "cust_new_station", "cust_new_grid", "cust_new_manager", "cust_new_status", "cust_new_fuel",
                "cust_new_payment", "cust_new_gasoline_t", "cust_new_diesel_t", "cust_new_card_cny", "cust_new_agr",
                "cust_new_stable", "cust_new_pp", "cust_new_lost", "cust_new_lreason"):
        assert old in keys
