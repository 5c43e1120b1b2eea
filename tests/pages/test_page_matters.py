"""Page matters 事项: waiting-on-me, open, overdue and closed figures against SQL, per level."""
from __future__ import annotations

import datetime as dt

import pytest
from apptest_helpers import T, metrics, open_page, scope_of
from sqlalchemy import text

from lib import fmt, matters

PAGE = "pages/matters.py"


@pytest.mark.parametrize("login,level", [("admin", "province"), ("city", "city"), ("area", "district"),
                                         ("station", "station")])
def test_matter_figures_equal_sql(engine, login, level):
    at = open_page(PAGE, login)
    scope = scope_of(engine, login)
    now = matters.now_minute()
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT m.kind, m.state, m.due_at, m.closed_at, f.step, f.escalation FROM matter m "
                                 "JOIN matter_flow f ON f.matter_id = m.id WHERE m.org_path LIKE :s"),
                            {"s": scope + "%"}).all()
    month_start = now.replace(day=1, hour=0, minute=0)
    parse = lambda x: dt.datetime.fromisoformat(str(x)) if x else None  # noqa: E731
    waiting = sum(1 for k, s, _, _, step, esc in rows if s != "closed" and matters.acting_level(k, step, esc) == level)
    open_ = sum(1 for r in rows if r.state != "closed")
    late = sum(1 for r in rows if r.state != "closed" and parse(r.due_at) < now)
    closed = sum(1 for r in rows if r.closed_at and parse(r.closed_at) >= month_start)
    shown = metrics(at)
    assert shown[T("matter.waiting_on_me")] == fmt.count(waiting, "en")
    assert shown[T("matter.open")] == fmt.count(open_, "en")
    assert shown[T("matter.overdue")] == fmt.count(late, "en")
    assert shown[T("matter.closed_this_month")] == fmt.count(closed, "en")
