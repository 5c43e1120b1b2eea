"""Matters 事项 (000 §3.1): each kind follows its route, step by step, with the acting level, the
coarse state, escalation to the next level, due times per kind and the full history."""
from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from _work_db import count, db, small_url, user  # noqa: F401 (fixtures)
from sqlalchemy import text

from lib import matters
from lib.config import rules

T0 = dt.datetime(2026, 11, 2, 9, 0)
# login of the demo user acting at each level (station = the grid owner 网格负责人)
ACTOR = {"station": "station", "district": "area", "city": "city", "province": "admin"}

# kind → the route as (action, acting level before the action, step after, coarse state after)
ROUTES = {
    "routine": [("handle", "station", "onsite", "in_progress"), ("file", "station", "closed", "closed")],
    "assisted": [("refer", "station", "referred", "in_progress"), ("answer", "district", "answered", "in_progress"),
                 ("reply", "station", "closed", "closed")],
    "emergency": [("act", "city", "tracking", "in_progress"), ("close", "station", "closed", "closed")],
    # 000 §3.1(4): the grid owner gathers the facts and submits, the operations head checks, the city approves
    "approval": [("submit", "station", "checking", "in_progress"), ("check", "district", "city_approval", "in_progress"),
                 ("approve", "city", "closed", "closed")],
    "approval_province": [("submit", "station", "checking", "in_progress"),
                          ("check", "district", "city_approval", "in_progress"),
                          ("refer", "city", "province_approval", "in_progress"),
                          ("approve", "province", "closed", "closed")],
    "approval_rejected": [("submit", "station", "checking", "in_progress"),
                          ("check", "district", "city_approval", "in_progress"), ("reject", "city", "closed", "closed")],
    "approval_rejected_by_head": [("submit", "station", "checking", "in_progress"),
                                  ("reject", "district", "closed", "closed")],
}
OUTCOME = {"routine": "done", "assisted": "done", "emergency": "done", "approval": "approved",
           "approval_province": "approved", "approval_rejected": "rejected", "approval_rejected_by_head": "rejected"}


def _customer(engine, scope):
    with engine.connect() as conn:
        return conn.execute(text("SELECT id FROM customer WHERE org_path LIKE :s ORDER BY id LIMIT 1"),
                            {"s": scope + "%"}).scalar_one()


def test_route_table_is_data_for_every_kind():
    assert set(matters.ROUTES) == set(matters.KINDS)
    for _kind, steps in matters.ROUTES.items():
        assert steps and all(s.level in matters.LEVELS for s in steps)
        ids = [s.step for s in steps]
        for s in steps:  # every action leads to a later step of the route or closes it
            for _, target in s.actions:
                assert target == matters.CLOSED or ids.index(target) > ids.index(s.step)
    assert matters.ROUTES["emergency"][0].level == "city"  # 立即上报: the city company acts first
    # 000 §3.1(4): the grid owner registers and submits, then 经营处负责人审核, 地市公司审批, 省公司 if needed
    assert [s.level for s in matters.ROUTES["approval"]] == ["station", "district", "city", "province"]


@pytest.mark.parametrize("case", list(ROUTES), ids=list(ROUTES))
def test_each_kind_follows_its_route(db, case):
    kind = case.split("_")[0]
    station = user(db, "station")
    mid = matters.register(db, station, kind, f"测试{case}", customer_id=_customer(db, station.scope), now=T0)
    m = matters.get(db, station.scope, mid)
    assert m["state"] == "open" and m["step"] == matters.ROUTES[kind][0].step
    now = T0
    for action, level, step_after, state_after in ROUTES[case]:
        m = matters.get(db, "/", mid)
        assert m["acting_level"] == level
        others = [lv for lv in matters.LEVELS if lv != level]
        for other in others:  # nobody else may act at this step
            with pytest.raises(ValueError, match="waiting on"):
                matters.act(db, user(db, ACTOR[other]), mid, action, now=now)
        now += dt.timedelta(hours=1)
        assert matters.act(db, user(db, ACTOR[level]), mid, action, "办理", now=now) == step_after
        m = matters.get(db, "/", mid)
        assert (m["step"], m["state"]) == (step_after, state_after)
    assert m["outcome"] == OUTCOME[case] and m["closed_at"] is not None
    history = matters.history(db, "/", mid)
    assert history["action"].tolist() == ["raise"] + [a for a, *_ in ROUTES[case]]
    assert history["state"].tolist()[-1] == "closed"
    with pytest.raises(ValueError, match="closed"):
        matters.act(db, user(db, "admin"), mid, "approve", now=now)


