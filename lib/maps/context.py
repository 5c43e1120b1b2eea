"""The context layer of every map (行政区划底图): the city and district boundaries around what the map
shows, with their names as labels, so that a map with no background tiles (the offline default) still
reads as the province it is.

What is drawn depends on the scope (`features`):

- province: the city boundaries 地市 with their names, the district boundaries 区县 faint;
- city (or an area 片区 grouping districts): its outline, its districts with their names, and the
  neighbouring cities (touching it) faint with their names;
- district, station or customer manager: the district's outline and name, and the neighbouring
  districts faint with their names.

Boundaries are the org units' own (`org_unit.boundary`: lib.regions or a company's GeoJSON), simplified
for display together as one coverage (`shapely.coverage_simplify`, so neighbours keep sharing their
borders) with a tolerance that grows with the scope (`TOLERANCE_DEG`), and cached per database and
tolerance until a unit's name or boundary changes. The outlines and names of neighbouring units are
no customer data: they are shown whatever the viewer's scope. `add_context` draws the features as one
layer (toggled in the layer control, named `maps.layer.context`) under the grids, the labels in a pane
of their own that hides a label overlapping a more important one at every zoom.
"""
from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import folium
import numpy as np
import shapely
from shapely.geometry import MultiPolygon, Polygon
from shapely.ops import polylabel
from sqlalchemy import Engine

from lib.charts import FONT
from lib.grids import from_geojson
from lib.maps.data import org_boundaries, org_boundary_stamp
from lib.maps.elements import Converter, DataLayer, MapScript, esc, flat_rings, js

# display simplification per scope level (degrees; 0.001° ≈ 100 m): at province zoom a pixel is ≈ 1 km
TOLERANCE_DEG = {"province": 0.01, "city": 0.003, "district": 0.0002}
DECIMALS = {"province": 3, "city": 4, "district": 5}
# roles: the scope's own outline, units inside the scope, sub-units (faint), neighbours outside the scope
ROLES = ("outline", "main", "faint", "neighbour")
_PILL = "background:rgba(255,255,255,.72);padding:0 4px;border-radius:3px"  # readable over stations and fills
STYLES = [  # one per role, in ROLES order (Leaflet path options and the label's CSS)
    {"color": "#1f2933", "weight": 2.6, "opacity": 0.9, "fill": 0,
     "label": f"font-weight:600;font-size:14px;color:#1f2933;{_PILL}"},
    {"color": "#2c3e50", "weight": 2.2, "opacity": 0.85, "fill": 0,
     "label": f"font-weight:600;font-size:13px;color:#24313f;{_PILL}"},
    {"color": "#7b8a99", "weight": 0.7, "opacity": 0.7, "fill": 0, "dash": "3 3", "label": ""},
    {"color": "#8a97a5", "weight": 1.0, "opacity": 0.8, "fill": 0.45, "fillColor": "#e3e7eb",
     "label": "font-size:12px;color:#6b7885"},
]


