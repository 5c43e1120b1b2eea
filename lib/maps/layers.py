"""Map layers (地图图层): the grid map 网格地图 and the station customer map 客户地图 as folium maps.

`grid_map(engine, scope, month, **options) -> MapResult` is the one builder behind the grid map
page. It is built for province scale (DOMAIN §1; issue 4 asks ≤ 3 MB at 100,000 customers):

- customers are drawn one by one only when the scope is a district or smaller **and** a layer
  holds at most `MAX_POINTS`; otherwise each grid gets one aggregate circle (count by tier in
  its tooltip);
- the heat layer sums volume into cells (about 1 km at province scale) instead of one point per
  customer;
- polygons are simplified (shapely, topology preserved) with a tolerance that grows with the
  scope, and every coordinate is rounded to 1e-5° (about 1 m);
- points and polygons travel as compact JSON arrays and are turned into Leaflet layers by a few
  lines of JavaScript (`lib/maps/js/`), instead of one folium object (and one block of script)
  per feature;
- customer points are drawn on a canvas, grids as SVG paths (clickable, with tooltips).

Background tiles: none by default (boundaries only, works offline), OpenStreetMap (WGS-84),
AMap/Gaode 高德 (GCJ-02: every point and polygon is converted WGS-84 → GCJ-02 so it sits on
the streets of those tiles) and an intranet tile server (`GRIDCRM_TILE_URL`, datum in
`GRIDCRM_TILE_DATUM`: wgs84 (default) or gcj02). Leaflet itself comes from `lib.maps.assets`.
"""
from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

import folium
import folium.plugins
import numpy as np
import pandas as pd
from sqlalchemy import Engine

from lib.charts import FONT, TIER_COLOURS
from lib.grids import from_geojson
from lib.i18n import translator
from lib.maps.assets import localize
from lib.maps.context import add_context
from lib.maps.context import features as context_features
from lib.maps.data import MAX_POINTS, STATUS_GROUPS, grid_map_data
from lib.maps.elements import (
    DECIMALS,
    Converter,
    DataLayer,
    MapScript,
    background_datum,
    base_map,
    bounds,
    converter,
    esc,
    flat_rings,
    js,
    points,
    simplify,
    template,
)
from lib.rules import TIERS

MEASURES = ("customers", "volume", "volume_per_customer", "plan_completion",
            "entry_rate", "fill_up_rate", "return_rate", "pass_through_rate")
RATE_MEASURES = ("plan_completion", "entry_rate", "fill_up_rate", "return_rate", "pass_through_rate")
LAYERS = ("grids", "stations", "own", "potential", "competitor", "competitor_stations", "heat", "partition")
DEFAULT_LAYERS = ("grids", "stations", "own", "competitor_stations", "partition")
GRADES = ("graded", "regular", "reform")
FRAMED_LEVELS = ("province", "city", "district")  # the grid map frames these scopes' whole boundary
SIMPLIFY_DEG = {"province": 0.001, "city": 0.0003, "district": 0.00003, "station": 0.00001, "manager": 0.00001}
DECIMALS_BY_LEVEL = {"province": 4, "city": 4}  # 1e-4° ≈ 11 m: finer than a pixel at those scales
PALETTE = ("#fee8c8", "#fdbb84", "#fc8d59", "#e34a33", "#b30000")  # low → high (5 classes)
NO_DATA = "#d9d9d9"
GROUP_COLOURS = {"potential": "#2e8b57", "competitor": "#444444"}
GRADE_STYLE = {  # DOMAIN §9 / 001 Chongqing: icon colour per station grade
    "graded": "#c8102e", "regular": "#2f6fa3", "reform": "#8a8a8a",
}
RING_COLOURS = {"existing": "#2f6fa3", "potential": "#2e8b57", "competitor": "#444444", "lost": "#b0b0b0"}


@dataclass(frozen=True)
class MapResult:
    """A built map 地图 and what the page says beside it.

    `aggregated`: grid map, {customer group: customers} drawn per grid instead of one by one;
    `capped`: customer map, (shown, total) when existing customers beyond the nearest were left off.
    """

    map: folium.Map
    level: str = ""
    grids: int = 0
    aggregated: Mapping[str, int] = field(default_factory=dict)
    capped: tuple[int, int] | None = None


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


