"""lib.tracking: institutional tracking detail, churn warnings with their thresholds, lost customers,
station grades and win-back tasks — against independent computations on the fixture database."""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
from pathlib import Path

import pytest
from apptest_helpers import user_of
from sqlalchemy import text

from lib import queries, rules, tracking
from lib.config import rules as config

MONTH = "2026-10"


def _on_books(status, lost, dev, month):
    return (status == "existing" or (status == "lost" and lost > month)) and (dev is None or dev <= month)


def _raw(engine, scope):
    like = scope + "%"
    with engine.connect() as conn:
        first = conn.execute(text("SELECT MIN(month) FROM monthly_consumption")).scalar()
        custs = conn.execute(text("SELECT id, kind, status, lost_month, developed_month FROM customer "
                                  "WHERE org_path LIKE :s"), {"s": like}).all()
        cons = conn.execute(text("SELECT m.customer_id, m.month, m.gasoline_t + m.diesel_t, m.visits "
                                 "FROM monthly_consumption m JOIN customer c ON c.id = m.customer_id "
                                 "WHERE c.org_path LIKE :s"), {"s": like}).all()
    vol = defaultdict(dict)
    visits = defaultdict(dict)
    for cid, month, t, v in cons:
        vol[cid][month] = t
        visits[cid][month] = v
    return first, custs, vol, visits


def _avg3(vol, cid, dev, first, month):
    months = [queries.shift_month(month, -k) for k in (3, 2, 1)]
    start = max(dev or first, first)
    on = [m for m in months if m >= start]
    return sum(vol[cid].get(m, 0.0) for m in on) / len(on) if on else None


@pytest.mark.parametrize("scope", ["/37/", "/37/3701/"])
def test_tracking_detail_equals_independent_figures(engine, scope):
    detail = tracking.tracking_detail(engine, scope, MONTH).set_index("customer_id")
    first, custs, vol, visits = _raw(engine, scope)
    inst = [c for c in custs if c[1] == "institutional" and _on_books(c[2], c[3], c[4], MONTH)]
    assert set(detail.index) == {c[0] for c in inst} and len(inst) > 0
    ly = "2025-10"
    for cid, _, _, _, dev in inst:
        row = detail.loc[cid]
        assert row["volume_t"] == pytest.approx(vol[cid].get(MONTH, 0.0))
        v = visits[cid].get(MONTH, 0)
        assert row["visits"] == v
        assert (row["cycle_days"] == pytest.approx(31 / v)) if v else (row["cycle_days"] != row["cycle_days"]
                                                                        or row["cycle_days"] is None)
        avg = _avg3(vol, cid, dev, first, MONTH)
        assert (avg is None and row["avg3_t"] != row["avg3_t"]) or row["avg3_t"] == pytest.approx(avg)
        if (dev or first) <= ly:
            assert row["last_year_t"] == pytest.approx(vol[cid].get(ly, 0.0))


def _independent_warnings(engine, scope, month, kind):
    p = config()["churn"]
    first, custs, vol, _ = _raw(engine, scope)
    n = int(p["silent_months"])
    window = [queries.shift_month(month, -k) for k in range(n)]
    before = [queries.shift_month(month, -k) for k in range(n, n + 12)]
    out = {}
    for cid, k, status, lost, dev in custs:
        if (kind and k != kind) or not _on_books(status, lost, dev, month):
            continue
        if sum(vol[cid].get(m, 0.0) for m in window) <= 0 and sum(vol[cid].get(m, 0.0) for m in before) > 0:
            out[cid] = "silent"
            continue
        avg = _avg3(vol, cid, dev, first, month)
        if avg and vol[cid].get(month, 0.0) < p["drop_share"] * avg:
            out[cid] = "drop"
    return out


