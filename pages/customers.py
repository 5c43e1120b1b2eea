"""Customer archive 客户档案 (DOMAIN §2–§4): search, profile with tier explanation, create and edit."""
import datetime as dt

import streamlit as st

from lib import auth, customers, fmt, maps, rules, ui, validation
from lib import development as dev
from lib.vocab import display, labelled

ctx = ui.guard("pages/customers.py")
t = ctx.t
K = ui.Keys.Customers
st.title(t("page.customers"))
st.caption(ui.md(t, "cust.subtitle", scope=ui.scope_name(ctx)))
picks = ui.cached(customers.choices)(ctx.engine, ctx.scope)
grids = dict(zip(picks["grids"]["id"], picks["grids"]["name"]))
managers = dict(zip(picks["managers"]["id"], picks["managers"]["name"]))
stations = dict(zip(picks["stations"]["id"], picks["stations"]["name"]))
opt = lambda options, label: {"options": [None, *options],  # noqa: E731
                               "format_func": lambda x: t("cust.any") if x is None else label(x)}
writer = auth.can(ctx.user, "customers.write")
VALUES = {"status": "customer_status"}

tab_search, tab_profile, tab_new, tab_edit = st.tabs(
    [t("cust.tab_search"), t("cust.tab_profile"), t("cust.tab_new"), t("cust.tab_edit")])
with tab_search:
    with st.form(K.SEARCH_FORM):
        a, b, c = st.columns(3)
        name = a.text_input(t("col.name"), key=K.Q_NAME)
        mode = a.radio(t("cust.name_mode"), ["prefix", "contains"], horizontal=True, key=K.Q_MODE,
                       format_func=lambda m: t(f"cust.mode_{m}"))
        code = b.text_input(t("col.code"), key=K.Q_CODE)
        phone = c.text_input(t("col.phone"), key=K.Q_PHONE)
        d = st.columns(5)
        tier = d[0].selectbox(t("col.tier"), **opt(reversed(rules.TIERS), lambda x: t(f"tier.{x}")), key=K.Q_TIER)
        kind = d[1].selectbox(t("col.kind"), **opt(customers.KINDS, lambda x: t(f"kind.{x}")),
                              key=K.Q_KIND)
        status = d[2].selectbox(t("col.status"), **opt(customers.STATUSES, lambda x: t(f"val.customer_status.{x}")),
                                key=K.Q_STATUS)
        grid = d[3].selectbox(t("col.grid"), **opt(grids, grids.get), key=K.Q_GRID)
        manager = d[4].selectbox(t("col.manager"), **opt(managers, managers.get), key=K.Q_MANAGER)
        searched = st.form_submit_button(t("cust.search"), type="primary", icon=":material/search:")
    filters = customers.Filters(name=name, name_mode=mode, code=code, phone=phone, tier=tier, kind=kind,
                                status=status, grid_id=grid, manager_id=manager)
    if searched or st.session_state.get(K.SCOPE) != ctx.scope:
        st.session_state[K.PAGES], st.session_state[K.SCOPE] = [None], ctx.scope
    pages = st.session_state.setdefault(K.PAGES, [None])
    page = ui.cached(customers.search)(ctx.engine, ctx.scope, filters, pages[-1], customers.PAGE_SIZE, len(pages) == 1)
    if len(pages) == 1:
        st.session_state[K.TOTAL] = (page.total, page.total_capped)
    total, capped = st.session_state.get(K.TOTAL, (page.total, page.total_capped))
    st.metric(t("cust.found"), (t("cust.more_than", n=fmt.count(total, ctx.lang)) if capped
                                else fmt.count(total, ctx.lang)))
    shown = labelled(page.rows, t, ["code", "name", "kind", "sub_type", "phone", "status", "tier", "station", "grid",
                                    "manager", *(f.key for f in customers.extra_fields())], VALUES)
    st.dataframe(shown, hide_index=True, key=K.TABLE)
    p1, p2, p3 = st.columns([1, 1, 4])
    if p1.button(t("cust.prev"), disabled=len(pages) == 1, key=K.PREV, icon=":material/chevron_left:"):
        pages.pop()
        st.rerun()
    if p2.button(t("cust.next"), disabled=page.next_after is None, key=K.NEXT, icon=":material/chevron_right:"):
        pages.append(page.next_after)
        st.rerun()
    p3.caption(ui.md(t, "cust.page_no", n=len(pages)))
    st.caption(t("tpl.download_caption"))
    ui.import_downloads(ctx, "customers", K.DOWNLOAD)  # the whole scope, as the customer import reads it
    if len(page.rows):
        label = dict(zip(page.rows["id"], page.rows["code"] + " · " + page.rows["name"]))
        chosen = st.selectbox(t("cust.open"), list(label), format_func=label.get, key=K.PICK)
        st.session_state[K.SELECTED] = int(chosen)


