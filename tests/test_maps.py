"""Map builders (lib.maps) on the fixture province: scope, layers, payload, datums, rings, cards."""
from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import folium
import folium.plugins
import pytest
from apptest_helpers import independent_rings as _independent_rings
from sqlalchemy import text
from streamlit_folium import _get_header, _get_html, _get_map_string

from lib import auth, geo, maps
from lib.i18n import translator
from lib.maps import assets
from lib.queries import default_scope_and_month

ROOT = Path(__file__).resolve().parent.parent
LOGINS = [u[0] for u in auth.DEMO_USERS]


def _scope(engine, login: str) -> str:
    with engine.connect() as conn:
        uid = conn.execute(text("SELECT id FROM app_user WHERE login = :l"), {"l": login}).scalar_one()
    return auth.session_user(engine, uid).scope


def _month(engine) -> str:
    return default_scope_and_month(engine)[1]


def _folium(m: maps.MapResult | folium.Map) -> folium.Map:
    return m.map if isinstance(m, maps.MapResult) else m


def payload(m: maps.MapResult | folium.Map) -> str:
    """What streamlit-folium sends to the browser for this map (script, header, html, asset URLs)."""
    m = _folium(m)
    m.get_root().render()
    parts = [_get_map_string(m), _get_header(m), _get_html(m)]
    return "\n".join(parts + assets.asset_urls(m))


def layer(m: maps.MapResult | folium.Map, name: str) -> maps.DataLayer | None:
    return next((c for c in _folium(m)._children.values() if isinstance(c, maps.DataLayer) and c.layer_name == name), None)


def rows(m: maps.MapResult | folium.Map, name: str) -> list:
    found = layer(m, name)
    return json.loads(found.rows_json) if found else []


def _outsiders(engine, scope: str) -> set[str]:
    """Customer names and codes outside `scope` that are not also used inside it (≥ 4 chars)."""
    with engine.connect() as conn:
        out = conn.execute(text("SELECT name, code FROM customer WHERE org_path NOT LIKE :s"), {"s": scope + "%"}).all()
        inside = conn.execute(text("SELECT name, code FROM customer WHERE org_path LIKE :s"), {"s": scope + "%"}).all()
    mine = {v for r in inside for v in r}
    return {v for r in out for v in r if v and len(v) >= 4 and v not in mine}


def _grid_codes_expected(engine, scope: str) -> set[str]:
    """Grids a scope sees: inside it, or the grid of the station a customer manager works at."""
    with engine.connect() as conn:
        codes = conn.execute(text("SELECT code, org_path FROM grid")).all()
    return {c for c, p in codes if p.startswith(scope) or scope.startswith(p)}


@pytest.mark.parametrize("login", LOGINS)
def test_grid_map_shows_exactly_the_scopes_grids_and_nothing_outside(engine, login):
    scope, month = _scope(engine, login), _month(engine)
    t = translator("zh")
    m = maps.grid_map(engine, scope, month, layers=maps.LAYERS)
    grid_rows = rows(m, t("maps.layer.grids"))
    expected = _grid_codes_expected(engine, scope)
    assert len(expected) >= 1
    assert {r[0] for r in grid_rows} == expected
    assert len(grid_rows) == len(expected)  # one polygon per grid
    html = payload(m)
    if scope != "/37/":
        leaked = [v for v in _outsiders(engine, scope) if v in html]
        assert leaked == []
        with engine.connect() as conn:
            other_grids = conn.execute(text("SELECT code FROM grid")).scalars().all()
        assert [c for c in other_grids if c not in expected and c in html] == []


def test_outsider_detector_finds_a_leak(engine):
    """The leak check above would see a name if the map showed one (so its silence means something)."""
    scope = _scope(engine, "station")
    outsiders = _outsiders(engine, scope)
    assert len(outsiders) > 1000
    html = payload(maps.grid_map(engine, "/37/", _month(engine), layers=maps.LAYERS))
    assert html  # province map aggregates, so use a district of another city instead
    other = "/37/3702/"
    with engine.connect() as conn:
        district = conn.execute(text("SELECT path FROM org_unit WHERE level = 'district' AND path LIKE :s "
                                     "ORDER BY path LIMIT 1"), {"s": other + "%"}).scalar_one()
    html = payload(maps.grid_map(engine, district, _month(engine), layers=maps.LAYERS))
    assert any(v in html for v in outsiders)