def legend_html(measure: str, edges: list[float], t: Callable[..., str], layers: set[str]) -> str:
    """Return the legend 图例 of the grid map as HTML (templates/legend.html)."""
    classes = []
    for i in range(max(len(edges) - 1, 1) if edges else 0):  # no values at all: the one "no data" row below
        lo, hi = (edges[i], edges[i + 1]) if len(edges) > 1 else (edges[0], edges[0])
        label = f"{format_measure(lo, measure, t)} – {format_measure(hi, measure, t)}"
        classes.append((colour_for(lo, edges), label))
    classes.append((NO_DATA, t("fmt.no_data")))
    grades = []
    if "stations" in layers:
        grades = [(GRADE_STYLE[g], t(f"maps.glyph.{g}"), t(f"maps.grade.{g}")) for g in GRADES]
    customers = []
    if layers & {"own", "potential", "competitor"}:
        customers = [(TIER_COLOURS[tier], t(f"tier.{tier}")) for tier in reversed(TIERS)]
        customers += [(GROUP_COLOURS[grp], t(f"maps.layer.{grp}")) for grp in ("potential", "competitor")]
    return template("legend.html").render(
        title=t("maps.legend.title"), measure=t(f"maps.measure.{measure}"), classes=classes,
        stations=t("maps.layer.stations"), grades=grades, customers_title=t("maps.legend.customers"),
        customers=customers, problem=t("maps.legend.problem") if "partition" in layers else "",
    ).replace("\n", "")


# --- the grid map -------------------------------------------------------------------------------


def grid_map(engine: Engine, scope: str, month: str, *, measure: str = "customers", background: str = "none",
             layers: Iterable[str] | None = None, lang: str = "zh", data: Mapping | None = None,
             partition: Mapping | None = None, selected: str | None = None, asset_base: str | None = None,
             max_points: int = MAX_POINTS) -> MapResult:
    """Return the grid map 网格地图 of `scope` in `month` (a `MapResult`).

    Options: `measure` (MEASURES) colours the grids, with a legend; `background` (BACKGROUNDS);
    `layers` (subset of LAYERS, default DEFAULT_LAYERS: only these are sent to the browser, where
    the layer control toggles them; the grids are always sent, hidden when not asked for); `data` =
    `grid_map_data(...)` when the caller cached it; `partition` = {district: PartitionReport} whose
    gaps and overlaps are drawn in red; `selected` = grid code to outline; `asset_base` = URL of
    the local Leaflet copies (lib.maps.assets). The map's grid polygons carry tooltips beginning
    with the grid code (the page finds the clicked grid from it).
    """
    t = translator(lang)
    shown = _shown_layers(layers)
    data = data if data is not None else grid_map_data(engine, scope, month, max_points)
    convert = converter(background_datum(background))
    grids = data["grids"].reset_index(drop=True)
    geoms = [from_geojson(x) for x in grids["geometry"]]
    context = context_features(engine, scope)
    # the grids and, above a station, the scope's own boundaries (day one, issue 13: a city with the
    # grids of a few districts only, or none yet, is still shown whole); else the stations
    own = [x["geometry"] for x in context["items"] if x["role"] != "neighbour"] if data["level"] in FRAMED_LEVELS else []
    box = bounds(geoms + own, convert) or _stations_box(data["stations"], convert)
    if box and data["level"] not in ("province", "city"):  # room for the neighbouring districts' names
        dy, dx = (box[1][0] - box[0][0]) * 0.12, (box[1][1] - box[0][1]) * 0.12
        box = [[box[0][0] - dy, box[0][1] - dx], [box[1][0] + dy, box[1][1] + dx]]
    m = base_map(box, background, t)
    add_context(m, context, convert, t, lang)
    edges = _add_grids(m, data, geoms, measure, background, selected, "grids" in shown, convert, t)
    if partition and "partition" in shown:
        _add_partition(m, partition, convert, t)
    if "stations" in shown:
        _add_stations(m, data["stations"], data["level"], convert, t)
    for grp in STATUS_GROUPS:
        if grp in shown:
            _add_customers(m, data, geoms, grp, convert, t)
    if "competitor_stations" in shown:
        _add_competitor_stations(m, data["competitor_stations"], convert, t)
    if "heat" in shown:
        _add_heat(m, data["heat"], convert, t)
    MapScript(js("legend"), {"html": legend_html(measure, edges, t, shown), "font": FONT}).add_to(m)
    folium.LayerControl(collapsed=True).add_to(m)
    localize(m, asset_base)
    return MapResult(m, level=data["level"], grids=len(grids), aggregated=dict(data["aggregated"]))


