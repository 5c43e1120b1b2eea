"""Customer archive 客户档案: search paging in SQL, profile, create/edit validation, code assignment,
duplicates flagged, tier recomputed, and scope enforced in the library."""
from __future__ import annotations

import os
import time

import pytest
from _work_db import count, db, small_url, user  # noqa: F401 (fixtures)
from sqlalchemy import text

from lib import customers, rules
from lib.auth import SessionUser
from lib.customers import Filters


def _all_pages(engine, scope, f, limit=50):
    codes, after, pages = [], None, 0
    while True:
        page = customers.search(engine, scope, f, after, limit, count=pages == 0)
        if pages == 0:
            total = page.total
        codes += page.rows["code"].tolist()
        paths = page.rows["org_path"].tolist()
        assert all(p.startswith(scope) for p in paths)
        pages += 1
        if page.next_after is None:
            return codes, total, pages
        after = page.next_after


def _sample(engine):
    with engine.connect() as conn:
        r = conn.execute(text("SELECT c.name, c.phone, c.code, c.grid_id, c.manager_id, c.org_path FROM customer c "
                              "WHERE c.manager_id IS NOT NULL ORDER BY c.id LIMIT 1 OFFSET 100")).one()
        city = conn.execute(text("SELECT path FROM org_unit WHERE level = 'city' ORDER BY path LIMIT 1 OFFSET 1")).scalar()
    return r, city


CASES = {
    "everything": lambda r: (Filters(), "SELECT code FROM customer c WHERE 1 = 1", {}),
    "name-prefix": lambda r: (Filters(name=r.name[0]), "SELECT code FROM customer c WHERE c.name LIKE :p",
                              {"p": r.name[0] + "%"}),
    "name-contains": lambda r: (Filters(name=r.name[-1], name_mode="contains"),
                                "SELECT code FROM customer c WHERE c.name LIKE :p", {"p": "%" + r.name[-1] + "%"}),
    "code-prefix": lambda r: (Filters(code=r.code[:9].lower()), "SELECT code FROM customer c WHERE c.code LIKE :p",
                              {"p": r.code[:9] + "%"}),
    "phone": lambda r: (Filters(phone=r.phone), "SELECT code FROM customer c WHERE c.phone = :p", {"p": r.phone}),
    "tier": lambda r: (Filters(tier="district"), "SELECT code FROM customer c WHERE "
                       "COALESCE(c.tier_override, c.computed_tier) = 'district'", {}),
    "kind-status": lambda r: (Filters(kind="institutional", status="existing"),
                              "SELECT code FROM customer c WHERE c.kind = 'institutional' AND c.status = 'existing'", {}),
    "grid": lambda r: (Filters(grid_id=r.grid_id), "SELECT code FROM customer c WHERE c.grid_id = :g", {"g": r.grid_id}),
    "manager-tier": lambda r: (Filters(manager_id=r.manager_id, tier="station"),
                               "SELECT code FROM customer c WHERE c.manager_id = :m AND "
                               "COALESCE(c.tier_override, c.computed_tier) = 'station'", {"m": r.manager_id}),
    "nothing": lambda r: (Filters(name="不存在的客户名称"), "SELECT code FROM customer c WHERE 1 = 0", {}),
}