@pytest.mark.parametrize("login, individual", [("admin", False), ("city", False), ("area", True), ("station", True),
                                                ("custmgr", True)])
def test_customers_one_by_one_only_at_district_scope_or_below(engine, login, individual):
    scope, month = _scope(engine, login), _month(engine)
    t = translator("zh")
    m = maps.grid_map(engine, scope, month, layers=maps.LAYERS)
    names = [c.layer_name for c in m.map._children.values() if isinstance(c, folium.map.Layer)]
    for key in ("grids", "stations", "competitor_stations", "heat"):
        assert t(f"maps.layer.{key}") in names, key
    own = rows(m, t("maps.layer.own"))
    aggregated = rows(m, t("maps.layer.own") + " · " + t("maps.per_grid"))
    with engine.connect() as conn:
        on_books = conn.execute(text(
            "SELECT COUNT(*) FROM customer c WHERE c.org_path LIKE :s AND (c.status = 'existing' OR "
            "(c.status = 'lost' AND c.lost_month > :m)) AND (c.developed_month IS NULL OR c.developed_month <= :m)"),
            {"s": scope + "%", "m": month}).scalar_one()
    if individual:
        assert len(own) == on_books and not aggregated
    else:
        assert not own and aggregated
        total = sum(int(re.search(r" ([\d,]+)(<br>|$)", r[3]).group(1).replace(",", "")) for r in aggregated)
        assert total == on_books


def test_point_cap_switches_a_district_to_per_grid_aggregates(engine):
    scope, month = _scope(engine, "area"), _month(engine)
    t = translator("zh")
    m = maps.grid_map(engine, scope, month, max_points=10)
    assert not rows(m, t("maps.layer.own"))
    assert rows(m, t("maps.layer.own") + " · " + t("maps.per_grid"))
    assert m.aggregated["own"] > 10


@pytest.mark.parametrize("measure", maps.MEASURES)
def test_every_measure_colours_the_grids_and_has_a_legend(engine, measure):
    m = maps.grid_map(engine, "/37/", _month(engine), measure=measure)
    html = payload(m)
    assert translator("zh")(f"maps.measure.{measure}") in html
    colours = {r[5] for r in rows(m, translator("zh")("maps.layer.grids"))}
    assert colours - {maps.NO_DATA}, "some grid has a value"


def test_volume_per_grid_equals_independent_sql(engine):
    scope, month = "/37/", _month(engine)
    data = maps.grid_map_data(engine, scope, month)
    values = maps.measure_values(data, "volume")
    with engine.connect() as conn:
        expected = dict(conn.execute(text(
            "SELECT c.grid_id, SUM(m.gasoline_t + m.diesel_t) FROM monthly_consumption m "
            "JOIN customer c ON c.id = m.customer_id WHERE m.month = :m GROUP BY c.grid_id"), {"m": month}).all())
    assert len(expected) > 10
    for gid, v in expected.items():
        assert values[gid] == pytest.approx(v)


def test_payload_is_small_and_asks_for_no_outside_url(engine):
    m = maps.grid_map(engine, "/37/", _month(engine), layers=maps.LAYERS)
    html = payload(m)
    assert len(html.encode()) < 1_000_000
    assert not re.search(r"https?://(?!localhost|127\.0\.0\.1)", html), re.findall(r"https?://[^\s\"')]+", html)[:5]
    urls = assets.asset_urls(m.map)
    assert urls and all(u.startswith(assets.url_base() + "/") for u in urls)
    for u in urls:
        assert assets.local_file(u).is_file(), u


def test_localize_refuses_an_asset_without_local_copy():
    m = folium.Map(tiles=None)
    folium.plugins.Fullscreen().add_to(m)
    with pytest.raises(ValueError, match="no local copy"):
        assets.localize(m)


def test_base_url_path_prefixes_asset_urls():
    assert assets.url_base("") == "/component/lib.maps.assets.files"
    assert assets.url_base("/crm/") == "/crm/component/lib.maps.assets.files"