def _stations_box(stations: pd.DataFrame, convert: Converter, pad_deg: float = 0.02) -> list[list[float]] | None:
    """[[south, west], [north, east]] around the stations with `pad_deg` around them (None: no station)."""
    if not len(stations):
        return None
    lat, lon = points(stations, convert)
    return [[float(lat.min()) - pad_deg, float(lon.min()) - pad_deg], [float(lat.max()) + pad_deg, float(lon.max()) + pad_deg]]


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


def _shown_layers(layers: Iterable[str] | None) -> set[str]:
    shown = set(DEFAULT_LAYERS if layers is None else layers)
    unknown = shown - set(LAYERS)
    if unknown:
        raise ValueError(f"unknown layers {sorted(unknown)}")
    return shown


def _add_grids(m: folium.Map, data: Mapping, geoms: list, measure: str, background: str, selected: str | None,
               show: bool, convert: Converter, t) -> list[float]:
    """Draw the grids coloured by the measure; return the class edges (for the legend)."""
    g = data["grids"].reset_index(drop=True)
    values = measure_values(data, measure)
    edges = class_breaks(values.to_numpy())
    simplified = simplify(geoms, SIMPLIFY_DEG.get(data["level"], 0.0002))
    rows = []
    for rec, geom in zip(g.to_dict("records"), simplified):
        v = values.get(rec["id"], np.nan)
        rows.append([esc(rec["code"]), esc(rec["name"]), esc(rec["owner_name"]) or "—", esc(rec["station_name"]),
                     format_measure(v, measure, t), colour_for(v, edges),
                     flat_rings(geom, convert, DECIMALS_BY_LEVEL.get(data["level"], DECIMALS))])
    DataLayer(t("maps.layer.grids"), rows, js("grid_polygon"), {
        "owner": t("maps.owner"), "station": t("maps.station"), "measure": t(f"maps.measure.{measure}"),
        "selected": selected, "line": "#1f2933" if background == "none" else "#0b3d91",
        "fill": 0.55 if background == "none" else 0.35,
    }, show=show).add_to(m)
    return edges


def _add_partition(m: folium.Map, partition: Mapping, convert: Converter, t) -> None:
    """Draw the gaps and overlaps of the scope's districts (全覆盖、无交叉) in red."""
    rows = [row for report in partition.values() for row in problem_rows(report, convert, t)]
    if rows:
        DataLayer(t("maps.layer.partition"), rows, js("problem")).add_to(m)


def _add_stations(m: folium.Map, stations: pd.DataFrame, level: str, convert: Converter, t) -> None:
    """Draw the stations, icon by grade (DOMAIN §9)."""
    if not len(stations):
        return
    lat, lon = points(stations, convert)
    rows = [[float(a), float(b), GRADES.index(gr if gr in GRADES else "regular"),
             f"<b>{esc(name)}</b> {esc(code)}<br>{esc(t(f'maps.grade.{gr}' if gr in GRADES else 'maps.grade.regular'))}"
             f" · {esc(t('maps.daily_sales', value=f'{ds:,.1f}'))}"]
            for a, b, gr, name, code, ds in zip(lat, lon, stations["grade"], stations["name"], stations["code"],
                                                stations["daily_sales_t"])]
    DataLayer(t("maps.layer.stations"), rows, js("station"), {
        "colours": [GRADE_STYLE[x] for x in GRADES], "glyphs": [t(f"maps.glyph.{x}") for x in GRADES],
        "size": {"province": 9, "city": 12}.get(level, 20),  # hundreds of stations at province scale
    }).add_to(m)


