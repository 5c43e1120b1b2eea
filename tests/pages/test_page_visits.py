"""Page visits 走访: planned, overdue and due figures against SQL and lib.visits' rule, per scope."""
from __future__ import annotations

import datetime as dt

import pytest
from apptest_helpers import T, metrics, one, open_page, scope_of
from sqlalchemy import text

from lib import fmt, visits

PAGE = "pages/visits.py"


@pytest.mark.parametrize("login", ["admin", "area", "station"])
def test_visit_figures_equal_sql(engine, login):
    at = open_page(PAGE, login)
    scope = scope_of(engine, login)
    today = dt.date.today()
    planned = one(engine, "SELECT COUNT(*) FROM visit WHERE org_path LIKE :s AND done_on IS NULL AND planned_on >= :a "
                          "AND planned_on <= :b", s=scope + "%", a=today, b=today + dt.timedelta(days=7))
    overdue = one(engine, "SELECT COUNT(*) FROM visit WHERE org_path LIKE :s AND done_on IS NULL AND planned_on < :a",
                  s=scope + "%", a=today)
    due = 0
    with engine.connect() as conn:
        for tier, kind, status, last in conn.execute(text(
                "SELECT COALESCE(c.tier_override, c.computed_tier), c.kind, c.status, (SELECT MAX(v.done_on) FROM "
                "visit v WHERE v.customer_id = c.id) FROM customer c WHERE c.org_path LIKE :s"), {"s": scope + "%"}):
            if status == "existing" and (kind == "institutional" or tier != "station"):
                last = dt.date.fromisoformat(str(last)) if last else None
                due += visits.next_due(last, tier, today) <= today
    shown = metrics(at)
    assert shown[T("visit.planned_7d")] == fmt.count(planned, "en")
    assert shown[T("visit.overdue_plans")] == fmt.count(overdue, "en")
    assert shown[T("visit.due_customers")] == fmt.count(due, "en")
