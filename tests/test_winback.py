"""Win-back 流失客户挽回 (002 §6.6.2; 004 Liaoning; issue 15 point 5): open tasks closed from the churn page
with an outcome and a won-back date; closing refused without outcome, twice, outside the scope and for the
read-only viewer; the win-back rate over the customers lost in the 12 months up to the month, against a
built example counted by hand and against a plain-Python count of the demo data. SQLite and PostgreSQL
(TEST_DATABASE_URL) through the suite's fixtures."""
from __future__ import annotations

import datetime as dt

import pytest
from apptest_helpers import T, open_page, submit, user_of
from sqlalchemy import text

from lib import tracking
from lib.db import write

MONTH = "2026-10"
TODAY = dt.date.today()


def _rows(engine, sql: str, **params):
    with engine.connect() as conn:
        return conn.execute(text(sql), params).all()


def _task_in(engine, scope: str, login: str = "admin", customer_status: str | None = None) -> int:
    """A new open win-back task (raised as `login`) for a customer inside `scope` with no open task."""
    status = "AND status = :st" if customer_status else ""
    cid = _rows(engine, f"SELECT id FROM customer WHERE org_path LIKE :s {status} AND id NOT IN "
                        "(SELECT customer_id FROM win_back_task WHERE state = 'open') ORDER BY id LIMIT 1",
                s=scope + "%", st=customer_status)[0][0]
    return tracking.create_task(engine, user_of(engine, login), cid, MONTH, "lost", TODAY + dt.timedelta(days=5))


def _state(engine, task: int) -> tuple:
    return tuple(_rows(engine, "SELECT state, outcome, done_on FROM win_back_task WHERE id = :t", t=task)[0])


# --- closing ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("won,on,state", [
    (True, None, "done"), (True, dt.date(2026, 10, 20), "done"), (False, dt.date(2026, 10, 20), "cancelled"),
])
def test_close_records_outcome_state_and_won_back_date_audited(small, won, on, state):
    station = user_of(small, "station")
    task = _task_in(small, station.scope, "station")
    got = tracking.close_task(small, station, task, "  客户恢复加油  ", won, on)
    day = (on or TODAY) if won else TODAY  # not won back: the day it was closed
    assert got["state"] == state
    s, outcome, done_on = _state(small, task)
    assert (s, outcome, str(done_on)[:10]) == (state, "客户恢复加油", day.isoformat())
    audit = _rows(small, "SELECT action, actor FROM audit_log WHERE entity = 'win_back_task' AND entity_id = :t "
                         "ORDER BY id", t=str(task))
    assert audit == [("win_back_task_created", "station"), ("win_back_task_closed", "station")]


@pytest.mark.parametrize("status,still_lost", [("lost", True), ("existing", False)])
def test_won_back_customer_still_marked_lost_is_flagged_not_changed(small, status, still_lost):
    """The task records the win-back; the customer's status stays the form's and the import's business."""
    admin = user_of(small, "admin")
    task = _task_in(small, "/37/", customer_status=status)
    cid = _rows(small, "SELECT customer_id FROM win_back_task WHERE id = :t", t=task)[0][0]
    assert tracking.close_task(small, admin, task, "恢复加油", True)["still_lost"] is still_lost
    assert _rows(small, "SELECT status FROM customer WHERE id = :c", c=cid)[0][0] == status
    assert tracking.close_task(small, admin, _task_in(small, "/37/", customer_status=status), "未恢复",
                               False)["still_lost"] is False


def _outside(engine, user):
    """A task outside the station manager's scope."""
    other = _rows(engine, "SELECT path FROM org_unit WHERE level = 'station' AND path <> :p ORDER BY path LIMIT 1",
                  p=user.scope)[0][0]
    return _task_in(engine, other)


REFUSALS = [  # (case, acting login, how the task is made, outcome, won, won-back date, error, message)
    ("no outcome", "station", "own", "  ", True, None, ValueError, "outcome"),
    ("empty outcome", "station", "own", "", False, None, ValueError, "outcome"),
    ("future won-back date", "station", "own", "恢复", True, TODAY + dt.timedelta(days=1), ValueError, "future"),
    ("closed twice", "station", "closed", "again", True, None, ValueError, "already closed"),
    ("outside the scope", "station", "outside", "恢复", True, None, tracking.NotAllowed, "scope"),
    ("province viewer", "viewer", "own", "恢复", True, None, tracking.NotAllowed, "may not"),
]


@pytest.mark.parametrize("case,login,make,outcome,won,on,error,message", REFUSALS, ids=[r[0] for r in REFUSALS])
def test_close_refused_changes_nothing(small, case, login, make, outcome, won, on, error, message):
    actor, station = user_of(small, login), user_of(small, "station")
    task = _outside(small, station) if make == "outside" else _task_in(small, station.scope, "station")
    if make == "closed":
        tracking.close_task(small, station, task, "first", True)
    before = _state(small, task)
    audits = _rows(small, "SELECT COUNT(*) FROM audit_log")[0][0]
    with pytest.raises(error, match=message):
        tracking.close_task(small, actor, task, outcome, won, on)
    assert _state(small, task) == before
    assert _rows(small, "SELECT COUNT(*) FROM audit_log")[0][0] == audits


