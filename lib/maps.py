"""Map builders (地图): the grid map 网格地图, the station customer map 客户地图, the grid editing
map 网格编辑 and the grid owner's service contact card 服务联系方式卡 (000 §3.2.2).

`grid_map(engine, scope, month, **options) -> folium.Map` is the one builder behind the grid map
page. It is built for province scale (DOMAIN §1; issue 4 asks ≤ 3 MB at 100,000 customers):

- customers are drawn one by one only when the scope is a district or smaller **and** a layer
  holds at most `MAX_POINTS`; otherwise each grid gets one aggregate circle (count by tier in
  its tooltip);
- the heat layer sums volume into cells (about 1 km at province scale) instead of one point per
  customer;
- polygons are simplified (shapely, topology preserved) with a tolerance that grows with the
  scope, and every coordinate is rounded to 1e-5° (about 1 m);
- points and polygons travel as compact JSON arrays and are turned into Leaflet layers by a few
  lines of JavaScript, instead of one folium object (and one block of script) per feature;
- customer points are drawn on a canvas, grids as SVG paths (clickable, with tooltips).

Background tiles: none by default (boundaries only, works offline), OpenStreetMap (WGS-84),
AMap/Gaode 高德 (GCJ-02: every point and polygon is converted WGS-84 → GCJ-02 so it sits on
the streets of those tiles) and an intranet tile server (`GRIDCRM_TILE_URL`, datum in
`GRIDCRM_TILE_DATUM`: wgs84 (default) or gcj02). Leaflet itself comes from `lib.map_assets`.
"""
from __future__ import annotations

import html
import json
import math
import os
import re
from typing import Callable, Iterable, Mapping

import folium
import folium.plugins
import numpy as np
import pandas as pd
import shapely
from branca.element import MacroElement
from jinja2 import Template
from shapely.geometry import MultiPolygon, Polygon
from sqlalchemy import Engine, text

from lib import map_assets, map_queries, queries
from lib.charts import FONT, TIER_COLOURS
from lib.geo import gcj02_to_wgs84_array, haversine_m, wgs84_to_gcj02_array
from lib.grids import SNAP_DEG, from_geojson
from lib.i18n import translator
from lib.rules import TIERS

MEASURES = ("customers", "volume", "volume_per_customer", "plan_completion",
            "entry_rate", "fill_up_rate", "return_rate", "pass_through_rate")
RATE_MEASURES = ("plan_completion", "entry_rate", "fill_up_rate", "return_rate", "pass_through_rate")
LAYERS = ("grids", "stations", "own", "potential", "competitor", "competitor_stations", "heat", "partition")
DEFAULT_LAYERS = ("grids", "stations", "own", "competitor_stations", "partition")
BACKGROUNDS = ("none", "osm", "amap", "intranet")
GRADES = ("large", "graded", "regular", "reform")
INDIVIDUAL_LEVELS = ("district", "station", "manager")
MAX_POINTS = 6000  # customers drawn one by one per layer, at most
DECIMALS = 5  # 1e-5° ≈ 1.1 m
SIMPLIFY_DEG = {"province": 0.0004, "city": 0.0002, "district": 0.00003, "station": 0.00001, "manager": 0.00001}
HEAT_CELL_DEG = {"province": 0.01, "city": 0.005, "district": 0.002, "station": 0.001, "manager": 0.001}
PALETTE = ("#fee8c8", "#fdbb84", "#fc8d59", "#e34a33", "#b30000")  # low → high (5 classes)
NO_DATA = "#d9d9d9"
GROUP_COLOURS = {"potential": "#2e8b57", "competitor": "#444444"}
GRADE_STYLE = {  # DOMAIN §9 / 001 Chongqing: icon colour per station grade
    "large": "#7a0019", "graded": "#c8102e", "regular": "#2f6fa3", "reform": "#8a8a8a",
}
OSM_URL = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
AMAP_URL = "https://webrd0{s}.is.autonavi.com/appmaptile?lang=zh_cn&size=1&scale=1&style=8&x={x}&y={y}&z={z}"


# --- backgrounds and datums ---------------------------------------------------------------------


def available_backgrounds() -> list[str]:
    """Return the backgrounds offered: none, OSM, AMap, plus the intranet server when configured."""
    return [b for b in BACKGROUNDS if b != "intranet" or os.environ.get("GRIDCRM_TILE_URL")]


def background_datum(background: str) -> str:
    """Return the datum the background's tiles are drawn in: "wgs84" or "gcj02"."""
    if background == "amap":
        return "gcj02"
    if background == "intranet":
        datum = os.environ.get("GRIDCRM_TILE_DATUM", "wgs84").lower()
        if datum not in ("wgs84", "gcj02"):
            raise ValueError(f"GRIDCRM_TILE_DATUM must be wgs84 or gcj02, got {datum!r}")
        return datum
    if background not in BACKGROUNDS:
        raise ValueError(f"unknown background {background!r}")
    return "wgs84"


def _converter(datum: str) -> Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    if datum == "gcj02":
        return wgs84_to_gcj02_array
    return lambda x, y: (np.asarray(x, dtype=float), np.asarray(y, dtype=float))


def _add_background(m: folium.Map, background: str, t: Callable[..., str]) -> None:
    if background == "osm":
        folium.TileLayer(OSM_URL, name=t("maps.bg.osm"), attr="© OpenStreetMap contributors", max_zoom=19).add_to(m)
    elif background == "amap":
        folium.TileLayer(AMAP_URL, name=t("maps.bg.amap"), attr="© 高德地图 AutoNavi", subdomains="1234",
                         max_zoom=18).add_to(m)
    elif background == "intranet":
        url = os.environ.get("GRIDCRM_TILE_URL")
        if not url:
            raise ValueError("no intranet tile server configured (GRIDCRM_TILE_URL)")
        folium.TileLayer(url, name=t("maps.bg.intranet"), attr=os.environ.get("GRIDCRM_TILE_ATTR", "intranet"),
                         max_zoom=int(os.environ.get("GRIDCRM_TILE_MAX_ZOOM", "18"))).add_to(m)


# --- compact layers -----------------------------------------------------------------------------


def _js_json(obj) -> str:
    """JSON for inlining into a <script>: UTF-8 (no \\u escapes, 3× smaller for Chinese) and safe
    against a "</script>" inside a name."""
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).replace("</", "<\\/")


class DataLayer(folium.FeatureGroup):
    """A feature group filled in the browser from a compact JSON array.

    `factory` is a JavaScript function (row, helpers) → Leaflet layer; `rows` a list of lists.
    Shown in the layer control like any folium FeatureGroup.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
            var {{ this.get_name() }} = L.featureGroup();
            (function (group) {
                var rows = {{ this.rows_json }};
                var ctx = {{ this.ctx_json }};
                ctx.renderer = ctx.canvas ? L.canvas({padding: 0.3}) : undefined;
                ctx.ring = function (a) { var r = []; for (var i = 0; i < a.length; i += 2) { r.push([a[i], a[i + 1]]); } return r; };
                var make = {{ this.factory }};
                for (var i = 0; i < rows.length; i++) { var l = make(rows[i], ctx); if (l) { group.addLayer(l); } }
            })({{ this.get_name() }});
        {% endmacro %}
        """
    )

    def __init__(self, name: str, rows: list, factory: str, ctx: dict | None = None, show: bool = True,
                 control: bool = True):
        super().__init__(name=name, show=show, control=control)
        self._name = "DataLayer"
        self.rows_json = _js_json(rows)
        self.ctx_json = _js_json(ctx or {})
        self.factory = factory
        self.row_count = len(rows)