@pytest.mark.parametrize("kind", matters.KINDS)
def test_due_time_per_kind_comes_from_config(db, kind):
    station = user(db, "station")
    mid = matters.register(db, station, kind, "时限", customer_id=_customer(db, station.scope), now=T0)
    m = matters.get(db, station.scope, mid)
    hours = rules()["matters"]["due_hours"][kind]
    assert str(m["due_at"])[:16] == str(T0 + dt.timedelta(hours=hours))[:16]
    assert matters.due_hours(kind) == hours
    late = matters.overdue(db, station.scope, now=T0 + dt.timedelta(hours=hours + 1))
    early = matters.overdue(db, station.scope, now=T0 + dt.timedelta(hours=hours - 1))
    assert mid in set(late["id"]) and mid not in set(early["id"])


def test_due_hours_defaults():
    assert rules()["matters"]["due_hours"] == {"routine": 72, "assisted": 168, "emergency": 24, "approval": 360}


@pytest.mark.parametrize("kind,levels", [
    ("routine", ["station", "district", "city", "province"]),
    ("assisted", ["station", "district", "city", "province"]),
    ("emergency", ["city", "province"]),
    ("approval", ["station", "district", "city", "province"]),
])
def test_escalation_moves_the_step_one_level_up_at_a_time(db, kind, levels):
    station = user(db, "station")
    mid = matters.register(db, station, kind, "上报", customer_id=_customer(db, station.scope), now=T0)
    first = matters.ROUTES[kind][0]
    for lower, upper in zip(levels, levels[1:]):
        assert matters.get(db, "/", mid)["acting_level"] == lower
        assert "escalate" in matters.available_actions(matters.get(db, "/", mid), user(db, ACTOR[lower]))
        assert matters.act(db, user(db, ACTOR[lower]), mid, "escalate", now=T0) == first.step
        m = matters.get(db, "/", mid)
        assert m["acting_level"] == upper and m["step"] == first.step and m["state"] == "open"
        with pytest.raises(ValueError):
            matters.act(db, user(db, ACTOR[lower]), mid, first.actions[0][0], now=T0)
    with pytest.raises(ValueError, match="cannot escalate"):
        matters.act(db, user(db, "admin"), mid, "escalate", now=T0)
    # the top level can take the step's action; the next step is back at its own level
    nxt = matters.act(db, user(db, "admin"), mid, first.actions[0][0], now=T0)
    m = matters.get(db, "/", mid)
    assert m["escalation"] == 0
    if nxt != matters.CLOSED:
        assert m["acting_level"] == matters.step_of(kind, nxt).level
    assert count(db, "SELECT COUNT(*) FROM matter_event WHERE matter_id = :m AND action = 'escalate'",
                 m=mid) == len(levels) - 1


def test_overdue_steps_are_escalated_automatically(db):
    station = user(db, "station")
    cid = _customer(db, station.scope)
    slow = matters.register(db, station, "routine", "慢", customer_id=cid, now=T0)
    fresh = matters.register(db, station, "routine", "新", customer_id=cid, now=T0 + dt.timedelta(hours=20))
    limit = rules()["matters"]["step_hours"]["routine"]
    sweeper = dataclasses.replace(user(db, "area"), scope=station.scope)  # the sweep of the station's matters
    n = matters.escalate_overdue(db, sweeper, now=T0 + dt.timedelta(hours=limit + 1))
    assert n == 1
    assert matters.get(db, "/", slow)["acting_level"] == "district"
    assert matters.get(db, "/", fresh)["acting_level"] == "station"
    assert matters.history(db, "/", slow)["action"].tolist()[-1] == "escalate"


