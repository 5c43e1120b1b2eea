"""Page managers 客户经理: head count, transfers due and managed volume against SQL, per scope."""
from __future__ import annotations

import pytest
from apptest_helpers import T, metrics, one, open_page, scope_of

from lib import fmt
from lib.config import rules
from lib.ui import Keys

PAGE = "pages/managers.py"


@pytest.mark.parametrize("login", ["admin", "area", "station", "custmgr"])
def test_manager_figures_equal_sql(engine, login):
    at = open_page(PAGE, login)
    scope = scope_of(engine, login)
    station_scope = scope[: scope.rindex("/m") + 1] if "/m" in scope else scope
    month = at.sidebar.selectbox(key=Keys.MONTH).value
    people = one(engine, "SELECT COUNT(*) FROM customer_manager WHERE org_path LIKE :s AND active = :a",
                 s=station_scope + "%", a=True) if "/m" not in scope else 1
    transfer = one(engine, "SELECT COUNT(*) FROM customer_manager WHERE org_path LIKE :s AND active = :a AND misses >= :x"
                   + (" AND id = :m" if "/m" in scope else ""), s=station_scope + "%", a=True,
                   x=rules()["customer_manager"]["transfer_after_misses"],
                   m=int(scope.rstrip("/").rsplit("/m", 1)[1]) if "/m" in scope else 0)
    volume = one(engine, "SELECT COALESCE(SUM(m.gasoline_t + m.diesel_t), 0) FROM monthly_consumption m JOIN customer c "
                         "ON c.id = m.customer_id WHERE c.org_path LIKE :s AND m.month = :mo AND c.manager_id IS NOT NULL",
                 s=scope + "%", mo=month)
    shown = metrics(at)
    assert shown[T("mgr.count")] == fmt.count(people, "en")
    assert shown[T("mgr.transfer_due")] == fmt.count(transfer, "en")
    assert shown[T("mgr.volume")] == fmt.tonnes(volume, "en")