class MapScript(MacroElement):
    """A piece of script run once the map exists (`{map}` stands for the map variable)."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
            (function (map) { {{ this.code }} })({{ this._parent.get_name() }});
        {% endmacro %}
        """
    )

    def __init__(self, code: str):
        super().__init__()
        self._name = "MapScript"
        self.code = code


# JavaScript factories (rows are lists; see the builders below for their fields).
POLYGON_JS = """function (r, ctx) {
    var polys = r[6].map(function (p) { return p.map(ctx.ring); });
    var tip = '<b>' + r[0] + '</b> ' + r[1] + '<br>' + ctx.owner + ': ' + r[2] + '<br>' + ctx.station + ': ' + r[3]
            + (r[4] !== '' ? '<br>' + ctx.measure + ': ' + r[4] : '');
    var sel = ctx.selected === r[0];
    return L.polygon(polys, {color: sel ? '#00bcd4' : ctx.line, weight: sel ? 4 : 1.2, fillColor: r[5],
                             fillOpacity: ctx.fill, className: 'gc-grid'}).bindTooltip(tip, {sticky: true});
}"""
PROBLEM_JS = """function (r, ctx) {
    var polys = r[1].map(function (p) { return p.map(ctx.ring); });
    return L.polygon(polys, {color: '#d00000', weight: 2, fillColor: '#ff0000', fillOpacity: 0.55,
                             dashArray: '4 3', className: 'gc-problem'}).bindTooltip(r[0], {sticky: true});
}"""
STATION_JS = """function (r, ctx) {
    var c = ctx.colours[r[2]], s = ctx.size || 20;
    var icon = L.divIcon({className: 'gc-station', iconSize: [s + 2, s + 2], iconAnchor: [s / 2 + 1, s / 2 + 1],
        html: '<div style="width:' + s + 'px;height:' + s + 'px;border-radius:4px;background:' + c + ';color:#fff;'
            + 'border:1px solid #fff;box-shadow:0 0 2px #000;font:bold ' + Math.round(s * 0.6) + 'px/' + s
            + 'px sans-serif;text-align:center">' + ctx.glyphs[r[2]] + '</div>'});
    return L.marker([r[0], r[1]], {icon: icon}).bindTooltip(r[3]);
}"""
COMPETITOR_STATION_JS = """function (r, ctx) {
    var icon = L.divIcon({className: 'gc-competitor', iconSize: [16, 16], iconAnchor: [8, 8],
        html: '<div style="width:0;height:0;border-left:8px solid transparent;border-right:8px solid transparent;'
            + 'border-bottom:14px solid #222"></div>'});
    return L.marker([r[0], r[1]], {icon: icon}).bindTooltip(r[2]);
}"""
POINT_JS = """function (r, ctx) {
    var c = ctx.colours[r[2]];
    return L.circleMarker([r[0], r[1]], {renderer: ctx.renderer, radius: ctx.radius, color: '#ffffff', weight: 0.6,
                                         fillColor: c, fillOpacity: 0.9}).bindTooltip(r[3]);
}"""
AGGREGATE_JS = """function (r, ctx) {
    return L.circleMarker([r[0], r[1]], {renderer: ctx.renderer, radius: r[2], color: ctx.colour, weight: 1,
                                         fillColor: ctx.colour, fillOpacity: 0.45}).bindTooltip(r[3]);
}"""


# --- geometry helpers ---------------------------------------------------------------------------


def _flat_rings(geom, convert, decimals: int = DECIMALS) -> list:
    """Return [[flat ring, …] per polygon] with [lat, lon, lat, lon, …] rounded rings (no closing point)."""
    polys = [geom] if isinstance(geom, Polygon) else list(getattr(geom, "geoms", []))
    out = []
    for p in polys:
        if not isinstance(p, Polygon) or p.is_empty:
            continue
        rings = []
        for ring in [p.exterior, *p.interiors]:
            xy = np.asarray(ring.coords)[:-1]
            if len(xy) < 3:
                continue
            x, y = convert(xy[:, 0], xy[:, 1])
            flat = np.column_stack([np.round(y, decimals), np.round(x, decimals)]).ravel()
            rings.append([float(v) for v in flat])
        if rings:
            out.append(rings)
    return out


def _simplify(geoms: list, tolerance: float) -> list:
    arr = np.array(geoms, dtype=object)
    if not len(arr):
        return []
    return list(shapely.simplify(arr, tolerance, preserve_topology=True))


def _bounds(geoms: Iterable, convert) -> list[list[float]] | None:
    geoms = [g for g in geoms if g is not None and not g.is_empty]
    if not geoms:
        return None
    b = shapely.total_bounds(np.array(geoms, dtype=object))
    x, y = convert(np.array([b[0], b[2]]), np.array([b[1], b[3]]))
    return [[float(y[0]), float(x[0])], [float(y[1]), float(x[1])]]


def _points(df: pd.DataFrame, convert) -> tuple[np.ndarray, np.ndarray]:
    x, y = convert(df["lon"].to_numpy(float), df["lat"].to_numpy(float))
    return np.round(y, DECIMALS), np.round(x, DECIMALS)


def _esc(value) -> str:
    return html.escape("" if value is None or (isinstance(value, float) and math.isnan(value)) else str(value))


# --- measures and legend ------------------------------------------------------------------------


def measure_values(data: Mapping, measure: str) -> pd.Series:
    """Return the measure's value per grid id (NaN = no data) from `grid_map_data` output."""
    if measure not in MEASURES:
        raise ValueError(f"measure must be one of {MEASURES}, got {measure!r}")
    g = data["grids"]
    own = data["counts"].loc[data["counts"]["grp"] == "own"].groupby("grid_id")["customers"].sum()
    vol = data["volume"].set_index("grid_id")["total_t"] if len(data["volume"]) else pd.Series(dtype=float)
    customers = g["id"].map(own).fillna(0.0)
    volume = g["id"].map(vol).fillna(0.0)
    if measure == "customers":
        values = customers
    elif measure == "volume":
        values = volume
    elif measure == "volume_per_customer":
        values = volume.where(customers > 0) / customers.where(customers > 0)
    elif measure == "plan_completion":
        plan = data["plan"].set_index("station_id")
        comp = (plan["actual"] / plan["target"].where(plan["target"] > 0)).astype(float)
        values = g["station_id"].map(comp)
    else:
        rates = data["rates"].set_index("station_id")[measure].astype(float) if len(data["rates"]) else pd.Series(dtype=float)
        values = g["station_id"].map(rates)
    return pd.Series(values.to_numpy(dtype=float), index=g["id"].to_numpy())


def class_breaks(values: Iterable[float], k: int = len(PALETTE)) -> list[float]:
    """Return k+1 class edges (quantiles of the finite values, deduplicated, at least 2)."""
    v = np.asarray([x for x in values if x is not None and np.isfinite(x)], dtype=float)
    if not len(v):
        return []
    edges = np.unique(np.quantile(v, np.linspace(0, 1, k + 1)))
    if len(edges) == 1:
        edges = np.array([edges[0], edges[0]])
    return [float(e) for e in edges]


