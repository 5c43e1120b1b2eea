"""Visits 维护回访 (002 §6.7): due dates, plans and records, the daily log, the weekly bulletin per
station and district (周通报) and the monthly assessment (月考核)."""
from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from _work_db import count, db, small_url, user  # noqa: F401 (fixtures)
from sqlalchemy import text

from lib import visits
from lib.config import rules

TODAY = dt.date(2026, 11, 18)  # a Wednesday


@pytest.mark.parametrize("tier,days", [("province", 30), ("city", 30), ("district", 60), ("station", 90)])
def test_next_due_is_last_visit_plus_the_tiers_interval(tier, days):
    assert rules()["visits"]["interval_days"][tier] == days
    last = dt.date(2026, 9, 1)
    assert visits.next_due(last, tier, TODAY) == last + dt.timedelta(days=days)
    assert visits.next_due(None, tier, TODAY) == TODAY  # never visited: due now


def test_interval_rejects_an_unknown_tier():
    with pytest.raises(ValueError, match="tier"):
        visits.interval_days("village")


@pytest.mark.parametrize("day,monday", [(dt.date(2026, 11, 16), dt.date(2026, 11, 16)),
                                        (dt.date(2026, 11, 22), dt.date(2026, 11, 16)),
                                        (dt.date(2026, 11, 23), dt.date(2026, 11, 23))])
def test_week_of(day, monday):
    assert visits.week_of(day) == (monday, monday + dt.timedelta(days=7))


def _any_customer(engine, scope):
    with engine.connect() as conn:
        return conn.execute(text("SELECT id FROM customer WHERE org_path LIKE :s ORDER BY id LIMIT 1"),
                            {"s": scope + "%"}).scalar_one()


def test_a_customer_is_due_when_its_last_visit_is_older_than_the_interval(db):
    area = user(db, "area")
    with db.connect() as conn:
        cid, tier, scope = conn.execute(text(
            "SELECT c.id, COALESCE(c.tier_override, c.computed_tier), c.org_path FROM customer c WHERE c.org_path "
            "LIKE :s AND c.status = 'existing' AND c.kind = 'institutional' ORDER BY c.id LIMIT 1"),
            {"s": area.scope + "%"}).one()
    days = visits.interval_days(tier)
    day = TODAY + dt.timedelta(days=400)  # every earlier visit is older than any interval by then
    assert cid in set(visits.due_customers(db, scope, day, limit=10_000)["id"])
    visits.record(db, area, cid, "visit", day - dt.timedelta(days=days + 1), "拜访", today=day)
    assert cid in set(visits.due_customers(db, scope, day, limit=10_000)["id"])  # interval + 1 days ago
    visits.record(db, area, cid, "phone", day - dt.timedelta(days=days - 1), "电话", today=day)
    due = visits.due_customers(db, scope, day, limit=10_000)
    assert cid not in set(due["id"])
    assert all(d <= day for d in due["due_on"])


def test_due_list_matches_an_independent_computation(engine):
    scope = user(engine, "area").scope
    due = visits.due_customers(engine, scope, TODAY, limit=100_000)
    with engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT c.id, COALESCE(c.tier_override, c.computed_tier), c.kind, c.status, "
            "(SELECT MAX(v.done_on) FROM visit v WHERE v.customer_id = c.id AND v.done_on IS NOT NULL) "
            "FROM customer c WHERE c.org_path LIKE :s"), {"s": scope + "%"}).all()
    expected = set()
    for cid, tier, kind, status, last in rows:
        if status != "existing" or (kind != "institutional" and tier == "station"):
            continue
        last = dt.date.fromisoformat(str(last)) if last else None
        if visits.next_due(last, tier, TODAY) <= TODAY:
            expected.add(cid)
    assert set(due["id"]) == expected and expected
    owners = visits.by_owner(engine, scope, TODAY)
    assert owners["due_customers"].sum() == len(expected)


def test_plans_are_due_then_overdue_and_recording_completes_them(db):
    station = user(db, "station")
    cid = _any_customer(db, station.scope)
    vid = visits.plan(db, station, cid, "phone", TODAY + dt.timedelta(days=2), "电话回访")
    soon = visits.planned(db, station.scope, TODAY)
    assert not soon.set_index("id").at[vid, "overdue"]
    later = visits.planned(db, station.scope, TODAY + dt.timedelta(days=5))
    row = later.set_index("id").loc[vid]
    assert row["overdue"] and row["days_late"] == 3
    visits.record(db, station, cid, "visit", TODAY, "上门拜访，客户满意", visit_id=vid, today=TODAY)
    assert vid not in set(visits.planned(db, station.scope, TODAY + dt.timedelta(days=5))["id"])
    with pytest.raises(ValueError, match="already"):
        visits.record(db, station, cid, "visit", TODAY, "再次", visit_id=vid, today=TODAY)


