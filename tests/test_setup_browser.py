"""Real Chromium, day one of a real company (issue 13): an empty SQLite database, GRIDCRM_DEMO=0, the
app started as a real `streamlit run`. The first page asks for the first admin with the setup token
printed in the server log; the admin logs in, lands on 组织设置 and sets up two cities of the province
from the real map; the org units exist with their official names, adcodes and boundaries. Then the
admin imports a stations file (Chinese template headers, real coordinates) on 数据导入 and sees the
stations on 网格地图 at province, city and district scope, chosen in the sidebar.

Screenshots (zh) go to `test-artifacts/setup_*.png` and `dayone_*.png` (1440×900: setup, imports,
grid map per scope), and to `GRIDCRM_SHOTS_DIR` when set.
"""
from __future__ import annotations

import json
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
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import TimeoutError as PlaywrightTimeout
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


def _shot(v: Visit, name: str, viewport: dict | None = None) -> None:
    if viewport:
        v.page.set_viewport_size(viewport)
        v.settle()
    v.shot(name)
    extra = os.environ.get("GRIDCRM_SHOTS_DIR")
    if extra:
        Path(extra).mkdir(parents=True, exist_ok=True)
        shutil.copy(v.shot_path(name), Path(extra) / f"{name}.png")


def test_first_admin_sets_up_the_province_from_the_map(empty_server, browser, tmp_path):
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
    _shot(v, "dayone_setup_map", viewport=DAY_ONE)
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

    _shot(v, "dayone_setup", viewport=DAY_ONE)

    # day one goes on: the admin imports the stations file on the imports page ...
    csv = tmp_path / "加油站.csv"
    csv.write_text(STATIONS_CSV, encoding="utf-8-sig")
    _open(v, "数据导入")
    v.page.locator('[data-testid="stButtonGroup"]').get_by_text("加油站", exact=True).click()  # the kind
    _wait_text(v, "每行一座加油站")  # the stations kind's help
    _shot(v, "dayone_imports_empty", viewport=DAY_ONE)
    assert "50MB per file" in v.page.locator('[data-testid="stFileUploader"]').inner_text()  # as the subtitle says
    v.page.locator('input[type="file"]').set_input_files(str(csv))
    v.page.get_by_role("button", name="检查文件").wait_for(timeout=60_000)
    v.page.get_by_role("button", name="检查文件").click()
    _wait_text(v, "检查通过：5 行，将新增 5 行、更新 0 行")
    v.page.get_by_role("button", name="确认导入").click()
    _wait_text(v, "导入完成：新增 5 行，更新 0 行")
    assert v.page.locator('[data-testid="stException"]').count() == 0
    _shot(v, "dayone_imports", viewport=DAY_ONE)
    engine = make_engine(url)
    with engine.connect() as conn:
        stations = conn.execute(text("SELECT s.code, s.name, s.lon, s.lat, s.org_path, u.level FROM station s "
                                     "JOIN org_unit u ON u.id = s.org_unit_id ORDER BY s.code")).all()
    engine.dispose()
    assert [(r[0], r[1], r[2], r[3]) for r in stations] == [(c, n, x, y) for c, n, _, x, y in STATIONS]
    assert all(r[5] == "station" for r in stations)
    assert {r[0]: r[4] for r in stations}["370202001"] == "/37/3702/370202/370202001/"

    # ... and sees them on the grid map, at province, city and district scope (no grids yet: the
    # stations are drawn all the same, on the real city and district boundaries)
    _open(v, "网格地图")
    frame = _stations_drawn(v, 5)
    assert "济南市" in frame.content() and "青岛市" in frame.content()  # the context layer's city names
    assert "历下区经十路站" in frame.content()  # the stations' tooltips travel with the map's data
    _shot(v, "dayone_grid_province", viewport=DAY_ONE)
    _pick_scope(v, "地市分公司", "济南市分公司")
    frame = _stations_drawn(v, 3)
    assert "槐荫区经十西路站" in frame.content() and "市南区香港中路站" not in frame.content()
    _shot(v, "dayone_grid_city", viewport=DAY_ONE)
    _pick_scope(v, "区县/片区", "历下区")
    frame = _stations_drawn(v, 1)
    assert "历下区经十路站" in frame.content() and "槐荫区经十西路站" not in frame.content()
    assert frame.locator(".leaflet-control-scale-line").all_inner_texts()[0].endswith("km")  # metric only
    assert frame.locator(".leaflet-control-scale-line").count() == 1
    assert frame.locator(".gc-legend details").evaluate("d => d.open") is False  # 580 px wide: closed
    assert v.page.locator('[data-testid="stException"]').count() == 0
    _shot(v, "dayone_grid_district", viewport=DAY_ONE)
    _shot_bottom(v, "dayone_grid_district_checks")  # the coverage checks below the map: no grids yet

    # the grids come as a GeoJSON file: here one grid per station, its whole district (全覆盖、无交叉)
    engine = make_engine(url)
    with engine.connect() as conn:
        bounds = dict(conn.execute(text("SELECT code, boundary FROM org_unit WHERE level = 'district'")).all())
    engine.dispose()
    grids = tmp_path / "网格.geojson"
    grids.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": json.loads(bounds[d]), "properties": {
            "code": f"G{c}", "name": f"{n}网格", "station_code": c, "owner_name": "张三", "owner_phone": "13800000000",
            "owner_duties": ""}} for c, n, d, _, _ in STATIONS]}, ensure_ascii=False), encoding="utf-8")
    _open(v, "数据导入")
    v.page.locator('[data-testid="stButtonGroup"]').get_by_text("网格（GeoJSON）", exact=True).click()
    _wait_text(v, "GeoJSON FeatureCollection")
    v.page.locator('input[type="file"]').set_input_files(str(grids))
    v.page.get_by_role("button", name="检查文件").click()
    _wait_text(v, "检查通过：5 行，将新增 5 行")
    v.page.get_by_role("button", name="确认导入").click()
    _wait_text(v, "导入完成：新增 5 行")
    _open(v, "网格地图")
    frame = _stations_drawn(v, 1)  # the sidebar keeps 历下区
    frame.locator("path.gc-grid").first.wait_for(timeout=60_000)
    assert frame.locator("path.gc-grid").count() == 1
    _shot(v, "dayone_grid_district_grids", viewport=DAY_ONE)
    _pick_scope(v, "区县/片区", "全部")
    frame = _stations_drawn(v, 3)
    assert frame.locator("path.gc-grid").count() == 3
    assert v.page.locator('[data-testid="stException"]').count() == 0
    _shot(v, "dayone_grid_city_grids", viewport=DAY_ONE)
    assert v.outside == [], v.outside
    v.close()


