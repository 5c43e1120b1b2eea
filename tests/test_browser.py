"""Real Chromium against a freshly started server (Debian's chromium driven by Playwright).

Every request to anything but this machine is blocked and counted. Screenshots are kept in
`test-artifacts/` for a person to look at.
"""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from lib import auth
from lib.ui import PAGES, allowed_pages

CHROMIUM = "/usr/bin/chromium"
ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"
LOCAL = ("http://localhost", "http://127.0.0.1", "data:", "blob:", "about:", "ws://localhost", "ws://127.0.0.1")

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Debian's chromium is not installed"),
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(fixture_url):
    """A fresh Streamlit server on the fixture database; yields its base URL."""
    port = _free_port()
    env = dict(os.environ, DATABASE_URL=fixture_url, GRIDCRM_DEMO="1")
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
         "--server.headless", "true", "--server.address", "127.0.0.1"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    for _ in range(120):
        try:
            if urllib.request.urlopen(f"{base}/_stcore/health", timeout=1).read() == b"ok":
                break
        except OSError:
            time.sleep(0.5)
    else:
        proc.kill()
        pytest.fail("server did not start")
    yield base
    proc.terminate()
    proc.wait(10)


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--disable-quic", "--no-first-run"])
        yield b
        b.close()


class Visit:
    """One browser context with outside requests blocked and counted."""

    def __init__(self, browser, width=1600, height=1000):
        self.context = browser.new_context(viewport={"width": width, "height": height})
        self.page = self.context.new_page()
        self.outside: list[str] = []
        self.page.route("**/*", self._route)

    def _route(self, route):
        url = route.request.url
        if url.startswith(LOCAL):
            route.continue_()
        else:
            self.outside.append(url)
            route.abort()

    def open(self, url: str):
        self.page.goto(url, timeout=60_000)
        self.settle()

    def settle(self):
        self.page.wait_for_selector('[data-test-script-state="notRunning"]', timeout=120_000)
        self.page.wait_for_timeout(500)
        self.page.wait_for_selector('[data-test-script-state="notRunning"]', timeout=120_000)

    def text(self) -> str:
        return self.page.inner_text("body")

    def shot(self, name: str):
        ARTIFACTS.mkdir(exist_ok=True)
        self.page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)

    def login(self, base: str, login: str, password: str = auth.DEMO_PASSWORD):
        self.open(base + "/")
        self.page.get_by_label("用户名").fill(login)
        self.page.get_by_label("密码").fill(password)
        self.page.get_by_role("button", name="登录").click()
        self.page.wait_for_timeout(300)
        self.settle()

    def close(self):
        self.context.close()


def _page_url(base: str, path: str) -> str:
    return f"{base}/{Path(path).stem}"


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
    assert v.page.get_by_label("密码").count() == 0, "logged in"
    assert v.page.locator('[data-testid="stException"]').count() == 0
    nav = [x.split("\n")[-1].strip() for x in v.page.locator('[data-testid="stSidebarNavLink"]').all_inner_texts()]
    from lib.i18n import translator

    t = translator("zh")
    expected = [t(spec.title_key) for spec in allowed_pages(role)]
    assert nav == (expected if len(expected) > 1 else [])  # one page only: Streamlit shows no menu
    assert v.page.locator('[data-testid="stMetric"]').count() >= 8  # the overview, with data
    v.shot(f"role_{role}")
    for title in nav[1:]:  # every other permitted page opens without an error
        v.page.locator('[data-testid="stSidebarNavLink"]', has_text=title).click()
        v.page.wait_for_timeout(300)
        v.settle()
        assert v.page.locator('[data-testid="stException"]').count() == 0, title
        assert title in v.page.locator("h1").all_inner_texts()[0]
    assert v.outside == []
    v.close()