@pytest.mark.parametrize("scope_kind", ["root", "city", "station", "custmgr"])
@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
def test_search_pages_through_exactly_the_matching_customers(engine, case, scope_kind):
    r, city = _sample(engine)
    scope = {"root": "/37/", "city": city, "station": user(engine, "station").scope,
             "custmgr": user(engine, "custmgr").scope}[scope_kind]
    f, sql, params = CASES[case](r)
    with engine.connect() as conn:
        expected = conn.execute(text(f"{sql} AND c.org_path LIKE :s ORDER BY c.org_path, c.code"),
                                params | {"s": scope + "%"}).scalars().all()
    got, total, pages = _all_pages(engine, scope, f, limit=97)
    assert got == expected  # same customers, same (org path, code) order, no page overlaps or gaps
    assert total == min(len(expected), customers.COUNT_CAP)
    assert pages == max(1, -(-len(expected) // 97))


def test_count_is_capped(engine, monkeypatch):
    monkeypatch.setattr(customers, "COUNT_CAP", 100)
    page = customers.search(engine, "/37/", Filters())
    assert page.total == 100 and page.total_capped and len(page.rows) == customers.PAGE_SIZE


def test_search_rejects_a_bad_limit(engine):
    with pytest.raises(ValueError, match="limit"):
        customers.search(engine, "/37/", Filters(), limit=0)


def test_profile_explains_the_tier_and_has_the_consumption(engine):
    with engine.connect() as conn:
        cid, rule = conn.execute(text("SELECT id, tier_rule FROM customer WHERE computed_tier = 'city' AND status = "
                                      "'existing' ORDER BY id LIMIT 1")).one()
        months = conn.execute(text("SELECT COUNT(*) FROM monthly_consumption WHERE customer_id = :c"), {"c": cid}).scalar()
    prof = customers.profile(engine, "/37/", cid)
    assert prof["decision"].tier == "city" and prof["decision"].rule == rule
    assert prof["decision"].section.startswith("002 §6.3.1.2")
    assert len(prof["consumption"]) == min(months, 24) > 0
    assert prof["consumption"]["month"].is_monotonic_increasing
    assert prof["station"]["name"] and prof["grid"] is not None


def test_every_tier_rule_has_an_explanation():
    from lib.i18n import catalog

    for lang in ("zh", "en"):
        assert all(f"tier_rule.{r}" in catalog(lang) for r in customers.TIER_RULES)


# --- create and edit -------------------------------------------------------------------------------


def _base(engine, scope):
    with engine.connect() as conn:
        sid = conn.execute(text("SELECT id FROM station WHERE org_path LIKE :s ORDER BY id LIMIT 1"),
                           {"s": scope + "%"}).scalar_one()
    return {"name": "测试新客户", "kind": "personal", "sub_type": "private_car", "station_id": sid,
            "phone": "13712345678", "gasoline_t": 0.3}


@pytest.mark.parametrize("field,value", [
    ("name", ""), ("kind", "company"), ("sub_type", "spaceship"), ("phone", "12ab"), ("credit_code", "91370102ABC"),
    ("gasoline_t", -1), ("diesel_t", "lots"), ("card_cny", float("nan")), ("value_class", 7), ("status", "gone"),
    ("lost_month", "2026/13"), ("lon", 200), ("tier_override", "galaxy"), ("agreement", "village"),
    ("station_id", None), ("station_id", 10**9),
])
def test_create_validation_names_the_field(db, field, value):
    station = user(db, "station")
    data = _base(db, station.scope) | {field: value}
    if field == "lon":
        data["lat"] = 36.0
    before = count(db, "SELECT COUNT(*) FROM customer")
    with pytest.raises(ValueError) as err:
        customers.create(db, station, data)
    assert str(err.value).startswith(field)
    assert count(db, "SELECT COUNT(*) FROM customer") == before


def test_lost_customer_needs_a_lost_month_and_a_new_customer_takes_no_hand_set_tier(db):
    station = user(db, "station")
    with pytest.raises(ValueError, match="^lost_month"):
        customers.create(db, station, _base(db, station.scope) | {"status": "lost"})
    with pytest.raises(ValueError, match="^tier_override: tier changes go through the tier transfer"):
        customers.create(db, station, _base(db, station.scope) | {"tier_override": "city", "tier_override_reason": "重点"})


def test_codes_are_assigned_from_the_next_free_number(db):
    station = user(db, "station")
    data = _base(db, station.scope) | {"kind": "institutional", "sub_type": "mining", "name": "泰安示例矿业有限公司",
                                       "diesel_t": 25, "phone": ""}
    with db.connect() as conn:
        st_code = conn.execute(text("SELECT code FROM station WHERE id = :s"), {"s": data["station_id"]}).scalar()
        used = [rules.parse_customer_code(c)["seq"] for c in conn.execute(
            text("SELECT code FROM customer WHERE code LIKE :p"), {"p": f"{st_code}J05%"}).scalars()]
    cid, code = customers.create(db, station, data)
    parsed = rules.parse_customer_code(code)
    assert (parsed["unit"], parsed["kind"], parsed["class_code"]) == (st_code, "institutional", 5)
    assert parsed["seq"] == max(used, default=0) + 1
    _, code2 = customers.create(db, station, data | {"name": "泰安示例矿业二公司"})
    assert rules.parse_customer_code(code2)["seq"] == parsed["seq"] + 1
    row = customers.get(db, station.scope, cid)
    assert (row["computed_tier"], row["tier_rule"], row["size"]) == ("district", "district.diesel", "medium")
    assert row["org_path"] == customers.choices(db, station.scope)["stations"]["org_path"].iloc[0]


@pytest.mark.parametrize("field", ["name", "phone", "credit_code"])
def test_likely_duplicates_are_flagged_before_saving(db, field):
    station = user(db, "station")
    with db.connect() as conn:
        other = conn.execute(text("SELECT name, phone, credit_code FROM customer WHERE org_path LIKE :s AND "
                                  "credit_code <> '' ORDER BY id LIMIT 1"), {"s": station.scope + "%"}).one()
    data = _base(db, station.scope) | {"name": "独一无二的名字", "phone": "13000000009", "kind": "institutional",
                                       "sub_type": "other"}
    data[field] = getattr(other, field)
    before = count(db, "SELECT COUNT(*) FROM customer")
    with pytest.raises(customers.DuplicateError) as err:
        customers.create(db, station, data)
    inside = err.value.duplicates["inside"]
    assert len(inside) >= 1 and all(field in r for r in inside["reason"])
    assert count(db, "SELECT COUNT(*) FROM customer") == before
    customers.create(db, station, data, allow_duplicates=True)
    assert count(db, "SELECT COUNT(*) FROM customer") == before + 1


def test_duplicates_elsewhere_are_counted_not_shown(db):
    station = user(db, "station")
    with db.connect() as conn:
        other = conn.execute(text("SELECT name, code FROM customer WHERE org_path NOT LIKE :s ORDER BY id LIMIT 1"),
                             {"s": station.scope + "%"}).one()
    dup = customers.duplicates(db, station.scope, name=other.name)
    assert other.code not in dup["inside"]["code"].tolist()
    assert dup["outside"]["customers"].sum() >= 1 and list(dup["outside"].columns) == ["unit", "customers"]


def test_edit_recomputes_the_tier_and_refreshes_the_summary(db, monkeypatch):
    from lib import months

    monkeypatch.setattr(months, "current", lambda: "2026-10")  # the edit is made in the data's last month
    station = user(db, "station")
    with db.connect() as conn:
        cid, sid = conn.execute(text(
            "SELECT c.id, c.station_id FROM customer c WHERE c.org_path LIKE :s AND c.computed_tier = 'station' "
            "AND c.tier_override IS NULL AND c.status = 'existing' AND EXISTS (SELECT 1 FROM monthly_consumption m "
            "WHERE m.customer_id = c.id AND m.month = '2026-10' AND m.diesel_t > 0) ORDER BY c.id LIMIT 1"),
            {"s": station.scope + "%"}).one()
    changed = customers.update(db, station, cid, {"diesel_t": 60})
    assert changed["computed_tier"] == ("station", "city") and changed["tier_rule"][1] == "city.diesel"
    with db.connect() as conn:
        summary = conn.execute(text("SELECT SUM(diesel_t) FROM station_monthly WHERE station_id = :s AND tier = 'city'"),
                               {"s": sid}).scalar()
        detail = conn.execute(text(
            "SELECT SUM(m.diesel_t) FROM monthly_consumption m JOIN customer c ON c.id = m.customer_id "
            "WHERE c.station_id = :s AND COALESCE(c.tier_override, c.computed_tier) = 'city' "
            "AND (c.id <> :c OR m.month >= '2026-10')"), {"s": sid, "c": cid}).scalar()  # its months before keep theirs
        audit = conn.execute(text("SELECT before, after FROM audit_log WHERE entity = 'customer' AND entity_id = :c "
                                  "ORDER BY id DESC LIMIT 1"), {"c": str(cid)}).one()
    assert summary == pytest.approx(detail) and detail > 0
    assert '"diesel_t"' in audit.before and "60" in audit.after
    assert customers.update(db, station, cid, {"diesel_t": 60}) == {}  # nothing changed, nothing written


def test_tier_override_goes_through_the_transfer_with_who_and_why(db):
    """The edit refuses a hand-set tier (issue 15); the transfer (lib.tiers.set_override) records it."""
    from lib import tiers

    station, area = user(db, "station"), user(db, "area")
    cid, _ = customers.create(db, station, _base(db, station.scope))
    with pytest.raises(ValueError, match="^tier_override: tier changes go through the tier transfer"):
        customers.update(db, area, cid, {"tier_override": "district", "tier_override_reason": "重点培育"})
    assert customers.get(db, station.scope, cid)["tier_override"] is None
    tiers.set_override(db, area, cid, "district", "重点培育")
    row = customers.get(db, station.scope, cid)
    assert (row["tier_override"], row["tier_override_by"], row["computed_tier"]) == ("district", "area", "station")
    assert customers.update(db, area, cid, {"phone": "13700000002"}) == {"phone": (row["phone"], "13700000002")}
    tiers.set_override(db, area, cid, None, "回到规则")
    row = customers.get(db, station.scope, cid)
    assert row["tier_override"] is None and row["tier_override_reason"] is None


# --- scope -----------------------------------------------------------------------------------------


def _outsider(engine, scope):
    with engine.connect() as conn:
        return conn.execute(text("SELECT id, code, station_id FROM customer WHERE org_path NOT LIKE :s ORDER BY id "
                                 "LIMIT 1"), {"s": scope + "%"}).one()


def test_station_manager_cannot_read_or_edit_another_stations_customer(db):
    station = user(db, "station")
    other = _outsider(db, station.scope)
    assert customers.get(db, station.scope, other.id) is None
    assert customers.profile(db, station.scope, other.id) is None
    assert customers.by_code(db, station.scope, other.code) is None
    assert other.code not in _all_pages(db, station.scope, Filters(code=other.code))[0]
    with pytest.raises(ValueError, match="not found in your scope"):
        customers.update(db, station, other.id, {"name": "改不了"})
    with pytest.raises(ValueError, match="outside your scope"):
        customers.create(db, station, _base(db, station.scope) | {"station_id": other.station_id})
    own = customers.search(db, station.scope, Filters()).rows["id"].iloc[0]
    with pytest.raises(ValueError, match="outside your scope"):  # nor move its own customer away
        customers.update(db, station, int(own), {"station_id": other.station_id})


def test_customer_manager_creates_inside_their_own_segment(db):
    mgr = user(db, "custmgr")
    mid = int(mgr.scope.rstrip("/").rsplit("/m", 1)[1])
    data = _base(db, mgr.scope[: mgr.scope.rindex("/m") + 1])
    with pytest.raises(ValueError, match="outside your scope"):
        customers.create(db, mgr, data)  # unassigned: the station's path, not theirs
    cid, _ = customers.create(db, mgr, data | {"manager_id": mid})
    assert customers.get(db, mgr.scope, cid)["org_path"] == mgr.scope


def test_viewer_cannot_write(db):
    viewer = user(db, "viewer")
    with pytest.raises(ValueError, match="read-only"):
        customers.create(db, viewer, _base(db, "/37/"))
    fake = SessionUser(0, "x", "x", "province_viewer", "/37/")
    with pytest.raises(ValueError, match="read-only"):
        customers.update(db, fake, 1, {"name": "x"})


# --- benchmark at 1,000,000 customers (python -m lib.demo --customers 1000000 --db sqlite:////tmp/demo1m.db) ----

BENCH = os.environ.get("GRIDCRM_BENCH_DB")


@pytest.mark.skipif(not BENCH, reason="set GRIDCRM_BENCH_DB to a 1M-customer demo database URL")
def test_archive_search_is_fast_at_a_million_customers():
    from lib.db import make_engine

    engine = make_engine(BENCH)
    assert count(engine, "SELECT COUNT(*) FROM customer") >= 1_000_000
    r, city = _sample(engine)
    with engine.connect() as conn:
        district = conn.execute(text("SELECT path FROM org_unit WHERE level = 'district' ORDER BY path DESC LIMIT 1")).scalar()
        station = conn.execute(text("SELECT path FROM org_unit WHERE level = 'station' ORDER BY path LIMIT 1 "
                                    "OFFSET 100")).scalar()
    cases = [(scope, f) for scope in ("/37/", city, district, station) for f in (
        Filters(), Filters(name=r.name[0]), Filters(name=r.name), Filters(name=r.name[1:], name_mode="contains"),
        Filters(name="不存在的名字", name_mode="contains"), Filters(code=r.code[:9]), Filters(code=r.code),
        Filters(phone=r.phone), Filters(tier="city"), Filters(tier="province"), Filters(kind="institutional"),
        Filters(status="lost", kind="institutional"), Filters(status="existing", tier="station"),
        Filters(grid_id=r.grid_id), Filters(manager_id=r.manager_id), Filters(name="王", tier="province"))]
    worst = 0.0
    for scope, f in cases:
        t0 = time.perf_counter()
        page = customers.search(engine, scope, f)
        first = time.perf_counter() - t0
        t0 = time.perf_counter()
        if page.next_after:
            customers.search(engine, scope, f, page.next_after, count=False)
        worst = max(worst, first, time.perf_counter() - t0)
    print(f"archive search at 1M customers: {len(cases)} searches, worst page {worst * 1000:.0f} ms")
    assert worst < 0.5