@pytest.mark.parametrize("kwargs,match", [
    ({"mode": "fax"}, "^mode"), ({"done_on": TODAY + dt.timedelta(days=1)}, "^done_on"), ({"note": " "}, "^note"),
])
def test_record_validation(db, kwargs, match):
    station = user(db, "station")
    cid = _any_customer(db, station.scope)
    args = {"mode": "phone", "done_on": TODAY, "note": "电话"} | kwargs
    with pytest.raises(ValueError, match=match):
        visits.record(db, station, cid, args["mode"], args["done_on"], args["note"], today=TODAY)


def test_visits_are_scoped_and_audited(db):
    station, viewer = user(db, "station"), user(db, "viewer")
    with db.connect() as conn:
        outsider = conn.execute(text("SELECT id FROM customer WHERE org_path NOT LIKE :s ORDER BY id LIMIT 1"),
                                {"s": station.scope + "%"}).scalar()
    with pytest.raises(ValueError, match="scope"):
        visits.record(db, station, outsider, "phone", TODAY, "x", today=TODAY)
    with pytest.raises(ValueError, match="read-only"):
        visits.plan(db, viewer, outsider, "phone", TODAY)
    before = count(db, "SELECT COUNT(*) FROM audit_log WHERE entity = 'visit'")
    cid = _any_customer(db, station.scope)
    visits.record(db, station, cid, "sms", TODAY, "节日短信", today=TODAY)
    assert count(db, "SELECT COUNT(*) FROM audit_log WHERE entity = 'visit'") == before + 1


def test_daily_log_has_the_days_visits_matter_steps_and_entries(db):
    station = user(db, "station")
    cid = _any_customer(db, station.scope)
    visits.record(db, station, cid, "onsite", TODAY, "现场维护", today=TODAY)
    visits.add_log(db, station, TODAY, "整理机构客户月度跟踪明细表")
    log = visits.daily_log(db, station.scope, TODAY)
    assert {"visit", "log"} <= set(log["kind"])
    assert "现场维护" in set(log["detail"]) and "整理机构客户月度跟踪明细表" in set(log["detail"])
    with pytest.raises(ValueError, match="content"):
        visits.add_log(db, station, TODAY, "  ")


def _independent_bulletin(engine, scope, start):
    """Per station: the bulletin's figures straight from the detail tables, in Python."""
    end = start + dt.timedelta(days=7)
    t0, t1 = dt.datetime.combine(start, dt.time()), dt.datetime.combine(end, dt.time())

    def d(x):
        return None if x is None else dt.date.fromisoformat(str(x)[:10])

    def ts(x):
        return None if x is None else dt.datetime.fromisoformat(str(x))

    out = {}
    with engine.connect() as conn:
        for sid, in conn.execute(text("SELECT id FROM station WHERE org_path LIKE :s"), {"s": scope + "%"}).all():
            out[sid] = dict.fromkeys(visits.BULLETIN_COLUMNS, 0)
        for sid, planned, done in conn.execute(text(
                "SELECT c.station_id, v.planned_on, v.done_on FROM visit v JOIN customer c ON c.id = v.customer_id "
                "WHERE v.org_path LIKE :s"), {"s": scope + "%"}).all():
            planned, done = d(planned), d(done)
            row = out[sid]
            row["visits_done"] += bool(done and start <= done < end)
            row["visits_planned"] += bool(planned and start <= planned < end)
            row["visits_overdue"] += bool(planned and planned < end and (done is None or done >= end))
        for sid, created in conn.execute(text("SELECT station_id, created_at FROM customer WHERE org_path LIKE :s"),
                                         {"s": scope + "%"}).all():
            out[sid]["new_customers"] += t0 <= ts(created) < t1
        for sid, raised, closed, due in conn.execute(text(
                "SELECT g.station_id, m.raised_at, m.closed_at, m.due_at FROM matter m JOIN grid g ON g.id = m.grid_id "
                "WHERE m.org_path LIKE :s"), {"s": scope + "%"}).all():
            raised, closed, due = ts(raised), ts(closed), ts(due)
            row = out[sid]
            row["matters_raised"] += t0 <= raised < t1
            row["matters_closed"] += bool(closed and t0 <= closed < t1)
            row["matters_overdue"] += bool(raised < t1 and (closed is None or closed >= t1) and due < t1)
    return out


