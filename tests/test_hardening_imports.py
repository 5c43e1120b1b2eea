"""Imports that cannot destroy (issue 14, failure 1 and the duplicate part of 3): a file updates only
the columns it has (customers, managers, consumption, stations), a blank cell keeps the stored value
and a dash clears it, a new-customers file imported twice is refused the second time, and an admin
can revert a whole import exactly — refused, with the rows, when a later change touched them.
SQLite, and PostgreSQL with TEST_DATABASE_URL."""
from __future__ import annotations

import datetime as dt

import pytest
from _import_as import import_file
from _work_db import count, db, small_url, user  # noqa: F401 (fixtures)
from sqlalchemy import text

from lib import customers, managers
from lib.importer.revert import revert
from lib.summary import refresh_customer_monthly, refresh_station_monthly

TODAY = dt.date(2026, 11, 20)


def rows(engine, sql: str, **params) -> list[tuple]:
    """The rows, sorted, floats to 9 places (a summary refreshed for some stations adds in another order)."""
    with engine.connect() as conn:
        return sorted((tuple(round(v, 9) if isinstance(v, float) else v for v in r)
                       for r in conn.execute(text(sql), params).all()), key=repr)


def one(engine, sql: str, **params) -> dict:
    with engine.connect() as conn:
        return dict(conn.execute(text(sql), params).mappings().one())


def rich_customer(engine) -> dict:
    """An existing customer with a phone, coordinates, a manager and volumes, and its station code."""
    return one(engine, "SELECT c.*, s.code AS station_code FROM customer c JOIN station s ON s.id = c.station_id "
                       "WHERE c.phone <> '' AND c.lon IS NOT NULL AND c.manager_id IS NOT NULL AND c.gasoline_t > 0 "
                       "ORDER BY c.code LIMIT 1")


def manager(engine, cond: str = "1 = 1") -> dict:
    """A customer manager with a phone, with the code a file names it by (own or generated) and its station."""
    m = one(engine, "SELECT m.id, m.code, m.name, m.phone, m.level, m.hired_on, s.code AS station_code "
                    "FROM customer_manager m JOIN station s ON s.org_unit_id = m.org_unit_id "
                    f"WHERE m.phone <> '' AND {cond} ORDER BY m.id LIMIT 1")
    return m | {"code": m["code"] or managers.generated_code(m["id"])}


def imported(engine, kind: str, body: str, name: str = "f.csv"):
    report = import_file(engine, kind, body.encode("utf-8"), name, today=TODAY)
    assert report.ok, report.errors_frame().to_string()
    return report


# --- only the columns a file has ----------------------------------------------------------------------


def test_customer_file_with_four_columns_changes_only_the_name(db):
    before = rich_customer(db)
    imported(db, "customers", f"code,name,kind,station_code\n{before['code']},改名客户,{before['kind']},"
                              f"{before['station_code']}\n")
    after = one(db, "SELECT c.*, s.code AS station_code FROM customer c JOIN station s ON s.id = c.station_id "
                    "WHERE c.code = :c", c=before["code"])
    assert after["name"] == "改名客户"
    assert {k: v for k, v in after.items() if k != "name"} == {k: v for k, v in before.items() if k != "name"}


def test_manager_file_without_phone_and_level_keeps_them(db):
    m = manager(db, "m.level <> 'trainee'")
    imported(db, "managers", f"code,name,station_code,hired_on\n{m['code']},新经理名,{m['station_code']},"
                             f"{str(m['hired_on'])[:10]}\n")
    after = one(db, "SELECT name, phone, level FROM customer_manager WHERE id = :i", i=m["id"])
    assert after == {"name": "新经理名", "phone": m["phone"], "level": m["level"]}


def test_consumption_file_with_one_volume_keeps_the_others(db):
    r = one(db, "SELECT c.code, m.customer_id, m.month, m.diesel_t, m.card_cny, m.visits FROM monthly_consumption m "
                "JOIN customer c ON c.id = m.customer_id WHERE m.diesel_t > 0 AND m.card_cny > 0 AND m.visits > 0 "
                "ORDER BY m.month DESC, c.code LIMIT 1")
    imported(db, "consumption", f"customer_code,month,gasoline_t\n{r['code']},{r['month']},7.5\n")
    after = one(db, "SELECT gasoline_t, diesel_t, card_cny, visits FROM monthly_consumption "
                    "WHERE customer_id = :i AND month = :m", i=r["customer_id"], m=r["month"])
    assert after == {"gasoline_t": 7.5, "diesel_t": r["diesel_t"], "card_cny": r["card_cny"], "visits": r["visits"]}