DAY_ONE = {"width": 1440, "height": 900}  # the screenshots a branch manager looks at (issue 13)
# (code, name, district, lon, lat): real places inside the districts set up above (lib.regions boundaries)
STATIONS = [
    ("370102001", "历下区经十路站", "370102", 117.07, 36.65),
    ("370104001", "槐荫区经十西路站", "370104", 116.915, 36.662),
    ("370112001", "历城区工业北路站", "370112", 117.245, 36.61),
    ("370202001", "市南区香港中路站", "370202", 120.383, 36.066),
    ("370212001", "崂山区松岭路站", "370212", 120.468, 36.109),
]
STATIONS_CSV = "加油站代码,加油站名称,区县代码,经度,纬度,开业日期,油枪数\n" + "".join(
    f"{c},{n},{d},{x},{y},2015-06-01,8\n" for c, n, d, x, y in STATIONS)


def _shot_bottom(v: Visit, name: str) -> None:
    """A screenshot of the page scrolled to its end (Streamlit scrolls its main area, not the document)."""
    main = v.page.locator('[data-testid="stMain"]')
    main.evaluate("e => e.scrollTo(0, e.scrollHeight)")
    main.evaluate("e => new Promise(done => { const f = () => e.scrollTop + e.clientHeight >= e.scrollHeight - 2 ? "
                  "requestAnimationFrame(() => done()) : requestAnimationFrame(f); f(); })")
    _shot(v, name)
    main.evaluate("e => e.scrollTo(0, 0)")


def _open(v: Visit, title: str) -> None:
    """Open a page from the sidebar navigation (the session, and so the login, stays)."""
    v.page.locator('[data-testid="stSidebarNavLink"]', has_text=title).first.click()
    v.page.wait_for_function(f"t => {_IDLE} && document.querySelector('h1')?.innerText.includes(t)", arg=title,
                             timeout=120_000, polling=100)


def _pick_scope(v: Visit, level: str, name: str) -> None:
    """Choose `name` in the sidebar's scope selectbox labelled `level`."""
    box = v.page.locator('[data-testid="stSidebar"]').get_by_label(level)
    option = v.page.get_by_role("option", name=name, exact=True)
    for _ in range(5):  # on a map page the first click's list may close again as the map iframe loads
        box.click()
        try:
            option.wait_for(timeout=3000)
            option.click(timeout=3000)
            break
        except PlaywrightTimeout:
            continue
    else:
        raise AssertionError(f"no option {name} in the sidebar's {level}")
    v.page.wait_for_function(f"n => {_IDLE} && [...document.querySelectorAll('[data-testid=stSidebar] input')]"
                             ".some(e => e.value === n)", arg=name, timeout=120_000, polling=100)


def _stations_drawn(v: Visit, n: int, timeout_ms: int = 60_000):
    """The grid map's iframe once Leaflet has drawn exactly `n` station markers (polled)."""
    waited = 0
    while waited < timeout_ms:
        for f in v.page.frames:
            try:
                if "st_folium" in f.url and f.locator(".gc-station").count() == n:
                    return f
            except PlaywrightError:  # a frame of the previous run, detached while we looked
                continue
        v.page.wait_for_timeout(200)
        waited += 200
    v.shot("dayone_failed_map")
    raise AssertionError(f"the grid map did not draw {n} stations")
