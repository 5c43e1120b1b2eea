"""lib.tiers: distributions, owners, monthly tiers by the rule book, migration, candidates, overrides,
the §6.1.1 load check — against independent computations on the fixture database."""
from __future__ import annotations

import json
from collections import Counter, defaultdict

import pytest
from apptest_helpers import user_of
from sqlalchemy import text

from lib import queries, rules, tiers
from lib.config import rules as config

MONTH = "2026-10"


def _scopes(engine):
    with engine.connect() as conn:
        city = conn.execute(text("SELECT path FROM org_unit WHERE level = 'city' ORDER BY path LIMIT 1")).scalar()
        district = conn.execute(text("SELECT path FROM org_unit WHERE level = 'district' ORDER BY path LIMIT 1")).scalar()
        station = conn.execute(text("SELECT path FROM org_unit WHERE level = 'station' ORDER BY path LIMIT 1")).scalar()
    return {"province": "/37/", "city": city, "district": district, "station": station}


@pytest.fixture(scope="module")
def scopes(engine):
    return _scopes(engine)


def _shift(month, k):
    return queries.shift_month(month, k)


def independent_monthly_tiers(engine, scope: str, month: str) -> dict[int, str]:
    """Each on-the-books customer's tier from raw rows and lib.rules (3-month mean G/D, 12-month card)."""
    like = scope + "%"
    with engine.connect() as conn:
        first = conn.execute(text("SELECT MIN(month) FROM monthly_consumption")).scalar()
        custs = conn.execute(text(
            "SELECT id, kind, status, lost_month, developed_month, agreement, province_procurement, stable "
            "FROM customer WHERE org_path LIKE :s"), {"s": like}).all()
        cons = conn.execute(text(
            "SELECT m.customer_id, m.month, m.gasoline_t, m.diesel_t, m.card_cny FROM monthly_consumption m "
            "JOIN customer c ON c.id = m.customer_id WHERE c.org_path LIKE :s"), {"s": like}).all()
    by = defaultdict(list)
    for row in cons:
        by[row[0]].append(row)
    idx = lambda m: int(m[:4]) * 12 + int(m[5:7])  # noqa: E731
    out = {}
    for cid, kind, status, lost, dev, agr, pp, stable in custs:
        on_books = (status == "existing" or (status == "lost" and lost > month)) and (dev is None or dev <= month)
        if not on_books:
            continue
        start = max(dev or first, first)
        n3 = max(1, min(3, idx(month) - idx(start) + 1))
        n12 = max(1, min(12, idx(month) - idx(start) + 1))
        # means to the gram, card sums to the fen (lib.tiers docstring)
        g = round(sum(r[2] for r in by[cid] if _shift(month, -2) <= r[1] <= month) / n3, 6)
        d = round(sum(r[3] for r in by[cid] if _shift(month, -2) <= r[1] <= month) / n3, 6)
        c = round(sum(r[4] for r in by[cid] if _shift(month, -11) <= r[1] <= month) * 12 / n12, 2)
        out[cid] = rules.tier_decision(g, d, c, institutional=kind == "institutional", agreement=agr,
                                       province_procurement=bool(pp), stable=bool(stable)).tier
    return out


@pytest.mark.parametrize("level", ["province", "city", "district", "station"])
def test_monthly_tiers_agree_with_the_rule_book_on_every_customer(engine, scopes, level):
    got = tiers.monthly_tiers(engine, scopes[level], MONTH)
    expected = independent_monthly_tiers(engine, scopes[level], MONTH)
    assert len(got) == len(expected) > 0
    assert dict(zip(got["customer_id"], got["tier"])) == expected
    # the rule named beside each tier is one of that tier's rules, with its seed section
    assert all(r.startswith(f"{t}.") for r, t in zip(got["rule"], got["tier"]))
    assert set(got["rule"]) <= set(tiers_rule_ids())
    assert all(x.startswith("002 §6.") for x in got["section"])


def tiers_rule_ids():
    from lib.vocab import VALUES

    return VALUES["tier_rule"]


def test_every_tier_occurs_in_the_fixture(engine):
    got = tiers.monthly_tiers(engine, "/37/", MONTH)
    assert set(got["tier"]) == set(rules.TIERS)