def colour_for(value: float | None, edges: list[float]) -> str:
    """Return the palette colour of `value` for class `edges` (no data: grey)."""
    if value is None or not np.isfinite(value) or not edges:
        return NO_DATA
    n = max(len(edges) - 1, 1)
    i = int(np.searchsorted(edges[1:-1], value, side="right")) if n > 1 else 0
    # spread the classes present over the palette so 2 classes use light and dark
    idx = round(i * (len(PALETTE) - 1) / max(n - 1, 1)) if n > 1 else len(PALETTE) // 2
    return PALETTE[idx]


def format_measure(value: float | None, measure: str, t: Callable[..., str]) -> str:
    """Return a measure value as text for tooltips and the legend."""
    if value is None or not np.isfinite(value):
        return t("fmt.no_data")
    if measure in RATE_MEASURES:
        return f"{value:.1%}"
    if measure == "customers":
        return f"{int(round(value)):,}"
    return t("fmt.tonnes", value=f"{value:,.1f}")


def _legend_html(measure: str, edges: list[float], t: Callable[..., str], layers: set[str]) -> str:
    rows = [f"<b>{_esc(t(f'maps.measure.{measure}'))}</b>"]
    n = max(len(edges) - 1, 1)
    for i in range(n):
        lo, hi = (edges[i], edges[i + 1]) if len(edges) > 1 else (edges[0], edges[0]) if edges else (None, None)
        colour = colour_for(lo if lo is not None else None, edges) if edges else NO_DATA
        label = f"{format_measure(lo, measure, t)} – {format_measure(hi, measure, t)}" if edges else t("fmt.no_data")
        rows.append(f'<span style="display:inline-block;width:14px;height:10px;background:{colour};'
                    f'border:1px solid #888;margin-right:4px"></span>{_esc(label)}')
    rows.append(f'<span style="display:inline-block;width:14px;height:10px;background:{NO_DATA};'
                f'border:1px solid #888;margin-right:4px"></span>{_esc(t("fmt.no_data"))}')
    if "stations" in layers:
        rows.append("<b>" + _esc(t("maps.layer.stations")) + "</b>")
        for g in GRADES:
            rows.append(f'<span style="display:inline-block;width:14px;height:14px;border-radius:3px;background:'
                        f'{GRADE_STYLE[g]};color:#fff;font:bold 10px/14px sans-serif;text-align:center;'
                        f'margin-right:4px">{_esc(t(f"maps.glyph.{g}"))}</span>{_esc(t(f"maps.grade.{g}"))}')
    if layers & {"own", "potential", "competitor"}:
        rows.append("<b>" + _esc(t("maps.legend.customers")) + "</b>")
        for tier in reversed(TIERS):
            rows.append(f'<span style="display:inline-block;width:10px;height:10px;border-radius:5px;'
                        f'background:{TIER_COLOURS[tier]};margin-right:4px"></span>{_esc(t(f"tier.{tier}"))}')
        for grp in ("potential", "competitor"):
            rows.append(f'<span style="display:inline-block;width:10px;height:10px;border-radius:5px;'
                        f'background:{GROUP_COLOURS[grp]};margin-right:4px"></span>{_esc(t(f"maps.layer.{grp}"))}')
    if "partition" in layers:
        rows.append('<span style="display:inline-block;width:14px;height:10px;background:#ff0000;opacity:.6;'
                    f'margin-right:4px"></span>{_esc(t("maps.legend.problem"))}')
    return "<br>".join(rows)


def _legend_script(legend_html: str, title: str) -> str:
    body = f"<details open><summary style='cursor:pointer'>{_esc(title)}</summary>{legend_html}</details>"
    return (
        "var legend = L.control({position: 'bottomright'});"
        "legend.onAdd = function () { var d = L.DomUtil.create('div', 'gc-legend');"
        "d.style.cssText = 'background:rgba(255,255,255,.92);padding:4px 8px;border-radius:4px;"
        f"font:11px/1.45 {FONT};box-shadow:0 0 4px rgba(0,0,0,.3);max-height:55%;overflow:auto';"
        f"d.innerHTML = {_js_json(body)}; L.DomEvent.disableClickPropagation(d); return d; }};"
        "legend.addTo(map);"
    )


def _base_map(bounds, background: str, t: Callable[..., str]) -> folium.Map:
    centre = [(bounds[0][0] + bounds[1][0]) / 2, (bounds[0][1] + bounds[1][1]) / 2] if bounds else [36.5, 118.5]
    m = folium.Map(location=centre, zoom_start=9, tiles=None, control_scale=True, prefer_canvas=False)
    _add_background(m, background, t)
    if background == "none":
        MapScript("map.getContainer().style.background = '#f4f6f8';").add_to(m)
    if bounds:
        m.fit_bounds(bounds)
    return m


# --- the grid map -------------------------------------------------------------------------------


def grid_map_data(engine: Engine, scope: str, month: str, max_points: int = MAX_POINTS) -> dict:
    """Return everything `grid_map` draws for `scope` and `month`, as plain picklable data (so the
    page can cache it): level, grids, per-grid counts and volume, station plan and rates,
    stations, competitor stations, customer points per group (None when aggregated), heat cells."""
    level = map_queries.scope_level(engine, scope)
    # The independent reads run side by side on pooled connections (SQLite WAL readers and
    # PostgreSQL backends both run concurrently): at a million customers, 1.9 s one after another.
    jobs = {
        "grids": (map_queries.grids, scope),
        "counts": (map_queries.grid_customer_counts, scope, month),
        "volume": (map_queries.grid_volume, scope, month),
        "plan": (map_queries.station_plan, scope, month),
        "rates": (map_queries.station_rates, scope, month),
        "stations": (map_queries.stations, scope),
        "competitor_stations": (map_queries.competitor_stations, scope),
        **{f"n_{grp}": (map_queries.customer_count, scope, month, grp) for grp in map_queries.STATUS_GROUPS},
    }
    got = queries.side_by_side(engine, jobs)
    data = {"scope": scope, "month": month, "level": level, "points": {}, "aggregated": {},
            **{k: v for k, v in got.items() if not k.startswith("n_")}}
    for grp in map_queries.STATUS_GROUPS:
        n = got[f"n_{grp}"]
        if level in INDIVIDUAL_LEVELS and n <= max_points:
            data["points"][grp] = map_queries.customer_points(engine, scope, month, grp)
        else:
            data["points"][grp] = None
            data["aggregated"][grp] = n
    own = data["points"]["own"]
    if own is not None and len(own) <= max_points:
        heat = own.loc[own["volume_t"] > 0, ["lon", "lat", "volume_t"]]
    else:
        heat = map_queries.volume_bins(engine, scope, month, HEAT_CELL_DEG.get(level, 0.01))
    data["heat"] = heat.reset_index(drop=True)
    return data


