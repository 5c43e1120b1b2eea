"""Customer managers 客户经理 (003 §4): level from last year's volume, trainee for three months, the
transfer flag after two ratings below junior, commission by customer type and plan completion,
ranking, and each manager's customers."""
from __future__ import annotations

import datetime as dt

import pytest
from _work_db import count, db, small_url, user  # noqa: F401 (fixtures)
from sqlalchemy import text

from lib import managers, rules
from lib.config import rules as config

TODAY = dt.date(2026, 11, 20)


def _volume_by_manager(engine, scope, month):
    """Independent: monthly tonnes per manager and customer kind from the detail table."""
    with engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT c.manager_id, c.kind, SUM(m.gasoline_t + m.diesel_t) FROM monthly_consumption m "
            "JOIN customer c ON c.id = m.customer_id WHERE c.org_path LIKE :s AND m.month = :m "
            "AND c.manager_id IS NOT NULL GROUP BY c.manager_id, c.kind"), {"s": scope + "%", "m": month}).all()
    out = {}
    for mid, kind, t in rows:
        out.setdefault(mid, {"institutional": 0.0, "personal": 0.0})[kind] = float(t)
    return out


@pytest.mark.parametrize("login", ["admin", "city", "area", "station", "custmgr"])
def test_ranking_volumes_and_commission_equal_an_independent_computation(engine, login):
    scope = user(engine, login).scope
    month = "2026-10"
    ranking = managers.ranking(engine, scope, month, TODAY).set_index("id")
    expected = _volume_by_manager(engine, scope, month)
    assert len(ranking) > 0
    growth = config()["manager_plan"]["growth"]
    last = _volume_by_manager(engine, scope, "2025-10")
    for mid, row in ranking.iterrows():
        vol = expected.get(mid, {"institutional": 0.0, "personal": 0.0})
        assert row["institutional_t"] == pytest.approx(vol["institutional"])
        assert row["personal_t"] == pytest.approx(vol["personal"])
        last_t = sum(last.get(mid, {}).values())
        target = last_t * (1 + growth) if last_t > 0 else None
        assert (row["target_t"] is None or row["target_t"] != row["target_t"]) if target is None \
            else row["target_t"] == pytest.approx(target)
        completion = (vol["institutional"] + vol["personal"]) / target if target else 1.0
        cny = rules.commission(vol["institutional"], "institutional", completion) + \
            rules.commission(vol["personal"], "personal", completion)
        assert row["commission_cny"] == pytest.approx(cny)
    ordered = ranking.sort_values("rank")
    assert ordered["volume_t"].is_monotonic_decreasing
    if login == "custmgr":
        assert len(ranking) == 1


def test_plan_sets_the_completion_band(db):
    area = user(db, "area")
    month = "2026-10"
    ranking = managers.ranking(db, area.scope, month, TODAY).set_index("id")
    mid = int(ranking[ranking["volume_t"] > 0].index[0])
    volume = ranking.at[mid, "volume_t"]
    for target, band in ((volume * 2, 0), (volume / 0.9, 1), (volume / 1.5, 2)):
        managers.set_plan(db, area, mid, month, target)
        row = managers.ranking(db, area.scope, month, TODAY).set_index("id").loc[mid]
        coeff = config()["customer_manager"]["commission_cny_per_t"]
        expected = row["institutional_t"] * coeff["institutional"][band] + row["personal_t"] * coeff["personal"][band]
        assert row["target_t"] == pytest.approx(target) and row["commission_cny"] == pytest.approx(expected)
    with pytest.raises(ValueError, match="target_t"):
        managers.set_plan(db, area, mid, month, -5)
    with pytest.raises(ValueError, match="role"):
        managers.set_plan(db, user(db, "custmgr"), mid, month, 10)


def _hire(engine, days_ago: int, misses: int = 0) -> int:
    with engine.begin() as conn:
        unit, path = conn.execute(text("SELECT org_unit_id, org_path FROM customer_manager m JOIN org_unit u "
                                       "ON u.id = m.org_unit_id ORDER BY m.id LIMIT 1")).one()
        conn.execute(text("INSERT INTO customer_manager (org_unit_id, org_path, name, phone, hired_on, level, misses, "
                          "active) VALUES (:u, :p, '新经理', '', :h, 'junior', :x, :a)"),
                     {"u": unit, "p": path, "h": TODAY - dt.timedelta(days=days_ago), "x": misses, "a": True})
        return conn.execute(text("SELECT MAX(id) FROM customer_manager")).scalar()


def test_rating_levels_trainee_and_the_transfer_flag(db):
    admin = user(db, "admin")
    trainee = _hire(db, 40)
    veteran = _hire(db, 2000)  # no customers: below the junior standard every year
    r2026 = managers.rate(db, admin, 2026, TODAY).set_index("manager_id")
    assert r2026.at[trainee, "level"] == "trainee" and not r2026.at[trainee, "below_standard"]
    assert r2026.at[veteran, "level"] == "junior" and r2026.at[veteran, "below_standard"]
    assert r2026.at[veteran, "misses"] == 1 and not r2026.at[veteran, "transfer_due"]
    r2027 = managers.rate(db, admin, 2027, TODAY).set_index("manager_id")
    assert r2027.at[veteran, "misses"] == 2 and r2027.at[veteran, "transfer_due"]  # 003: two in a row → transfer
    again = managers.rate(db, admin, 2027, TODAY).set_index("manager_id")  # re-rating a year counts once
    assert again.at[veteran, "misses"] == 2
    roster = managers.roster(db, "/37/", TODAY).set_index("id")
    assert roster.at[veteran, "transfer_due"] and roster.at[veteran, "level"] == "junior"
    assert count(db, "SELECT COUNT(*) FROM manager_rating WHERE manager_id = :m", m=veteran) == 2
    assert count(db, "SELECT COUNT(*) FROM audit_log WHERE action = 'rate' AND entity_id = :m", m=str(veteran)) >= 1


def test_rating_follows_last_years_volume(db):
    admin = user(db, "admin")
    result = managers.rate(db, admin, 2026, TODAY).set_index("manager_id")
    with db.connect() as conn:
        hired = dict(conn.execute(text("SELECT id, hired_on FROM customer_manager")).all())
    vols = managers.yearly_volume(db, "/37/", 2025).set_index("manager_id")["volume_t"]
    for mid, row in result.iterrows():
        h = dt.date.fromisoformat(str(hired[mid]))
        level, below = rules.manager_level(managers.months_employed(h, TODAY), float(vols.get(mid, 0.0)))
        assert (row["level"], bool(row["below_standard"])) == (level, below)
    with pytest.raises(ValueError, match="role"):
        managers.rate(db, user(db, "station"), 2026, TODAY)


def test_customers_of_a_manager_are_scoped(engine):
    mgr = user(engine, "custmgr")
    mid = int(mgr.scope.rstrip("/").rsplit("/m", 1)[1])
    theirs = managers.customers_of(engine, mgr.scope, mid)
    with engine.connect() as conn:
        n = conn.execute(text("SELECT COUNT(*) FROM customer WHERE manager_id = :m"), {"m": mid}).scalar()
        other = conn.execute(text("SELECT id FROM customer_manager WHERE id <> :m ORDER BY id LIMIT 1"), {"m": mid}).scalar()
    assert len(theirs) == n > 0
    assert managers.customers_of(engine, mgr.scope, other).empty
    fig = managers.customers_map(theirs, lambda k, **kw: k)
    assert sum(len(tr.x) for tr in fig.data) == int(theirs["lon"].notna().sum())