def test_open_tasks_list_the_scope_with_assignee_and_overdue(small):
    station = user_of(small, "station")
    mine = _task_in(small, station.scope, "station")
    late = _task_in(small, station.scope, "station")
    with write(small) as conn:
        conn.execute(text("UPDATE win_back_task SET due_on = :d WHERE id = :t"), {"d": TODAY - dt.timedelta(days=2),
                                                                                  "t": late})
    got = tracking.open_tasks(small, station.scope, TODAY).set_index("task_id")
    expected = _rows(small, "SELECT t.id, t.due_on, COALESCE(m.name, u.manager_name) FROM win_back_task t "
                            "JOIN customer c ON c.id = t.customer_id JOIN station s ON s.id = c.station_id "
                            "JOIN org_unit u ON u.id = s.org_unit_id LEFT JOIN customer_manager m ON m.id = t.manager_id "
                            "WHERE t.state = 'open' AND t.org_path LIKE :s", s=station.scope + "%")
    assert set(got.index) == {r[0] for r in expected} >= {mine, late}
    for tid, due, who in expected:
        assert got.loc[tid, "assignee"] == who
        assert bool(got.loc[tid, "overdue"]) == (dt.date.fromisoformat(str(due)[:10]) < TODAY)
    assert bool(got.loc[late, "overdue"]) and not got.loc[mine, "overdue"]
    assert list(got["due_on"]) == sorted(got["due_on"])


# --- closing from the churn page (AppTest) ---------------------------------------------------------------


@pytest.fixture()
def app_db(small, monkeypatch, fresh_url):
    """The app under test points at the writable province `small`."""
    monkeypatch.setenv("DATABASE_URL", fresh_url)
    return small


TAB = ("churn_tab", "churn.tab_tasks")


def test_close_from_the_churn_page_with_outcome(app_db):
    city = user_of(app_db, "city")
    _task_in(app_db, city.scope, "city", customer_status="lost")
    _task_in(app_db, city.scope, "city")
    at = open_page("pages/churn.py", login="city", tab=TAB)
    shown = at.dataframe[0].value
    open_ids = [r[0] for r in _rows(app_db, "SELECT id FROM win_back_task WHERE state = 'open' AND org_path LIKE :s",
                                    s=city.scope + "%")]
    assert len(shown) == len(open_ids) > 0
    first = tracking.open_tasks(app_db, city.scope, TODAY).iloc[0]
    # without an outcome: refused, shown as bad input, nothing written
    at = submit(at, T("churn.close_submit"))
    assert at.error and not at.exception and _state(app_db, int(first["task_id"]))[0] == "open"
    at.text_input(key="churn_close_outcome").set_value("客户恢复加油,签订季度用油计划")
    at.checkbox(key="churn_close_won").check()
    at.date_input(key="churn_close_on").set_value(dt.date(2026, 10, 15))
    at = submit(at, T("churn.close_submit"))
    assert not at.exception and not at.error and at.success
    state, outcome, done_on = _state(app_db, int(first["task_id"]))
    assert (state, outcome, str(done_on)[:10]) == ("done", "客户恢复加油,签订季度用油计划", "2026-10-15")
    assert len(at.dataframe[0].value) == len(open_ids) - 1  # the closed task left the list
    assert bool(at.warning) == (first["customer_status"] == "lost")  # the hint: won back but still marked lost


def test_viewer_sees_the_tasks_but_no_close_form(app_db):
    at = open_page("pages/churn.py", login="viewer", tab=TAB)
    assert len(at.dataframe) >= 1
    assert not [b for b in at.button if b.label == T("churn.close_submit")]


# --- the win-back rate 挽回率 ------------------------------------------------------------------------------

# Built example for MONTH = 2026-10 (window 2025-11 … 2026-10): (lost month, tasks as (state, won-back day)),
# and whether the customer counts as lost and as won back. Counted by hand.
EXAMPLE = [
    ("2025-10", [("done", "2025-10-20")], False, False),  # lost 13 months before: outside the window
    ("2025-11", [("done", "2025-11-03")], True, True),  # first month of the window, won back in it
    ("2026-03", [("done", "2026-02-27")], True, False),  # "won back" before it was lost: not this loss
    ("2026-05", [("cancelled", "2026-06-01")], True, False),  # not won back
    ("2026-06", [("done", "2026-11-02")], True, False),  # won back after the month's end
    ("2026-07", [("done", "2026-07-31"), ("done", "2026-09-01")], True, True),  # two wins count once
    ("2026-10", [("done", "2026-10-31")], True, True),  # the month itself, won back on its last day
    ("2026-10", [], True, False),  # no task
    ("2026-11", [("done", "2026-11-05")], False, False),  # lost after the month: outside
]