def grid_map(engine: Engine, scope: str, month: str, *, measure: str = "customers", background: str = "none",
             layers: Iterable[str] | None = None, lang: str = "zh", data: Mapping | None = None,
             partition: Mapping | None = None, selected: str | None = None, asset_base: str | None = None,
             max_points: int = MAX_POINTS) -> folium.Map:
    """Return the grid map 网格地图 of `scope` in `month` as a folium Map.

    Options: `measure` (MEASURES) colours the grids, with a legend; `background` (BACKGROUNDS);
    `layers` (subset of LAYERS, default DEFAULT_LAYERS: only these are sent to the browser, where
    the layer control toggles them; the grids are always sent, hidden when not asked for); `data` = `grid_map_data(...)`
    when the caller cached it; `partition` = {district: PartitionReport} whose gaps and overlaps
    are drawn in red; `selected` = grid code to outline; `asset_base` = URL of the local Leaflet
    copies (lib.map_assets). The map's grid polygons carry tooltips beginning with the grid code
    (the page finds the clicked grid from it).
    """
    t = translator(lang)
    shown = set(DEFAULT_LAYERS if layers is None else layers)
    unknown = shown - set(LAYERS)
    if unknown:
        raise ValueError(f"unknown layers {sorted(unknown)}")
    data = data if data is not None else grid_map_data(engine, scope, month, max_points)
    datum = background_datum(background)
    convert = _converter(datum)
    level = data["level"]
    g = data["grids"].reset_index(drop=True)
    geoms = [from_geojson(x) for x in g["geometry"]]
    m = _base_map(_bounds(geoms, convert), background, t)

    # grids coloured by the measure
    values = measure_values(data, measure)
    edges = class_breaks(values.to_numpy())
    simplified = _simplify(geoms, SIMPLIFY_DEG.get(level, 0.0002))
    rows = []
    for rec, geom in zip(g.to_dict("records"), simplified):
        v = values.get(rec["id"], np.nan)
        rows.append([_esc(rec["code"]), _esc(rec["name"]), _esc(rec["owner_name"]) or "—", _esc(rec["station_name"]),
                     format_measure(v, measure, t), colour_for(v, edges), _flat_rings(geom, convert)])
    DataLayer(t("maps.layer.grids"), rows, POLYGON_JS, {
        "owner": t("maps.owner"), "station": t("maps.station"), "measure": t(f"maps.measure.{measure}"),
        "selected": selected, "line": "#1f2933" if background == "none" else "#0b3d91",
        "fill": 0.55 if background == "none" else 0.35,
    }, show="grids" in shown).add_to(m)

    # partition problems of the scope's districts (全覆盖、无交叉)
    if partition and "partition" in shown:
        prob = [row for report in partition.values() for row in _problem_rows(report, convert, t)]
        if prob:
            DataLayer(t("maps.layer.partition"), prob, PROBLEM_JS, show="partition" in shown).add_to(m)

    # stations, icon by grade (DOMAIN §9)
    st_df = data["stations"]
    if len(st_df) and "stations" in shown:
        lat, lon = _points(st_df, convert)
        rows = [[float(a), float(b), GRADES.index(gr) if gr in GRADES else 2,
                 f"<b>{_esc(name)}</b> {_esc(code)}<br>{_esc(t(f'maps.grade.{gr}' if gr in GRADES else 'maps.grade.regular'))}"
                 f" · {_esc(t('maps.daily_sales', value=f'{ds:,.1f}'))}"]
                for a, b, gr, name, code, ds in zip(lat, lon, st_df["grade"], st_df["name"], st_df["code"],
                                                    st_df["daily_sales_t"])]
        DataLayer(t("maps.layer.stations"), rows, STATION_JS, {
            "colours": [GRADE_STYLE[x] for x in GRADES], "glyphs": [t(f"maps.glyph.{x}") for x in GRADES],
            "size": 12 if level in ("province", "city") else 20,
        }, show="stations" in shown).add_to(m)

    # customers: own coloured by tier, potential, competitor — one by one or per grid
    for grp in map_queries.STATUS_GROUPS:
        if grp not in shown:
            continue
        name = t(f"maps.layer.{grp}")
        pts = data["points"].get(grp)
        if pts is not None:
            if not len(pts):
                continue
            lat, lon = _points(pts, convert)
            if grp == "own":
                kinds = [TIERS.index(x) if x in TIERS else 0 for x in pts["tier"]]
                colours = [TIER_COLOURS[x] for x in TIERS]
            else:
                kinds = [0] * len(pts)
                colours = [GROUP_COLOURS[grp]]
            tiers = [t(f"tier.{x}") if x in TIERS else "" for x in pts["tier"]]
            rows = [[float(a), float(b), k, f"{_esc(n)} · {_esc(c)}<br>{_esc(tr)} · {vol:,.1f} t"]
                    for a, b, k, n, c, tr, vol in zip(lat, lon, kinds, pts["name"], pts["code"], tiers, pts["volume_t"])]
            DataLayer(name, rows, POINT_JS, {"colours": colours, "radius": 4 if len(rows) < 2000 else 3,
                                             "canvas": True}, show=grp in shown).add_to(m)
        else:
            rows = _aggregate_rows(data, g, geoms, grp, convert, t)
            if rows:
                DataLayer(name + " · " + t("maps.per_grid"), rows, AGGREGATE_JS, {
                    "colour": TIER_COLOURS["city"] if grp == "own" else GROUP_COLOURS[grp], "canvas": True,
                }, show=grp in shown).add_to(m)

    comp = data["competitor_stations"]
    if len(comp) and "competitor_stations" in shown:
        lat, lon = _points(comp, convert)
        rows = [[float(a), float(b), f"{_esc(n)} · {_esc(br)}"] for a, b, n, br in zip(lat, lon, comp["name"], comp["brand"])]
        DataLayer(t("maps.layer.competitor_stations"), rows, COMPETITOR_STATION_JS,
                  show="competitor_stations" in shown).add_to(m)

    heat = data["heat"]
    if len(heat) and "heat" in shown:
        lat, lon = _points(heat, convert)
        w = heat["volume_t"].to_numpy(float)
        w = np.round(w / w.max(), 3) if w.max() > 0 else w
        folium.plugins.HeatMap([[float(a), float(b), float(c)] for a, b, c in zip(lat, lon, w) if c > 0],
                               name=t("maps.layer.heat"), show="heat" in shown, radius=18, blur=14,
                               min_opacity=0.25).add_to(m)

    MapScript(_legend_script(_legend_html(measure, edges, t, shown), t("maps.legend.title"))).add_to(m)
    folium.LayerControl(collapsed=True).add_to(m)
    map_assets.localize(m, asset_base)
    m.gridcrm_notes = {"level": level, "aggregated": dict(data["aggregated"]), "grids": len(g)}
    return m


