"""Tier ownership 分级管理主体 (issue 15; 002 §6.1.1 上、下级转移管理权限, §6.1.2 上级督导、本级负责,
§6.4 owners; DOMAIN §3): a tier moves only through the transfer (lib.tiers.set_override), by the owner
level of both the tier in force and the new tier or above; the figures that decide a tier are read-only
to a user below the tier's owner level, through `lib.customers.update`, the customers import and the
customer page alike (one rule: lib.customers.locked_fields). A refusal writes nothing: the customer
row, its monthly summary rows and the audit log are compared before and after.

Each case sets its customer's figures first (as the admin) so its computed tier is the one the case
names, checked against a plain-Python reading of the thresholds in config/rules.toml.
"""
from __future__ import annotations

import json

import pandas as pd
import pytest
from _work_db import db, small_url, user  # noqa: F401 (fixtures)
from sqlalchemy import text

from lib import auth, customers, importer, tiers
from lib.config import rules as rules_config
from lib.importer.specs import columns
from lib.validation import ValidationError

LEVEL = {"station": 0, "district": 1, "city": 2, "province": 3}  # 002 §6.4, bottom up


def _figures(tier: str) -> dict:
    """Figures of a personal customer that make its computed tier `tier` (the thresholds of 002 §6.3.1)."""
    p = rules_config()["tier"]
    return {"station": {"gasoline_t": 0.5, "diesel_t": 0.0, "card_cny": 0.0},
            "district": {"gasoline_t": 3.0, "diesel_t": 0.0, "card_cny": 0.0},
            "city": {"gasoline_t": p["city_gasoline_t"] + 1.0, "diesel_t": 0.0, "card_cny": 0.0},
            "province": {"gasoline_t": 0.5, "diesel_t": 0.0, "card_cny": float(p["province_card_cny"])}}[tier]


def _expected_tier(f: dict) -> str:
    """The tier of a personal customer's figures read independently of lib.rules (002 §6.3.1)."""
    p = rules_config()["tier"]
    if f["card_cny"] >= p["province_card_cny"]:
        return "province"
    if f["gasoline_t"] >= p["city_gasoline_t"] or f["diesel_t"] >= p["city_diesel_t"]:
        return "city"
    if f["gasoline_t"] >= 2 or f["diesel_t"] >= 20:
        return "district"
    return "station"


def _customer(engine, tier: str, override: str | None = None) -> int:
    """A personal customer of the demo customer manager (so inside every demo user's scope), its figures
    set by the admin so that its computed tier is `tier`, with `override` set by the admin's transfer."""
    cm = user(engine, "custmgr")
    with engine.connect() as conn:
        cid = conn.execute(text(
            "SELECT id FROM customer WHERE org_path = :p AND kind = 'personal' AND tier_override IS NULL "
            "AND status = 'existing' ORDER BY id LIMIT 1"), {"p": cm.scope}).scalar_one()
    admin = user(engine, "admin")
    customers.update(engine, admin, cid, _figures(tier) | {"agreement": None, "stable": False,
                                                           "province_procurement": False})
    if override:
        tiers.set_override(engine, admin, cid, override, "测试用的转移理由")
    row = _row(engine, cid)
    assert row["computed_tier"] == _expected_tier(row) == tier and row["tier_override"] == override
    return cid


def _row(engine, cid: int) -> dict:
    with engine.connect() as conn:
        return dict(conn.execute(text("SELECT * FROM customer WHERE id = :c"), {"c": cid}).mappings().one())


def _state(engine, cid: int) -> tuple:
    """The customer row, its monthly summary rows and the whole audit log: what a refusal must not change."""
    with engine.connect() as conn:
        monthly = [tuple(r) for r in conn.execute(text(
            "SELECT * FROM customer_monthly WHERE customer_id = :c ORDER BY month"), {"c": cid})]
        audit = [tuple(r) for r in conn.execute(text("SELECT * FROM audit_log ORDER BY id"))]
    return _row(engine, cid), monthly, audit


# --- the tier-deciding fields: lib.customers.update and the customers import --------------------------------