def test_gcj02_background_shifts_every_coordinate(engine):
    scope, month = _scope(engine, "area"), _month(engine)
    t = translator("zh")
    data = maps.grid_map_data(engine, scope, month)
    plain = maps.grid_map(engine, scope, month, data=data)
    amap = maps.grid_map(engine, scope, month, data=data, background="amap")
    a, b = rows(plain, t("maps.layer.grids")), rows(amap, t("maps.layer.grids"))
    assert [r[0] for r in a] == [r[0] for r in b]
    ring_a, ring_b = a[0][6][0][0], b[0][6][0][0]
    for i in range(0, len(ring_a), 2):
        glon, glat = geo.wgs84_to_gcj02(ring_a[i + 1], ring_a[i])
        assert ring_b[i] == pytest.approx(glat, abs=2e-5) and ring_b[i + 1] == pytest.approx(glon, abs=2e-5)
        assert geo.haversine_m(ring_a[i + 1], ring_a[i], ring_b[i + 1], ring_b[i]) > 100
    pts_a, pts_b = rows(plain, t("maps.layer.own")), rows(amap, t("maps.layer.own"))
    assert pts_a and len(pts_a) == len(pts_b)
    assert pts_b[0][1] == pytest.approx(geo.wgs84_to_gcj02(pts_a[0][1], pts_a[0][0])[0], abs=2e-5)
    assert "autonavi" in payload(amap) and "autonavi" not in payload(plain)


def test_osm_background_keeps_wgs84_and_intranet_needs_configuration(engine, monkeypatch):
    scope, month = _scope(engine, "station"), _month(engine)
    t = translator("zh")
    data = maps.grid_map_data(engine, scope, month)
    plain = rows(maps.grid_map(engine, scope, month, data=data), t("maps.layer.grids"))
    osm = maps.grid_map(engine, scope, month, data=data, background="osm")
    assert rows(osm, t("maps.layer.grids")) == plain
    assert "tile.openstreetmap.org" in payload(osm)
    monkeypatch.delenv("GRIDCRM_TILE_URL", raising=False)
    assert "intranet" not in maps.available_backgrounds()
    monkeypatch.setenv("GRIDCRM_TILE_URL", "http://tiles.intranet.local/{z}/{x}/{y}.png")
    monkeypatch.setenv("GRIDCRM_TILE_DATUM", "gcj02")
    assert "intranet" in maps.available_backgrounds()
    intra = maps.grid_map(engine, scope, month, data=data, background="intranet")
    assert "tiles.intranet.local" in payload(intra)
    assert rows(intra, t("maps.layer.grids"))[0][6] != plain[0][6]  # converted to GCJ-02


def test_partition_problems_are_drawn_in_red(engine):
    from shapely.geometry import box

    scope, month = _scope(engine, "area"), _month(engine)
    t = translator("zh")
    reports = maps.data.partition_reports(engine, scope)
    assert reports and all(r.ok for r in reports.values())  # the demo partitions its districts exactly
    m = maps.grid_map(engine, scope, month, partition=reports)
    assert layer(m, t("maps.layer.partition")) is None
    g = maps.data.grids(engine, scope)
    district = g["district_path"].iloc[0]
    a, b = g.loc[g["district_path"] == district, "id"].iloc[:2]
    shape_a = maps.from_geojson(g.loc[g["id"] == a, "geometry"].iloc[0])
    x0, y0, x1, y1 = shape_a.bounds
    bigger = shape_a.union(box(x0 - 0.01, y0 - 0.01, x1 + 0.01, y1 + 0.01)).intersection(
        maps.from_geojson(maps.data.districts(engine, scope).set_index("path").loc[district, "boundary"]))
    report = maps.editing.check_change(engine, scope, district, {int(a): bigger})
    assert not report.ok and report.overlaps
    m = maps.grid_map(engine, scope, month, partition={district: report})
    problems = rows(m, t("maps.layer.partition"))
    assert len(problems) == len(report.overlap_geoms) + len(report.gap_geoms) + len(report.outside_geoms)
    assert "#d00000" in payload(m)
    table = maps.partition_problems({district: report}, maps.data.districts(engine, scope), t)
    assert len(table) == len(report.overlaps) + len(report.gaps) + len(report.outside)


