"""The map pages in real Chromium with every non-localhost request blocked: Leaflet and its plugins
come from the app itself, the grid polygons are drawn, a click opens the grid's panel, and a
reshape on the editing map that overlaps a neighbour is refused. Screenshots in test-artifacts/."""
from __future__ import annotations

import os

import pytest
from browser_harness import CHROMIUM, Visit, browser, server  # noqa: F401 (fixtures)
from sqlalchemy import text

from lib import auth
from lib.i18n import translator
from lib.maps import assets

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Debian's chromium is not installed"),
]
T = translator("zh")


def _scope(engine, login):
    with engine.connect() as conn:
        uid = conn.execute(text("SELECT id FROM app_user WHERE login = :l"), {"l": login}).scalar_one()
    return auth.session_user(engine, uid).scope


def _grid_count(engine, scope):
    with engine.connect() as conn:
        paths = conn.execute(text("SELECT org_path FROM grid")).scalars().all()
    return sum(1 for p in paths if p.startswith(scope) or scope.startswith(p))


def _open(v: Visit, title: str):
    v.page.locator('[data-testid="stSidebarNavLink"]', has_text=title).click()
    v.page.wait_for_timeout(300)
    v.settle()


def _map_frame(v: Visit, min_paths: int = 1, timeout_ms: int = 30_000):
    """Return the streamlit-folium iframe once Leaflet has drawn at least `min_paths` paths."""
    waited = 0
    while waited < timeout_ms:
        for f in v.page.frames:
            if "st_folium" in f.url and f.locator("path.leaflet-interactive").count() >= min_paths:
                return f
        v.page.wait_for_timeout(200)
        waited += 200
    raise AssertionError("the map drew no Leaflet paths")


@pytest.mark.parametrize("login", ["admin", "area", "custmgr"])
def test_grid_map_draws_every_grid_offline(server, browser, engine, login):
    v = Visit(browser)
    v.login(server, login)
    _open(v, T("page.grid_map"))
    frame = _map_frame(v)
    v.page.wait_for_timeout(500)
    expected = _grid_count(engine, _scope(engine, login))
    assert frame.locator("path.gc-grid").count() == expected
    assert frame.locator("path.leaflet-interactive").count() == expected  # customers are on a canvas
    assert frame.evaluate("typeof L !== 'undefined' && L.version") == "1.9.3"
    assert frame.locator(".leaflet-control-layers").count() == 1
    assert frame.locator(".gc-legend").count() == 1
    assert v.page.locator('[data-testid="stException"]').count() == 0
    assert v.outside == [], v.outside
    v.shot(f"grid_map_{login}")
    v.close()


def test_clicking_a_grid_opens_its_panel(server, browser, engine):
    v = Visit(browser)
    v.login(server, "area")
    _open(v, T("page.grid_map"))
    frame = _map_frame(v)
    grid = frame.locator("path.gc-grid").last  # 历下区 has two grids in the fixture (real map, 30 stations)
    grid.dispatch_event("click")
    v.page.wait_for_timeout(1500)
    v.settle()
    heads = " ".join(v.page.locator("h3").all_inner_texts())
    with engine.connect() as conn:
        codes = conn.execute(text("SELECT code FROM grid WHERE org_path LIKE :s"),
                             {"s": _scope(engine, "area") + "%"}).scalars().all()
    assert any(code in heads for code in codes), heads
    assert v.page.get_by_text(T("maps.card.download_html")).count() == 1
    assert v.outside == []
    v.shot("grid_map_panel")
    v.close()


def test_customer_map_draws_rings_offline(server, browser):
    v = Visit(browser)
    v.login(server, "station")
    _open(v, T("page.customer_map"))
    frame = _map_frame(v, min_paths=3)
    assert frame.locator("path.leaflet-interactive").count() == 3  # the 1, 3 and 5 km rings
    assert T("maps.rings.counts") in " ".join(v.page.locator("h3").all_inner_texts())
    assert v.outside == []
    v.shot("customer_map_station")
    v.close()


def test_reshape_that_overlaps_a_neighbour_is_refused_on_the_map(server, browser):
    v = Visit(browser)
    v.login(server, "area")
    _open(v, T("page.grid_edit"))
    frame = _map_frame(v)
    assert frame.locator(".leaflet-draw-toolbar").count() >= 1  # Leaflet.draw, served locally
    assert frame.evaluate("typeof L.Control.Draw") == "function"
    assert frame.evaluate("L.drawVersion") == assets.manifest()["assets"]["leaflet-draw"]["version"]  # 1.0.x, as folium's Draw expects
    frame.locator("a.leaflet-draw-edit-edit").click()
    v.page.wait_for_timeout(500)
    handles = frame.locator(".leaflet-editing-icon")
    assert handles.count() >= 3
    box = handles.first.bounding_box()
    v.page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    v.page.mouse.down()
    v.page.mouse.move(box["x"] + 60, box["y"] + 45, steps=8)
    v.page.mouse.up()
    frame.get_by_text("Save", exact=True).click()  # Leaflet.draw's own toolbar button
    v.page.wait_for_timeout(1500)
    v.settle()
    v.page.get_by_role("button", name=T("maps.edit.save")).click()
    v.page.wait_for_timeout(1000)
    v.settle()
    errors = " ".join(v.page.locator('[data-testid="stAlert"]').all_inner_texts())
    assert "修改未保存" in errors, errors
    frame = _map_frame(v)
    assert frame.locator("path.gc-problem").count() >= 1  # the refusal is drawn in red on the map
    assert v.outside == []
    v.shot("grid_edit_refused")
    v.close()
