"""Page audit 审计日志: the count of logged changes of the last 30 days against SQL."""
from __future__ import annotations

import datetime as dt

from apptest_helpers import T, metrics, one, open_page

from lib import fmt

PAGE = "pages/audit.py"


def test_audit_page_counts_the_logged_changes(engine):
    at = open_page(PAGE, "admin")
    since = dt.datetime.combine(dt.date.today() - dt.timedelta(days=30), dt.time())
    n = one(engine, "SELECT COUNT(*) FROM audit_log WHERE at >= :a", a=since)
    assert n > 0  # creating the demo users was audited
    assert metrics(at)[T("audit.rows")] == fmt.count(min(n, 2000), "en")
