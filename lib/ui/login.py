"""Logins 登录: the login page, the first-admin form of a fresh database, session timeout, logout, and
the new password a user with a one-time password 初始密码 must set before any page opens."""
from __future__ import annotations

import datetime as dt
import hmac
import os
from collections.abc import Callable

import streamlit as st
from sqlalchemy import Engine

from lib import auth, validation
from lib.db import is_empty
from lib.i18n import translator
from lib.ui.bootstrap import demo_mode, ensure_data, get_engine
from lib.ui.cache import invalidate
from lib.ui.keys import Keys
from lib.ui.language_switch import language, language_picker
from lib.ui.text import md


def session_timeout() -> dt.timedelta:
    """Idle time after which a session logs out (`GRIDCRM_SESSION_MINUTES`, default 30)."""
    return dt.timedelta(minutes=float(os.environ.get("GRIDCRM_SESSION_MINUTES", "30")))


def current_user(engine: Engine) -> auth.SessionUser | None:
    """Return the session's user, or None when nobody is logged in, the session timed out, or the
    account was deactivated. Every run re-reads the account, so a change takes effect at once."""
    user_id = st.session_state.get(Keys.USER_ID)
    if user_id is None:
        return None
    now = dt.datetime.now()
    last = st.session_state.get(Keys.LAST_SEEN)
    if last is not None and now - last > session_timeout():
        logout(notice="login.timed_out", rerun=False)
        return None
    user = auth.session_user(engine, user_id)
    if user is None:
        logout(rerun=False)
        return None
    st.session_state[Keys.LAST_SEEN] = now
    if user.must_change:  # logged in, but no page opens before a new password (the login page asks)
        return None
    return user


def logout(notice: str | None = None, rerun: bool = True) -> None:
    """End the session's login and forget its cached choices (the language stays)."""
    for key in list(st.session_state.keys()):
        if key != Keys.LANG:
            del st.session_state[key]
    if notice:
        st.session_state[Keys.LOGIN_NOTICE] = notice
    if rerun:
        st.rerun()


def login_page() -> None:
    """The login page 登录: demo notice, first-admin setup on a fresh database, lockout messages."""
    lang = language()
    t = translator(lang)
    engine = get_engine()
    ensure_data(engine, t)
    with st.columns([1, 2, 1])[1]:
        _login_body(engine, t)


def _login_body(engine: Engine, t: Callable[..., str]) -> None:
    st.title(t("app.title"))
    language_picker(t, "login")
    if auth.user_count(engine) == 0:
        first_admin_form(engine, t)
        return
    pending = st.session_state.get(Keys.USER_ID)
    user = auth.session_user(engine, pending) if pending is not None else None
    if user is not None and user.must_change:
        change_password_form(engine, t, user)
        return
    if demo_mode():
        st.info(md(t, "login.demo", password=auth.DEMO_PASSWORD,
                  logins=", ".join(f"{login} ({t(f'role.{role}')})" for login, _, role, _ in auth.DEMO_USERS)))
    notice = st.session_state.pop(Keys.LOGIN_NOTICE, None)
    if notice:
        st.warning(t(notice))
    with st.form(Keys.LOGIN_FORM):
        st.subheader(t("login.title"))
        name = st.text_input(t("login.name"), key=Keys.LOGIN_NAME)
        password = st.text_input(t("login.password"), type="password", key=Keys.LOGIN_PASSWORD)
        submitted = st.form_submit_button(t("login.submit"), type="primary")
    if submitted:
        result = auth.authenticate(engine, name, password)
        if result.user is not None:
            st.session_state[Keys.USER_ID] = result.user.id
            st.session_state[Keys.LAST_SEEN] = dt.datetime.now()
            st.rerun()
        elif result.reason == "locked":
            st.error(md(t, "login.locked", minutes=int(auth.LOCK_WINDOW.total_seconds() // 60)))
        elif result.reason == "inactive":
            st.error(t("login.inactive"))
        else:
            st.error(t("login.invalid"))


def first_admin_form(engine: Engine, t: Callable[..., str]) -> None:
    """A fresh non-demo database: create the first province admin, proven by the setup token
    printed in the server log (so the first visitor of a public URL cannot take the system); on an
    empty organisation the form also creates the province company 省公司, the root of the org tree."""
    auth.setup_token()
    st.info(t("setup.intro"))
    new_org = is_empty(engine)
    if new_org:
        st.caption(t("setup.province_intro"))
    with st.form(Keys.SETUP_FORM):
        token = st.text_input(t("setup.token"), type="password", key=Keys.SETUP_TOKEN)
        if new_org:
            code = st.text_input(t("setup.province_code"), max_chars=2, key=Keys.SETUP_PROVINCE_CODE)
            province = st.text_input(t("setup.province_name"), max_chars=100, key=Keys.SETUP_PROVINCE_NAME)
        login = st.text_input(t("setup.login"), key=Keys.SETUP_LOGIN)
        name = st.text_input(t("setup.display_name"), key=Keys.SETUP_NAME)
        password = st.text_input(t("login.password"), type="password", key=Keys.SETUP_PASSWORD)
        submitted = st.form_submit_button(t("setup.submit"), type="primary")
    if submitted:
        if not secrets_equal(token, auth.setup_token()):
            st.error(t("setup.bad_token"))
            return
        try:
            if new_org:
                auth.create_first_admin(engine, login, name, password, province_code=code, province_name=province)
            else:
                auth.create_first_admin(engine, login, name, password)
        except ValueError as exc:
            st.error(md(t, "common.invalid", reason=validation.describe(exc, t)))
            return
        invalidate()  # the organisation and its users are new: no cached reader may keep "empty"
        # the login form comes next, saying so; after logging in the admin lands on 组织设置 (pages/setup.py)
        st.session_state[Keys.DEEP_LINK] = "pages/setup.py"
        st.session_state[Keys.LOGIN_NOTICE] = "setup.done_org" if new_org else "setup.done"
        st.rerun()


def change_password_form(engine: Engine, t: Callable[..., str], user: auth.SessionUser) -> None:
    """First login with a one-time password 初始密码: the user sets their own before any page opens."""
    st.subheader(t("people.change_title"))
    st.info(t("people.change_intro"))
    with st.form(Keys.CHANGE_FORM):
        old = st.text_input(t("people.change_old"), type="password", key=Keys.CHANGE_OLD)
        new = st.text_input(t("people.change_new"), type="password", key=Keys.CHANGE_NEW)
        again = st.text_input(t("people.change_repeat"), type="password", key=Keys.CHANGE_REPEAT)
        submitted = st.form_submit_button(t("people.change_submit"), type="primary")
    if st.button(t("login.logout"), key=Keys.LOGOUT_PENDING):
        logout()
    if not submitted:
        return
    if new != again:
        st.error(t("people.change_mismatch"))
        return
    try:
        auth.change_own_password(engine, user.id, old, new)
    except ValueError as exc:
        st.error(md(t, "common.invalid", reason=validation.describe(exc, t)))
        return
    st.session_state[Keys.LAST_SEEN] = dt.datetime.now()
    st.rerun()


def secrets_equal(a: str, b: str) -> bool:
    """Compare two secrets in constant time (None counts as empty)."""
    return hmac.compare_digest((a or "").encode(), (b or "").encode())
