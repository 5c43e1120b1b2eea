"""The grid owner's service contact card 服务联系方式卡 (000 §3.2.2): a standalone SVG and a
printable HTML page (templates/contact_card.svg and .html). Works offline: no fonts or images
are fetched."""
from __future__ import annotations

import math
from collections.abc import Mapping

from shapely.geometry import Polygon

from lib.charts import FONT
from lib.grids import from_geojson
from lib.i18n import translator
from lib.maps.elements import plain, template

WIDTH, HEIGHT = 1480, 1050  # SVG units, A6 landscape proportions (148 × 105 mm)


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
    shape, station and grid code."""
    t = translator(lang)
    return template("contact_card.svg").render(
        W=WIDTH, H=HEIGHT, font=FONT, title=t("maps.card.title"), code=plain(grid.get("code")),
        photo=t("maps.card.photo"), owner_label=t("maps.card.owner"), owner=plain(grid.get("owner_name")) or "—",
        phone_label=t("maps.card.phone"), phone=plain(grid.get("owner_phone")) or "—",
        grid_label=t("maps.card.grid"), grid=plain(grid.get("name")),
        station_label=t("maps.card.station"), station=plain(grid.get("station_name")),
        duties_label=t("maps.card.duties"), duties=_wrap(plain(grid.get("owner_duties")), 44)[:9],
        path=grid_svg_path(from_geojson(grid["geometry"]), (1000, 330, 420, 420)),
        area=t("maps.card.area", area=f"{float(grid.get('area_km2') or 0):,.2f}"), footer=t("maps.card.footer"),
    ).strip()


def contact_card_html(grid: Mapping, lang: str = "zh") -> str:
    """Return a printable HTML page holding the contact card (the SVG inline, print-sized)."""
    t = translator(lang)
    return template("contact_card.html").render(
        title=t("maps.card.title"), code=plain(grid.get("code")), svg=contact_card_svg(grid, lang)).strip()
