"""Page managers 客户经理: head count, transfers due and managed volume against SQL, per scope; the
one-manager form."""
from __future__ import annotations

import pytest
from apptest_helpers import T, metrics, one, open_page, scope_of
from sqlalchemy import text

from lib import fmt
from lib.config import rules
from lib.ui import Keys

PAGE = "pages/managers.py"
K = Keys.Managers
ui_keys = Keys


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


def test_one_manager_is_created_and_edited_on_the_page(writable):
    """Issue 13: the one-manager form (lib.managers.save_manager, the import's checks)."""
    at = open_page(PAGE, login="area")
    new = ui_keys.row(K.EDIT_NAME, "new")
    at.text_input(key=new).input("页面新经理")
    at.text_input(key=ui_keys.row(K.EDIT_PHONE, "new")).input("13900001111")
    at = next(b for b in at.button if b.key and b.key.startswith(f"FormSubmitter:{ui_keys.row(K.EDIT_FORM, 'new')}")
              ).click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    with writable.connect() as conn:
        code, level = conn.execute(text("SELECT code, level FROM customer_manager WHERE name = '页面新经理'")).one()
    assert [s.value for s in at.success] == [T("people.manager_saved", code=code)] and level == "trainee"
    at.run()  # the picker lists the new manager (its cache was cleared)
    at = at.selectbox(key=K.EDIT_PICK).set_value(code).run()
    at.text_input(key=ui_keys.row(K.EDIT_NAME, code)).input("")  # a required field emptied: refused, unchanged
    at = next(b for b in at.button if b.key and b.key.startswith(f"FormSubmitter:{ui_keys.row(K.EDIT_FORM, code)}")
              ).click().run()
    assert at.error and not at.exception
    with writable.connect() as conn:
        assert conn.execute(text("SELECT name FROM customer_manager WHERE code = :c"), {"c": code}).scalar() == "页面新经理"


@pytest.mark.parametrize("login", ["station", "custmgr", "viewer"])
def test_roles_below_district_get_no_manager_form(writable, login):
    at = open_page(PAGE, login=login)
    assert not [w for w in at.selectbox if w.key == K.EDIT_PICK]
