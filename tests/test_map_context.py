"""The context layer of every map (lib.maps.context): city and district boundaries with their names
around the scope, on the fixture province (Shandong's real map, 16 districts of 5 cities)."""
from __future__ import annotations

import json

import numpy as np
import pytest
import shapely
from sqlalchemy import text

from lib import maps
from lib.grids import from_geojson
from lib.i18n import translator
from lib.maps import context
from lib.queries import default_scope_and_month


def _units(engine, level: str) -> dict[str, tuple[str, object]]:
    with engine.connect() as conn:
        return {p: (n, from_geojson(b)) for p, n, b in conn.execute(
            text("SELECT path, name, boundary FROM org_unit WHERE level = :l"), {"l": level})}


def _layer_rows(m, lang: str = "zh") -> list:
    name = translator(lang)("maps.layer.context")
    found = [c for c in m.map._children.values() if isinstance(c, maps.DataLayer) and c.layer_name == name]
    assert len(found) == 1 and found[0].control  # one layer, toggled in the layer control
    return json.loads(found[0].rows_json)


def _labels(rows: list) -> dict[str, int]:
    """{label text: role index} of the layer's name rows."""
    return {r[2][2]: r[1] for r in rows if r[0] == 1}


def _touching(units: dict, path: str) -> set[str]:
    """Units of the same level sharing a border with `path` (independent: full boundaries, 1 m)."""
    geom = units[path][1]
    return {p for p, (_, g) in units.items() if p != path and g.distance(geom) < 1e-5}


def test_province_shows_every_city_named_and_the_districts_faint(engine):
    month = default_scope_and_month(engine)[1]
    rows = _layer_rows(maps.grid_map(engine, "/37/", month))
    cities, districts = _units(engine, "city"), _units(engine, "district")
    labels = _labels(rows)
    assert labels == {n.removesuffix("分公司"): context.ROLES.index("main") for n, _ in cities.values()}
    assert "济南市" in labels and "历下区" not in labels
    feats = context.features(engine, "/37/")
    roles = [i["role"] for i in feats["items"]]
    assert roles.count("main") == len(cities) == 5 and roles.count("faint") == len(districts) == 16
    # drawn as lines, each border once: the city lines are half of all city perimeters plus the outer edge
    assert sorted(r[1] for r in rows if r[0] == 2) == [context.ROLES.index("main"), context.ROLES.index("faint")]
    assert not [r for r in rows if r[0] == 0]
    shapes = [i["geometry"] for i in feats["items"] if i["role"] == "main"]
    perimeters = sum(g.boundary.length for g in shapes)
    outer = shapely.union_all(shapes).boundary.length
    assert feats["lines"]["main"].length == pytest.approx((perimeters + outer) / 2, rel=1e-6)
    # the district lines leave out the city borders (drawn above them)
    assert feats["lines"]["faint"].intersection(feats["lines"]["main"]).length < 1e-9


def test_city_shows_its_outline_its_districts_named_and_the_touching_cities(engine):
    month = default_scope_and_month(engine)[1]
    cities, districts = _units(engine, "city"), _units(engine, "district")
    feats = context.features(engine, "/37/3701/")
    by_role = {role: [i["name"] for i in feats["items"] if i["role"] == role] for role in context.ROLES}
    assert by_role["outline"] == ["济南市分公司"]
    assert sorted(by_role["main"]) == sorted(n for p, (n, _) in districts.items() if p.startswith("/37/3701/"))
    assert sorted(by_role["neighbour"]) == sorted(cities[p][0] for p in _touching(cities, "/37/3701/"))
    assert by_role["neighbour"]  # Zibo borders Jinan (章丘区 / 淄川区)
    labels = _labels(_layer_rows(maps.grid_map(engine, "/37/3701/", month)))
    assert labels["历下区"] == context.ROLES.index("main") and labels["淄博市"] == context.ROLES.index("neighbour")
    assert "济南市" not in labels  # the scope's own name is in the page title


@pytest.mark.parametrize("scope", ["/37/3701/370114/", "station", "custmgr"], ids=["district", "station", "manager"])
def test_district_station_and_manager_show_the_district_and_its_neighbours(engine, scope):
    from test_maps import _scope

    if not scope.startswith("/"):
        scope = _scope(engine, scope)
    districts = _units(engine, "district")
    own = next(p for p in districts if scope.startswith(p))
    feats = context.features(engine, scope)
    assert feats["level"] == "district"
    assert [i["name"] for i in feats["items"] if i["role"] == "outline"] == [districts[own][0]]
    got = {i["name"] for i in feats["items"] if i["role"] == "neighbour"}
    assert got == {districts[p][0] for p in _touching(districts, own)} and got
    for item in feats["items"]:  # each name lies inside its unit, where the map shows it
        assert item["label"] is not None and item["geometry"].buffer(1e-9).contains(shapely.Point(item["label"]))