NEW_DEFAULTS = {"kind": "personal", "payment": "fuel_card"}  # the new form's first choices (else the spec default)
EDIT_ONLY = ("tier_override", "tier_override_reason")  # below the edit form's fields (set by hand, 002 §6.1.1)


def _sub_type(col, prefix: str, row: dict, v: dict):
    subs = list(rules.CLASS_CODES[v["kind"]])  # the classes of the kind chosen above (001 客户代码制)
    return col.selectbox(t("col.sub_type"), subs, subs.index(row["sub_type"]) if row.get("sub_type") in subs else 0,
                         key=K.field(prefix, "sub_type", v["kind"]), format_func=lambda x: t(f"val.sub_type.{x}"))


def _station(col, prefix: str, row: dict, v: dict):
    st_ids = list(stations)
    return col.selectbox(t("col.station"), st_ids, st_ids.index(row["station_id"]) if row.get("station_id") in st_ids
                         else 0, format_func=stations.get, key=K.field(prefix, "station_id"))


def _grid(col, prefix: str, row: dict, v: dict):
    g_ids = [None, *picks["grids"].loc[picks["grids"]["station_id"] == v["station_id"], "id"]]
    return col.selectbox(t("col.grid"), g_ids, g_ids.index(row.get("grid_id")) if row.get("grid_id") in g_ids else 0,
                         format_func=lambda x: "—" if x is None else grids[x], key=K.field(prefix, "grid_id"))


def _manager(col, prefix: str, row: dict, v: dict):
    m_ids = [None, *picks["managers"].loc[picks["managers"]["station_id"] == v["station_id"], "id"]]
    return col.selectbox(t("col.manager"), m_ids, m_ids.index(row.get("manager_id")) if row.get("manager_id") in m_ids
                         else 0, format_func=lambda x: "—" if x is None else managers[x],
                         key=K.field(prefix, "manager_id"))


def _coordinate(key: str):
    field = next(f for f in customers.FIELDS if f.key == key)
    return lambda col, prefix, row, v: ui.coordinate_input(col, field, row.get(key), t, K.field(prefix, key))


# fields whose widget is not the spec's: the sub type by kind, the station, and that station's grids and
# managers (ids shown by name), the location (set by a click on the map above the form); every other
# form field gets ui.field_widget
SPECIAL = {"sub_type": _sub_type, "station_id": _station, "grid_id": _grid, "manager_id": _manager,
           "lon": _coordinate("lon"), "lat": _coordinate("lat")}


def location(prefix: str, map_key: str) -> None:
    """The map above a customer form: a click sets its lon/lat fields (WGS-84)."""
    st.caption(t("loc.hint"))
    ui.location_picker(t, map_key, K.field(prefix, "lon"), K.field(prefix, "lat"),
                       ui.cached(maps.data.stations)(ctx.engine, ctx.scope))