def _add_customers(m: folium.Map, data: Mapping, geoms: list, grp: str, convert: Converter, t) -> None:
    """Draw one customer group (own by tier, potential, competitor): one by one, or per grid when
    `grid_map_data` left the points out."""
    name = t(f"maps.layer.{grp}")
    pts = data["points"].get(grp)
    if pts is None:
        rows = _aggregate_rows(data, geoms, grp, convert, t)
        if rows:
            DataLayer(name + " · " + t("maps.per_grid"), rows, js("grid_aggregate"), {
                "colour": TIER_COLOURS["city"] if grp == "own" else GROUP_COLOURS[grp], "canvas": True,
            }).add_to(m)
        return
    if not len(pts):
        return
    lat, lon = points(pts, convert)
    if grp == "own":
        kinds = [TIERS.index(x) if x in TIERS else 0 for x in pts["tier"]]
        colours = [TIER_COLOURS[x] for x in TIERS]
    else:
        kinds = [0] * len(pts)
        colours = [GROUP_COLOURS[grp]]
    tiers = [t(f"tier.{x}") if x in TIERS else "" for x in pts["tier"]]
    rows = [[float(a), float(b), k, f"{esc(n)} · {esc(c)}<br>{esc(tr)} · {vol:,.1f} t"]
            for a, b, k, n, c, tr, vol in zip(lat, lon, kinds, pts["name"], pts["code"], tiers, pts["volume_t"])]
    DataLayer(name, rows, js("customer_point"), {"colours": colours, "radius": 4 if len(rows) < 2000 else 3,
                                                 "canvas": True}).add_to(m)


def _add_competitor_stations(m: folium.Map, comp: pd.DataFrame, convert: Converter, t) -> None:
    if not len(comp):
        return
    lat, lon = points(comp, convert)
    rows = [[float(a), float(b), f"{esc(n)} · {esc(br)}"] for a, b, n, br in zip(lat, lon, comp["name"], comp["brand"])]
    DataLayer(t("maps.layer.competitor_stations"), rows, js("competitor_station")).add_to(m)


def _add_heat(m: folium.Map, heat: pd.DataFrame, convert: Converter, t) -> None:
    """Draw the volume heat layer (weights scaled to the largest cell)."""
    if not len(heat):
        return
    lat, lon = points(heat, convert)
    w = heat["volume_t"].to_numpy(float)
    w = np.round(w / w.max(), 3) if w.max() > 0 else w
    folium.plugins.HeatMap([[float(a), float(b), float(c)] for a, b, c in zip(lat, lon, w) if c > 0],
                           name=t("maps.layer.heat"), radius=18, blur=14, min_opacity=0.25).add_to(m)


def problem_rows(report, convert: Converter, t, decimals: int = DECIMALS) -> list:
    """Return DataLayer rows [tooltip, rings] for the gaps, overlaps and outside pieces of a report."""
    rows = []
    pairs = report.overlaps
    if len(report.overlap_geoms) == len(pairs):
        labels = [t("maps.problem.overlap", a=a, b=b, area=f"{m2:,.0f}") for a, b, m2 in pairs]
    else:  # a pair overlapping in several pieces: every piece names all pairs
        label = "; ".join(t("maps.problem.overlap", a=a, b=b, area=f"{m2:,.0f}") for a, b, m2 in pairs)
        labels = [label] * len(report.overlap_geoms)
    rows += [[esc(lb), flat_rings(geom, convert, decimals)] for lb, geom in zip(labels, report.overlap_geoms)]
    rows += [[esc(t("maps.problem.gap", area=f"{m2:,.0f}")), flat_rings(geom, convert, decimals)]
             for m2, geom in zip(report.gaps, report.gap_geoms)]
    if len(report.outside_geoms) == len(report.outside):
        rows += [[esc(t("maps.problem.outside", grid=gid, area=f"{m2:,.0f}")), flat_rings(geom, convert, decimals)]
                 for (gid, m2), geom in zip(report.outside, report.outside_geoms)]
    else:
        label = "; ".join(t("maps.problem.outside", grid=gid, area=f"{m2:,.0f}") for gid, m2 in report.outside)
        rows += [[esc(label), flat_rings(geom, convert, decimals)] for geom in report.outside_geoms]
    return rows