# (login, computed tier of the customer, field, new value, allowed)
EDITS = [
    ("station", "district", "gasoline_t", 0.5, False),  # would drop it to station tier (the issue's case)
    ("station", "district", "diesel_t", 10.0, False),
    ("station", "district", "stable", True, False),
    ("station", "city", "card_cny", 5000.0, False),
    ("station", "province", "card_cny", 0.0, False),  # the issue's province-tier customer
    ("custmgr", "district", "gasoline_t", 0.5, False),  # the station's staff: station level too
    ("station", "station", "gasoline_t", 1.5, True),  # the owner level itself
    ("custmgr", "station", "diesel_t", 5.0, True),
    ("area", "district", "gasoline_t", 0.5, True),  # a district manager, a district-tier customer
    ("area", "district", "diesel_t", 10.0, True),
    ("area", "city", "gasoline_t", 3.0, False),
    ("city", "city", "gasoline_t", 3.0, True),
    ("city", "province", "card_cny", 0.0, False),
    ("admin", "province", "card_cny", 0.0, True),
]
EDIT_IDS = [f"{lg}-{tier}-{field}-{'ok' if ok else 'refused'}" for lg, tier, field, _, ok in EDITS]


@pytest.mark.parametrize("login,tier,field,value,allowed", EDITS, ids=EDIT_IDS)
def test_update_of_a_tier_deciding_field_by_owner_level(db, login, tier, field, value, allowed):
    cid = _customer(db, tier)
    actor = user(db, login)
    before = _state(db, cid)
    if allowed:
        changed = customers.update(db, actor, cid, {field: value})
        assert changed[field][1] == value and _row(db, cid)[field] == value
        return
    with pytest.raises(ValidationError) as err:
        customers.update(db, actor, cid, {field: value})
    issue = err.value.errors[0]
    assert (issue.column, issue.code, issue.params) == (field, "tier_owned_above", {"tier": tier, "level": tier})
    assert "only that level or above" in str(err.value) and "002 §6.1.2" in str(err.value)
    assert _state(db, cid) == before, "a refused edit wrote something"


def test_an_unchanged_tier_field_passes_beside_a_change_the_user_may_make(db):
    """The form sends every field: the station manager's edit of a district customer's phone passes with
    the demand figures as stored; an agreement change is refused like a figure."""
    cid = _customer(db, "district")
    station = user(db, "station")
    row = _row(db, cid)
    same = {k: row[k] for k in customers.TIER_FIELDS}
    assert customers.update(db, station, cid, same | {"phone": "13700000077"}) == {"phone": (row["phone"], "13700000077")}
    with pytest.raises(ValidationError, match="^agreement: the customer's tier is District"):
        customers.update(db, station, cid, same | {"agreement": "district"})


def _header(key: str) -> str:
    return next((zh for k, zh, _ in columns("customers") if k == key), key)


def _cell(value) -> str:
    return ("是" if value else "否") if isinstance(value, bool) else str(value)


def _import(engine, actor, cid: int, cells: dict) -> importer.ImportReport:
    """A customers file naming the customer by code: the required columns blank (the merge keeps the
    stored values, lib.importer.merge), plus `cells`."""
    code = _row(engine, cid)["code"]
    row = {"code": code, "name": "", "kind": "", "station_code": ""} | {k: _cell(v) for k, v in cells.items()}
    body = pd.DataFrame([row]).rename(columns=_header).to_csv(index=False).encode("utf-8-sig")
    return importer.import_file(engine, "customers", body, "客户.csv", user=actor)


@pytest.mark.parametrize("login,tier,field,value,allowed", EDITS, ids=EDIT_IDS)
def test_import_of_a_tier_deciding_field_by_owner_level(db, login, tier, field, value, allowed):
    cid = _customer(db, tier)
    actor = user(db, login)
    before = _state(db, cid)
    report = _import(db, actor, cid, {field: value})
    if not auth.can(actor, "imports.customers"):  # a customer manager imports no customers at all
        assert [e.code for e in report.errors] == ["not_allowed"] and _state(db, cid) == before
        return
    if allowed:
        assert report.ok and report.updated == 1, report.errors_frame()
        assert _row(db, cid)[field] == value
        return
    assert not report.ok and report.updated == 0
    assert [(e.row, e.column, e.code, e.params) for e in report.errors] == [
        (2, _header(field), "tier_owned_above", {"tier": tier, "level": tier})]
    assert _state(db, cid) == before, "a refused import wrote something"