@pytest.mark.parametrize("kind", ["institutional", "personal", None])
@pytest.mark.parametrize("scope", ["/37/", "/37/3702/"])
def test_churn_warnings_are_exactly_the_customers_past_the_thresholds(engine, scope, kind):
    warn = tracking.churn_warnings(engine, scope, MONTH, kind)
    expected = _independent_warnings(engine, scope, MONTH, kind)
    assert dict(zip(warn["customer_id"], warn["reason"])) == expected
    assert len(expected) > 0
    assert list(warn["reason"]) == sorted(warn["reason"], key=lambda r: r != "silent")  # silent first


def test_warnings_carry_owner_last_visit_and_task(engine):
    warn = tracking.churn_warnings(engine, "/37/", MONTH, "institutional")
    with engine.connect() as conn:
        owners = dict(conn.execute(text(
            "SELECT c.id, COALESCE(m.name, u.manager_name) FROM customer c JOIN station s ON s.id = c.station_id "
            "JOIN org_unit u ON u.id = s.org_unit_id LEFT JOIN customer_manager m ON m.id = c.manager_id")).all())
        visits = dict(conn.execute(text("SELECT customer_id, MAX(done_on) FROM visit WHERE done_on <= '2026-10-31' "
                                        "GROUP BY customer_id")).all())
        tasks = dict(conn.execute(text("SELECT customer_id, state FROM win_back_task")).all())
    assert all(owners[c] == o and o for c, o in zip(warn["customer_id"], warn["owner"]))
    for c, v in zip(warn["customer_id"], warn["last_visit"]):
        assert (str(v)[:10] == str(visits[c])[:10]) if c in visits else v != v or v is None
    shown = {c: s for c, s in zip(warn["customer_id"], warn["task_state"]) if isinstance(s, str)}
    assert shown == {c: s for c, s in tasks.items() if c in set(warn["customer_id"])} and shown


@pytest.fixture()
def strict_rules(tmp_path, monkeypatch):
    """A copy of the rule book with churn thresholds changed (config, not code)."""
    src = Path(__file__).resolve().parent.parent / "config" / "rules.toml"
    text_ = src.read_text(encoding="utf-8").replace("drop_share = 0.5", "drop_share = 0.0").replace(
        "silent_months = 2", "silent_months = 3")
    path = tmp_path / "rules.toml"
    path.write_text(text_, encoding="utf-8")
    monkeypatch.setenv("RULES_CONFIG", str(path))
    yield


def test_thresholds_come_from_the_configuration(engine, strict_rules):
    assert config()["churn"]["drop_share"] == 0.0
    warn = tracking.churn_warnings(engine, "/37/", MONTH, None)
    assert set(warn["reason"]) <= {"silent"}  # no volume is below 0 × its average
    assert dict(zip(warn["customer_id"], warn["reason"])) == _independent_warnings(engine, "/37/", MONTH, None)


def test_lost_customers_with_reason_and_competitor(engine):
    lost = tracking.lost_customers(engine, "/37/", MONTH, months=12)
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT id, lost_reason, competitor FROM customer WHERE lost_month > '2025-10' "
                                 "AND lost_month <= '2026-10'")).all()
        n_month = conn.execute(text("SELECT COUNT(*) FROM customer WHERE lost_month = :m"), {"m": MONTH}).scalar()
    assert len(lost) == len(rows) > 0
    assert lost["lost_reason"].notna().all() and lost["competitor"].notna().any()
    assert len(tracking.lost_customers(engine, "/37/", MONTH)) == n_month == queries.churn_count(engine, "/37/", MONTH)
    _, _, vol, _ = _raw(engine, "/37/")
    for row in lost.head(50).itertuples():
        months = [queries.shift_month(row.lost_month, -k) for k in (1, 2, 3)]
        assert row.avg_before_t == pytest.approx(sum(vol[row.customer_id].get(m, 0.0) for m in months) / 3)


def test_station_grades_follow_the_rule_book(engine):
    grades = tracking.station_grades(engine, "/37/")
    with engine.connect() as conn:
        assert len(grades) == conn.execute(text("SELECT COUNT(*) FROM station")).scalar()
    for row in grades.itertuples():
        assert row.grade == rules.station_grade(row.daily_sales_t)  # DOMAIN §9, 001 Chongqing
    assert list(grades["daily_sales_t"]) == sorted(grades["daily_sales_t"], reverse=True)