def test_station_file_without_coordinates_and_nozzles_keeps_them(db):
    s = one(db, "SELECT s.code, s.name, s.lon, s.lat, s.nozzles, s.opened_on, d.code AS district FROM station s "
                "JOIN org_unit u ON u.id = s.org_unit_id JOIN org_unit d ON d.id = u.parent_id "
                "WHERE s.nozzles IS NOT NULL ORDER BY s.code LIMIT 1")
    imported(db, "stations", f"code,name,district_code\n{s['code']},新站名,{s['district']}\n")
    after = one(db, "SELECT name, lon, lat, nozzles, opened_on FROM station WHERE code = :c", c=s["code"])
    assert after == {"name": "新站名", "lon": s["lon"], "lat": s["lat"], "nozzles": s["nozzles"],
                     "opened_on": s["opened_on"]}
    assert s["opened_on"] is not None
    imported(db, "stations", f"code,name,district_code,opened_on,nozzles\n{s['code']},新站名,{s['district']},-,\n")
    after = one(db, "SELECT opened_on, nozzles FROM station WHERE code = :c", c=s["code"])
    assert after == {"opened_on": None, "nozzles": s["nozzles"]}  # a dash clears, a blank keeps


# --- the blank-cell rule: blank keeps, a dash clears ---------------------------------------------------------


def test_blank_cell_keeps_and_dash_clears_for_customers_and_managers(db):
    a = rich_customer(db)
    imported(db, "customers", f"code,name,kind,station_code,phone,contact\n"
                              f"{a['code']},{a['name']},{a['kind']},{a['station_code']},,-\n")
    after = one(db, "SELECT phone, contact FROM customer WHERE code = :c", c=a["code"])
    assert after["phone"] == a["phone"] and after["phone"] != ""  # blank: kept
    assert after["contact"] in ("", None)  # dash: cleared
    imported(db, "customers", f"code,name,kind,station_code,phone\n{a['code']},{a['name']},{a['kind']},"
                              f"{a['station_code']},-\n")
    assert one(db, "SELECT phone FROM customer WHERE code = :c", c=a["code"])["phone"] in ("", None)
    m = manager(db)
    head = "code,name,station_code,hired_on,phone\n"
    imported(db, "managers", head + f"{m['code']},{m['name']},{m['station_code']},{str(m['hired_on'])[:10]},\n")
    assert one(db, "SELECT phone FROM customer_manager WHERE id = :i", i=m["id"])["phone"] == m["phone"]
    imported(db, "managers", head + f"{m['code']},{m['name']},{m['station_code']},{str(m['hired_on'])[:10]},-\n")
    assert one(db, "SELECT phone FROM customer_manager WHERE id = :i", i=m["id"])["phone"] in ("", None)


# --- duplicates against the database -----------------------------------------------------------------------


CREDIT = next(f"91370102MA3C4XYM0{c}" for c in "0123456789ABCDEFGHJKLMNPQRTUWXY"
              if customers.credit_code_ok(f"91370102MA3C4XYM0{c}"))
NEW_CUSTOMERS = ("name,kind,station_code,phone,credit_code\n"
                 "重复测试甲,personal,370102001,13900000001,\n"
                 f"重复测试乙,institutional,370102001,,{CREDIT}\n")


def test_new_customers_file_imported_twice_is_refused_naming_the_stored_code(db):
    n0 = count(db, "SELECT COUNT(*) FROM customer")
    imported(db, "customers", NEW_CUSTOMERS)
    assert count(db, "SELECT COUNT(*) FROM customer") == n0 + 2
    stored = dict(rows(db, "SELECT name, code FROM customer WHERE name IN ('重复测试甲', '重复测试乙')"))
    again = import_file(db, "customers", NEW_CUSTOMERS.encode(), "f.csv", today=TODAY)
    assert not again.ok
    assert count(db, "SELECT COUNT(*) FROM customer") == n0 + 2
    found = {(e.row, e.column, e.code, e.params.get("code")) for e in again.errors}
    assert found == {(2, "name", "duplicate_customer", stored["重复测试甲"]),
                     (3, "credit_code", "duplicate_customer", stored["重复测试乙"])}
    # naming the stored code updates that customer instead
    body = f"code,name,kind,station_code,phone\n{stored['重复测试甲']},重复测试甲,personal,370102001,13900000002\n"
    assert imported(db, "customers", body).updated == 1


# --- revert ------------------------------------------------------------------------------------------------------


