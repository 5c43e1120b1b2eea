"""Folium building blocks of the maps (地图元素): compact data layers, map scripts, backgrounds and
datums, and the geometry helpers that turn shapely shapes into rounded coordinate arrays.

The JavaScript lives in `lib/maps/js/*.js` (one layer factory per file) and the Jinja templates in
`lib/maps/templates/`; both are read once per process (`js`, `template`).
"""
from __future__ import annotations

import functools
import html
import json
import math
import os
from collections.abc import Callable, Iterable
from pathlib import Path

import folium
import numpy as np
import pandas as pd
import shapely
from branca.element import MacroElement
from jinja2 import Environment, FileSystemLoader, Template, select_autoescape
from shapely.geometry import Polygon

from lib.geo import wgs84_to_gcj02_array

HERE = Path(__file__).resolve().parent
BACKGROUNDS = ("none", "osm", "amap", "intranet")
DECIMALS = 5  # 1e-5° ≈ 1.1 m
OSM_URL = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
AMAP_URL = "https://webrd0{s}.is.autonavi.com/appmaptile?lang=zh_cn&size=1&scale=1&style=8&x={x}&y={y}&z={z}"

_templates = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(["html", "svg"]),
                         keep_trailing_newline=True)


@functools.cache
def js(name: str) -> str:
    """Return the JavaScript of `lib/maps/js/<name>.js` (read once per process), without its
    whole-line `//` comments: they are for the reader, not the browser."""
    lines = (HERE / "js" / f"{name}.js").read_text(encoding="utf-8").splitlines()
    return "\n".join(line for line in lines if not line.lstrip().startswith("//")).strip()


@functools.cache
def template(name: str) -> Template:
    """Return the Jinja template `lib/maps/templates/<name>` (HTML and SVG autoescaped)."""
    return _templates.get_template(name)


def js_json(obj) -> str:
    """JSON for inlining into a <script>: UTF-8 (no \\u escapes, 3× smaller for Chinese) and safe
    against a "</script>" inside a name."""
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).replace("</", "<\\/")


def esc(value) -> str:
    """Return `value` as HTML-escaped text ("" for None and NaN)."""
    return html.escape(plain(value))


def plain(value) -> str:
    """Return `value` as text, "" for None and NaN (for templates that escape by themselves)."""
    return "" if value is None or (isinstance(value, float) and math.isnan(value)) else str(value)


class DataLayer(folium.FeatureGroup):
    """A feature group filled in the browser from a compact JSON array.

    `factory` is a JavaScript function (row, helpers) → Leaflet layer (see `js`); `rows` a list
    of lists. Shown in the layer control like any folium FeatureGroup.
    """

    _template = template("data_layer.js")

    def __init__(self, name: str, rows: list, factory: str, ctx: dict | None = None, show: bool = True,
                 control: bool = True):
        super().__init__(name=name, show=show, control=control)
        self._name = "DataLayer"
        self.rows_json = js_json(rows)
        self.ctx_json = js_json(ctx or {})
        self.factory = factory
        self.row_count = len(rows)


class MapScript(MacroElement):
    """A piece of script run once the map exists, with `map` and `ctx` (JSON of `ctx`) in scope."""

    _template = template("map_script.js")

    def __init__(self, code: str, ctx: dict | None = None):
        super().__init__()
        self._name = "MapScript"
        self.code = code
        self.ctx_json = js_json(ctx or {})


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


Converter = Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]


def converter(datum: str) -> Converter:
    """Return the (lon, lat) arrays → (x, y) arrays conversion of WGS-84 data onto `datum` tiles."""
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


def base_map(bounds, background: str, t: Callable[..., str], zoom_snap: float = 0.25) -> folium.Map:
    """Return an empty folium map fitted to `bounds` ([[south, west], [north, east]]) on `background`;
    `zoom_snap` 1 for a map drawn inside a hidden tab (a fractional fit to a container of no size yet
    zooms out to the whole world)."""
    centre = [(bounds[0][0] + bounds[1][0]) / 2, (bounds[0][1] + bounds[1][1]) / 2] if bounds else [36.5, 118.5]
    # quarter zoom steps: the province (or a city) fills the map instead of a third of it
    m = folium.Map(location=centre, zoom_start=9, tiles=None, control_scale=False, prefer_canvas=False,
                   zoom_snap=zoom_snap, zoom_delta=max(zoom_snap, 0.5))
    MapScript("L.control.scale({imperial: false}).addTo(map);").add_to(m)  # km only (folium's adds miles)
    _add_background(m, background, t)
    if background == "none":
        MapScript(js("plain_background")).add_to(m)
    if bounds:
        m.fit_bounds(bounds)
        # a map drawn while its tab was hidden had no size when it was fitted: fit again once it has one
        MapScript("var el = map.getContainer(), was = el.clientWidth * el.clientHeight;"
                  "new ResizeObserver(function () { var now = el.clientWidth * el.clientHeight;"
                  " if (now > 0 && was === 0) { map.invalidateSize(); map.fitBounds(ctx.bounds); } was = now; })"
                  ".observe(el);", {"bounds": bounds}).add_to(m)
    return m


# --- geometry helpers ---------------------------------------------------------------------------


def flat_rings(geom, convert: Converter, decimals: int = DECIMALS) -> list:
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


def simplify(geoms: list, tolerance: float) -> list:
    """Return the shapes simplified with `tolerance` degrees, topology preserved."""
    arr = np.array(geoms, dtype=object)
    if not len(arr):
        return []
    return list(shapely.simplify(arr, tolerance, preserve_topology=True))


def bounds(geoms: Iterable, convert: Converter) -> list[list[float]] | None:
    """Return [[south, west], [north, east]] around the shapes on the drawing datum (None: no shape)."""
    geoms = [g for g in geoms if g is not None and not g.is_empty]
    if not geoms:
        return None
    b = shapely.total_bounds(np.array(geoms, dtype=object))
    x, y = convert(np.array([b[0], b[2]]), np.array([b[1], b[3]]))
    return [[float(y[0]), float(x[0])], [float(y[1]), float(x[1])]]


def points(df: pd.DataFrame, convert: Converter) -> tuple[np.ndarray, np.ndarray]:
    """Return the rows' (lat, lon) on the drawing datum, rounded to `DECIMALS`."""
    x, y = convert(df["lon"].to_numpy(float), df["lat"].to_numpy(float))
    return np.round(y, DECIMALS), np.round(x, DECIMALS)
