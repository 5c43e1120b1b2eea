"""Organisation setup 组织设置 (admins): the province's cities 地市分公司 and districts 区县 from the real map
(leave some out, rename, group counties into areas 片区), then each unit's name, manager and own boundary."""
import streamlit as st
from streamlit_folium import st_folium

from lib import org, regions, ui, validation

ctx = ui.guard("pages/setup.py")
t = ctx.t
K = ui.Keys.Setup
st.title(t("page.setup"))


def refusal(exc: ValueError) -> str:
    """A refused write in the session's language, each issue with its field's label."""
    if isinstance(exc, validation.ValidationError):
        return "; ".join(f"{t(f'org.field.{e.column}')}: {e.text(t)}" if e.column else e.text(t) for e in exc.errors)
    return validation.describe(exc, t)


flash = st.session_state.pop(K.FLASH, None)
if flash:
    st.success(ui.md(t, flash[0], **flash[1]))
root = ui.cached(org.root)(ctx.engine)
set_up = ui.cached(org.is_set_up)(ctx.engine)
names = dict(regions.provinces())
codes = list(names)
if set_up:
    st.subheader(t("org.units"))
    units = ui.cached(org.units)(ctx.engine, ctx.scope)
    shown = units.assign(level=units["level"].map(lambda x: t(f"level.{x}")))
    st.dataframe(shown.rename(columns={c: t(f"org.field.{c}") for c in shown.columns}).drop(columns=[t("org.field.path")]),
                 hide_index=True, key=K.UNITS, width="stretch")
    labels = {r.code: f"{r.name} · {r.code}" for r in units.itertuples()}
    pick = st.selectbox(t("org.unit"), list(labels), format_func=labels.get, key=K.UNIT)
    unit = units.set_index("code").loc[pick]
    with st.form(ui.Keys.row(K.EDIT_FORM, pick)):
        name = st.text_input(t("org.field.name"), value=unit["name"], key=ui.Keys.row(K.NAME, pick))
        c1, c2 = st.columns(2)
        manager = c1.text_input(t("org.field.manager_name"), value=unit["manager_name"], key=ui.Keys.row(K.MANAGER, pick))
        phone = c2.text_input(t("org.field.manager_phone"), value=unit["manager_phone"], key=ui.Keys.row(K.PHONE, pick))
        saved = st.form_submit_button(t("org.save"), type="primary")
    upload = st.file_uploader(t("org.own_boundary"), type=["geojson", "json"], key=ui.Keys.row(K.BOUNDARY_FILE, pick))
    replace = upload is not None and st.button(t("org.replace_boundary"), key=K.BOUNDARY_SAVE)
    try:
        if saved:
            if name.strip() != unit["name"]:
                org.rename(ctx.engine, ctx.user, pick, name)
            if (manager.strip(), phone.strip()) != (unit["manager_name"], unit["manager_phone"]):
                org.set_manager(ctx.engine, ctx.user, pick, manager, phone)
        if replace:
            org.set_boundary(ctx.engine, ctx.user, pick, upload.getvalue())
    except (ValueError, PermissionError) as exc:
        st.error(ui.md(t, "common.invalid", reason=refusal(exc)))
    else:
        if saved or replace:
            ui.invalidate("org")
            st.session_state[K.FLASH] = ("common.saved", {})
            st.rerun()
    st.download_button(t("org.download"), ui.cached(org.units_geojson)(ctx.engine, ctx.scope), "org_units.geojson",
                       mime="application/geo+json", key=K.DOWNLOAD, on_click="ignore", icon=":material/download:")
    st.caption(ui.md(t, "exp.caption", kind=t("imp.kind.org_units")) + " " + t("exp.org_units_xlsx"))
    ui.import_downloads(ctx, "org_units", K.EXPORT)
    st.caption(t("org.next_steps"))
    ui.page_link("pages/imports.py", t("page.imports"), ctx.user)

with st.expander(t("org.from_map"), expanded=not set_up, key=ui.Keys.row(K.FROM_MAP, int(set_up))):
    st.caption(t("org.from_map_help"))
    default = codes.index(root["code"]) if root and root["code"] in names else 0
    code = st.selectbox(t("org.province"), codes, index=default, format_func=lambda c: f"{names[c]} ({c})",
                        key=K.PROVINCE)
    rows = ui.cached(org.region_rows, areas=("org",))(code)
    cities = dict(zip(rows["code"], rows["city"]))
    cities = {c: n for c, n in cities.items() if len(c) == 4}
    chosen = st.multiselect(t("org.cities"), list(cities), default=list(cities), format_func=cities.get,
                            key=ui.Keys.row(K.CITIES, code))
    rows = rows[rows["code"].str[:4].isin(chosen)].reset_index(drop=True)
    rows = rows.assign(kind=rows["level"].map(lambda x: t(f"level.{x}")))
    edited = st.data_editor(
        rows, key=ui.Keys.row(K.TABLE, code, *chosen), hide_index=True, width="stretch", height=360,
        disabled=["kind", "adcode", "code", "city", "official"],
        column_order=["kind", "code", "city", "official", "name", "keep", "area", "adcode"],
        column_config={c: st.column_config.Column(t(f"org.field.{c}")) for c in rows.columns if c != "level"} | {
            "keep": st.column_config.CheckboxColumn(t("org.field.keep"))})
    left_out = set(edited.loc[~edited["keep"].astype(bool), "adcode"]) | {
        f"{c}00" for c in cities if c not in chosen}
    st_folium(org.preview_map(code, left_out, lang=ctx.lang, asset_base=ui.map_asset_base()), key=K.MAP,
              height=420, use_container_width=True, returned_objects=[])
    if st.button(t("org.create"), key=K.CREATE, type="primary", icon=":material/account_tree:"):
        bar = st.progress(0.0, text=t("org.creating"))
        try:
            counts = org.setup_from_map(ctx.engine, ctx.user, code, **org.choices_from_table(edited),
                                        progress=lambda f, s: bar.progress(min(f, 1.0), text=s))
        except (ValueError, PermissionError) as exc:
            bar.empty()
            st.error(ui.md(t, "common.invalid", reason=refusal(exc)))
        else:
            ui.invalidate("org")
            st.session_state[K.FLASH] = ("org.created", counts)
            st.rerun()