@pytest.mark.parametrize("login", ["area", "city", "station"])
def test_weekly_bulletin_equals_an_independent_count(engine, login):
    scope = user(engine, login).scope
    with engine.connect() as conn:
        last_done = conn.execute(text("SELECT MAX(done_on) FROM visit WHERE org_path LIKE :s"),
                                 {"s": scope + "%"}).scalar()  # the scope's own last week with visits
    start = visits.week_of(dt.date.fromisoformat(str(last_done)))[0]
    bulletin = visits.weekly_bulletin(engine, scope, start, "station").set_index("unit_id")
    expected = _independent_bulletin(engine, scope, start)
    assert set(bulletin.index) == set(expected)
    for sid, row in expected.items():
        assert bulletin.loc[sid, list(visits.BULLETIN_COLUMNS)].to_dict() == row, sid
    assert bulletin["visits_done"].sum() > 0
    by_district = visits.weekly_bulletin(engine, scope, start, "district")
    assert by_district[list(visits.BULLETIN_COLUMNS)].sum().to_dict() == bulletin[list(visits.BULLETIN_COLUMNS)].sum().to_dict()


def test_weekly_bulletin_counts_what_was_done_this_week(db):
    station = user(db, "station")
    start = visits.week_of(TODAY)[0]
    before = visits.weekly_bulletin(db, station.scope, start).iloc[0]
    cid = _any_customer(db, station.scope)
    visits.record(db, station, cid, "phone", TODAY, "本周回访", today=TODAY)
    visits.plan(db, station, cid, "visit", start + dt.timedelta(days=4))
    after = visits.weekly_bulletin(db, station.scope, start).iloc[0]
    assert after["visits_done"] == before["visits_done"] + 1
    assert after["visits_planned"] == before["visits_planned"] + 1
    assert after["visits_overdue"] == before["visits_overdue"] + 1  # planned in the week, not done by its end
    with pytest.raises(ValueError, match="Monday"):
        visits.weekly_bulletin(db, station.scope, start + dt.timedelta(days=1))


def test_monthly_assessment_scores_by_the_configured_weights(engine):
    scope = user(engine, "area").scope
    with engine.connect() as conn:
        month = str(conn.execute(text("SELECT MAX(done_on) FROM visit")).scalar())[:7]
    df = visits.monthly_assessment(engine, scope, month)
    assert len(df) > 0 and df["rank"].min() == 1
    w = rules()["visits"]["assessment_weights"]
    for r in df.itertuples():
        parts = [(w[k], getattr(r, k)) for k in ("plan_done", "coverage", "matters_on_time")
                 if getattr(r, k) is not None and getattr(r, k) == getattr(r, k)]
        expected = round(100 * sum(a * b for a, b in parts) / sum(a for a, _ in parts), 1) if parts else None
        assert (pd.isna(r.score) and expected is None) or r.score == expected
        assert 0 <= r.plans_done <= r.plans
    y, m = int(month[:4]), int(month[5:7])
    with engine.connect() as conn:
        visits_done = conn.execute(text("SELECT COUNT(*) FROM visit WHERE org_path LIKE :s AND done_on >= :a "
                                        "AND done_on < :b AND manager_id IS NOT NULL"),
                                   {"s": scope + "%", "a": dt.date(y, m, 1),
                                    "b": dt.date(y + (m == 12), m % 12 + 1, 1)}).scalar()
    assert df["visits_done"].sum() == visits_done


def test_due_list_with_and_without_a_last_visit_converts_to_arrow():
    """A column of dates with blanks must be one type for st.dataframe (pyarrow), not dates and ""."""
    import datetime as dt

    import pandas as pd
    import pyarrow as pa

    from lib.i18n import translator
    from lib.vocab import labelled

    df = pd.DataFrame({"code": ["A1", "B2"], "name": ["甲", "乙"], "tier": ["station", "city"],
                       "last_done": [dt.date(2026, 1, 2), pd.NaT], "due_on": [dt.date(2026, 3, 1), dt.date(2026, 3, 2)],
                       "owner": ["王", None]})
    shown = labelled(df, translator("zh"), ["code", "name", "tier", "last_done", "due_on", "owner"])
    table = pa.Table.from_pandas(shown)  # raised ArrowTypeError before
    assert table.column(3).to_pylist() == ["2026-01-02", ""]