def _problem_rows(report, convert, t, decimals: int = DECIMALS) -> list:
    """Return DataLayer rows [tooltip, rings] for the gaps, overlaps and outside pieces of a report."""
    rows = []
    pairs = report.overlaps
    if len(report.overlap_geoms) == len(pairs):
        labels = [t("maps.problem.overlap", a=a, b=b, area=f"{m2:,.0f}") for a, b, m2 in pairs]
    else:  # a pair overlapping in several pieces: every piece names all pairs
        label = "; ".join(t("maps.problem.overlap", a=a, b=b, area=f"{m2:,.0f}") for a, b, m2 in pairs)
        labels = [label] * len(report.overlap_geoms)
    rows += [[_esc(lb), _flat_rings(geom, convert, decimals)] for lb, geom in zip(labels, report.overlap_geoms)]
    rows += [[_esc(t("maps.problem.gap", area=f"{m2:,.0f}")), _flat_rings(geom, convert, decimals)]
             for m2, geom in zip(report.gaps, report.gap_geoms)]
    if len(report.outside_geoms) == len(report.outside):
        rows += [[_esc(t("maps.problem.outside", grid=gid, area=f"{m2:,.0f}")), _flat_rings(geom, convert, decimals)]
                 for (gid, m2), geom in zip(report.outside, report.outside_geoms)]
    else:
        label = "; ".join(t("maps.problem.outside", grid=gid, area=f"{m2:,.0f}") for gid, m2 in report.outside)
        rows += [[_esc(label), _flat_rings(geom, convert, decimals)] for geom in report.outside_geoms]
    return rows


def _aggregate_rows(data: Mapping, g: pd.DataFrame, geoms: list, grp: str, convert, t) -> list:
    counts = data["counts"]
    sub = counts.loc[counts["grp"] == grp]
    if sub.empty:
        return []
    by_grid = sub.pivot_table(index="grid_id", columns="tier", values="customers", aggfunc="sum", fill_value=0)
    total = by_grid.sum(axis=1)
    biggest = float(total.max()) if len(total) else 1.0
    idx = {gid: i for i, gid in enumerate(g["id"])}
    rows = []
    for gid, n in total.items():
        if gid not in idx or n <= 0:
            continue
        i = idx[gid]
        p = geoms[i].representative_point()
        x, y = convert(np.array([p.x]), np.array([p.y]))
        parts = " · ".join(f"{_esc(t(f'tier.{tier}'))} {int(by_grid.loc[gid, tier]):,}"
                           for tier in reversed(TIERS) if tier in by_grid.columns and by_grid.loc[gid, tier] > 0)
        tip = f"{_esc(g.loc[i, 'code'])} {_esc(t(f'maps.layer.{grp}'))} {int(n):,}" + (f"<br>{parts}" if grp == "own" else "")
        rows.append([round(float(y[0]), DECIMALS), round(float(x[0]), DECIMALS),
                     round(4 + 14 * math.sqrt(n / biggest), 1), tip])
    return rows


def grid_panel(data: Mapping, code: str) -> dict | None:
    """Return what the clicked grid's panel shows, from `grid_map_data` output: the grid row
    (owner 网格负责人, phone, duties, station, geometry …) with `tiers` = {tier: customers on
    the books}, `potential` and `competitor` counts. None for a code not in the data."""
    g = data["grids"]
    row = g.loc[g["code"] == code]
    if row.empty:
        return None
    grid = row.iloc[0].to_dict()
    counts = data["counts"]
    mine = counts.loc[counts["grid_id"] == grid["id"]]
    own = mine.loc[mine["grp"] == "own"]
    grid["tiers"] = {tier: int(own.loc[own["tier"] == tier, "customers"].sum()) for tier in reversed(TIERS)}
    for grp in ("potential", "competitor"):
        grid[grp] = int(mine.loc[mine["grp"] == grp, "customers"].sum())
    return grid


def grid_code_from_tooltip(text: str | None, codes: Iterable[str]) -> str | None:
    """Return the grid code a clicked tooltip belongs to (the longest in-scope code it starts
    with or contains as a word), or None for any other object (customer, station, …)."""
    if not text:
        return None
    head = text.strip().split()[0] if text.strip() else ""
    known = set(codes)
    if head in known:
        return head
    found = [c for c in known if re.search(rf"(^|\s){re.escape(c)}(\s|$)", text)]
    return max(found, key=len) if found else None


# --- tables beside the map ----------------------------------------------------------------------

COLUMNS = ("code", "name", "kind", "tier", "status", "volume_t", "station_name", "grid_code", "grids_containing",
           "containing", "district", "grids", "ok", "overlaps", "overlap_m2", "gaps", "gap_m2", "outside_m2",
           "problem", "area_m2", "ring", "existing", "potential", "competitor", "sub_type", "contact", "phone",
           "distance_km", "at", "actor", "grid", "area_before", "area_after")
VALUE_KEYS = {"tier": "tier", "kind": "kind", "status": "maps.status"}


def labelled(df: pd.DataFrame, t: Callable[..., str]) -> pd.DataFrame:
    """Return `df` for display: column names and coded values (tier, kind, status) in the
    session's language (catalog keys maps.col.<column>)."""
    out = df.copy()
    for col, prefix in VALUE_KEYS.items():
        if col in out.columns:
            out[col] = out[col].map(lambda v, p=prefix: t(f"{p}.{v}") if isinstance(v, str) and v else v)
    return out.rename(columns={c: t(f"maps.col.{c}") for c in out.columns if c in COLUMNS})


def partition_summary(reports: Mapping, districts: pd.DataFrame, t: Callable[..., str]) -> pd.DataFrame:
    """Return one row per district: grids checked, clean or not, overlaps and gaps (count, m²)."""
    names = dict(zip(districts["path"], districts["name"]))
    rows = []
    for path, r in reports.items():
        rows.append({"district": names.get(path, path), "ok": t("maps.partition.ok") if r.ok else t("maps.partition.bad"),
                     "overlaps": len(r.overlaps), "overlap_m2": round(sum(x[2] for x in r.overlaps), 1),
                     "gaps": len(r.gaps), "gap_m2": round(sum(r.gaps), 1),
                     "outside_m2": round(sum(x[1] for x in r.outside), 1)})
    cols = ["district", "ok", "overlaps", "overlap_m2", "gaps", "gap_m2", "outside_m2"]
    return labelled(pd.DataFrame(rows, columns=cols), t)


def partition_problems(reports: Mapping, districts: pd.DataFrame, t: Callable[..., str]) -> pd.DataFrame:
    """Return one row per gap, overlap or piece outside the district, largest first."""
    names = dict(zip(districts["path"], districts["name"]))
    rows = []
    for path, r in reports.items():
        name = names.get(path, path)
        if getattr(r, "error", None):
            rows.append({"district": name, "problem": r.error, "area_m2": None})
        rows += [{"district": name, "problem": t("maps.problem.overlap", a=a, b=b, area=f"{m2:,.0f}"),
                  "area_m2": round(m2, 1)} for a, b, m2 in r.overlaps]
        rows += [{"district": name, "problem": t("maps.problem.gap", area=f"{m2:,.0f}"), "area_m2": round(m2, 1)}
                 for m2 in r.gaps]
        rows += [{"district": name, "problem": t("maps.problem.outside", grid=g, area=f"{m2:,.0f}"),
                  "area_m2": round(m2, 1)} for g, m2 in r.outside]
    df = pd.DataFrame(rows, columns=["district", "problem", "area_m2"])
    return labelled(df.sort_values("area_m2", ascending=False, na_position="first").reset_index(drop=True), t)


# --- station customer map (客户地图) -------------------------------------------------------------


