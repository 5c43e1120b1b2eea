"""Real-Chromium harness shared by the browser tests: a fresh server on the fixture database,
Debian's Chromium through Playwright, every request to anything but this machine blocked and
counted, screenshots kept in `test-artifacts/`."""
from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from lib import auth

CHROMIUM = "/usr/bin/chromium"
ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"
LOCAL = ("http://localhost", "http://127.0.0.1", "data:", "blob:", "about:", "ws://localhost", "ws://127.0.0.1")

BROWSER_MARKS = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Debian's chromium is not installed"),
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def start_server(url: str):
    """Run a fresh Streamlit server on the database at `url`; yields its base URL, stops it after."""
    port = _free_port()
    env = dict(os.environ, DATABASE_URL=url, GRIDCRM_DEMO="1")
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
    try:
        yield base
    finally:
        proc.terminate()
        proc.wait(10)


@pytest.fixture(scope="module")
def server(fixture_url):
    """A fresh Streamlit server on the fixture database; yields its base URL."""
    with start_server(fixture_url) as base:
        yield base


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

    def shot_path(self, name: str) -> Path:
        ARTIFACTS.mkdir(exist_ok=True)
        return ARTIFACTS / f"{name}.png"

    def shot(self, name: str):
        self.page.screenshot(path=str(self.shot_path(name)), full_page=True)

    def login(self, base: str, login: str, password: str = auth.DEMO_PASSWORD, path: str = "/"):
        """Open `path` (a deep link shows the login page), log in, and land on that page."""
        self.open(base + path)
        self.page.get_by_label("用户名").fill(login)
        self.page.get_by_label("密码").fill(password)
        self.page.get_by_role("button", name="登录").click()
        self.page.wait_for_timeout(300)
        self.settle()

    def close(self):
        self.context.close()