def test_tooltip_to_grid_code():
    codes = ["WG370102001", "WG370102011"]
    assert maps.grid_code_from_tooltip("WG370102011 济南历下第11加油站网格网格负责人: 张三", codes) == "WG370102011"
    assert maps.grid_code_from_tooltip("WG370102001 x", codes) == "WG370102001"
    assert maps.grid_code_from_tooltip("张三 · J37010200101 站级", codes) is None
    assert maps.grid_code_from_tooltip(None, codes) is None


# --- rings ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("login, radii", [("station", (1, 3, 5)), ("area", (0.5, 2, 4, 8)), ("custmgr", (2, 6))])
def test_rings_equal_independent_haversine(engine, login, radii):
    scope = _scope(engine, login)
    station = maps.data.stations(engine, scope).iloc[0]
    result = maps.customer_rings(engine, int(station["id"]), radii, scope=scope)
    expected = _independent_rings(engine, int(station["id"]), scope, radii)
    got = result["rings"][["existing", "potential", "competitor"]].to_dict("records")
    assert got == expected
    assert sum(sum(r.values()) for r in expected) > 0
    d = result["potential"]["distance_km"].tolist()
    assert d == sorted(d) and len(d) == sum(r["potential"] for r in expected)
    m = maps.ring_map(result)
    assert payload(m).count("L.circle(") == len(radii)


def test_rings_refuse_a_station_outside_the_scope_and_bad_radii(engine):
    scope = _scope(engine, "station")
    with engine.connect() as conn:
        other = conn.execute(text("SELECT id FROM station WHERE org_path NOT LIKE :s LIMIT 1"),
                             {"s": scope + "%"}).scalar_one()
    with pytest.raises(ValueError, match="not in scope"):
        maps.customer_rings(engine, other, scope=scope)
    for bad in ("", "3, 1", "1, x", "-1", "0"):
        with pytest.raises(ValueError):
            maps.parse_radii(bad)
    assert maps.parse_radii("1, 3、5") == (1.0, 3.0, 5.0)


# --- contact card ---------------------------------------------------------------------------------


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_contact_card_is_valid_svg_with_owner_phone_duties_and_shape(engine, lang):
    g = maps.data.grids(engine, _scope(engine, "station")).iloc[0].to_dict()
    svg = maps.contact_card_svg(g, lang)
    root = ET.fromstring(svg)
    assert root.tag.endswith("svg")
    texts = "".join(root.itertext())
    assert g["owner_name"] in texts and g["owner_phone"] in texts and g["code"] in texts
    assert g["owner_duties"][:10] in texts
    paths = [p.get("d") for p in root.iter("{http://www.w3.org/2000/svg}path")]
    assert any(d and d.startswith("M") and d.count("L") >= 3 for d in paths)
    html = maps.contact_card_html(g, lang)
    assert html.startswith("<!doctype html>") and "<svg" in html and "http://www.w3.org/2000/svg" in html
    assert not re.search(r"(src|href)=", html)  # nothing to fetch: prints offline


def test_grid_membership_and_owners_on_the_fixture(engine):
    scope = _scope(engine, "area")
    assert maps.data.grid_membership(engine, scope).empty  # demo customers lie inside their grids
    assert maps.data.grids_without_owner(engine, scope).empty


def test_ring_map_draws_the_nearest_existing_customers_and_every_potential_one(engine):
    scope = _scope(engine, "area")
    station = maps.data.stations(engine, scope).iloc[0]
    result = maps.customer_rings(engine, int(station["id"]), (1, 3, 5), scope=scope)
    cust = result["customers"]
    existing = cust.loc[cust["status"] == "existing"]
    others = cust.loc[cust["status"].isin(["potential", "competitor"])]
    assert len(existing) > 10 and len(others) > 0
    full = maps.ring_map(result)
    assert full.capped is None
    cut = maps.ring_map(result, max_points=10)
    assert cut.capped == (10, len(existing))
    t = translator("zh")
    drawn = {status: rows(cut, t(f"maps.status.{status}")) for status in ("existing", "potential", "competitor")}
    assert len(drawn["existing"]) == 10
    assert all(f"· {c}<br>" in r[3] for c, r in zip(existing.head(10)["code"], drawn["existing"]))  # the nearest ten
    assert len(drawn["potential"]) + len(drawn["competitor"]) == len(others)  # the ones to win: all of them
