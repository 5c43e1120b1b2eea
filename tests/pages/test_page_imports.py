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