def _aggregate_rows(data: Mapping, geoms: list, grp: str, convert: Converter, t) -> list:
    """Return one circle row per grid [lat, lon, radius, tooltip] for a customer group."""
    g = data["grids"].reset_index(drop=True)
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
        parts = " · ".join(f"{esc(t(f'tier.{tier}'))} {int(by_grid.loc[gid, tier]):,}"
                           for tier in reversed(TIERS) if tier in by_grid.columns and by_grid.loc[gid, tier] > 0)
        tip = f"{esc(g.loc[i, 'code'])} {esc(t(f'maps.layer.{grp}'))} {int(n):,}" + (f"<br>{parts}" if grp == "own" else "")
        rows.append([round(float(y[0]), DECIMALS), round(float(x[0]), DECIMALS),
                     round(4 + 14 * math.sqrt(n / biggest), 1), tip])
    return rows


# --- station customer map (客户地图) -------------------------------------------------------------


def ring_map(result: Mapping, *, background: str = "none", lang: str = "zh", asset_base: str | None = None,
             max_points: int = MAX_POINTS) -> MapResult:
    """Return the map of a `customer_rings` result (a `MapResult`): the rings as circles around
    the station, customers coloured by status (existing, potential, competitor). Existing
    customers beyond the nearest `max_points` are left off the map (a city-centre station has tens
    of thousands within 5 km); potential and competitor customers, the ones to win, are all drawn.
    `capped` = (shown, total) when existing customers were left off."""
    t = translator(lang)
    convert = converter(background_datum(background))
    st = result["station"]
    sx, sy = convert(np.array([st["lon"]]), np.array([st["lat"]]))
    centre = [float(sy[0]), float(sx[0])]
    r_max = result["radii_km"][-1]
    dlat = r_max / 110.574
    dlon = r_max / (111.320 * math.cos(math.radians(centre[0])))
    m = base_map([[centre[0] - dlat, centre[1] - dlon], [centre[0] + dlat, centre[1] + dlon]], background, t)
    add_context(m, result.get("context"), convert, t, lang)
    for r in reversed(result["radii_km"]):
        folium.Circle(centre, radius=r * 1000, color="#c8102e", weight=1.5, fill=False, dash_array="6 4",
                      tooltip=f"{r:g} km").add_to(m)
    capped = _add_ring_customers(m, result["customers"], max_points, convert, t)
    grade = st.get("grade") if st.get("grade") in GRADES else "regular"
    DataLayer(t("maps.layer.stations"), [[centre[0], centre[1], GRADES.index(grade), f"<b>{esc(st['name'])}</b>"]],
              js("station"), {"colours": [GRADE_STYLE[x] for x in GRADES],
                              "glyphs": [t(f"maps.glyph.{x}") for x in GRADES]}).add_to(m)
    folium.LayerControl(collapsed=False).add_to(m)
    localize(m, asset_base)
    return MapResult(m, capped=capped)


def _add_ring_customers(m: folium.Map, cust: pd.DataFrame, max_points: int, convert: Converter, t) -> tuple | None:
    """Draw the customers around the station by status; return (shown, total) when existing
    customers beyond the nearest `max_points` were left off (rows come nearest first)."""
    statuses = list(RING_COLOURS)
    capped = None
    for status in ("existing", "potential", "competitor"):
        sub = cust.loc[cust["status"] == status]
        if sub.empty:
            continue
        if status == "existing" and len(sub) > max_points:
            capped = (max_points, len(sub))
            sub = sub.head(max_points)
        lat, lon = points(sub, convert)
        rows = [[float(a), float(b), statuses.index(status), f"{esc(n)} · {esc(c)}<br>{d:.2f} km"]
                for a, b, n, c, d in zip(lat, lon, sub["name"], sub["code"], sub["distance_km"])]
        DataLayer(t(f"maps.status.{status}"), rows, js("ring_customer"),
                  {"colours": [RING_COLOURS[s] for s in statuses], "canvas": True}).add_to(m)
    return capped
