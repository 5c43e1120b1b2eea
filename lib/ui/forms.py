"""Form widgets from a field spec 表单控件: one widget per `lib.validation.Field`, chosen by its check,
so a field added to a spec (e.g. `lib.customers.FIELDS`) appears on its form with no page code.

| check            | widget                                                                   |
|------------------|--------------------------------------------------------------------------|
| text (and "own") | text_input (max_chars = max_len for text)                                |
| number, integer  | number_input bounded by lo/hi                                            |
| choice           | selectbox with the value labels of its vocabulary (`val.<vocab>.<x>`), a |
|                  | blank ("—") first when the field is optional and has no default          |
| flag             | checkbox                                                                 |
| month            | text_input with the placeholder YYYY-MM                                  |
| date             | date_input                                                               |

The value returned is what the spec's checks take (lib.validation.text_cell turns it into a cell).

A location 位置 (lon/lat, WGS-84) is typed (`coordinate_input`) or picked on a small map
(`location_picker`: a click on the folium map through streamlit-folium sets both fields).
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pandas as pd
import streamlit as st

from lib import vocab
from lib.ui.keys import Keys
from lib.validation import Field

_JS_INT = 2**53 - 1  # a number_input bound beyond this is not exact in the browser


def field_label(t: Callable[..., str], field: Field) -> str:
    """The field's label: its column label col.<key> (the key itself without one)."""
    return vocab.column_label(t, field.key)


def _missing(value) -> bool:
    return value is None or (isinstance(value, float) and value != value)


def _date(value) -> dt.date | None:
    if _missing(value) or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


def field_widget(container, field: Field, value, t: Callable[..., str], key: str, *, vocabulary: str | None = None,
                 locked: str | None = None):
    """Draw the widget for `field` in `container` (st, a column, a form), prefilled with `value`
    (None: the field's default, else the widget's blank or first option); return the entered value.

    `vocabulary` names the value labels of a choice where they differ from the column's default in
    lib.vocab.COLUMN_VALUES (e.g. "customer_status" for a customer's status). `locked`: the reason the
    user may not change this field (e.g. lib.customers.locked_fields): the widget is disabled, the
    reason its help, and it returns the value shown.
    """
    kw = {"key": key, "disabled": bool(locked), "help": locked or None}
    label = field_label(t, field)
    if _missing(value):
        value = field.default
    check = field.check
    if check in ("number", "integer"):
        integer = check == "integer"
        lo, hi = field.lo, min(field.hi, _JS_INT)
        lo, hi = (int(lo), int(hi)) if integer else (float(lo), float(hi))
        shown = None if _missing(value) else (int(value) if integer else float(value))
        if shown is not None and not lo <= shown <= hi:  # keep an out-of-range stored value: the check names it
            lo = hi = None
        return container.number_input(label, min_value=lo, max_value=hi, value=shown, step=1 if integer else None,
                                      **kw)
    if check == "choice":
        voc = vocabulary or vocab.COLUMN_VALUES.get(field.key)
        options = list(field.options)
        if not field.required and field.default is None:
            options = [None, *options]
        index = options.index(value) if value in options else 0
        return container.selectbox(
            label, options, index, **kw,
            format_func=lambda x: "—" if x is None else t(vocab.value_key(voc, x)) if voc else str(x))
    if check == "flag":
        return container.checkbox(label, bool(value), **kw)
    if check == "month":
        return container.text_input(label, "" if _missing(value) else str(value), placeholder="YYYY-MM", **kw)
    if check == "date":
        return container.date_input(label, _date(value), **kw)
    text = "" if _missing(value) else str(value)
    if check == "text":
        return container.text_input(label, text, max_chars=field.max_len, **kw)
    return container.text_input(label, text, **kw)  # "own" checks (phone, credit code …): free text


# --- location 位置 ---------------------------------------------------------------------------------

COORD_DECIMALS = 6  # about 0.1 m: finer than any click


