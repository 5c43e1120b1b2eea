"""Grid editing 网格编辑: reshape a grid on the map (Draw plugin) or upload GeoJSON; the district's
partition check (全覆盖、无交叉) runs before saving and a failing change is refused, drawn in red."""
import streamlit as st
from streamlit_folium import st_folium

from lib import maps, ui

ctx = ui.guard("pages/grid_edit.py")
t = ctx.t
K = ui.Keys.GridEdit
st.title(t("page.grid_edit"))
st.caption(t("maps.edit.subtitle"))

districts = ui.cached(maps.data.districts)(ctx.engine, ctx.scope)
if districts.empty:
    st.info(t("maps.edit.no_district"))
    st.stop()
dnames = dict(zip(districts["path"], districts["name"]))
c1, c2, c3, c4 = st.columns(4)
district = c1.selectbox(t("maps.edit.district"), list(dnames), format_func=dnames.get, key=K.DISTRICT)
data = maps.editing.district_grids(ctx.engine, ctx.scope, district)
grids = data["grids"]
gnames = dict(zip(grids["id"], grids["code"] + " " + grids["name"]))
editable = grids.loc[grids["editable"], "id"].tolist()
if not editable:
    st.info(t("maps.edit.no_district"))
    st.stop()
grid_id = c2.selectbox(t("maps.edit.grid"), editable, format_func=gnames.get, key=K.GRID)
neighbour = c3.selectbox(t("maps.edit.neighbour"), [None] + [g for g in editable if g != grid_id],
                         format_func=lambda g: t("maps.edit.no_neighbour") if g is None else gnames[g],
                         key=K.NEIGHBOUR)
background = c4.selectbox(t("maps.background"), maps.available_backgrounds(), key=K.BACKGROUND,
                          format_func=lambda x: t(f"maps.bg.{x}"))
upload = st.file_uploader(t("maps.edit.upload"), type=["geojson", "json"], key=K.UPLOAD)

state = st.session_state.setdefault(K.STATE, {})
if state.get("key") != (district, grid_id, neighbour):
    state.clear()
    state["key"] = (district, grid_id, neighbour)
drawn = maps.edit_map(data["district"], grids, [grid_id], proposal=state.get("changes"), report=state.get("report"),
                      background=background, lang=ctx.lang,
                      asset_base=ui.map_asset_base())
out = st_folium(drawn.map, key=K.MAP, height=560, use_container_width=True, returned_objects=["all_drawings"])

b1, b2, b3 = st.columns(3)
check = b1.button(t("maps.edit.check"), key=K.CHECK, icon=":material/rule:")
save = b2.button(t("maps.edit.save"), key=K.SAVE, type="primary", icon=":material/save:")
if b3.button(t("maps.edit.reset"), key=K.RESET, icon=":material/undo:"):
    state.clear()
    st.rerun()
if check or save:
    try:
        changes = maps.proposed_changes(grids, grid_id, neighbour, (out or {}).get("all_drawings"),
                                        upload.getvalue() if upload else None, background, data["district"],
                                        previous=state.get("changes"))
        if save:
            maps.editing.save_grid_geometries(ctx.engine, ctx.user, district, changes)
            ui.invalidate("grids")
            state.clear()
            state.update(key=(district, grid_id, neighbour), saved=len(changes))
        else:
            state.update(changes=changes, report=maps.editing.check_change(ctx.engine, ctx.scope, district, changes))
        st.rerun()
    except maps.editing.GridChangeRefused as exc:
        state.update(changes=changes, report=exc.report)
        st.rerun()
    except ValueError as exc:
        st.error(ui.md(t, "common.invalid", reason=str(exc)))
report = state.get("report")
if state.get("saved"):
    st.success(ui.md(t, "maps.edit.saved", n=state["saved"]))
elif report is not None and report.ok:
    st.success(t("maps.edit.check_ok"))
elif report is not None:
    st.error(ui.md(t, "maps.edit.refused", reason=maps.editing.refusal_reason(report)))
st.subheader(t("maps.edit.history"))
st.dataframe(maps.labelled(maps.editing.grid_history(ctx.engine, ctx.scope, district), t), hide_index=True,
             key=K.HISTORY)