def test_summary_matches_the_lists(engine):
    s = tracking.summary(engine, "/37/", MONTH, "institutional")
    warn = tracking.churn_warnings(engine, "/37/", MONTH, "institutional")
    assert s["warnings"] == len(warn) and s["without_task"] == int((warn["task_state"] != "open").sum())
    assert 0 < s["without_task"] < s["warnings"]
    assert s["lost"] == len(tracking.lost_customers(engine, "/37/", MONTH, 1, "institutional")) > 0
    assert tracking.summary(engine, "/37/", MONTH, None)["lost"] == queries.churn_count(engine, "/37/", MONTH)
    assert s["volume_t"] == pytest.approx(tracking.tracking_detail(engine, "/37/", MONTH)["volume_t"].sum())


# --- win-back tasks (writes) ----------------------------------------------------------------------


_user = user_of  # (conftest.py: `small`, a writable 900-customer province)


@pytest.mark.parametrize("login", ["station", "area", "admin"])
def test_win_back_task_is_created_once_assigned_and_audited(small, login):
    user = _user(small, login)
    with small.connect() as conn:
        cid, manager = conn.execute(text(
            "SELECT id, manager_id FROM customer WHERE org_path LIKE :s AND status = 'existing' AND id NOT IN "
            "(SELECT customer_id FROM win_back_task) ORDER BY id LIMIT 1"), {"s": user.scope + "%"}).one()
    task = tracking.create_task(small, user, cid, MONTH, "drop", dt.date(2026, 11, 30), "上门拜访")
    with pytest.raises(ValueError, match="open"):
        tracking.create_task(small, user, cid, MONTH, "drop", dt.date(2026, 11, 30))
    with small.connect() as conn:
        row = conn.execute(text("SELECT customer_id, manager_id, state, created_by FROM win_back_task WHERE id = :t"),
                           {"t": task}).one()
    assert tuple(row) == (cid, manager, "open", user.login)
    with pytest.raises(ValueError, match="outcome"):
        tracking.close_task(small, user, task, " ", True)
    tracking.close_task(small, user, task, "客户恢复加油", True)
    with pytest.raises(ValueError, match="closed"):
        tracking.close_task(small, user, task, "again", True)
    with small.connect() as conn:
        assert conn.execute(text("SELECT state FROM win_back_task WHERE id = :t"), {"t": task}).scalar() == "done"
        actions = conn.execute(text("SELECT action FROM audit_log WHERE entity = 'win_back_task' AND entity_id = :t "
                                    "ORDER BY id"), {"t": str(task)}).scalars().all()
    assert actions == ["win_back_task_created", "win_back_task_closed"]


def test_viewer_cannot_raise_tasks_and_nobody_outside_the_scope(small):
    viewer, station = _user(small, "viewer"), _user(small, "station")
    with small.connect() as conn:
        outside = conn.execute(text("SELECT id FROM customer WHERE org_path NOT LIKE :s LIMIT 1"),
                               {"s": station.scope + "%"}).scalar()
    with pytest.raises(tracking.NotAllowed):
        tracking.create_task(small, viewer, outside, MONTH, "silent", dt.date(2026, 11, 30))
    with pytest.raises(tracking.NotAllowed, match="scope"):
        tracking.create_task(small, station, outside, MONTH, "silent", dt.date(2026, 11, 30))
    with pytest.raises(ValueError, match="reason"):
        tracking.create_task(small, station, outside, MONTH, "bored", dt.date(2026, 11, 30))


@pytest.mark.parametrize("kind", ["institutional", None])
def test_warnings_counted_per_station_equal_the_list(engine, kind):
    warn = tracking.churn_warnings(engine, "/37/", MONTH, kind)
    per = tracking.warnings_by_station(engine, "/37/", MONTH, kind)
    assert per.to_dict() == warn.groupby("station").size().to_dict()
    assert list(per) == sorted(per, reverse=True) and per.sum() == len(warn) > 0