def _build_example(engine) -> str:
    """Write EXAMPLE onto customers of one station (its other customers not lost, its tasks removed)."""
    scope = _rows(engine, "SELECT path FROM org_unit WHERE level = 'station' ORDER BY path LIMIT 1")[0][0]
    ids = [r[0] for r in _rows(engine, "SELECT id FROM customer WHERE org_path LIKE :s ORDER BY id", s=scope + "%")]
    assert len(ids) >= len(EXAMPLE)
    with write(engine) as conn:
        conn.execute(text("DELETE FROM win_back_task WHERE org_path LIKE :s"), {"s": scope + "%"})
        conn.execute(text("UPDATE customer SET lost_month = NULL, status = 'existing' WHERE org_path LIKE :s"),
                     {"s": scope + "%"})
        for cid, (lost, tasks, _, _) in zip(ids, EXAMPLE):
            conn.execute(text("UPDATE customer SET lost_month = :m, status = 'lost' WHERE id = :c"), {"m": lost, "c": cid})
            for state, day in tasks:
                conn.execute(text(
                    "INSERT INTO win_back_task (customer_id, org_path, month, reason, due_on, state, note, outcome, "
                    "created_by, created_at, done_on) SELECT id, org_path, :m, 'lost', :d, :s, '', 'x', 'test', :at, :d "
                    "FROM customer WHERE id = :c"),
                    {"m": lost, "d": dt.date.fromisoformat(day), "s": state, "c": cid,
                     "at": dt.datetime(2025, 1, 1)})
    return scope


def test_win_back_rate_equals_the_example_counted_by_hand(small):
    scope = _build_example(small)
    lost = sum(case[2] for case in EXAMPLE)
    won = sum(case[3] for case in EXAMPLE)
    assert tracking.win_back_rate(small, scope, MONTH) == {"lost": lost, "won_back": won, "rate": won / lost}
    assert (lost, won) == (7, 3)
    assert len(tracking.lost_customers(small, scope, MONTH, 12)) == lost  # the same customers the list shows
    # the window moves with the month: in 2026-11 the 2025-11 loss drops out, the 2026-11 one comes in
    nov = tracking.win_back_rate(small, scope, "2026-11")
    assert (nov["lost"], nov["won_back"]) == (7, 4)  # 2026-06 (won 11-02) and 2026-11 (won 11-05) now count; 2025-11 out


@pytest.mark.parametrize("month", ["2019-01", "2024-06"])
def test_no_lost_customer_is_no_data(engine, month):
    assert tracking.win_back_rate(engine, "/37/", month) == {"lost": 0, "won_back": 0, "rate": None}


@pytest.mark.parametrize("scope,kind", [("/37/", None), ("/37/", "institutional"), ("/37/3701/", None)])
def test_win_back_rate_equals_a_plain_count_of_the_demo(engine, scope, kind):
    lost, won = _plain_win_back(engine, scope, kind)
    got = tracking.win_back_rate(engine, scope, MONTH, kind)
    assert (got["lost"], got["won_back"]) == (lost, won) and lost > 0
    assert got["rate"] == pytest.approx(won / lost)
    if kind == "institutional":
        assert won, "the demo wins some lost customers back"


def _plain_win_back(engine, scope: str, kind: str | None) -> tuple[int, int]:
    """(lost, won back) in plain Python over the customer and task rows (the rule in lib.tracking's docstring)."""
    start, end = "2025-10", dt.date(2026, 10, 31).isoformat()
    lost = {cid: m for cid, m, k in _rows(engine, "SELECT id, lost_month, kind FROM customer WHERE org_path LIKE :s "
                                                  "AND lost_month IS NOT NULL", s=scope + "%")
            if start < m <= MONTH and (kind is None or k == kind)}
    won = {cid for cid, state, done_on in _rows(engine, "SELECT customer_id, state, done_on FROM win_back_task")
           if cid in lost and state == "done" and done_on is not None
           and lost[cid] <= str(done_on)[:7] and str(done_on)[:10] <= end}
    return len(lost), len(won)


def test_the_report_pack_and_the_briefing_carry_the_win_back_rate(engine):
    import io

    import openpyxl

    from lib import briefing, fmt, reports

    lost, won = _plain_win_back(engine, "/37/", "institutional")
    assert lost > 0 and won > 0
    wb = openpyxl.load_workbook(io.BytesIO(reports.monthly_pack(engine, "/37/", MONTH)))
    subtitle = wb["附录3 机构客户流失统计表"].cell(2, 1).value
    assert f"近 12 个月流失机构客户 {lost} 户,已挽回 {won} 户,挽回率 {fmt.pct(won / lost, 'zh')}" in subtitle
    churn = next(s for s in briefing.slides(engine, "/37/", MONTH, "zh") if s.key == "churn")
    assert ("近 12 个月挽回率", fmt.pct(won / lost, "zh"), None) in churn.figures