@pytest.mark.parametrize("level", ["province", "city", "district", "station"])
def test_distribution_counts_the_overview_customers(engine, scopes, level):
    dist = tiers.distribution(engine, scopes[level], MONTH)
    over = queries.overview(engine, scopes[level], MONTH)
    assert int(dist["customers"].sum()) == over["customers"] > 0
    for dim in tiers.DIMENSIONS:
        by = tiers.by_dimension(dist, dim)
        total = int(by["customers"].sum())
        if dim == "size":  # sizes are for institutions only
            assert total == over["by_kind"]["institutional"]
        else:
            assert total == over["customers"], dim
    by_tier = tiers.by_dimension(dist, "tier")
    assert list(by_tier["tier"]) == [t for t in reversed(rules.TIERS) if t in set(by_tier["tier"])]
    assert dict(zip(by_tier["tier"], by_tier["customers"])) == {k: v for k, v in over["by_tier"].items() if v}


def test_distribution_volume_equals_consumption(engine):
    dist = tiers.distribution(engine, "/37/", MONTH)
    with engine.connect() as conn:
        vol = conn.execute(text(
            "SELECT SUM(m.gasoline_t + m.diesel_t) FROM monthly_consumption m JOIN customer c ON c.id = m.customer_id "
            "WHERE m.month = :m AND (c.status = 'existing' OR (c.status = 'lost' AND c.lost_month > :m)) "
            "AND (c.developed_month IS NULL OR c.developed_month <= :m)"), {"m": MONTH}).scalar()
    assert dist["volume_t"].sum() == pytest.approx(vol)


def test_by_dimension_rejects_unknown_dimension(engine):
    with pytest.raises(ValueError, match="dimension"):
        tiers.by_dimension(tiers.distribution(engine, "/37/", MONTH), "colour")


@pytest.mark.parametrize("level", ["province", "district", "station"])
def test_owners_are_the_units_of_the_tiers_level(engine, scopes, level):
    own = tiers.owners(engine, scopes[level], MONTH)
    over = queries.overview(engine, scopes[level], MONTH)
    assert int(own["customers"].sum()) == over["customers"]
    with engine.connect() as conn:
        levels = dict(conn.execute(text("SELECT name, level FROM org_unit")).all())
    for row in own.itertuples():
        assert row.owner_body == rules.TIER_OWNER[row.tier]  # 002 §6.4
        assert levels[row.unit] == row.tier  # a district customer is owned by its district, …


def test_migration_accounts_for_every_customer_once(engine):
    a, b = "2025-10", MONTH
    flows = tiers.migration(engine, "/37/", a, b)
    ta, tb = independent_monthly_tiers(engine, "/37/", a), independent_monthly_tiers(engine, "/37/", b)
    expected = Counter((ta.get(c, "none"), tb.get(c, "none")) for c in set(ta) | set(tb))
    assert {(r.from_tier, r.to_tier): r.customers for r in flows.itertuples()} == dict(expected)
    assert flows.loc[flows["from_tier"] == "none", "customers"].sum() > 0  # developed in between
    assert flows.loc[flows["to_tier"] == "none", "customers"].sum() > 0  # lost in between


def test_migration_changes_only_leaves_out_unchanged_new_and_lost(engine):
    flows = tiers.migration(engine, "/37/", "2025-10", MONTH, changes_only=True)
    full = tiers.migration(engine, "/37/", "2025-10", MONTH)
    moved = full[(full["from_tier"] != full["to_tier"]) & (full["from_tier"] != "none") & (full["to_tier"] != "none")]
    assert flows.reset_index(drop=True).equals(moved.reset_index(drop=True)) and len(flows) > 0


