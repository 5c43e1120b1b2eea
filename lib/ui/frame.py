"""The frame every page runs in 页面框架: PageContext, one script run's setup, the page guard.

Pages call `guard()` at their top and get a `PageContext`; they never read session state for scope
or month themselves.
"""
from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

import streamlit as st
from sqlalchemy import Engine

from lib import auth, queries
from lib.i18n import translator
from lib.ui.bootstrap import ensure_data, get_engine
from lib.ui.cache import cached
from lib.ui.keys import Keys
from lib.ui.language_switch import language
from lib.ui.login import current_user, login_page
from lib.ui.navigation import may_open
from lib.ui.sidebar import sidebar, unit_label


@dataclass(frozen=True)
class PageContext:
    """What a page needs: the engine, the viewer's chosen scope and month, and the translator."""

    engine: Engine
    scope: str
    month: str
    lang: str
    t: Callable[..., str]
    user: auth.SessionUser


_frame = threading.local()


def page_context(user: auth.SessionUser | None = None) -> PageContext:
    """Set up one script run: engine, data, language, login, sidebar; return the page context.

    Without a logged-in user it shows the login page and stops the run: nothing below it runs.
    """
    lang = language()
    t = translator(lang)
    engine = get_engine()
    ensure_data(engine, t)
    user = user or current_user(engine)
    if user is None:
        login_page()
        st.stop()
    scope, month = sidebar(engine, lang, t, user)
    return PageContext(engine=engine, scope=scope, month=month, lang=lang, t=t, user=user)


def run(pg, ctx: PageContext) -> None:
    """Run the selected page with `ctx` available to its `guard()` call (or first open the page a
    deep link asked for, once the user may see it)."""
    st.session_state[Keys.APP_SEEN] = True
    target = st.session_state.pop(Keys.DEEP_LINK, None)
    if target and may_open(ctx.user, target):
        st.switch_page(target)
    _frame.ctx = ctx
    try:
        pg.run()
    finally:
        _frame.ctx = None


def guard(page: str) -> PageContext:
    """Every page calls this first with its own path. Returns the context app.py set up for this
    run; a page reached without app.py (Streamlit's `pages/` auto-discovery serves it directly)
    builds the frame itself, which shows the login page to a visitor who is not logged in. A user
    whose role may not open `page` (permission `page.<name>`) sees a refusal and nothing else.
    """
    ctx = getattr(_frame, "ctx", None)
    if ctx is None and not st.session_state.get(Keys.APP_SEEN):
        # A fresh session served by Streamlit's pages/ auto-discovery without app.py: hand over to
        # app.py (its navigation, layout and login) and open this page from there.
        st.session_state[Keys.DEEP_LINK] = page
        try:
            st.switch_page("app.py")
        except st.errors.StreamlitAPIException:  # no app.py in this run (a page file run alone)
            pass
    if ctx is None:  # the page file runs alone: build the frame (login, sidebar) right here
        ctx = page_context()
    if not may_open(ctx.user, page):
        st.error(ctx.t("login.forbidden"))
        st.stop()
    return ctx


def page_link(path: str, label: str, user: auth.SessionUser, query_params: dict | None = None) -> None:
    """Show a link to a page (drill-down) when it exists and `user` may open it (with `query_params`
    in its URL, e.g. {"kind": "traffic"} for the imports page)."""
    if may_open(user, path):
        try:
            st.page_link(path, label=label, icon=":material/arrow_forward:", query_params=query_params)
        except st.errors.StreamlitAPIException:  # a page file run alone has no navigation to link into
            pass


def scope_name(ctx: PageContext) -> str:
    """Return the display name of the context's scope unit in the session's language."""
    unit = cached(queries.unit_by_path)(ctx.engine, ctx.scope)
    if unit is None:
        return ctx.user.display_name
    return unit_label(unit, ctx.lang)
