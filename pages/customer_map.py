"""Station customer map 客户地图 (004 Jilin): rings around a station with counts of existing, potential
and competitor customers, and the potential customers nearest first."""
import streamlit as st
from streamlit_folium import st_folium

from lib import maps, ui

ctx = ui.guard("pages/customer_map.py")
t = ctx.t
K = ui.Keys.CustomerMap
st.title(t("page.customer_map"))
st.caption(ui.md(t, "maps.rings.subtitle", scope=ui.scope_name(ctx)))

stations = ui.cached(maps.data.stations)(ctx.engine, ctx.scope)
if stations.empty:
    st.info(t("maps.rings.no_station"))
    st.stop()
names = dict(zip(stations["id"], stations["name"] + " · " + stations["code"]))
c1, c2, c3 = st.columns([3, 2, 2])
station_id = c1.selectbox(t("maps.rings.station"), list(names), format_func=names.get, key=K.STATION)
radii_text = c2.text_input(t("maps.rings.radii"), value="1, 3, 5", key=K.RADII)
background = c3.selectbox(t("maps.background"), maps.available_backgrounds(), key=K.BACKGROUND,
                          format_func=lambda x: t(f"maps.bg.{x}"))
try:
    radii = maps.parse_radii(radii_text)
    result = ui.cached(maps.customer_rings)(ctx.engine, int(station_id), radii, scope=ctx.scope)
except ValueError as exc:
    st.error(ui.md(t, "common.invalid", reason=str(exc)))
    st.stop()

left, right = st.columns([3, 2])
with left:
    drawn = maps.ring_map(result, background=background, lang=ctx.lang,
                          asset_base=ui.map_asset_base())
    st_folium(drawn.map, key=K.MAP, height=600, use_container_width=True, returned_objects=[])
    if drawn.capped:
        shown, total = drawn.capped
        st.caption(ui.md(t, "maps.rings.capped", shown=f"{shown:,}", total=f"{total:,}"))
with right:
    st.subheader(t("maps.rings.counts"))
    st.dataframe(maps.labelled(result["rings"].drop(columns=["inner_km", "outer_km"]), t), hide_index=True,
                 key=K.RINGS)
    st.subheader(ui.md(t, "maps.rings.potential", n=len(result["potential"])))
    st.dataframe(maps.labelled(result["potential"], t), hide_index=True, key=K.POTENTIAL)