def parse_radii(text: str) -> tuple[float, ...]:
    """Parse ring radii typed as "1, 3, 5" (km; commas, spaces or 、) into an increasing tuple."""
    parts = [p for p in re.split(r"[\s,，、;；]+", text or "") if p]
    try:
        radii = tuple(float(p) for p in parts)
    except ValueError as exc:
        raise ValueError(f"radii must be numbers in km, got {text!r}") from exc
    if not radii or any(not math.isfinite(r) or r <= 0 or r > 100 for r in radii) or list(radii) != sorted(set(radii)):
        raise ValueError(f"radii must be increasing numbers between 0 and 100 km, got {text!r}")
    return radii


def customer_rings(engine: Engine, station_id: int, radii_km: Iterable[float] = (1, 3, 5), *,
                   scope: str | None = None) -> dict:
    """Return the station customer map 客户地图 (004 Jilin): customers around a station by ring.

    Rings are [0, r1), [r1, r2), … km by great-circle (haversine) distance from the station.
    Counts existing 存量, potential 潜在 and competitor 竞争对手 customers inside `scope`
    (default: the station's own customers; the page passes the viewer's scope). Returns
    {"station": dict, "radii_km": [...], "rings": DataFrame(ring, inner_km, outer_km, existing,
    potential, competitor), "customers": DataFrame of customers within the outer radius with
    distance_km and ring, "potential": potential customers nearest first}. Raises ValueError for
    a station outside `scope` or bad radii.
    """
    radii = [float(r) for r in radii_km]
    if not radii or any(r <= 0 for r in radii) or radii != sorted(set(radii)):
        raise ValueError(f"radii must be positive and increasing, got {list(radii_km)}")
    with engine.connect() as conn:
        path = conn.execute(text("SELECT org_path FROM station WHERE id = :id"), {"id": int(station_id)}).scalar()
    if path is None:
        raise ValueError(f"no station {station_id}")
    scope = scope or path
    station = map_queries.station_in_scope(engine, scope, station_id)
    if station is None:
        raise ValueError(f"station {station_id} is not in scope {scope}")
    near = map_queries.customers_near(engine, scope, station["lon"], station["lat"], radii[-1])
    d_km = haversine_m(station["lon"], station["lat"], near["lon"].to_numpy(float), near["lat"].to_numpy(float)) / 1000.0
    near = near.assign(distance_km=np.round(np.atleast_1d(d_km), 3) if len(near) else [])
    near = near.loc[near["distance_km"] < radii[-1]].copy()
    edges = [0.0] + radii
    near["ring"] = np.searchsorted(np.array(radii), near["distance_km"].to_numpy(float), side="right")
    rows = []
    for i in range(len(radii)):
        ring = near.loc[near["ring"] == i]
        rows.append({"ring": f"{edges[i]:g}–{edges[i + 1]:g} km", "inner_km": edges[i], "outer_km": edges[i + 1],
                     **{s: int((ring["status"] == s).sum()) for s in ("existing", "potential", "competitor")}})
    rings = pd.DataFrame(rows, columns=["ring", "inner_km", "outer_km", "existing", "potential", "competitor"])
    near = near.sort_values(["distance_km", "code"]).reset_index(drop=True)
    potential = near.loc[near["status"] == "potential",
                         ["code", "name", "kind", "sub_type", "contact", "phone", "distance_km"]].reset_index(drop=True)
    return {"station": station, "radii_km": radii, "rings": rings, "customers": near, "potential": potential}


RING_COLOURS = {"existing": "#2f6fa3", "potential": "#2e8b57", "competitor": "#444444", "lost": "#b0b0b0"}
RING_JS = """function (r, ctx) {
    return L.circleMarker([r[0], r[1]], {renderer: ctx.renderer, radius: 5, color: '#fff', weight: 0.8,
                                         fillColor: ctx.colours[r[2]], fillOpacity: 0.9}).bindTooltip(r[3]);
}"""


def ring_map(result: Mapping, *, background: str = "none", lang: str = "zh", asset_base: str | None = None,
             max_points: int = MAX_POINTS) -> folium.Map:
    """Return the folium map of a `customer_rings` result: the rings as circles around the
    station, customers coloured by status (existing, potential, competitor). Existing customers
    beyond the nearest `max_points` are left off the map (a city-centre station has tens of
    thousands within 5 km); potential and competitor customers, the ones to win, are all drawn.
    `m.gridcrm_notes["capped"]` = (shown, total) when existing customers were left off."""
    t = translator(lang)
    convert = _converter(background_datum(background))
    st = result["station"]
    sx, sy = convert(np.array([st["lon"]]), np.array([st["lat"]]))
    centre = [float(sy[0]), float(sx[0])]
    r_max = result["radii_km"][-1]
    dlat = r_max / 110.574
    dlon = r_max / (111.320 * math.cos(math.radians(centre[0])))
    m = _base_map([[centre[0] - dlat, centre[1] - dlon], [centre[0] + dlat, centre[1] + dlon]], background, t)
    for r in reversed(result["radii_km"]):
        folium.Circle(centre, radius=r * 1000, color="#c8102e", weight=1.5, fill=False, dash_array="6 4",
                      tooltip=f"{r:g} km").add_to(m)
    cust = result["customers"]
    statuses = list(RING_COLOURS)
    m.gridcrm_notes = {"capped": None}
    for status in ("existing", "potential", "competitor"):
        sub = cust.loc[cust["status"] == status]
        if sub.empty:
            continue
        if status == "existing" and len(sub) > max_points:  # rows come nearest first
            m.gridcrm_notes["capped"] = (max_points, len(sub))
            sub = sub.head(max_points)
        lat, lon = _points(sub, convert)
        rows = [[float(a), float(b), statuses.index(status),
                 f"{_esc(n)} · {_esc(c)}<br>{d:.2f} km"] for a, b, n, c, d in
                zip(lat, lon, sub["name"], sub["code"], sub["distance_km"])]
        DataLayer(t(f"maps.status.{status}"), rows, RING_JS, {"colours": [RING_COLOURS[s] for s in statuses],
                                                                "canvas": True}).add_to(m)
    grade = st.get("grade") if st.get("grade") in GRADES else "regular"
    DataLayer(t("maps.layer.stations"), [[centre[0], centre[1], GRADES.index(grade), f"<b>{_esc(st['name'])}</b>"]],
              STATION_JS, {"colours": [GRADE_STYLE[x] for x in GRADES],
                           "glyphs": [t(f"maps.glyph.{x}") for x in GRADES]}).add_to(m)
    folium.LayerControl(collapsed=False).add_to(m)
    map_assets.localize(m, asset_base)
    return m


# --- grid editing (网格编辑) ----------------------------------------------------------------------

EDIT_JS = """function (r, ctx) {
    var polys = r[2].map(function (p) { return p.map(ctx.ring); });
    var layer = L.polygon(polys.length === 1 ? polys[0] : polys, {color: '#c8102e', weight: 2, fillOpacity: 0.25,
                                                                  editing: {}, original: {}});  // Leaflet.draw 0.4 reads both
    layer.feature = {type: 'Feature', properties: {grid_id: r[0], code: r[1]}};
    layer.bindTooltip(r[1], {permanent: false});
    return layer;
}"""
OTHER_JS = """function (r, ctx) {
    var polys = r[1].map(function (p) { return p.map(ctx.ring); });
    return L.polygon(polys, {color: '#555', weight: 1, fillColor: '#9fb3c8', fillOpacity: 0.25, interactive: true})
        .bindTooltip(r[0]);
}"""


