"""Real Chromium against a freshly started server (Debian's chromium driven by Playwright).

Every request to anything but this machine is blocked and counted. Screenshots are kept in
`test-artifacts/` for a person to look at.
"""
from __future__ import annotations

from pathlib import Path

import pytest
from browser_harness import BROWSER_MARKS, Visit, browser, server  # noqa: F401 (fixtures)

from lib import auth
from lib.ui import PAGES, allowed_pages

pytestmark = BROWSER_MARKS


def _page_url(base: str, path: str) -> str:
    return f"{base}/{Path(path).stem}"


# Polls in the page (no fixed sleeps): the script run has finished AND what we wait for is there.
# A run that stops early (an error, a smaller page) times out and fails the test.
_IDLE = 'document.querySelector(\'[data-test-script-state="notRunning"]\') !== null'
_METRICS_AT_LEAST = f"""n => {_IDLE} && document.querySelectorAll('[data-testid="stMetric"]').length >= n"""
_TITLE_SHOWN = f"""title => {_IDLE} && [...document.querySelectorAll('h1')].some(h => h.innerText.includes(title))"""


def _wait_until(v: Visit, predicate: str, arg, timeout_ms: int = 120_000) -> None:
    v.page.wait_for_function(predicate, arg=arg, timeout=timeout_ms, polling=100)


def test_every_page_url_without_login_shows_the_login_page(server, browser, engine):
    from sqlalchemy import text

    with engine.connect() as conn:
        names = conn.execute(text("SELECT name FROM customer ORDER BY id LIMIT 200")).scalars().all()
    urls = [server + "/"] + [_page_url(server, spec.path) for spec in PAGES] + [server + "/login"]
    for url in urls:
        v = Visit(browser)
        v.open(url)
        body = v.text()
        assert v.page.get_by_label("密码").count() == 1, url  # the login form
        assert v.page.locator('[data-testid="stMetric"]').count() == 0, url
        assert v.page.locator('[data-testid="stException"]').count() == 0, url
        assert not any(name in body for name in names), url
        assert v.outside == [], v.outside
        v.shot(f"nologin_{Path(url).name or 'root'}")
        v.close()


@pytest.mark.parametrize("login, role", [(u[0], u[2]) for u in auth.DEMO_USERS])
def test_each_role_sees_only_its_pages(server, browser, login, role):
    v = Visit(browser)
    v.login(server, login)
    # On a loaded machine the login's rerun may not have started when login() returns: wait for the
    # overview (it has 8+ metrics, the login page none) and its finished script run before looking.
    _wait_until(v, _METRICS_AT_LEAST, 8)
    assert v.page.get_by_label("密码").count() == 0, "logged in"
    assert v.page.locator('[data-testid="stException"]').count() == 0
    nav = [x.split("\n")[-1].strip() for x in v.page.locator('[data-testid="stSidebarNavLink"]').all_inner_texts()]
    from lib.i18n import translator

    t = translator("zh")
    expected = [t(spec.title_key) for spec in allowed_pages(role)]
    assert nav == (expected if len(expected) > 1 else [])  # one page only: Streamlit shows no menu
    assert v.page.locator('[data-testid="stMetric"]').count() >= 8  # the overview, with data
    v.shot(f"role_{role}")
    # every other permitted page opens without an error (the slide show hides the sidebar: own test)
    for title in [n for n in nav[1:] if n != t("page.presentation")]:
        v.page.locator('[data-testid="stSidebarNavLink"]', has_text=title).click()
        _wait_until(v, _TITLE_SHOWN, title)
        assert v.page.locator('[data-testid="stException"]').count() == 0, title
        assert title in v.page.locator("h1").all_inner_texts()[0]
    assert v.outside == []
    v.close()
