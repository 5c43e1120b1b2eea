"""The new-customer form's location in real Chromium (issue 13): a click on the small map above the
form fills the longitude and latitude fields (WGS-84, inside the map's view), offline."""
from __future__ import annotations

import os

import pytest
from browser_harness import CHROMIUM, Visit, browser, server  # noqa: F401 (fixtures)

from lib.i18n import translator

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Debian's chromium is not installed"),
]
T = translator("zh")


def _value(v: Visit, key: str) -> str:
    return v.page.locator(f".st-key-{key} input").input_value()


def test_a_click_on_the_map_sets_the_location_fields(server, browser):
    v = Visit(browser)
    v.login(server, "station")
    v.page.locator('[data-testid="stSidebarNavLink"]', has_text=T("page.customers")).click()
    v.settle()
    v.page.get_by_role("tab", name=T("cust.tab_new")).click()
    holder = v.page.locator('iframe[title*="st_folium"] >> visible=true').first  # the new tab's map
    holder.wait_for(state="visible", timeout=30_000)
    frame = holder.content_frame
    frame.locator(".leaflet-container").wait_for(timeout=30_000)
    frame.locator("path.leaflet-interactive").first.wait_for(timeout=30_000)  # the station, for orientation
    assert _value(v, "cust_new_lon") == "" and _value(v, "cust_new_lat") == ""
    box = frame.locator(".leaflet-container").bounding_box()
    frame.locator(".leaflet-container").click(position={"x": box["width"] * 0.3, "y": box["height"] * 0.6})
    v.page.wait_for_function(
        "() => document.querySelector('.st-key-cust_new_lon input')?.value !== ''", timeout=30_000)
    v.settle()
    lon, lat = float(_value(v, "cust_new_lon")), float(_value(v, "cust_new_lat"))
    assert 114 < lon < 123 and 34 < lat < 38.5  # Shandong, where the station's map is centred
    frame = v.page.locator('iframe[title*="st_folium"] >> visible=true').first.content_frame
    frame.locator("path.leaflet-interactive").nth(1).wait_for(timeout=30_000)  # the picked point beside the station
    assert frame.locator("img").count() == 0  # no marker image to fetch (offline)
    assert v.page.locator('[data-testid="stException"]').count() == 0
    assert v.outside == [], v.outside
    v.shot("customer_new_location")
    v.close()