def test_import_passes_an_unchanged_protected_value_and_keeps_the_hand_set_tier(db):
    """The station manager's file repeating a district customer's stored demand (the merge fills what the
    file leaves out, so every tier column holds its stored value) changes the phone; a column named like
    the hand-set tier is no import column (the transfer is the only way) and changes nothing."""
    cid = _customer(db, "district")
    row = _row(db, cid)
    station = user(db, "station")
    report = _import(db, station, cid, {"gasoline_t": row["gasoline_t"], "stable": bool(row["stable"]),
                                        "phone": "13700000088"})
    assert report.ok and report.updated == 1, report.errors_frame()
    assert _row(db, cid)["phone"] == "13700000088"
    report = _import(db, station, cid, {"phone": "13700000099", "人工分级": "省级"})
    after = _row(db, cid)
    assert report.ok and after["phone"] == "13700000099"  # the other columns are read; that one is not
    assert after["tier_override"] is None and after["computed_tier"] == "district"


# --- the hand-set tier: only through the transfer ---------------------------------------------------------


@pytest.mark.parametrize("login", ["admin", "city", "area", "station", "custmgr"])
def test_update_and_create_refuse_a_hand_set_tier_for_every_role(db, login):
    cid = _customer(db, "station", "district")
    actor = user(db, login)
    before = _state(db, cid)
    for changes in ({"tier_override": "city", "tier_override_reason": "重点培育客户"}, {"tier_override": None},
                    {"tier_override_reason": "只改理由"}):
        with pytest.raises(ValidationError) as err:
            customers.update(db, actor, cid, changes)
        assert {(e.column, e.code) for e in err.value.errors} <= {
            ("tier_override", "tier_transfer_only"), ("tier_override_reason", "tier_transfer_only")}
    assert _state(db, cid) == before
    data = {"name": "转移测试客户", "kind": "personal", "station_id": _row(db, cid)["station_id"],
            "tier_override": "district", "tier_override_reason": "重点培育客户"}
    with pytest.raises(ValidationError, match="^tier_override: tier changes go through the tier transfer"):
        customers.create(db, actor, data)
    with db.connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM customer WHERE name = '转移测试客户'")).scalar() == 0


# (login, computed tier, override in force before, new override (None: clear), allowed)
TRANSFERS = [
    ("city", "district", None, "city", True),  # a city manager moves a district customer to city
    ("area", "district", None, "city", False),  # a district manager may not: city is owned above
    ("area", "station", None, "district", True),
    ("area", "district", None, "station", True),
    ("station", "station", None, "district", False),  # not in tiers.override at all
    ("area", "district", "city", None, False),  # clearing: the tier in force (city) is owned above
    ("city", "district", "city", None, True),
    ("area", "city", None, "district", False),  # the tier in force is owned above
    ("city", "city", None, "district", True),
    ("city", "province", None, "city", False),
    ("admin", "province", None, "city", True),
]


@pytest.mark.parametrize("login,computed,override,new,allowed", TRANSFERS,
                         ids=[f"{lg}-{c}-{o}-{n}" for lg, c, o, n, _ in TRANSFERS])
def test_transfer_by_the_owner_level_of_both_tiers(db, login, computed, override, new, allowed):
    cid = _customer(db, computed, override)
    actor = user(db, login)
    before = _state(db, cid)
    if allowed:
        tiers.set_override(db, actor, cid, new, "管理幅度调整，上级决定")
        row = _row(db, cid)
        assert row["tier_override"] == new and row["tier_override_by"] == (actor.login if new else None)
        with db.connect() as conn:
            last = conn.execute(text("SELECT actor, action, after FROM audit_log ORDER BY id DESC LIMIT 1")).one()
        assert (last.actor, json.loads(last.after)["tier_override"]) == (actor.login, new)
        return
    with pytest.raises(ValueError):
        tiers.set_override(db, actor, cid, new, "管理幅度调整，上级决定")
    assert _state(db, cid) == before, "a refused transfer wrote something"
    in_force = override or computed
    if auth.can(actor, "tiers.override"):  # the owner level, not the role, refused it: it says so
        with pytest.raises(ValidationError) as err:
            tiers.set_override(db, actor, cid, new, "管理幅度调整，上级决定")
        owned_above = next(t for t in (in_force, new or computed) if LEVEL[t] > LEVEL[auth.level_of(actor)])
        assert err.value.errors[0].code == "tier_owned_above" and err.value.errors[0].params["tier"] == owned_above