def edit_map(district: Mapping, grids_df: pd.DataFrame, editing: Iterable[int], *,
             proposal: Mapping[int, object] | None = None, report=None, background: str = "none",
             lang: str = "zh", asset_base: str | None = None) -> folium.Map:
    """Return the grid editing map: the district boundary, the other grids in grey, the grids being
    edited as editable polygons of the Draw plugin (properties grid_id, code), and the problems
    of a failed partition check in red. `proposal` (grid id → geometry) replaces stored shapes."""
    t = translator(lang)
    convert = _converter(background_datum(background))
    editing = [int(x) for x in editing]
    proposal = {int(k): v for k, v in (proposal or {}).items()}
    boundary = from_geojson(district["boundary"]) if district.get("boundary") else None
    geoms = {int(r["id"]): proposal.get(int(r["id"])) or from_geojson(r["geometry"]) for r in grids_df.to_dict("records")}
    focus = [geoms[g] for g in editing if g in geoms]
    if focus:  # the edited grid with room around it for its neighbours
        x0, y0, x1, y1 = shapely.total_bounds(np.array(focus, dtype=object))
        pad = max(x1 - x0, y1 - y0)
        view = [shapely.box(x0 - pad, y0 - pad, x1 + pad, y1 + pad)]
    else:
        view = [boundary] if boundary is not None else list(geoms.values())
    m = _base_map(_bounds(view, convert), background, t)
    if boundary is not None:
        DataLayer(t("maps.layer.district"), [[_esc(district["name"]), _flat_rings(boundary, convert, 6)]],
                  """function (r, ctx) { return L.polygon(r[1].map(function (p) { return p.map(ctx.ring); }),
                     {color: '#1f2933', weight: 3, fill: false, interactive: false}); }""").add_to(m)
    others = [[_esc(r["code"] + " " + r["name"]), _flat_rings(geoms[int(r["id"])], convert, 6)]
              for r in grids_df.to_dict("records") if int(r["id"]) not in editing]
    DataLayer(t("maps.layer.grids"), others, OTHER_JS).add_to(m)
    if report is not None and not report.ok:
        DataLayer(t("maps.layer.partition"), _problem_rows(report, convert, t, 6), PROBLEM_JS).add_to(m)
    rows = [[int(r["id"]), _esc(r["code"]), _flat_rings(geoms[int(r["id"])], convert, 7)]
            for r in grids_df.to_dict("records") if int(r["id"]) in editing]
    editable = DataLayer(t("maps.layer.editing"), rows, EDIT_JS)
    editable.add_to(m)
    folium.plugins.Draw(
        feature_group=editable, position="topleft",
        draw_options={"polyline": False, "rectangle": False, "circle": False, "marker": False,
                      "circlemarker": False, "polygon": {"allowIntersection": False, "showArea": False}},
        edit_options={"edit": True, "remove": False}, show_geometry_on_click=False,
    ).add_to(m)
    folium.LayerControl(collapsed=True).add_to(m)
    map_assets.localize(m, asset_base)
    return m


def drawings_to_changes(drawings: list | None, editing: Iterable[int], background: str = "none") -> dict[int, object]:
    """Turn the Draw plugin's features (st_folium "all_drawings") into {grid id: WGS-84 geometry}.

    Features carrying a `grid_id` property replace that grid; a newly drawn polygon (no grid_id)
    replaces the single grid being edited. Coordinates drawn on GCJ-02 tiles are converted back.
    Raises ValueError for an ambiguous or unreadable drawing."""
    editing = [int(x) for x in editing]
    back = background_datum(background) == "gcj02"
    out: dict[int, object] = {}
    new = []
    for feat in drawings or []:
        geom = from_geojson(feat.get("geometry") or {})
        if not isinstance(geom, (Polygon, MultiPolygon)):
            continue
        if back:
            geom = shapely.transform(geom, lambda c: np.column_stack(gcj02_to_wgs84_array(c[:, 0], c[:, 1])))
        gid = (feat.get("properties") or {}).get("grid_id")
        if gid is None:
            new.append(geom)
        elif int(gid) in editing:
            out[int(gid)] = geom
    if new:
        if len(editing) != 1:
            raise ValueError("a newly drawn polygon needs exactly one grid selected for editing")
        out[editing[0]] = new[-1]
    return out


def upload_to_changes(raw: bytes | str, grids_df: pd.DataFrame, selected: int) -> dict[int, object]:
    """Turn an uploaded GeoJSON (geometry, Feature or FeatureCollection, WGS-84) into {grid id:
    geometry}: features name their grid by a `code` or `grid_id` property; a single unnamed
    geometry is the selected grid's. Raises ValueError for anything else."""
    try:
        obj = json.loads(raw.decode("utf-8-sig") if isinstance(raw, bytes) else raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"not a GeoJSON file ({exc})") from exc
    feats = obj.get("features") if obj.get("type") == "FeatureCollection" else [obj]
    by_code = dict(zip(grids_df["code"], grids_df["id"]))
    out: dict[int, object] = {}
    for f in feats or []:
        props = (f.get("properties") or {}) if f.get("type") == "Feature" else {}
        try:
            geom = from_geojson(f)
        except Exception as exc:  # noqa: BLE001 - any unreadable geometry is bad input
            raise ValueError(f"unreadable geometry ({exc})") from exc
        if not isinstance(geom, (Polygon, MultiPolygon)):
            raise ValueError(f"expected a Polygon or MultiPolygon, got {geom.geom_type}")
        if props.get("grid_id") is not None and int(props["grid_id"]) in set(grids_df["id"]):
            out[int(props["grid_id"])] = geom
        elif props.get("code") in by_code:
            out[int(by_code[props["code"]])] = geom
        elif len(feats) == 1:
            out[int(selected)] = geom
        else:
            raise ValueError("each feature needs the code of a grid of this district")
    return out


def proposed_changes(grids_df: pd.DataFrame, grid_id: int, neighbour: int | None, drawings: list | None,
                     upload: bytes | None, background: str, district: Mapping,
                     previous: Mapping | None = None) -> dict[int, object]:
    """Return the change a user proposes on the editing page: the uploaded file, else the edited
    drawing, else the previous proposal. With a `neighbour`, it gives up or takes the area the
    grid gains or loses (`rebalance`). Edited vertices are snapped to their neighbours'."""
    if upload:
        changes = upload_to_changes(upload, grids_df, grid_id)
    else:
        changes = drawings_to_changes(drawings, [grid_id], background)
    if not changes:
        if previous:
            return dict(previous)
        raise ValueError("nothing was drawn, edited or uploaded")
    stored = {int(r["id"]): from_geojson(r["geometry"]) for r in grids_df.to_dict("records")}
    boundary = from_geojson(district["boundary"]) if district.get("boundary") else None
    changes = snap_changes(changes, [g for i, g in stored.items() if i not in changes], boundary)
    if neighbour is not None and int(grid_id) in changes and int(neighbour) not in changes:
        changes[int(neighbour)] = rebalance(stored[int(grid_id)], changes[int(grid_id)], stored[int(neighbour)])
    return changes


