"""Users 用户管理 (province admins): create (with a one-time password 初始密码 shown once), deactivate,
reset password, change role and unit (each ends the user's sessions everywhere); login attempts and
the source addresses backing off, with unlock 解锁; audit log."""
import streamlit as st

from lib import auth, queries, ui, validation

ctx = ui.guard("pages/admin_users.py")
t = ctx.t
K = ui.Keys.Admin
st.title(t("page.admin_users"))

users = ui.cached(queries.users)(ctx.engine, ctx.user.scope)
units = ui.org_units(ctx.engine, ctx.user.scope)
managers = ui.cached(queries.managers)(ctx.engine, ctx.user.scope)
unit_label = dict(zip(units["id"], units["name"] + " · " + units["level"].map(lambda lvl: t(f"level.{lvl}"))))
role_label = lambda r: t(f"role.{r}")  # noqa: E731
manager_name = {None: "—", **dict(zip(managers["id"], managers["name"] + " · " + managers["unit"]))}
login_of = dict(zip(users["id"], users["login"]))

shown = users.assign(role=users["role"].map(role_label))[["login", "display_name", "role", "unit", "active"]]
st.dataframe(shown, hide_index=True, width="stretch", key=K.USERS, column_config={
    c: st.column_config.Column(t(f"admin.col.{c}")) for c in shown.columns})
st.caption(ui.md(t, "exp.caption", kind=t("imp.kind.users")))  # no passwords: new logins in it get one-time ones
ui.import_downloads(ctx, "users", K.EXPORT)


def done(message_key: str) -> None:
    ui.invalidate("users")
    st.success(t(message_key))


def attempt(action, *args) -> bool:
    try:
        action(ctx.engine, ctx.user, *args)
    except ValueError as exc:
        st.error(ui.md(t, "common.invalid", reason=validation.describe(exc, t)))
        return False
    except PermissionError:
        st.error(t("login.forbidden"))
        return False
    return True


create, edit, attempts, log = st.tabs([t("admin.create"), t("admin.edit"), t("admin.attempts"), t("admin.audit")])
with create:
    if shown_once := st.session_state.pop(K.ONE_TIME, None):  # the one-time password, this run only
        st.success(ui.md(t, "people.otp_shown", login=shown_once[0], password=shown_once[1]))
        st.download_button(t("people.otp_download"), f"login,password\r\n{shown_once[0]},{shown_once[1]}\r\n",
                           f"{shown_once[0]}.csv", mime="text/csv", key=K.ONE_TIME_DOWNLOAD, on_click="ignore")
    st.caption(t("people.otp_intro"))
    with st.form(K.CREATE_FORM, clear_on_submit=True):
        login = st.text_input(t("login.name"), key=K.NEW_LOGIN)
        name = st.text_input(t("setup.display_name"), key=K.NEW_NAME)
        role = st.selectbox(t("admin.role"), auth.grantable_roles(ctx.user), format_func=role_label, key=K.NEW_ROLE)
        unit = st.selectbox(t("admin.unit"), list(unit_label), format_func=unit_label.get, key=K.NEW_UNIT)
        manager = st.selectbox(t("admin.manager"), list(manager_name), key=K.NEW_MANAGER,
                               format_func=manager_name.get)
        if st.form_submit_button(t("admin.create"), type="primary"):
            try:
                password = auth.create_user_once(ctx.engine, ctx.user, login, name, role, unit, manager)
            except ValueError as exc:
                st.error(ui.md(t, "common.invalid", reason=validation.describe(exc, t)))
            except PermissionError:
                st.error(t("login.forbidden"))
            else:
                st.session_state[K.ONE_TIME] = (login, password)
                ui.invalidate("users")
                st.rerun()

with edit:
    target = st.selectbox(t("admin.user"), list(login_of), key=K.EDIT_USER, format_func=login_of.get)
    row = users.set_index("id").loc[target] if target is not None else None
    if row is not None:
        active = st.toggle(t("admin.active"), value=bool(row["active"]), key=ui.Keys.row(K.ACTIVE, target))
        if active != bool(row["active"]) and attempt(auth.set_active, int(target), active):
            done("common.saved")
        with st.form(K.RESET_FORM, clear_on_submit=True):
            new_pw = st.text_input(t("admin.new_password"), type="password", key=K.RESET_PASSWORD)
            if st.form_submit_button(t("admin.reset")) and attempt(auth.reset_password, int(target), new_pw):
                done("common.saved")
        with st.form(K.ROLE_FORM):
            new_role = st.selectbox(t("admin.role"), auth.ROLES, index=auth.ROLES.index(row["role"]),
                                    format_func=role_label, key=K.ROLE_ROLE)
            new_unit = st.selectbox(t("admin.unit"), list(unit_label), format_func=unit_label.get,
                                    index=list(unit_label).index(row["org_unit_id"]), key=K.ROLE_UNIT)
            new_mgr = st.selectbox(t("admin.manager"), list(manager_name), key=K.ROLE_MANAGER,
                                   format_func=manager_name.get)
            if st.form_submit_button(t("admin.change_role")) and attempt(
                    auth.change_role, int(target), new_role, int(new_unit), new_mgr):
                done("common.saved")

with attempts:
    st.caption(t("admin.attempts_intro"))
    st.subheader(t("admin.locks"))
    locks = auth.login_locks(ctx.engine, ctx.user)
    if not locks:
        st.caption(t("admin.no_locks"))
    else:
        st.dataframe([{t("admin.col.login"): k["login"], t("admin.col.source"): k["source"],
                       t("admin.col.until"): k["until"]} for k in locks], hide_index=True, key=K.LOCKS)
        pick = st.multiselect(t("admin.unlock_pick"), range(len(locks)), key=K.UNLOCK_PICK,
                              format_func=lambda i: f"{locks[i]['login']} · {locks[i]['source']}")
        if st.button(t("admin.unlock"), key=K.UNLOCK, disabled=not pick):
            if all(attempt(auth.unlock, locks[i]["login"], locks[i]["source"]) for i in pick):
                st.toast(t("admin.unlocked"))
                st.rerun()
    st.subheader(t("admin.attempts"))
    st.dataframe([{t("admin.col.login"): a["login"], t("admin.col.source"): a["source"], t("admin.col.at"): a["at"],
                   t("admin.col.kind"): t(f"admin.kind_{a['kind']}")} for a in auth.recent_attempts(ctx.engine, ctx.user)],
                 hide_index=True, width="stretch", key=K.ATTEMPTS)

with log:
    st.dataframe(ui.cached(queries.audit_log)(ctx.engine, ctx.user.scope, "app_user"), hide_index=True,
                 width="stretch", key=K.AUDIT)