def test_waiting_on_me_lists_per_level(db):
    station, area = user(db, "station"), user(db, "area")
    cid = _customer(db, station.scope)
    routine = matters.register(db, station, "routine", "甲", customer_id=cid, now=T0)
    approval = matters.register(db, station, "approval", "乙", customer_id=cid, now=T0)
    emergency = matters.register(db, station, "emergency", "丙", customer_id=cid, now=T0)
    at_station = set(matters.waiting_on(db, station.scope, "station")["id"])
    at_district = set(matters.waiting_on(db, area.scope, "district")["id"])
    at_city = set(matters.waiting_on(db, user(db, "city").scope, "city")["id"])
    assert routine in at_station and approval in at_station  # an approval starts with the grid owner (000 §3.1(4))
    assert approval not in at_district and routine not in at_district
    assert emergency in at_city and emergency not in at_station
    with db.connect() as conn:  # independent check: every open matter waiting on the district level
        expected = set()
        for mid, kind, step, esc in conn.execute(text(
                "SELECT m.id, m.kind, f.step, f.escalation FROM matter m JOIN matter_flow f ON f.matter_id = m.id "
                "WHERE m.org_path LIKE :s AND f.step <> 'closed'"), {"s": area.scope + "%"}).all():
            if matters.acting_level(kind, step, esc) == "district":
                expected.add(mid)
    assert at_district == expected


def test_scope_and_roles_are_enforced(db):
    station, viewer = user(db, "station"), user(db, "viewer")
    with db.connect() as conn:
        outsider = conn.execute(text("SELECT id FROM customer WHERE org_path NOT LIKE :s ORDER BY id LIMIT 1"),
                                {"s": station.scope + "%"}).scalar_one()
    with pytest.raises(ValueError, match="scope"):
        matters.register(db, station, "routine", "越权", customer_id=outsider)
    mid = matters.register(db, user(db, "admin"), "routine", "别处", customer_id=outsider, now=T0)
    assert matters.get(db, station.scope, mid) is None
    assert matters.history(db, station.scope, mid).empty
    with pytest.raises(ValueError, match="scope"):
        matters.act(db, station, mid, "handle")
    with pytest.raises(ValueError, match="read-only"):
        matters.act(db, viewer, mid, "handle")
    with pytest.raises(ValueError, match="kind"):
        matters.register(db, station, "urgent", "x", customer_id=_customer(db, station.scope))
    with pytest.raises(ValueError, match="title"):
        matters.register(db, station, "routine", " ", customer_id=_customer(db, station.scope))
    with pytest.raises(ValueError, match="not possible"):
        mine = matters.register(db, station, "routine", "x", customer_id=_customer(db, station.scope), now=T0)
        matters.act(db, station, mine, "approve")


def test_every_change_is_audited(db):
    station = user(db, "station")
    before = count(db, "SELECT COUNT(*) FROM audit_log WHERE entity = 'matter'")
    mid = matters.register(db, station, "routine", "审计", customer_id=_customer(db, station.scope), now=T0)
    matters.act(db, station, mid, "handle", now=T0)
    matters.act(db, station, mid, "file", now=T0)
    assert count(db, "SELECT COUNT(*) FROM audit_log WHERE entity = 'matter'") == before + 3


def test_demo_matters_sit_on_their_routes(engine):
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT m.kind, m.state, f.step FROM matter m JOIN matter_flow f "
                                 "ON f.matter_id = m.id")).all()
        n = conn.execute(text("SELECT COUNT(*) FROM matter")).scalar_one()
    assert len(rows) == n > 0
    for kind, state, step in rows:
        assert matters.coarse_state(kind, step) == state
