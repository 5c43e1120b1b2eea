"""Presentation mode in real Chromium at 1920×1080: slides advance by key and on their own; a
screenshot of every slide is kept for a person to look at (Chinese rendered, nothing cut off)."""
from __future__ import annotations

import re

from browser_harness import BROWSER_MARKS, Visit, browser, server  # noqa: F401 (fixtures)
from playwright.sync_api import expect

from lib import briefing

pytestmark = BROWSER_MARKS
N = len(briefing.SECTIONS)


def _position(v: Visit) -> int:
    text = v.page.locator(".slide-progress").inner_text(timeout=30_000)
    m = re.match(r"(\d+) / (\d+)", text.strip())
    assert m and int(m.group(2)) == N, text
    return int(m.group(1))


def _wait_for(v: Visit, position: int, seconds: float = 20) -> None:
    for _ in range(int(seconds * 4)):
        if _position(v) == position:
            return
        v.page.wait_for_timeout(250)
    assert _position(v) == position


def test_slide_show_advances_by_key_and_on_its_own(server, browser):
    v = Visit(browser, 1920, 1080)
    v.login(server, "admin", path="/presentation")
    # the show collapses the sidebar once its script has run: wait for it (an immediate check raced the run)
    expect(v.page.locator('[data-testid="stSidebar"]')).to_be_hidden(timeout=60_000)
    assert _position(v) == 1
    for i in range(1, N + 1):  # every slide by the Right key, with a screenshot
        headline = v.page.locator(".slide-headline").inner_text()
        assert re.search(r"[\u4e00-\u9fff]", headline), "Chinese headline"
        assert v.page.locator('[data-testid="stException"]').count() == 0
        v.page.wait_for_timeout(600)
        v.page.screenshot(path=str(v.shot_path(f"slide_{i}_{briefing.SECTIONS[i - 1]}")))
        v.page.keyboard.press("ArrowRight")
        _wait_for(v, i % N + 1)
    v.page.keyboard.press("ArrowLeft")
    _wait_for(v, N)
    v.page.keyboard.press("ArrowRight")
    _wait_for(v, 1)
    # auto-advance: shortest interval, play, and the slide changes without a key press
    slider = v.page.get_by_role("slider").first
    slider.focus()
    for _ in range(4):
        v.page.keyboard.press("ArrowLeft")
    v.settle()
    v.page.get_by_role("button", name=re.compile("自动播放")).click()
    _wait_for(v, 2, seconds=15)
    _wait_for(v, 3, seconds=15)
    v.page.get_by_role("button", name=re.compile("暂停")).click()
    v.page.wait_for_timeout(7000)
    assert _position(v) == 3  # paused: stays
    assert v.outside == []
    v.close()