def test_english_names_and_every_map_has_the_layer(engine):
    month = default_scope_and_month(engine)[1]
    labels = _labels(_layer_rows(maps.grid_map(engine, "/37/", month, lang="en"), "en"))
    assert "Jinan" in labels and "Qingdao" in labels and not any("Branch" in x for x in labels)
    with engine.connect() as conn:
        sid, path = conn.execute(text("SELECT id, org_path FROM station ORDER BY code LIMIT 1")).one()
    ring = maps.ring_map(maps.customer_rings(engine, sid, [1, 3], scope="/37/"))
    assert _labels(_layer_rows(ring))
    district = "/".join(path.split("/")[:4]) + "/"
    data = maps.editing.district_grids(engine, "/37/", district)
    edit = maps.edit_map(data["district"], data["grids"], [int(data["grids"]["id"].iloc[0])])
    assert _labels(_layer_rows(edit))


def test_simplified_neighbours_still_share_their_borders(engine):
    """Simplified together, neighbouring districts neither overlap nor open gaps along their border."""
    feats = context.features(engine, "/37/")
    faint = [i["geometry"] for i in feats["items"] if i["role"] == "faint"]
    arr = np.array(faint, dtype=object)
    tree = shapely.STRtree(arr)
    left, right = tree.query(arr, predicate="intersects")
    pairs = [(a, b) for a, b in zip(left.tolist(), right.tolist()) if a < b]
    assert pairs
    assert max(arr[a].intersection(arr[b]).area for a, b in pairs) < 1e-12
    full = [g for _, g in _units(engine, "district").values()]
    assert sum(shapely.get_num_coordinates(arr)) < sum(shapely.get_num_coordinates(np.array(full, dtype=object)))


def test_a_renamed_district_is_redrawn_with_its_new_name(small):
    feats = context.features(small, "/37/3701/")
    assert "历下区" in {i["name"] for i in feats["items"]}
    with small.begin() as conn:
        conn.execute(text("UPDATE org_unit SET name = '历下片区' WHERE path = '/37/3701/370102/'"))
    names = {i["name"] for i in context.features(small, "/37/3701/")["items"]}
    assert "历下片区" in names and "历下区" not in names


def test_a_database_without_boundaries_draws_no_layer(fresh_url):
    from lib.db import make_engine, upgrade

    engine = make_engine(fresh_url)
    upgrade(engine)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO org_unit (code, name, name_en, level, path, manager_name, manager_phone, staff) "
                          "VALUES ('37', '山东省分公司', '', 'province', '/37/', '', '', 0)"))
    assert context.features(engine, "/37/")["items"] == []
    engine.dispose()


def test_plotly_traces_carry_the_borders_and_names(engine):
    """The briefing's grid slide (plotly, no Leaflet) gets the same context: borders as lines, names as text."""
    traces = context.plotly_traces(context.features(engine, "/37/"), "zh")
    text_ = [tr for tr in traces if tr.mode == "text"]
    assert len(text_) == 1 and set(text_[0].text) == {"济南市", "青岛市", "淄博市", "烟台市", "潍坊市"}
    lines = [tr for tr in traces if tr.mode == "lines"]
    assert len(lines) == 2 and all(None in list(tr.x) and len(tr.x) > 10 for tr in lines)
    assert context.plotly_traces({"items": []}, "zh") == []
@pytest.mark.parametrize("kept", ["none", "one district"])
def test_a_grid_map_without_all_grids_frames_the_whole_scope_and_says_no_data_once(engine, kept):
    """Day one (issue 13): stations and boundaries but no grids yet, or the grids of one district: the
    map still frames the whole scope (the city's own boundary), not a fixed centre nor the grids
    alone, and the legend has one "no data" row."""
    month = default_scope_and_month(engine)[1]
    data = dict(maps.grid_map_data(engine, "/37/3702/", month))
    grids = data["grids"]
    first = grids["org_path"].str.split("/").str[3].iloc[0]
    data["grids"] = grids.iloc[0:0] if kept == "none" else grids[grids["org_path"].str.split("/").str[3] == first]
    m = maps.grid_map(engine, "/37/3702/", month, data=data).map
    fits = [c for c in m._children.values() if type(c).__name__ == "FitBounds"]
    assert len(fits) == 1
    (south, west), (north, east) = fits[0].bounds
    x0, y0, x1, y1 = _units(engine, "city")["/37/3702/"][1].bounds  # 青岛市, real boundary
    assert max(abs(south - y0), abs(west - x0), abs(north - y1), abs(east - x1)) < 0.1  # islets left off
    legend = maps.layers.legend_html("customers", maps.layers.class_breaks([]), translator("zh"), {"stations"})
    assert legend.count("无数据") == 1


def test_maps_have_a_metric_scale_only(engine):
    html = maps.grid_map(engine, "/37/3701/", default_scope_and_month(engine)[1]).map.get_root().render()
    assert "L.control.scale({imperial: false})" in html and "L.control.scale()" not in html