@dataclass
class _Units:
    """The cities and districts of a database, with their display geometries per tolerance."""

    key: str
    rows: list[dict]  # path, level, name, name_en
    geoms: list  # full geometries (None: no boundary)
    simple: dict[float, list] = field(default_factory=dict)
    labels: dict[tuple, object] = field(default_factory=dict)
    lines: dict[tuple, object] = field(default_factory=dict)

    def simplified(self, tol: float) -> list:
        """Display geometries at `tol`: the districts simplified together; a unit above them that is
        the union of its districts (a city, area, the province) is that union of the simplified
        districts, so its border runs exactly on theirs; any other unit simplified with its level."""
        if tol not in self.simple:
            out: list = [None] * len(self.rows)
            small = (2 * tol) ** 2  # islets smaller than this (deg²) vanish at the scale drawn
            levels = ["district"] + sorted({r["level"] for r in self.rows} - {"district"})
            for level in levels:
                idx = [i for i, r in enumerate(self.rows) if r["level"] == level and self.geoms[i] is not None]
                own = []
                for i in idx:
                    union = self._union_of_districts(i, out) if level != "district" else None
                    if union is not None:
                        out[i] = union
                    else:
                        own.append(i)
                if own:
                    for i, g in zip(own, _simplify([self.geoms[i] for i in own], tol)):
                        out[i] = _without_islets(g, small)
            self.simple[tol] = out
        return self.simple[tol]

    def label(self, tol: float, i: int):
        """Where unit i's name goes at `tol` (cached)."""
        if (tol, i) not in self.labels:
            g = self.simplified(tol)[i]
            self.labels[(tol, i)] = label_point(g) if g is not None else None
        return self.labels[(tol, i)]

    def _union_of_districts(self, i: int, simplified: list):
        """The union of unit i's simplified districts when they cover it (areas within 1 %), else None."""
        path = self.rows[i]["path"]
        ds = [j for j, r in enumerate(self.rows) if r["level"] == "district" and r["path"].startswith(path)
              and simplified[j] is not None]
        if not ds or abs(sum(self.geoms[j].area for j in ds) - self.geoms[i].area) > 0.01 * self.geoms[i].area:
            return None
        parts = np.array([simplified[j] for j in ds], dtype=object)
        try:  # districts simplified as one coverage share their borders exactly: the fast coverage union
            union = shapely.coverage_union_all(parts)
            if isinstance(union, (Polygon, MultiPolygon)) and not union.is_empty:
                return union
        except shapely.errors.GEOSException:
            pass
        return shapely.union_all(parts)

    def edges(self, tol: float, idx: tuple[int, ...]):
        """The borders of units `idx` at `tol` as lines, each shared border once (cached)."""
        key = (tol, idx)
        if key not in self.lines:
            geoms = self.simplified(tol)
            arr = np.array([geoms[i] for i in idx if geoms[i] is not None], dtype=object)
            self.lines[key] = (shapely.line_merge(shapely.union_all(shapely.boundary(arr))) if len(arr)
                               else shapely.LineString())
        return self.lines[key]


_cache: dict[str, _Units] = {}
_lock = threading.Lock()


def _simplify(geoms: list, tol: float) -> list:
    """Simplify polygons for display: together as one coverage when they form one (shared borders stay
    shared), else one by one (topology preserved)."""
    arr = np.array(geoms, dtype=object)
    try:
        if shapely.coverage_is_valid(arr):
            out = shapely.coverage_simplify(arr, tol)
            if not any(g is None or g.is_empty for g in out):
                return list(out)
    except shapely.errors.GEOSException:  # not a coverage GEOS can simplify: one by one
        pass
    return list(shapely.simplify(arr, tol, preserve_topology=True))


def _without_islets(geom, min_area: float):
    """The polygon parts of `geom` at least `min_area` (deg²) large; the largest part whatever its size."""
    parts = [p for p in shapely.get_parts(geom) if isinstance(p, Polygon) and not p.is_empty]
    if not parts:
        return None
    kept = [p for p in parts if p.area >= min_area] or [max(parts, key=lambda p: p.area)]
    return kept[0] if len(kept) == 1 else MultiPolygon(kept)


def label_point(geom) -> tuple[float, float] | None:
    """Where a unit's name goes: the pole of inaccessibility of its largest part (far from every edge,
    inside even a crescent-shaped district), as (lon, lat)."""
    parts = [geom] if isinstance(geom, Polygon) else list(getattr(geom, "geoms", []))
    parts = [p for p in parts if isinstance(p, Polygon) and not p.is_empty]
    if not parts:
        return None
    big = max(parts, key=lambda p: p.area)
    x0, y0, x1, y1 = big.bounds
    p = polylabel(big, tolerance=max(x1 - x0, y1 - y0) / 100)
    return (p.x, p.y)


def _units(engine: Engine) -> _Units:
    """The cached units of `engine`'s database, re-read when a city's or district's name or boundary changed."""
    stamp = org_boundary_stamp(engine)
    key = hashlib.sha1(repr(stamp).encode()).hexdigest()
    url = engine.url.render_as_string(hide_password=True)
    with _lock:
        hit = _cache.get(url)
        if hit is not None and hit.key == key:
            return hit
    df = org_boundaries(engine)
    rows = [{"path": r.path, "level": r.level, "name": r.name, "name_en": r.name_en or ""} for r in df.itertuples()]
    geoms = []
    for text_ in df["boundary"]:
        g = _polygonal(text_)
        geoms.append(g)
    units = _Units(key, rows, geoms)
    with _lock:
        _cache[url] = units
    return units


