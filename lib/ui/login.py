"""Logins 登录: the login page, the first-admin form of a fresh database, session timeout, logout, and
the new password a user with a one-time password 初始密码 must set before any page opens.

Sessions 会话 are server-side (lib.auth: `user_session`): the browser session holds only the token.
`session_check` is the one check, run by every script run (`current_user`: app.py, the page frame) and
every fragment run (`fragment`, used instead of `st.fragment`): an ended, idle or deactivated session
returns to the login page with a message saying why.
"""
from __future__ import annotations

import datetime as dt
import functools
import hmac
import math
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


# why a session ended → the login page's notice
_ENDED = {"timeout": "login.timed_out", "deactivated": "login.inactive",
          "password_reset": "login.ended_password_reset", "role_changed": "login.ended_role_changed",
          "password_changed": "login.ended_password_changed"}


def session_check(engine: Engine, touch: bool = True) -> auth.SessionUser | None:
    """The one session check (every rerun and every fragment run): the session's user while the
    server-side session is alive (a user who must still change a one-time password included), else
    None after logging out with a notice why. `touch`: this run is the user's activity."""
    token = st.session_state.get(Keys.SESSION)
    if token is None:
        return None
    result = auth.check_session(engine, token, session_timeout(), touch=touch)
    if result.user is None:
        logout(notice=_ENDED.get(result.reason, "login.ended"), rerun=False, end=False)
    return result.user


def current_user(engine: Engine) -> auth.SessionUser | None:
    """Return the session's user, or None when nobody is logged in, the session ended (timeout,
    password reset, deactivation, role change) or a new password is still due. Every run re-reads it."""
    user = session_check(engine)
    if user is None or user.must_change:  # no page opens before a new password (the login page asks)
        return None
    return user


def fragment(func=None, *, run_every: float | None = None):
    """`st.fragment` whose every run first checks the session (`session_check`): once it has ended, the
    whole app reruns and shows the login page. Timed runs (`run_every`) are not activity: an
    auto-advancing presentation does not keep an idle session alive."""
    def decorate(fn):
        @functools.wraps(fn)
        def checked(*args, **kwargs):
            if session_check(get_engine(), touch=run_every is None) is None:
                st.rerun(scope="app")
            return fn(*args, **kwargs)
        return st.fragment(checked, run_every=run_every)
    return decorate(func) if func is not None else decorate


def logout(notice: str | None = None, rerun: bool = True, end: bool = True) -> None:
    """End the session's login (`end`: its server-side session too) and forget its cached choices
    (the language stays)."""
    token = st.session_state.get(Keys.SESSION)
    if end and token:
        auth.end_session(get_engine(), token, "logout")
    for key in list(st.session_state.keys()):
        if key != Keys.LANG:
            del st.session_state[key]
    if notice:
        st.session_state[Keys.LOGIN_NOTICE] = notice
    if rerun:
        st.rerun()


def request_source() -> str:
    """The client's address for the login backoff (lib.auth.client_source): Streamlit's peer address,
    or the X-Forwarded-For of a proxy named in `GRIDCRM_TRUSTED_PROXY`."""
    try:
        peer, headers = st.context.ip_address, st.context.headers
        forwarded = headers.get("X-Forwarded-For") if headers is not None else None
    except Exception:  # no request behind this run (AppTest)  # noqa: BLE001
        peer, forwarded = None, None
    return auth.client_source(peer, forwarded, os.environ.get("GRIDCRM_TRUSTED_PROXY"))


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
    user = session_check(engine, touch=False)
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
        _log_in(engine, t, name, password)


def _log_in(engine: Engine, t: Callable[..., str], name: str, password: str) -> None:
    """Check the login form; on success keep the session token and rerun into the app."""
    try:
        result = auth.authenticate(engine, name, password, source=request_source())
    except auth.Busy:  # an import holds the write lock: say so instead of waiting
        st.error(t("login.busy"))
        return
    if result.user is not None:
        st.session_state[Keys.SESSION] = result.token
        st.rerun()
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    wait = (result.locked_until - now).total_seconds() if result.locked_until else 0
    if result.reason == "locked":
        st.error(md(t, "login.locked", minutes=max(1, math.ceil(wait / 60))))
    elif result.reason == "slowed":
        st.error(md(t, "login.slowed", seconds=max(1, math.ceil(wait))))
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
        auth.change_own_password(engine, user.id, old, new, keep_token=st.session_state.get(Keys.SESSION))
    except ValueError as exc:
        st.error(md(t, "common.invalid", reason=validation.describe(exc, t)))
        return
    st.rerun()


def secrets_equal(a: str, b: str) -> bool:
    """Compare two secrets in constant time (None counts as empty)."""
    return hmac.compare_digest((a or "").encode(), (b or "").encode())
