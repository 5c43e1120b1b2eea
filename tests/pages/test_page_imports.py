"""Page imports 批量导入: the help and template of each import kind."""
from __future__ import annotations

from apptest_helpers import T, open_page

PAGE = "pages/imports.py"


def test_imports_page_offers_a_template_for_each_kind(engine):
    at = open_page(PAGE, "station")
    assert not at.error
    assert T("imp.help.customers") in [m.value for m in at.markdown]


def test_imports_page_offers_the_current_data_in_the_import_format(engine):
    """Beside the templates, the data already there for the chosen month (export → edit → import)."""
    at = open_page(PAGE, "station")
    labels = [b.label for b in at.get("download_button")]
    assert T("tpl.download_csv") in labels and T("tpl.download_xlsx") in labels
    keys = {b.key for b in at.get("download_button")}
    assert {"imp_export_customers_csv", "imp_export_customers_xlsx"} <= keys


def test_recent_imports_are_listed_and_an_admin_reverts_one_after_confirming(writable):
    """Issue 14: the recent imports of the scope; the admin's revert asks first, then restores the rows."""
    from _import_as import import_file
    from sqlalchemy import text

    with writable.connect() as conn:
        code, name, kind, station = conn.execute(text(
            "SELECT c.code, c.name, c.kind, s.code FROM customer c JOIN station s ON s.id = c.station_id "
            "ORDER BY c.code LIMIT 1")).one()
    report = import_file(writable, "customers", f"code,name,kind,station_code\n{code},页面改名,{kind},{station}\n".encode(),
                         "rename.csv", actor="admin")
    assert report.ok and report.batch_id
    at = open_page(PAGE, "station")  # a station manager sees the list of their scope, without a revert
    assert not any(b.key == "imp_revert_go" for b in at.button)
    at = open_page(PAGE, "admin")
    assert any("rename.csv" in d.value.to_string() for d in at.dataframe)
    at.selectbox(key="imp_revert").set_value(report.batch_id).run()
    at.button(key="imp_revert_go").click().run()
    assert any(T("imp.recent.confirm_yes") == b.label for b in at.button)
    with writable.connect() as conn:  # nothing happens before the confirmation
        assert conn.execute(text("SELECT name FROM customer WHERE code = :c"), {"c": code}).scalar() == "页面改名"
    at.button(key="imp_revert_yes").click().run()
    assert not at.exception
    assert T("imp.recent.done", id=report.batch_id, n=1) in [s.value for s in at.success]
    with writable.connect() as conn:
        assert conn.execute(text("SELECT name FROM customer WHERE code = :c"), {"c": code}).scalar() == name