def form_fields(prefix: str, row: dict, locked: dict | None = None) -> dict:
    """The customer fields as widgets prefilled from `row`, three columns in the spec's order
    (lib.customers.FIELDS: the form fields with a widget); returns the values. `locked`: the fields the
    user may not change with their reason (lib.customers.locked_fields), shown disabled."""
    cols = st.columns(3)
    v: dict = {}
    locked = locked or {}
    shown = [f for f in customers.FIELDS if f.form and f.widget and f.key not in EDIT_ONLY]
    for i, f in enumerate(shown):
        col = cols[i % 3]
        why = locked[f.key].text(t) if f.key in locked else None
        v[f.key] = (SPECIAL[f.key](col, prefix, row, v) if f.key in SPECIAL else
                    ui.field_widget(col, f, row.get(f.key), t, K.field(prefix, f.key), vocabulary=VALUES.get(f.key),
                                    locked=why))
    return v


def tier_transfer_hint(c: dict, locked: dict) -> None:
    """The hand-set tier, read-only, with the way to change it (the tier transfer, 002 §6.1.1), and why
    the tier-deciding fields are locked when they are (002 §6.1.2, §6.4)."""
    why = next((locked[k].text(t) for k in customers.TIER_FIELDS if k in locked), None)
    if why:
        st.warning(ui.md(t, "cust.tier_fields_locked", reason=why), icon=":material/lock:")
    st.caption(ui.md(t, "cust.override_transfer", tier=t(f"tier.{c['tier_override']}")) if c["tier_override"]
               else t("cust.no_override"))
    ui.page_link("pages/tiers.py", t("cust.to_transfer"), ctx.user)


def save(action, *args, confirm_key: str) -> None:
    try:
        result = action(ctx.engine, ctx.user, *args, allow_duplicates=st.session_state.get(confirm_key, False))
    except customers.DuplicateError as exc:
        st.warning(ui.md(t, "cust.duplicates", n=len(exc.duplicates["inside"]) + int(exc.duplicates["outside"]["customers"].sum())))
        st.dataframe(labelled(exc.duplicates["inside"], t, ["code", "name", "phone", "credit_code", "station", "reason"]),
                     hide_index=True, key=K.duplicates(confirm_key))
        for r in exc.duplicates["outside"].itertuples():
            st.caption(ui.md(t, "cust.duplicate_elsewhere", unit=r.unit, n=r.customers))
        st.checkbox(t("cust.save_anyway"), key=confirm_key)
        return
    except ValueError as exc:
        st.error(ui.md(t, "common.invalid", reason=validation.describe(exc, t)))
        return
    ui.invalidate("customers")
    st.success(ui.md(t, "cust.saved_code", code=result[1]) if isinstance(result, tuple) else t("common.saved"))


def development_panel(c: dict) -> None:
    """The customer's development 客户开发 (002 §6.5.4): its cases with their stage log, a form opening a
    case when none is open, else one moving the open case with its date and note (lib.ui.cases)."""
    st.subheader(t("dev.panel_title"))
    st.caption(t("dev.panel_help"))
    if flash := st.session_state.pop(K.CASE_FLASH, None):
        st.success(flash)
    data = ui.cached(dev.customer_cases)(ctx.engine, ctx.scope, int(c["id"]))
    ui.cases.history(ctx, ui.Keys.row(K.CASE, c["id"]), data, f"cases_{c['code']}")
    if not auth.can(ctx.user, "development.edit"):
        return
    base = ui.Keys.row(K.CASE, c["id"])
    if data["open"] is None:
        done = ui.cases.open_form(ctx, base, {int(c["id"]): f"{c['name']} · {c['code']}"}, dev.default_case_day(ctx.month))
    else:
        done = ui.cases.move_form(ctx, base, ui.cases.labels(t, data["cases"], only=data["open"]), dt.date.today(),
                                  current=data["open_stage"])
    if done:
        st.session_state[K.CASE_FLASH] = done
        st.rerun()