def test_candidates_differ_from_tier_in_force_and_name_the_rule(engine):
    cand = tiers.candidates(engine, "/37/", MONTH)
    mt = tiers.monthly_tiers(engine, "/37/", MONTH)
    expected = mt[mt["override"].isna() & (mt["tier"] != mt["tier_in_force"])]
    assert len(cand) == len(expected) > 0
    pos = {t: i for i, t in enumerate(rules.TIERS)}
    for row in cand.itertuples():
        assert row.measured_tier != row.tier_in_force
        assert row.direction == ("promote" if pos[row.measured_tier] > pos[row.tier_in_force] else "demote")
        assert row.rule.split(".")[0] == row.measured_tier and row.section.startswith("002 §6.")
    assert set(cand["direction"]) == {"promote", "demote"}


def test_load_check_follows_the_configured_thresholds(engine):
    p = config()["tier_load"]
    assert {f"{lv}_{b}_per_staff" for lv in rules.TIERS for b in ("min", "max")} <= set(p)
    load = tiers.load_check(engine, "/37/", MONTH)
    with engine.connect() as conn:
        custs = conn.execute(text(
            "SELECT COALESCE(tier_override, computed_tier), org_path FROM customer WHERE (status = 'existing' OR "
            "(status = 'lost' AND lost_month > :m)) AND (developed_month IS NULL OR developed_month <= :m)"),
            {"m": MONTH}).all()
        n_units = conn.execute(text("SELECT COUNT(*) FROM org_unit")).scalar()
    assert len(load) == n_units
    for row in load.itertuples():
        n = sum(1 for tier, path in custs if tier == row.level and path.startswith(row.path))
        assert row.customers == n, row.unit
        if row.staff:
            ratio = n / row.staff
            status = ("over" if ratio > p[f"{row.level}_max_per_staff"] else
                      "under" if ratio < p[f"{row.level}_min_per_staff"] else "ok")
            assert row.status == status, row.unit
    assert (load["status"] != "ok").any()
    assert list(load["status"] != "ok") == sorted(load["status"] != "ok", reverse=True)  # flagged first


def test_summary_matches_its_parts(engine):
    s = tiers.summary(engine, "/37/", MONTH)
    cand = tiers.candidates(engine, "/37/", MONTH)
    assert s["promote"] == (cand["direction"] == "promote").sum()
    assert s["demote"] == (cand["direction"] == "demote").sum()
    assert s["customers"] == queries.overview(engine, "/37/", MONTH)["customers"]
    with engine.connect() as conn:
        assert s["overrides"] == conn.execute(text("SELECT COUNT(*) FROM customer WHERE tier_override IS NOT NULL")
                                              ).scalar()


# --- manual override 人工调整 (writes: a small demo province of its own) --------------------------


_user = user_of  # (conftest.py: `small`, a writable 900-customer province)


def _customer(engine, scope, computed="station"):
    with engine.connect() as conn:
        return conn.execute(text(
            "SELECT id, station_id, computed_tier FROM customer WHERE org_path LIKE :s AND computed_tier = :t "
            "AND tier_override IS NULL AND status = 'existing' ORDER BY id LIMIT 1"),
            {"s": scope + "%", "t": computed}).one()


def _station_tiers(engine, station_id):
    with engine.connect() as conn:
        return dict(conn.execute(text("SELECT tier, SUM(customers) FROM station_monthly WHERE station_id = :s "
                                      "AND month = :m GROUP BY tier"), {"s": station_id, "m": MONTH}).all())


