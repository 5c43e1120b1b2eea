"""Real Chromium, day one of a real company (issue 13): an empty SQLite database, GRIDCRM_DEMO=0, the
app started as a real `streamlit run`. The first page asks for the first admin with the setup token
printed in the server log; the admin logs in, lands on 组织设置 and sets up two cities of the province
from the real map; the org units exist with their official names, adcodes and boundaries.

Screenshots of the setup page (zh) go to `test-artifacts/setup_*.png` (and `GRIDCRM_SHOTS_DIR` when set).
"""
from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from browser_harness import BROWSER_MARKS, ROOT, Visit, browser  # noqa: F401 (fixtures)
from sqlalchemy import text

from lib import regions
from lib.db import make_engine

pytestmark = BROWSER_MARKS
TOKEN_LINE = re.compile(r"first-admin setup token: (\S+)")
_IDLE = 'document.querySelector(\'[data-test-script-state="notRunning"]\') !== null'
_TEXT_SHOWN = f"""s => {_IDLE} && document.body.innerText.includes(s)"""


@pytest.fixture(scope="module")
def empty_server(tmp_path_factory):
    """A real `streamlit run` on an empty SQLite file with GRIDCRM_DEMO=0; yields (base URL, db URL, log)."""
    tmp = tmp_path_factory.mktemp("dayone")
    url = f"sqlite:///{tmp / 'company.db'}"
    log = tmp / "server.log"
    port = _free_port()
    env = dict(os.environ, DATABASE_URL=url, GRIDCRM_DEMO="0")
    env.pop("GRIDCRM_SETUP_TOKEN", None)  # the token must come from the log, as for a real admin
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
                                 "--server.headless", "true", "--server.address", "127.0.0.1"],
                                cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if urllib.request.urlopen(f"{base}/_stcore/health", timeout=1).read() == b"ok":
                break
        except OSError:
            time.sleep(0.3)
    else:
        proc.kill()
        pytest.fail("server did not start")
    yield base, url, log
    proc.terminate()
    proc.wait(10)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _token(log: Path, timeout_s: float = 30) -> str:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = TOKEN_LINE.search(log.read_text(encoding="utf-8", errors="replace"))
        if found:
            return found.group(1)
        time.sleep(0.2)
    raise AssertionError("no setup token in the server log")


def _wait_text(v: Visit, s: str, timeout_ms: int = 120_000) -> None:
    v.page.wait_for_function(_TEXT_SHOWN, arg=s, timeout=timeout_ms, polling=100)


def _map_frame(v: Visit, min_paths: int, timeout_ms: int = 60_000):
    """The streamlit-folium iframe once Leaflet has drawn at least `min_paths` paths (polled)."""
    waited = 0
    while waited < timeout_ms:
        for f in v.page.frames:
            if "st_folium" in f.url and f.locator("path.leaflet-interactive").count() >= min_paths:
                return f
        v.page.wait_for_timeout(200)
        waited += 200
    v.shot("setup_failed_map")
    raise AssertionError("the preview map drew no districts")


def _shot(v: Visit, name: str) -> None:
    v.shot(name)
    extra = os.environ.get("GRIDCRM_SHOTS_DIR")
    if extra:
        Path(extra).mkdir(parents=True, exist_ok=True)
        shutil.copy(v.shot_path(name), Path(extra) / f"{name}.png")


def test_first_admin_sets_up_the_province_from_the_map(empty_server, browser):
    base, url, log = empty_server
    v = Visit(browser, width=1500, height=2000)
    v.open(base + "/")
    _wait_text(v, "设置口令")
    v.page.get_by_label("设置口令").fill(_token(log))
    v.page.get_by_label("省份代码(行政区划代码前两位,如 37)").fill("37")
    v.page.get_by_label("省公司名称(如 山东省分公司)").fill("山东省分公司")
    v.page.get_by_label("管理员用户名").fill("boss")
    v.page.get_by_label("姓名").fill("王总")
    v.page.get_by_label("密码").fill("long enough pw")
    v.page.get_by_role("button", name="创建管理员").click()
    _wait_text(v, "管理员已创建")  # the login form, saying what comes next
    v.page.get_by_label("用户名").fill("boss")
    v.page.get_by_label("密码").fill("long enough pw")
    v.page.get_by_role("button", name="登录").click()
    # the admin lands on the setup page, the map setup open: Shandong's 16 cities chosen
    _wait_text(v, "从地图建立地市分公司和区县")
    _map_frame(v, min_paths=136)  # every district of Shandong drawn on the preview map
    assert "组织设置" in v.page.locator("h1").all_inner_texts()[0]
    assert v.page.locator('[data-testid="stException"]').count() == 0
    _shot(v, "setup_map_all")
    # keep 济南 and 青岛: remove the other 14 cities from the multiselect, one tag at a time
    box = v.page.locator(".st-key-orgset_cities_37")
    others = [c.name for c in regions.province("37").cities[2:]]
    for n, name in enumerate(others, start=1):
        box.get_by_role("button", name=f"Remove {name}").first.click()
        v.page.wait_for_function(
            f"""n => {_IDLE} && document.querySelectorAll('.st-key-orgset_cities_37 [data-tag]').length === n""",
            arg=16 - n, timeout=60_000, polling=100)
    v.settle()
    _shot(v, "setup_map_two_cities")
    v.page.get_by_role("button", name="按地图建立组织").click()
    _wait_text(v, "已建立 24 个组织单元")
    v.settle()
    assert v.page.locator('[data-testid="stException"]').count() == 0
    _shot(v, "setup_units")
    engine = make_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT code, name, level, adcode, boundary IS NOT NULL FROM org_unit "
                                 "ORDER BY path")).all()
    engine.dispose()
    by_code = {r[0]: r for r in rows}
    assert [r[2] for r in rows].count("city") == 2 and [r[2] for r in rows].count("district") == 22
    assert by_code["3701"][1:4] == ("济南市分公司", "city", "370100")
    assert by_code["370202"][1:4] == ("市南区", "district", "370202")
    assert all(r[4] for r in rows)  # every unit has its real boundary
    assert v.outside == [], v.outside

    # --- stations import (h-stations, helper 3): import a stations file on the imports page here and
    # --- check that the stations appear on the grid map (lib.stations, kind "stations"). -------------
    v.close()