def test_at_or_above_orders_the_levels():
    rows = {role: "".join("x" if auth.at_or_above(role, lv) else "." for lv in auth.LEVELS) for role in auth.ROLES}
    assert rows == {"province_admin": "xxxx", "province_viewer": "xxxx", "city_manager": "xxx.",
                    "district_manager": "xx..", "station_manager": "x...", "customer_manager": "x..."}
    with pytest.raises(ValueError):
        auth.at_or_above("city_manager", "galaxy")


# --- the customer page: the edit form shows the locks and its save applies the same rule ------------------


@pytest.fixture()
def app_db(db, monkeypatch):
    """The private copy as the database of the app under test (AppTest reads DATABASE_URL)."""
    monkeypatch.setenv("DATABASE_URL", db.url.render_as_string(hide_password=False))
    return db


def _edit_form(engine, cid: int, login: str):
    """The customer page as `login` with customer `cid` found by its code (the profile and edit tabs show it)."""
    from apptest_helpers import T, open_page

    at = open_page("pages/customers.py", login)
    at.text_input(key="cust_q_code").input(_row(engine, cid)["code"])
    at.button(key="FormSubmitter:cust_search_form-" + T("cust.search")).click().run()
    assert not at.exception and at.session_state["cust_selected"] == cid
    return at


def _field_key(cid: int, field: str) -> str:
    from lib.ui import Keys

    return Keys.Customers.field(Keys.row(Keys.Customers.EDIT, cid), field)


# (login, allowed): the district-tier customer's gasoline demand dropped to station tier on the page
PAGE_EDITS = [("station", False), ("area", True)]


@pytest.mark.parametrize("login,allowed", PAGE_EDITS)
def test_page_edit_of_a_district_customers_demand_by_owner_level(app_db, login, allowed):
    from apptest_helpers import T

    cid = _customer(app_db, "district")
    at = _edit_form(app_db, cid, login)
    widget = at.number_input(key=_field_key(cid, "gasoline_t"))
    assert widget.disabled is not allowed
    locks = [w.value for w in at.warning]
    assert bool([w for w in locks if "only that level or above" in w]) is not allowed
    assert ("only that level or above" in (widget.help or "")) is not allowed
    assert not [s for s in at.selectbox if s.label == T("col.tier_override")]  # the tier is not set here
    assert any(T("cust.no_override") == c.value for c in at.caption)
    before = _state(app_db, cid)
    if allowed:
        widget.set_value(0.5)
    else:  # the browser cannot change a disabled widget; a crafted value (set in the session) meets the save's rule
        at.session_state[widget.key] = 0.5
    next(b for b in at.button if b.label == T("cust.update")).click().run()
    assert not at.exception
    if allowed:
        assert not at.error and _row(app_db, cid)["gasoline_t"] == 0.5
        assert _row(app_db, cid)["computed_tier"] == "station"
        return
    assert at.error and "only that level or above" in at.error[0].value
    assert _state(app_db, cid) == before, "a refused page edit wrote something"


def test_page_save_by_a_user_below_the_owner_keeps_the_locked_figures(app_db):
    """The station manager saves a district customer's phone: the disabled figures go back as stored (to the
    last decimal, though the widget shows two), so the save passes and changes the phone only."""
    from apptest_helpers import T

    cid = _customer(app_db, "district")
    customers.update(app_db, user(app_db, "admin"), cid, {"gasoline_t": 3.4567, "card_cny": 12345.678})
    before = _row(app_db, cid)
    at = _edit_form(app_db, cid, "station")
    at.text_input(key=_field_key(cid, "phone")).set_value("13700000055")
    next(b for b in at.button if b.label == T("cust.update")).click().run()
    assert not at.exception and not at.error
    after = _row(app_db, cid)
    assert after["phone"] == "13700000055"
    assert {k: after[k] for k in customers.TIER_FIELDS} == {k: before[k] for k in customers.TIER_FIELDS}
