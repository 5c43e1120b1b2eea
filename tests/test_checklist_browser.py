"""Real Chromium: the setup checklist 数据完整性 opened from the overview's short line, and a gap's import
link landing on the imports page with that kind chosen (screenshots in test-artifacts/)."""
from __future__ import annotations

from browser_harness import BROWSER_MARKS, Visit, browser, server  # noqa: F401 (fixtures)

from lib.i18n import translator

pytestmark = BROWSER_MARKS
T = translator("zh")
_IDLE = 'document.querySelector(\'[data-test-script-state="notRunning"]\') !== null'
_SHOWN = f"""text => {_IDLE} && document.body.innerText.includes(text)"""


def _wait_for_text(v: Visit, text: str) -> None:
    v.page.wait_for_function(_SHOWN, arg=text, timeout=120_000, polling=100)


def _wait_for_location(v: Visit, part: str) -> None:
    """Wait until the address holds `part`: the page text alone can match the page being left (the
    overview's short checklist shows the same status words as the checklist page)."""
    v.page.wait_for_function("part => location.href.includes(part)", arg=part, timeout=120_000, polling=100)


def test_from_the_overview_to_the_checklist_to_the_import_of_a_gap(server, browser):
    v = Visit(browser)
    try:
        v.login(server, "admin")
        _wait_for_text(v, T("checklist.open"))  # the overview's short version and its link
        v.page.get_by_role("link", name=T("checklist.open")).click()
        _wait_for_location(v, "/checklist")
        _wait_for_text(v, T("checklist.status.missing"))
        assert v.page.url.endswith("/checklist")
        v.shot("checklist_page")
        label = T("checklist.import_kind", kind=T("imp.kind.visits"))
        v.page.get_by_role("link", name=label).first.click()
        _wait_for_location(v, "kind=visits")
        _wait_for_text(v, T("imp.help.visits").split("\n")[0][:12])
        assert "kind=visits" in v.page.url
        chosen = v.page.locator(".st-key-imp_kind button[aria-checked='true']").inner_text()
        assert chosen == T("imp.kind.visits")
        v.shot("checklist_to_imports_visits")
        assert v.outside == []
    finally:
        v.close()