def test_revert_restores_updated_and_inserted_customers_exactly(db):
    admin = user(db, "admin")
    table = "SELECT * FROM customer ORDER BY id"
    summary = "SELECT * FROM customer_monthly ORDER BY customer_id, month"
    before, before_summary = rows(db, table), rows(db, summary)
    a = rich_customer(db)
    body = (f"code,name,kind,station_code,phone,lon\n{a['code']},改名,{a['kind']},{a['station_code']},-,117.5\n"
            ",新客户丙,personal,370102001,13900000009,\n")
    report = imported(db, "customers", body)
    assert (report.inserted, report.updated) == (1, 1) and report.batch_id
    assert rows(db, table) != before
    result = revert(db, admin, report.batch_id)
    assert result.ok, result
    assert rows(db, table) == before
    assert rows(db, summary) == before_summary
    assert not revert(db, admin, report.batch_id).ok  # once only


def test_revert_refused_after_a_later_form_edit_lists_the_rows(db):
    admin = user(db, "admin")
    a = rich_customer(db)
    b = one(db, "SELECT c.code, c.name, c.kind, s.code AS station_code FROM customer c JOIN station s "
                "ON s.id = c.station_id WHERE c.code > :c ORDER BY c.code LIMIT 1", c=a["code"])
    report = imported(db, "customers", f"code,name,kind,station_code\n{a['code']},甲改,{a['kind']},{a['station_code']}\n"
                                       f"{b['code']},乙改,{b['kind']},{b['station_code']}\n")
    customers.update(db, admin, a["id"], {"contact": "后来的修改"}, allow_duplicates=True)
    after_edit = rows(db, "SELECT * FROM customer ORDER BY id")
    result = revert(db, admin, report.batch_id)
    assert not result.ok and result.reason == "changed_since"
    assert result.conflicts == [("customer", a["code"])]
    assert rows(db, "SELECT * FROM customer ORDER BY id") == after_edit  # nothing changed
    with pytest.raises(PermissionError):
        revert(db, user(db, "city"), report.batch_id)


def test_revert_of_a_consumption_import_removes_its_rows_and_refreshes_the_summaries(db):
    admin = user(db, "admin")
    with db.begin() as conn:  # the summaries as lib.summary computes them (the demo writes its own)
        refresh_station_monthly(conn)
        refresh_customer_monthly(conn)
    queries = ["SELECT customer_id, month, gasoline_t, diesel_t, card_cny, visits FROM monthly_consumption "
               "ORDER BY customer_id, month", "SELECT * FROM customer_monthly ORDER BY customer_id, month",
               "SELECT * FROM station_monthly ORDER BY station_id, month"]
    before = [rows(db, q) for q in queries]
    r = one(db, "SELECT c.code, m.month FROM monthly_consumption m JOIN customer c ON c.id = m.customer_id "
                "ORDER BY m.month DESC, c.code LIMIT 1")
    new = [c for (c,) in rows(db, "SELECT code FROM customer WHERE status = 'existing' ORDER BY code LIMIT 30")]
    body = "customer_code,month,gasoline_t,diesel_t\n" + "".join(f"{c},2026-11,3,4\n" for c in new)
    body += f"{r['code']},{r['month']},9,9\n"  # and one stored month changed
    report = imported(db, "consumption", body)
    assert count(db, "SELECT COUNT(*) FROM monthly_consumption WHERE month = '2026-11'") == 30
    assert count(db, "SELECT COUNT(*) FROM customer_monthly WHERE month = '2026-11'") > 0
    result = revert(db, admin, report.batch_id)
    assert result.ok, result
    assert [rows(db, q) for q in queries] == before



def test_grid_file_without_owner_properties_keeps_them_and_a_dash_clears(db):
    """Grids (GeoJSON) follow the same blank-cell rule: a feature naming a stored grid with its owner's
    properties left out kept nothing before (owner name and phone, printed on the service contact card,
    were blanked)."""
    import json

    from lib import export

    g = one(db, "SELECT code, name, owner_name, owner_phone, owner_duties FROM grid "
                "WHERE owner_name <> '' AND owner_phone <> '' ORDER BY code LIMIT 1")
    feats = json.loads(export.grids_geojson(db, "/"))["features"]
    feat = next(f for f in feats if f["properties"]["code"] == g["code"])
    feat["properties"] = {"code": g["code"], "station_code": feat["properties"]["station_code"]}
    imported(db, "grids", json.dumps({"type": "FeatureCollection", "features": [feat]}), "g.geojson")
    assert one(db, "SELECT code, name, owner_name, owner_phone, owner_duties FROM grid WHERE code = :c",
               c=g["code"]) == g
    feat["properties"]["owner_phone"] = "-"
    imported(db, "grids", json.dumps({"type": "FeatureCollection", "features": [feat]}), "g.geojson")
    assert one(db, "SELECT owner_name, owner_phone FROM grid WHERE code = :c", c=g["code"]) == \
        {"owner_name": g["owner_name"], "owner_phone": ""}