def snap_changes(changes: Mapping[int, object], others: Iterable, boundary=None, tolerance_m: float = 3.0) -> dict:
    """Snap edited vertices onto the unchanged neighbours' and the district's vertices within
    `tolerance_m` (hand-dragged vertices never land exactly on a neighbour's), then onto each
    other. Returns {grid id: geometry}."""
    tol = tolerance_m / 111_000.0
    lines = [g.boundary for g in others if g is not None] + ([boundary.boundary] if boundary is not None else [])
    ref = shapely.union_all(np.array(lines, dtype=object)) if lines else None
    out = {}
    for gid, geom in changes.items():
        snapped = shapely.snap(geom, ref, tol) if ref is not None else geom
        out[gid] = shapely.make_valid(snapped) if not snapped.is_valid else snapped
    keys = list(out)
    for i, a in enumerate(keys):
        for b in keys[i + 1:]:
            out[b] = shapely.snap(out[b], out[a], tol)
    return out


def rebalance(old_a, new_a, old_b):
    """Return neighbour B's new shape when grid A is reshaped: B gives up what A now covers and
    takes what A gave up, so together they still cover exactly what they covered before."""
    freed = shapely.difference(old_a, new_a, grid_size=SNAP_DEG)
    grown = shapely.union(old_b, freed, grid_size=SNAP_DEG)
    result = shapely.difference(grown, new_a, grid_size=SNAP_DEG)
    if isinstance(result, (Polygon, MultiPolygon)):
        return result
    parts = [g for g in getattr(result, "geoms", []) if isinstance(g, Polygon) and not g.is_empty]
    return MultiPolygon(parts) if len(parts) > 1 else (parts[0] if parts else Polygon())


# --- service contact card (服务联系方式卡, 000 §3.2.2) --------------------------------------------


def _wrap(text: str, width: int) -> list[str]:
    """Wrap text by display width (a CJK character counts 2)."""
    lines, line, w = [], "", 0
    for ch in text or "":
        cw = 2 if ord(ch) > 0x2E7F else 1
        if w + cw > width and line:
            lines.append(line)
            line, w = "", 0
        line += ch
        w += cw
    if line:
        lines.append(line)
    return lines


def grid_svg_path(geom, box: tuple[float, float, float, float]) -> str:
    """Return an SVG path ("M … Z") of a lon/lat polygon fitted into box (x, y, width, height),
    with lon scaled by cos(latitude) so the shape is not stretched."""
    x0, y0, w, h = box
    minx, miny, maxx, maxy = geom.bounds
    k = math.cos(math.radians((miny + maxy) / 2))
    sx = (maxx - minx) * k or 1e-9
    sy = (maxy - miny) or 1e-9
    s = min(w / sx, h / sy)
    ox = x0 + (w - sx * s) / 2
    oy = y0 + (h - sy * s) / 2
    parts = []
    polys = [geom] if isinstance(geom, Polygon) else list(getattr(geom, "geoms", []))
    for p in polys:
        for ring in [p.exterior, *p.interiors]:
            pts = [(ox + (x - minx) * k * s, oy + (maxy - y) * s) for x, y in ring.coords]
            parts.append("M" + " L".join(f"{x:.1f},{y:.1f}" for x, y in pts) + " Z")
    return " ".join(parts)


def contact_card_svg(grid: Mapping, lang: str = "zh") -> str:
    """Return the grid owner's service contact card 服务联系方式卡 as a standalone SVG (A6
    landscape proportions, 148 × 105 mm): owner name, photo placeholder, phone, duties, the grid's
    shape, station and grid code. Works offline: no fonts or images are fetched."""
    t = translator(lang)
    geom = from_geojson(grid["geometry"])
    W, H = 1480, 1050
    font = html.escape(FONT)
    duties = _wrap(grid.get("owner_duties") or "", 44)[:9]
    lines = "".join(f'<tspan x="420" dy="{0 if i == 0 else 40}">{_esc(s)}</tspan>' for i, s in enumerate(duties))
    path = grid_svg_path(geom, (1000, 330, 420, 420))
    return f"""<svg xmlns="http://www.w3.org/2000/svg" width="148mm" height="105mm" viewBox="0 0 {W} {H}" font-family="{font}">
<rect x="0" y="0" width="{W}" height="{H}" fill="#ffffff" stroke="#c8102e" stroke-width="8"/>
<rect x="0" y="0" width="{W}" height="150" fill="#c8102e"/>
<text x="60" y="98" font-size="56" font-weight="bold" fill="#ffffff">{_esc(t("maps.card.title"))}</text>
<text x="{W - 60}" y="98" font-size="32" fill="#ffffff" text-anchor="end">{_esc(grid.get("code"))}</text>
<rect x="60" y="200" width="300" height="380" fill="#eef1f4" stroke="#9aa5b1" stroke-width="3" stroke-dasharray="12 8"/>
<circle cx="210" cy="330" r="70" fill="#c3ccd6"/>
<path d="M90,560 C100,440 320,440 330,560 Z" fill="#c3ccd6"/>
<text x="210" y="615" font-size="26" fill="#52606d" text-anchor="middle">{_esc(t("maps.card.photo"))}</text>
<text x="420" y="250" font-size="30" fill="#52606d">{_esc(t("maps.card.owner"))}</text>
<text x="420" y="320" font-size="64" font-weight="bold" fill="#1f2933">{_esc(grid.get("owner_name") or "—")}</text>
<text x="420" y="390" font-size="30" fill="#52606d">{_esc(t("maps.card.phone"))}</text>
<text x="420" y="450" font-size="52" font-weight="bold" fill="#c8102e">{_esc(grid.get("owner_phone") or "—")}</text>
<text x="420" y="520" font-size="30" fill="#52606d">{_esc(t("maps.card.grid"))}: {_esc(grid.get("name"))}</text>
<text x="420" y="565" font-size="30" fill="#52606d">{_esc(t("maps.card.station"))}: {_esc(grid.get("station_name"))}</text>
<text x="420" y="640" font-size="30" fill="#52606d">{_esc(t("maps.card.duties"))}</text>
<text x="420" y="690" font-size="28" fill="#1f2933">{lines}</text>
<path d="{path}" fill="#fde0e3" stroke="#c8102e" stroke-width="4" fill-rule="evenodd"/>
<text x="1210" y="310" font-size="26" fill="#52606d" text-anchor="middle">{_esc(t("maps.card.area", area=f"{float(grid.get('area_km2') or 0):,.2f}"))}</text>
<text x="60" y="{H - 40}" font-size="24" fill="#7b8794">{_esc(t("maps.card.footer"))}</text>
</svg>"""


def contact_card_html(grid: Mapping, lang: str = "zh") -> str:
    """Return a printable HTML page holding the contact card (the SVG inline, print-sized)."""
    t = translator(lang)
    return ("<!doctype html><html><head><meta charset='utf-8'>"
            f"<title>{_esc(t('maps.card.title'))} {_esc(grid.get('code'))}</title>"
            "<style>@page{size:A6 landscape;margin:0}body{margin:0;display:flex;justify-content:center}"
            "svg{width:148mm;height:105mm}</style></head><body>"
            f"{contact_card_svg(grid, lang)}</body></html>")
