"""Grid map 网格地图: grids coloured by a measure, stations, customers, heat; a clicked grid's panel
with its owner's contact card; the district partition check (全覆盖、无交叉)."""
import streamlit as st
from streamlit_folium import st_folium

from lib import charts, fmt, maps, ui

ctx = ui.guard("pages/grid_map.py")
t = ctx.t
K = ui.Keys.GridMap
st.title(t("page.grid_map"))
st.caption(ui.md(t, "maps.subtitle", scope=ui.scope_name(ctx), month=ctx.month))

c1, c2, c3 = st.columns([2, 2, 5])
measure = c1.selectbox(t("maps.pick_measure"), maps.MEASURES, key=K.MEASURE,
                       format_func=lambda x: t(f"maps.measure.{x}"))
background = c2.selectbox(t("maps.background"), maps.available_backgrounds(), key=K.BACKGROUND,
                          format_func=lambda x: t(f"maps.bg.{x}"))
layers = c3.multiselect(t("maps.layers"), maps.LAYERS, default=list(maps.DEFAULT_LAYERS), key=K.LAYERS,
                        format_func=lambda x: t(f"maps.layer.{x}"))
data = ui.cached(maps.grid_map_data)(ctx.engine, ctx.scope, ctx.month)
reports = ui.cached(maps.data.partition_reports)(ctx.engine, ctx.scope)
grids = data["grids"]


@ui.fragment
def map_and_panel():
    """The map and the clicked grid's panel rerun alone: panning and zooming send nothing back."""
    drawn = maps.grid_map(ctx.engine, ctx.scope, ctx.month, measure=measure, background=background, layers=layers,
                          lang=ctx.lang, data=data, partition=reports,
                          asset_base=ui.map_asset_base())
    if drawn.aggregated:
        st.caption(ui.md(t, "maps.aggregated_note", max=f"{maps.MAX_POINTS:,}"))
    left, right = st.columns([5, 3])
    with left:
        out = st_folium(drawn.map, key=K.MAP, height=640, use_container_width=True,
                        returned_objects=["last_object_clicked_tooltip"])
    code = maps.grid_code_from_tooltip((out or {}).get("last_object_clicked_tooltip"), grids["code"])
    if code:
        st.session_state[K.SELECTED] = code
    code = st.session_state.get(K.SELECTED)
    with right:
        grid = maps.grid_panel(data, code) if code else None
        if grid is None:
            st.info(t("maps.click_hint"))
            return
        st.subheader(ui.md_escape(f"{grid['name']} · {code}"))
        st.markdown(ui.md(t, "maps.panel.owner", owner=grid["owner_name"] or "—", phone=grid["owner_phone"] or "—",
                      station=grid["station_name"]))
        for col, (tier, n) in zip(st.columns(4), grid["tiers"].items()):
            col.metric(t(f"tier.{tier}"), fmt.count(n, ctx.lang))
        st.caption(ui.md(t, "maps.panel.others", potential=fmt.count(grid["potential"], ctx.lang),
                     competitor=fmt.count(grid["competitor"], ctx.lang)))
        trend = ui.cached(maps.data.grid_volume_trend)(ctx.engine, ctx.scope, int(grid["id"]), ctx.month)
        st.plotly_chart(charts.volume_trend(trend, t), width="stretch", key=K.TREND)
        with st.expander(t("maps.panel.customers")):
            custs = ui.cached(maps.data.grid_customers)(ctx.engine, ctx.scope, int(grid["id"]), ctx.month)
            st.dataframe(maps.labelled(custs, t), hide_index=True, key=K.CUSTOMERS)
        ui.page_link("pages/customers.py", t("maps.panel.to_customers"), ctx.user)
        d1, d2 = st.columns(2)
        d1.download_button(t("maps.card.download_html"), maps.contact_card_html(grid, ctx.lang),
                           file_name=f"card_{code}.html", mime="text/html", key=K.CARD_HTML)
        d2.download_button(t("maps.card.download_svg"), maps.contact_card_svg(grid, ctx.lang),
                           file_name=f"card_{code}.svg", mime="image/svg+xml", key=K.CARD_SVG)


map_and_panel()

st.subheader(t("maps.partition.title"))
districts = ui.cached(maps.data.districts)(ctx.engine, ctx.scope)
st.dataframe(maps.partition_summary(reports, districts, t), hide_index=True, key=K.PARTITION_SUMMARY)
problems = maps.partition_problems(reports, districts, t)
if len(problems):
    st.error(ui.md(t, "maps.partition.problems", n=len(problems)))
    st.dataframe(problems, hide_index=True, key=K.PARTITION_PROBLEMS)
else:
    st.success(t("maps.partition.clean"))
# Every customer's point against the grids: automatic for a district or station, on request above
# (a province holds up to a million customers; the map itself never waits for this check).
if data["level"] in maps.INDIVIDUAL_LEVELS or st.session_state.get(K.MEMBERSHIP_SCOPE) == ctx.scope:
    outside = ui.cached(maps.data.grid_membership)(ctx.engine, ctx.scope)
    st.markdown(ui.md(t, "maps.partition.membership", n=len(outside)))
    if len(outside):
        st.dataframe(maps.labelled(outside, t), hide_index=True, key=K.MEMBERSHIP)
elif st.button(t("maps.partition.membership_run"), key=K.MEMBERSHIP_RUN, help=t("maps.partition.membership_help"),
               icon=":material/fact_check:"):
    st.session_state[K.MEMBERSHIP_SCOPE] = ctx.scope
    st.rerun()
no_owner = ui.cached(maps.data.grids_without_owner)(ctx.engine, ctx.scope)
st.markdown(ui.md(t, "maps.partition.no_owner", n=len(no_owner)))
if len(no_owner):
    st.dataframe(maps.labelled(no_owner, t), hide_index=True, key=K.NO_OWNER)