def _polygonal(text_: str | None):
    if not text_:
        return None
    try:
        g = from_geojson(text_)
    except Exception:  # noqa: BLE001 - an unreadable boundary is left off the context, never breaks a map
        return None
    if not isinstance(g, (Polygon, MultiPolygon)) or g.is_empty:
        return None
    return g if g.is_valid else shapely.make_valid(g)


def _focus(rows: list[dict], scope: str) -> dict | None:
    """The unit whose surroundings the map shows: the scope's own unit, or for a station or a customer
    manager the deepest district (else city) above it."""
    by_path = {r["path"]: r for r in rows}
    if scope in by_path:
        return by_path[scope]
    above = [r for r in rows if scope.startswith(r["path"])]
    return max(above, key=lambda r: len(r["path"])) if above else None


def features(engine: Engine, scope: str) -> dict:
    """Return the context of `scope` as plain data: {"level": province|city|district (the display
    scale), "items": [{name, name_en, role (ROLES), geometry (simplified, WGS-84), label (lon, lat) or
    None}], "lines": {role: the borders of the "main" and "faint" units as lines, each once, without
    the borders of the role above}}, the units of the scope first; no items when no unit has a boundary."""
    units = _units(engine)
    rows = units.rows
    root = min(rows, key=lambda r: len(r["path"])) if rows else None
    focus = _focus(rows, scope)
    if root is None or focus is None:
        return {"level": "district", "items": [], "lines": {}}
    level = "province" if focus is root else "district" if focus["level"] == "district" else "city"
    tol = TOLERANCE_DEG[level]
    geoms = units.simplified(tol)
    inside = [i for i, r in enumerate(rows) if geoms[i] is not None and r["path"].startswith(scope)]
    items: list[tuple[int, str, bool]] = []  # (unit index, role, labelled)
    if level == "province":
        items += [(i, "main", True) for i in inside if rows[i]["level"] == "city"]
        items += [(i, "faint", False) for i in inside if rows[i]["level"] == "district"]
    else:
        fi = rows.index(focus)
        if geoms[fi] is not None:
            items.append((fi, "outline", level == "district"))
        if level == "city":
            items += [(i, "main", True) for i in inside if rows[i]["level"] == "district"]
        ref = geoms[fi] if geoms[fi] is not None else shapely.union_all([geoms[i] for i in inside] or [Polygon()])
        if not ref.is_empty:
            same = [i for i, r in enumerate(rows) if r["level"] == focus["level"] and i != fi and geoms[i] is not None
                    and not r["path"].startswith(focus["path"]) and not focus["path"].startswith(r["path"])]
            near = shapely.dwithin(np.array([geoms[i] for i in same], dtype=object), ref, tol) if same else []
            items += [(i, "neighbour", True) for i, yes in zip(same, near) if yes]
    areas = {i: geoms[i].area for i, _, _ in items}
    items.sort(key=lambda x: (ROLES.index(x[1]), -areas[x[0]]))
    view = _view([geoms[i] for i, role, _ in items if role != "neighbour"])
    out = []
    for i, role, labelled in items:
        label = None
        if labelled:  # a neighbour's name goes on its part near the scope, where the map looks
            label = units.label(tol, i) if role != "neighbour" or view is None else label_point(geoms[i].intersection(view))
        out.append({"name": rows[i]["name"], "name_en": rows[i]["name_en"], "role": role, "geometry": geoms[i],
                    "label": label})
    # the scope's own units as lines, each border once: half the points of their polygons
    by_role = {role: tuple(sorted(i for i, r, _ in items if r == role)) for role in ("outline", "main", "faint")}
    lines = {}
    for role, below in (("main", "outline"), ("faint", "main")):
        if by_role[role]:
            mine = units.edges(tol, by_role[role])
            lines[role] = mine.difference(units.edges(tol, by_role[below])) if by_role[below] else mine
    return {"level": level, "items": out, "lines": lines}


