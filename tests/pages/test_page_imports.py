"""Page imports 批量导入: the help and template of each import kind."""
from __future__ import annotations

from apptest_helpers import T, open_page

PAGE = "pages/imports.py"


def test_imports_page_offers_a_template_for_each_kind(engine):
    at = open_page(PAGE, "station")
    assert not at.error
    assert T("imp.help.customers") in [m.value for m in at.markdown]