selected = st.session_state.get(K.SELECTED)
prof = ui.cached(customers.profile)(ctx.engine, ctx.scope, selected) if selected else None
with tab_profile:
    if prof is None:
        st.info(t("cust.pick_first"))
    else:
        c, dec = prof["customer"], prof["decision"]
        st.subheader(ui.md_escape(f"{c['name']} · {c['code']}"))
        m = st.columns(4, border=True)
        m[0].metric(t("col.tier"), t(f"tier.{prof['tier']}"))
        m[1].metric(t("col.kind"), t(f"kind.{c['kind']}"))
        m[2].metric(t("col.status"), t(f"val.customer_status.{c['status']}"))
        vol = prof["consumption"].tail(12)
        m[3].metric(t("cust.volume_12m"), fmt.tonnes(float((vol["gasoline_t"] + vol["diesel_t"]).sum()), ctx.lang))
        st.info(ui.md(t, "cust.tier_because", tier=t(f"tier.{dec.tier}"), rule=t(f"tier_rule.{dec.rule}"), section=dec.section))
        if c["tier_override"]:
            st.caption(ui.md(t, "cust.override_line", tier=t(f"tier.{c['tier_override']}"), reason=c["tier_override_reason"],
                         by=c["tier_override_by"], at=str(c["tier_override_at"])[:16]))
        owner = prof["owner"]
        st.markdown(ui.md(t, "cust.owner_line", owner=owner["name"] if owner else "—", phone=owner["phone"] if owner else "—",
                      station=prof["station"]["name"], grid=prof["grid"]["name"] if prof["grid"] else "—"))
        extra = [f"{ui.field_label(t, f)}: {display(t, f.key, c[f.key])}" for f in customers.extra_fields()
                 if c.get(f.key) not in (None, "")]
        if extra:  # extension fields 扩展字段
            st.markdown(ui.md_escape(" · ".join(extra)))
        if len(prof["consumption"]):
            st.plotly_chart(customers.consumption_chart(prof["consumption"], t), key=K.CHART)
        else:
            st.caption(t("cust.no_consumption"))
        st.subheader(t("page.visits"))
        ui.table(prof["visits"], t, f"visits_{c['code']}", K.VISITS, ["mode", "planned_on", "done_on", "note",
                                                                           "manager"], values={"mode": "mode"})
        st.subheader(t("page.matters"))
        ui.table(prof["matters"], t, f"matters_{c['code']}", K.MATTERS,
                 ["kind", "title", "state", "step", "raised_at", "due_at", "closed_at"],
                 values={"kind": "matter_kind", "state": "state", "step": "step"})
        development_panel(c)
with tab_new:
    if not writer or not stations:
        st.info(t("cust.read_only"))
    else:
        location(K.NEW, K.NEW_MAP)
        with st.form(K.NEW_FORM):
            values = form_fields(K.NEW, NEW_DEFAULTS)
            submitted = st.form_submit_button(t("cust.create"), type="primary")
        if submitted:
            save(customers.create, values, confirm_key=K.NEW_CONFIRM)
with tab_edit:
    if prof is None or not writer:
        st.info(t("cust.pick_first") if writer else t("cust.read_only"))
    else:
        c = prof["customer"]
        locked = customers.locked_fields(ctx.user, c)  # 002 §6.1.1, §6.1.2: the one rule the save applies too
        location(ui.Keys.row(K.EDIT, c["id"]), ui.Keys.row(K.EDIT_MAP, c["id"]))
        tier_transfer_hint(c, locked)
        with st.form(K.EDIT_FORM):
            values = form_fields(ui.Keys.row(K.EDIT, c["id"]), c, locked)
            submitted = st.form_submit_button(t("cust.update"), type="primary")
        if submitted:
            save(customers.update, c["id"], values, confirm_key=ui.Keys.row(K.EDIT_CONFIRM, c["id"]))
