"""Customer managers 客户经理 (003 §4): ranking and commission, levels and the transfer flag, each
manager's customers on a map, the yearly rating and monthly plans; one manager created or edited."""
import datetime as dt

import streamlit as st

from lib import auth, fmt, managers, ui, validation
from lib.vocab import MANAGER_LEVELS, labelled

ctx = ui.guard("pages/managers.py")
t = ctx.t
K = ui.Keys.Managers
today = dt.date.today()
st.title(t("page.managers"))
st.caption(ui.md(t, "mgr.subtitle", scope=ui.scope_name(ctx), month=ctx.month))
ranking = ui.cached(managers.ranking)(ctx.engine, ctx.scope, ctx.month, today)
roster = ui.cached(managers.roster)(ctx.engine, ctx.scope, today)
m = st.columns(4, border=True)
m[0].metric(t("mgr.count"), fmt.count(len(roster), ctx.lang))
m[1].metric(t("mgr.volume"), fmt.tonnes(float(ranking["volume_t"].sum()), ctx.lang))
m[2].metric(t("mgr.commission"), t("mgr.cny", value=f"{ranking['commission_cny'].sum():,.0f}"), help=t("mgr.commission_help"))
m[3].metric(t("mgr.transfer_due"), fmt.count(int(roster["transfer_due"].sum()), ctx.lang), help=t("mgr.transfer_help"))
LEVEL = {"level": "manager_level", "transfer_due": "bool", "below_standard": "bool", "confirmation_due": "bool"}

tab_rank, tab_roster, tab_map, tab_rate = st.tabs(
    [t("mgr.tab_ranking"), t("mgr.tab_roster"), t("mgr.tab_map"), t("mgr.tab_rating")])
with tab_rank:
    ui.table(ranking, t, f"manager_ranking_{ctx.month}", K.RANKING,
             ["rank", "name", "station", "level", "institutional_t", "personal_t", "volume_t", "target_t", "completion",
              "commission_cny"], values=LEVEL)
with tab_roster:
    ui.table(roster, t, "managers", K.ROSTER, ["name", "phone", "station", "hired_on", "months", "level",
                                               "confirmation_due", "misses", "transfer_due", "customers"], values=LEVEL)
    st.caption(ui.md(t, "exp.caption", kind=t("imp.kind.managers")))  # beside the roster's own downloads
    ui.import_downloads(ctx, "managers", K.EXPORT)
with tab_map:
    names = dict(zip(roster["id"], roster["name"] + " · " + roster["station"]))
    chosen = st.selectbox(t("col.manager"), list(names), format_func=names.get, key=K.MAP_PICK)
    if chosen is not None:
        theirs = ui.cached(managers.customers_of)(ctx.engine, ctx.scope, chosen)
        st.caption(ui.md(t, "mgr.map_line", n=len(theirs), located=int(theirs["lon"].notna().sum())))
        st.plotly_chart(managers.customers_map(theirs, t), key=K.MAP)
        ui.table(theirs, t, f"customers_of_{chosen}", K.CUSTOMERS, ["code", "name", "tier", "kind", "status"],
                 values={"status": "customer_status"})