def coordinate_input(container, field: Field, value, t: Callable[..., str], key: str):
    """A lon or lat number input bounded by the field's range, whose value `location_picker` may set
    through the session state (so it takes no `value` argument: the session state holds it)."""
    if key not in st.session_state:
        st.session_state[key] = None if _missing(value) else round(float(value), COORD_DECIMALS)
    return container.number_input(field_label(t, field), min_value=float(field.lo), max_value=float(field.hi),
                                  step=0.0001, format=f"%.{COORD_DECIMALS}f", key=key)


def clicked_point(out: dict | None, background: str = "none") -> tuple[float, float] | None:
    """The WGS-84 (lon, lat) of the last click on a st_folium map (None without a click); a click on
    GCJ-02 tiles (AMap) is converted back (lib.geo)."""
    from lib import geo
    from lib.maps import background_datum

    click = (out or {}).get("last_clicked")
    if not click or click.get("lng") is None or click.get("lat") is None:
        return None
    lon, lat = float(click["lng"]), float(click["lat"])
    if background_datum(background) == "gcj02":
        lon, lat = geo.gcj02_to_wgs84(lon, lat)
    return round(lon, COORD_DECIMALS), round(lat, COORD_DECIMALS)


def location_map(stations: pd.DataFrame, point: tuple[float, float] | None, t: Callable[..., str],
                 background: str = "none", asset_base: str | None = None):
    """A small folium map for picking a location: the stations (name on hover) for orientation and
    the point picked so far; fitted to the point, else to the stations."""
    import folium

    from lib.maps import assets
    from lib.maps.elements import background_datum, base_map, converter

    convert = converter(background_datum(background))
    located = stations.dropna(subset=["lon", "lat"]) if len(stations) else stations
    xs, ys = convert(located["lon"].to_numpy(dtype=float), located["lat"].to_numpy(dtype=float)) if len(located) \
        else ([], [])
    if point is not None:
        px, py = convert([point[0]], [point[1]])
        d = 0.01
        bounds = [[float(py[0]) - d, float(px[0]) - d], [float(py[0]) + d, float(px[0]) + d]]
    elif len(located):
        bounds = [[float(min(ys)) - 0.01, float(min(xs)) - 0.01], [float(max(ys)) + 0.01, float(max(xs)) + 0.01]]
    else:
        bounds = None
    m = base_map(bounds, background, t, zoom_snap=1)  # drawn in a tab that may be hidden
    for x, y, name in zip(xs, ys, located["name"] if len(located) else []):
        folium.CircleMarker([float(y), float(x)], radius=5, color="#1f4e79", fill=True, fill_opacity=0.9,
                            tooltip=str(name)).add_to(m)
    if point is not None:
        folium.CircleMarker([float(py[0]), float(px[0])], radius=8, color="#c8102e", weight=3, fill=True,
                            fill_color="#ffffff", fill_opacity=1.0, tooltip=t("loc.picked")).add_to(m)  # no icon image
    assets.localize(m, asset_base)
    return m


def location_picker(t: Callable[..., str], key: str, lon_key: str, lat_key: str, stations: pd.DataFrame,
                    background: str = "none") -> None:
    """Draw the pick-a-location map (`location_map`); a new click sets the lon and lat inputs
    `lon_key`/`lat_key` (drawn after this, with `coordinate_input`). Typed values are kept until the
    next click."""
    from streamlit_folium import st_folium

    from lib.ui.map_assets import map_asset_base

    lon, lat = st.session_state.get(lon_key), st.session_state.get(lat_key)
    point = None if lon is None or lat is None else (float(lon), float(lat))
    out = st_folium(location_map(stations, point, t, background, map_asset_base()), key=key, height=300,
                    use_container_width=True, returned_objects=["last_clicked"])
    picked = clicked_point(out, background)
    applied = Keys.row(key, "applied")
    if picked is not None and st.session_state.get(applied) != picked:
        st.session_state[applied] = picked
        st.session_state[lon_key], st.session_state[lat_key] = picked
        st.rerun()