@pytest.mark.parametrize("login", ["admin", "city", "area"])
def test_override_needs_a_reason_is_audited_and_refreshes_the_summary(small, login):
    user = _user(small, login)
    cid, sid, computed = _customer(small, user.scope)
    before = _station_tiers(small, sid)
    for reason in ("", "   ", "ab"):
        with pytest.raises(ValueError, match="reason"):
            tiers.set_override(small, user, cid, "district", reason)
    tiers.set_override(small, user, cid, "district", "战略客户,报请片区经理管理", month=MONTH)  # from the month shown
    with small.connect() as conn:
        row = conn.execute(text("SELECT tier_override, tier_override_reason, tier_override_by FROM customer "
                                "WHERE id = :id"), {"id": cid}).one()
        audit = conn.execute(text("SELECT actor, action, before, after FROM audit_log WHERE entity = 'customer' "
                                  "AND entity_id = :id"), {"id": str(cid)}).all()
    assert tuple(row) == ("district", "战略客户,报请片区经理管理", user.login)
    assert len(audit) == 1 and audit[0][0] == user.login and audit[0][1] == "tier_override"
    assert json.loads(audit[0][3])["tier_override"] == "district" and json.loads(audit[0][2])["tier_override"] is None
    after = _station_tiers(small, sid)
    assert sum(after.values()) == sum(before.values())
    with small.connect() as conn:
        bought = conn.execute(text("SELECT COUNT(*) FROM monthly_consumption WHERE customer_id = :c AND month = :m "
                                   "AND gasoline_t + diesel_t + card_cny > 0"), {"c": cid, "m": MONTH}).scalar()
    if bought:  # the customer bought this month → it moved between the summary's tier rows
        assert after.get("district", 0) == before.get("district", 0) + 1
    # clearing the override gives the customer back to the rules, audited too
    tiers.set_override(small, user, cid, None, "客户用油量回落,恢复按规则分级", month=MONTH)
    with small.connect() as conn:
        assert conn.execute(text("SELECT tier_override FROM customer WHERE id = :id"), {"id": cid}).scalar() is None
        assert conn.execute(text("SELECT COUNT(*) FROM audit_log WHERE entity = 'customer' AND entity_id = :id"),
                            {"id": str(cid)}).scalar() == 2
    assert _station_tiers(small, sid) == before


@pytest.mark.parametrize("login", ["station", "custmgr", "viewer"])
def test_roles_at_or_below_station_level_cannot_override(small, login):
    user = _user(small, login)
    admin = _user(small, "admin")
    with small.connect() as conn:  # one of their own customers if they have one: the role decides, not the scope
        cid = conn.execute(text("SELECT id FROM customer WHERE org_path LIKE :s ORDER BY org_path = :s DESC, id"),
                           {"s": user.scope + "%"}).scalar() or _customer(small, "/37/")[0]
    with pytest.raises(tiers.NotAllowed):
        tiers.set_override(small, user, cid, "district", "站经理想自己调整等级")
    with small.connect() as conn:
        assert conn.execute(text("SELECT tier_override FROM customer WHERE id = :id"), {"id": cid}).scalar() is None
        assert conn.execute(text("SELECT COUNT(*) FROM audit_log WHERE entity = 'customer'")).scalar() == 0
    assert admin.role == "province_admin"


def test_override_outside_the_scope_is_refused(small):
    area = _user(small, "area")
    with small.connect() as conn:
        outside = conn.execute(text("SELECT id FROM customer WHERE org_path NOT LIKE :s ORDER BY id LIMIT 1"),
                               {"s": area.scope + "%"}).scalar()
    with pytest.raises(tiers.NotAllowed, match="scope"):
        tiers.set_override(small, area, outside, "district", "不是本片区的客户")


@pytest.mark.parametrize("computed,new,ok", [
    ("station", "district", True), ("station", "city", False), ("station", "province", False),
    ("station", "station", False), ("station", "regional", False),
])
def test_override_moves_one_level_only(small, computed, new, ok):
    admin = _user(small, "admin")
    cid, _, _ = _customer(small, admin.scope, computed)
    if ok:
        tiers.set_override(small, admin, cid, new, "002 §6.1.1 上级转移")
    else:
        with pytest.raises(ValueError):
            tiers.set_override(small, admin, cid, new, "002 §6.1.1 上级转移")


def test_clearing_without_an_override_is_refused(small):
    admin = _user(small, "admin")
    cid, _, _ = _customer(small, admin.scope)
    with pytest.raises(ValueError, match="no override"):
        tiers.set_override(small, admin, cid, None, "没有可取消的调整")


def test_customer_by_code_is_scoped(engine):
    with engine.connect() as conn:
        code, path = conn.execute(text("SELECT code, org_path FROM customer ORDER BY id LIMIT 1")).one()
        other = conn.execute(text("SELECT path FROM org_unit WHERE level = 'station' AND :p NOT LIKE path || '%' "
                                  "ORDER BY path LIMIT 1"), {"p": path}).scalar()
    assert tiers.customer_by_code(engine, "/37/", code.lower())["code"] == code
    assert tiers.customer_by_code(engine, other, code) is None