with tab_rate:
    st.caption(t("mgr.rating_help"))
    if auth.can(ctx.user, "managers.rate"):
        year = st.number_input(t("mgr.year"), 2000, 2100, today.year, key=K.RATE_YEAR)
        if st.button(t("mgr.rate"), key=K.RATE_BUTTON, type="primary"):
            try:
                result = managers.rate(ctx.engine, ctx.user, int(year), today)
            except ValueError as exc:
                st.error(ui.md(t, "common.invalid", reason=str(exc)))
            else:
                ui.invalidate("managers")
                st.dataframe(labelled(result, t, ["name", "last_year_t", "level", "confirmation_due", "below_standard",
                                                  "misses", "transfer_due"], LEVEL), hide_index=True, key=K.RATE_RESULT)
    if auth.can(ctx.user, "managers.confirm"):  # 003: the business department confirms a trainee 转正
        st.markdown(f"**{t('mgr.confirm_title')}**")
        st.caption(t("mgr.confirm_help"))
        if flash := st.session_state.pop(K.CONFIRM_FLASH, None):
            st.success(flash)
        due = roster[roster["confirmation_due"]]
        if due.empty:
            st.info(t("mgr.none_due"))
        else:
            trainees = dict(zip(due["id"], due["name"] + " · " + due["station"] + " · " + due["hired_on"].astype(str)))
            who = st.selectbox(t("col.manager"), list(trainees), format_func=trainees.get, key=K.CONFIRM_WHO)
            if st.button(t("mgr.confirm"), key=K.CONFIRM_BUTTON, icon=":material/verified:") and who is not None:
                try:
                    managers.confirm(ctx.engine, ctx.user, int(who), today)
                except ValueError as exc:
                    st.error(ui.md(t, "common.invalid", reason=validation.describe(exc, t)))
                else:
                    ui.invalidate("managers")
                    st.session_state[K.CONFIRM_FLASH] = t("mgr.confirmed", name=due.set_index("id").at[who, "name"])
                    st.rerun()  # the roster and the rating show the new level
    if auth.can(ctx.user, "managers.plan"):
        with st.form(K.PLAN_FORM):
            who = st.selectbox(t("col.manager"), list(names), format_func=names.get, key=K.PLAN_WHO)
            target = st.number_input(t("col.target_t"), 0.0, 1e6, 100.0, key=K.PLAN_TARGET)
            if st.form_submit_button(t("mgr.set_plan", month=ctx.month)) and who is not None:
                try:
                    managers.set_plan(ctx.engine, ctx.user, int(who), ctx.month, target)
                except ValueError as exc:
                    st.error(ui.md(t, "common.invalid", reason=str(exc)))
                else:
                    ui.invalidate("managers")
                    st.success(t("common.saved"))
if auth.can(ctx.user, "managers.edit"):  # one manager, created or edited: the import's checks (lib.managers)
    with st.expander(t("people.manager_form"), icon=":material/badge:"):
        recs = ui.cached(managers.records)(ctx.engine, ctx.scope)
        sites = ui.cached(managers.stations)(ctx.engine, ctx.scope)
        site_name = dict(zip(sites["code"], sites["code"] + " · " + sites["name"]))
        picks = {"": t("people.manager_new"), **dict(zip(recs["code"], recs["code"] + " · " + recs["name"]))}
        pick = st.selectbox(t("people.manager_pick"), list(picks), format_func=picks.get, key=K.EDIT_PICK)
        cur = recs.set_index("code").loc[pick] if pick else None
        tag = pick or "new"  # the widgets of each manager keep their own state
        stations = list(site_name)
        at = stations.index(cur["station_code"]) if cur is not None and cur["station_code"] in stations else 0
        with st.form(ui.Keys.row(K.EDIT_FORM, tag)):
            code = st.text_input(t("people.manager_code"), value=pick, disabled=bool(pick),
                                 key=ui.Keys.row(K.EDIT_CODE, tag))
            name = st.text_input(t("people.manager_name"), value="" if cur is None else cur["name"],
                                 key=ui.Keys.row(K.EDIT_NAME, tag))
            phone = st.text_input(t("people.manager_phone"), value="" if cur is None else cur["phone"],
                                  key=ui.Keys.row(K.EDIT_PHONE, tag))
            station = st.selectbox(t("people.manager_station"), stations, index=at, format_func=site_name.get,
                                   key=ui.Keys.row(K.EDIT_STATION, tag))
            hired = st.date_input(t("people.manager_hired"), value=today if cur is None else cur["hired_on"],
                                  key=ui.Keys.row(K.EDIT_HIRED, tag))
            level = st.selectbox(t("people.manager_level"), MANAGER_LEVELS, key=ui.Keys.row(K.EDIT_LEVEL, tag),
                                 index=0 if cur is None else MANAGER_LEVELS.index(cur["level"]),
                                 format_func=lambda x: t(f"val.manager_level.{x}"))
            if st.form_submit_button(t("people.manager_save"), type="primary"):
                try:
                    saved = managers.save_manager(ctx.engine, ctx.user, {
                        "code": pick or code, "name": name, "phone": phone, "station_code": station,
                        "hired_on": hired, "level": level}, today)
                except ValueError as exc:
                    st.error(ui.md(t, "common.invalid", reason=validation.describe(exc, t)))
                else:
                    ui.invalidate("managers")
                    st.success(ui.md(t, "people.manager_saved", code=saved))