def _view(geoms: list):
    """The box a map of these shapes shows: their bounds with a quarter of their size around them."""
    if not geoms:
        return None
    x0, y0, x1, y1 = shapely.total_bounds(np.array(geoms, dtype=object))
    dx, dy = (x1 - x0) / 4, (y1 - y0) / 4
    return shapely.box(x0 - dx, y0 - dy, x1 + dx, y1 + dy)


def flat_lines(geom, convert: Converter, decimals: int) -> list:
    """[flat line, …] of a (multi)line geometry: [lat, lon, lat, lon, …] rounded, like `flat_rings`."""
    out = []
    for part in shapely.get_parts(geom):
        xy = shapely.get_coordinates(part)
        if len(xy) < 2:
            continue
        x, y = convert(xy[:, 0], xy[:, 1])
        out.append([float(v) for v in np.column_stack([np.round(y, decimals), np.round(x, decimals)]).ravel()])
    return out


def plotly_traces(context: Mapping | None, lang: str) -> list:
    """The context as plotly traces (lon/lat axes) for figures drawn without Leaflet, such as the
    briefing's grid slide: the borders as lines and the names as text, in the styles of the map."""
    import plotly.graph_objects as go

    if not context or not context.get("items"):
        return []
    traces = []
    lines = context.get("lines") or {}
    shapes = [(i["role"], i["geometry"].boundary) for i in context["items"] if i["role"] not in lines]
    for role, geom in [*shapes, *lines.items()]:
        xs: list = []
        ys: list = []
        for part in shapely.get_parts(geom):
            xy = shapely.get_coordinates(part)
            xs += [*xy[:, 0].round(4).tolist(), None]
            ys += [*xy[:, 1].round(4).tolist(), None]
        style = STYLES[ROLES.index(role)]
        traces.append(go.Scatter(x=xs, y=ys, mode="lines", hoverinfo="skip", showlegend=False,
                                 line=dict(color=style["color"], width=style["weight"],
                                           dash="dot" if style.get("dash") else None)))
    named = [i for i in context["items"] if i["label"] is not None]
    if named:
        traces.append(go.Scatter(
            x=[i["label"][0] for i in named], y=[i["label"][1] for i in named], mode="text", hoverinfo="skip",
            showlegend=False, text=[place_name(i["name"], i["name_en"], lang) for i in named],
            textfont=dict(size=[13 if i["role"] != "neighbour" else 11 for i in named],
                          color=["#1f2933" if i["role"] != "neighbour" else "#6b7885" for i in named])))
    return traces


def place_name(name: str, name_en: str, lang: str) -> str:
    """A unit's name as a place on the map: 济南市分公司 → 济南市, "Jinan Branch" → Jinan."""
    if lang == "en" and name_en:
        return name_en.removesuffix(" Branch").removesuffix(" Provincial Company")
    return name.removesuffix("分公司")


def add_context(m: folium.Map, context: Mapping | None, convert: Converter, t: Callable[..., str], lang: str) -> None:
    """Draw `features(...)` on `m` as one layer (boundaries under everything else, names above the
    grids and below the stations); nothing when there is no boundary to draw."""
    if not context or not context.get("items"):
        return
    decimals = DECIMALS.get(context.get("level"), 5)
    rows: list = []
    lines = context.get("lines") or {}
    for item in context["items"]:  # the scope's outline and its neighbours as polygons, the rest as lines
        if item["role"] not in lines:
            rows.append([0, ROLES.index(item["role"]), flat_rings(item["geometry"], convert, decimals)])
    for role, geom in lines.items():
        rows.append([2, ROLES.index(role), flat_lines(geom, convert, decimals)])
    for rank, item in enumerate(x for x in context["items"] if x["label"] is not None):
        x, y = convert(np.array([item["label"][0]]), np.array([item["label"][1]]))
        rows.append([1, ROLES.index(item["role"]), [round(float(y[0]), decimals), round(float(x[0]), decimals),
                                                   esc(place_name(item["name"], item["name_en"], lang)), rank]])
    MapScript(js("context_panes")).add_to(m)
    DataLayer(t("maps.layer.context"), rows, js("context"), {"styles": STYLES, "font": FONT}).add_to(m)
