"""Streamlit frame (界面框架): engine, first-start bootstrap, page registry, sidebar and page guard.

This is the only `lib` module that imports streamlit. Pages call `guard()` at their top and get a
`PageContext`; they never read session state for scope or month themselves.
"""
from __future__ import annotations

import datetime as dt
import os
import threading
from dataclasses import dataclass
from typing import Callable

import streamlit as st
from sqlalchemy import Engine

from lib import auth, queries
from lib.config import database_url
from lib.db import is_empty, make_engine, upgrade
from lib.i18n import DEFAULT_LANGUAGE, LANGUAGES, translator  # noqa: F401 (re-exported for app.py)


class Keys:
    """Every session-state key the app uses, in one place."""

    USER_ID = "auth_user_id"
    DEEP_LINK = "deep_link_page"
    APP_SEEN = "app_seen"  # app.py has run in this session (its navigation is in charge)
    LAST_SEEN = "auth_last_seen"
    LOGIN_NAME = "login_name"
    LOGIN_PASSWORD = "login_password"
    LOGIN_NOTICE = "login_notice"
    LANG = "sidebar_lang"
    PRESENT_INDEX = "present_index"
    PRESENT_PLAYING = "present_playing"
    PRESENT_SHOWN_AT = "present_shown_at"
    MONTH = "sidebar_month"
    SCOPE_LEVEL = "sidebar_scope_{depth}"  # one selectbox per level below the user's root unit


ALL_ROLES = frozenset(auth.ROLES)


@dataclass(frozen=True)
class PageSpec:
    """A page of the app: file, catalog key of its title, Material icon, navigation section, roles."""

    path: str
    title_key: str
    icon: str
    section: str
    roles: frozenset = ALL_ROLES


# Page titles, icons and who may open them live here only (STYLE §1). Sections are catalog keys.
PAGES: tuple[PageSpec, ...] = (
    PageSpec("pages/overview.py", "page.overview", ":material/dashboard:", "nav.dashboards"),
    # --- dashboards (issue 5) ---
    PageSpec("pages/tiers.py", "page.tiers", ":material/stacked_bar_chart:", "nav.dashboards"),
    PageSpec("pages/plan.py", "page.plan", ":material/flag:", "nav.dashboards"),
    PageSpec("pages/four_rates.py", "page.four_rates", ":material/speed:", "nav.dashboards"),
    PageSpec("pages/churn.py", "page.churn", ":material/person_remove:", "nav.dashboards"),
    PageSpec("pages/reports.py", "page.reports", ":material/summarize:", "nav.dashboards"),
    # --- maps (issue 4) ---
    PageSpec("pages/grid_map.py", "page.grid_map", ":material/map:", "nav.maps"),
    PageSpec("pages/customer_map.py", "page.customer_map", ":material/radar:", "nav.maps"),
    PageSpec("pages/grid_edit.py", "page.grid_edit", ":material/edit_location_alt:", "nav.maps",
             frozenset({"province_admin", "city_manager", "district_manager"})),
    # --- daily work (issue 6) ---
    PageSpec("pages/customers.py", "page.customers", ":material/contacts:", "nav.work"),
    PageSpec("pages/visits.py", "page.visits", ":material/event_available:", "nav.work"),
    PageSpec("pages/matters.py", "page.matters", ":material/assignment_late:", "nav.work"),
    PageSpec("pages/managers.py", "page.managers", ":material/badge:", "nav.work"),
    PageSpec("pages/imports.py", "page.imports", ":material/upload_file:", "nav.work",
             frozenset({"province_admin", "city_manager", "district_manager", "station_manager"})),
    # --- meeting room (issue 8) ---
    PageSpec("pages/presentation.py", "page.presentation", ":material/slideshow:", "nav.meeting"),
    PageSpec("pages/audit.py", "page.audit", ":material/history:", "nav.admin", frozenset(auth.ADMIN_ROLES)),
    PageSpec("pages/admin_users.py", "page.admin_users", ":material/manage_accounts:", "nav.admin",
             frozenset(auth.ADMIN_ROLES)),
)


def allowed_pages(role: str) -> list[PageSpec]:
    """Return the pages `role` may open, in navigation order."""
    return [spec for spec in PAGES if role in spec.roles]


@dataclass(frozen=True)
class PageContext:
    """What a page needs: the engine, the viewer's chosen scope and month, and the translator."""

    engine: Engine
    scope: str
    month: str
    lang: str
    t: Callable[..., str]
    user: auth.SessionUser


# --- engine and first start --------------------------------------------------------------------

_bootstrap_lock = threading.Lock()


def get_engine() -> Engine:
    """Return the app's engine for the configured database (one per URL and process), schema
    upgraded to the latest migration."""
    return _engine_for(database_url())


@st.cache_resource(show_spinner=False)
def _engine_for(url: str) -> Engine:
    engine = make_engine(url)
    upgrade(engine)
    return engine


def demo_mode() -> bool:
    """True when an empty database should be filled with the demo province (the default SQLite)."""
    default = "0" if os.environ.get("DATABASE_URL") else "1"
    return os.environ.get("GRIDCRM_DEMO", default) == "1"


_ready: set[str] = set()


def ensure_data(engine: Engine, t: Callable[..., str]) -> None:
    """On first start, create the demo province with a progress bar; later starts return at once."""
    if _engine_key(engine) in _ready:
        return
    if not is_empty(engine):
        _ready.add(_engine_key(engine))
        return
    if not demo_mode():
        st.warning(t("bootstrap.empty"))
        st.stop()
    with _bootstrap_lock:
        if not is_empty(engine):  # another session built it while we waited
            return
        from lib import demo

        bar = st.progress(0.0, text=t("bootstrap.start"))

        def progress(fraction: float, step: str) -> None:
            bar.progress(min(max(fraction, 0.0), 1.0), text=t(f"bootstrap.step.{step}"))

        demo.generate(engine, progress=progress)
        auth.create_demo_users(engine)
        bar.empty()
    st.cache_data.clear()


# --- cached queries ----------------------------------------------------------------------------


def _engine_key(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=True)


def cached(fn: Callable) -> Callable:
    """Wrap a `lib.queries` function (engine, scope, month, …) in st.cache_data keyed by its inputs."""
    return st.cache_data(show_spinner=False, ttl=3600, max_entries=2000, hash_funcs={Engine: _engine_key})(fn)


org_units = cached(queries.org_units)
months = cached(queries.months)
default_scope_and_month = cached(queries.default_scope_and_month)


def map_asset_base() -> str:
    """Return the URL the maps load Leaflet and its plugins from (lib.maps.assets): the checked
    asset folder (fetched at the first map of the process), served by this Streamlit server."""
    from streamlit.components.v1 import declare_component  # imported here: only map pages need them

    from lib.maps import assets
    return assets.serve(declare_component, st.get_option("server.baseUrlPath"))


# --- language, navigation, sidebar -------------------------------------------------------------


def language() -> str:
    """Return the session's language (Chinese unless the user chose English)."""
    lang = st.session_state.get(Keys.LANG, DEFAULT_LANGUAGE)
    return lang if lang in LANGUAGES else DEFAULT_LANGUAGE


def language_picker(t: Callable[..., str], place: str) -> None:
    """The 中文/English switch. The choice lives in a plain session key (not the widget's own), so it
    survives moving from the login page to the app, where the switch is another widget."""
    widget = f"{place}_lang_widget"

    def keep() -> None:
        if st.session_state.get(widget) in LANGUAGES:
            st.session_state[Keys.LANG] = st.session_state[widget]

    st.session_state[widget] = language()
    st.segmented_control(t("sidebar.language"), options=list(LANGUAGES), key=widget, on_change=keep,
                         format_func=lambda code: t(f"language.{code}"))


def navigation_pages(t: Callable[..., str], user: auth.SessionUser | None) -> dict[str, list]:
    """Return the st.navigation mapping {section: [st.Page, …]}: only the pages `user` may open.

    Without a user the only page is the login page.
    """
    if user is None:
        # Every page's URL shows the login page, so a deep link (…/plan) logs in and then opens
        # that page instead of "page not found".
        login = [st.Page(login_page, title=t("login.title"), icon=":material/login:", url_path="login", default=True)]
        login += [st.Page(login_page, title=t("login.title"), url_path=spec.path.split("/")[-1].removesuffix(".py"))
                  for spec in PAGES]
        return {"": login}
    sections: dict[str, list] = {}
    for i, spec in enumerate(allowed_pages(user.role)):
        page = st.Page(spec.path, title=t(spec.title_key), icon=spec.icon, default=(i == 0))
        sections.setdefault(t(spec.section), []).append(page)
    return sections


def _unit_label(unit, lang: str) -> str:
    return unit["name_en"] if lang == "en" and unit["name_en"] else unit["name"]


def sidebar(engine: Engine, lang: str, t: Callable[..., str], user: auth.SessionUser) -> tuple[str, str]:
    """Draw user, language, scope and month pickers; return the chosen (scope, month).

    The scope picker walks down the org tree from the user's own unit, one selectbox per level,
    so it only ever offers units inside the user's scope.
    """
    with st.sidebar:
        st.text(f"{user.display_name} · {t(f'role.{user.role}')}")  # plain text: names are user input
        if st.button(t("login.logout"), key="sidebar_logout", icon=":material/logout:"):
            logout()
        language_picker(t, "sidebar")
        scope = user.scope
        units = org_units(engine, user.scope)
        st.caption(t("sidebar.scope"))
        if units.empty:  # a customer manager's own customers: nothing to pick
            st.markdown(t("sidebar.own_customers"))
        else:
            children: dict[int | None, list] = {}
            for unit in units.to_dict("records"):
                children.setdefault(unit["parent_id"], []).append(unit)
            current, depth = units.iloc[0].to_dict(), 0
            if not children.get(current["id"]):
                st.markdown(_unit_label(current, lang))
            while children.get(current["id"]):
                below = {u["path"]: u for u in children[current["id"]]}
                labels = {"": t("sidebar.all")} | {p: _unit_label(u, lang) for p, u in below.items()}
                choice = st.selectbox(
                    t(f"level.{next(iter(below.values()))['level']}"), list(labels),
                    key=Keys.SCOPE_LEVEL.format(depth=depth), format_func=labels.get,
                )
                if not choice:
                    break
                current, scope, depth = below[choice], choice, depth + 1
        available = months(engine, scope) or months(engine, user.scope) or [dt.date.today().strftime("%Y-%m")]
        month = st.selectbox(t("sidebar.month"), available, key=Keys.MONTH)
    return scope, month


# --- logins ------------------------------------------------------------------------------------


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
    return user


def logout(notice: str | None = None, rerun: bool = True) -> None:
    """End the session's login and forget its cached choices."""
    for key in list(st.session_state.keys()):
        if key not in (Keys.LANG,):
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
        _login_body(engine, lang, t)


def _login_body(engine: Engine, lang: str, t: Callable[..., str]) -> None:
    st.title(t("app.title"))
    language_picker(t, "login")
    if auth.user_count(engine) == 0:
        first_admin_form(engine, t)
        return
    if demo_mode():
        st.info(t("login.demo", password=auth.DEMO_PASSWORD,
                  logins=", ".join(f"{login} ({t(f'role.{role}')})" for login, _, role, _ in auth.DEMO_USERS)))
    notice = st.session_state.pop(Keys.LOGIN_NOTICE, None)
    if notice:
        st.warning(t(notice))
    with st.form("login_form"):
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
            st.error(t("login.locked", minutes=int(auth.LOCK_WINDOW.total_seconds() // 60)))
        elif result.reason == "inactive":
            st.error(t("login.inactive"))
        else:
            st.error(t("login.invalid"))


def first_admin_form(engine: Engine, t: Callable[..., str]) -> None:
    """A fresh non-demo database: create the first province admin, proven by the setup token
    printed in the server log (so the first visitor of a public URL cannot take the system)."""
    auth.setup_token()
    st.info(t("setup.intro"))
    with st.form("setup_form"):
        token = st.text_input(t("setup.token"), type="password")
        login = st.text_input(t("setup.login"))
        name = st.text_input(t("setup.display_name"))
        password = st.text_input(t("login.password"), type="password")
        submitted = st.form_submit_button(t("setup.submit"), type="primary")
    if submitted:
        if not secrets_equal(token, auth.setup_token()):
            st.error(t("setup.bad_token"))
            return
        try:
            auth.create_first_admin(engine, login, name, password)
        except ValueError as exc:
            st.error(t("common.invalid", reason=str(exc)))
            return
        st.success(t("setup.done"))


def secrets_equal(a: str, b: str) -> bool:
    import hmac

    return hmac.compare_digest((a or "").encode(), (b or "").encode())


# --- the frame every page runs in --------------------------------------------------------------

_frame = threading.local()


def frame(user: auth.SessionUser | None = None) -> PageContext:
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
    if target and any(spec.path == target for spec in allowed_pages(ctx.user.role)):
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
    whose role may not open `page` sees a refusal and nothing else.
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
        ctx = frame()
    spec = next((s for s in PAGES if s.path == page), None)
    if spec is None or ctx.user.role not in spec.roles:
        st.error(ctx.t("login.forbidden"))
        st.stop()
    return ctx


def page_link(path: str, label: str, user: auth.SessionUser) -> None:
    """Show a link to a page (drill-down) when it exists and `user` may open it."""
    if any(spec.path == path and user.role in spec.roles for spec in PAGES):
        try:
            st.page_link(path, label=label, icon=":material/arrow_forward:")
        except st.errors.StreamlitAPIException:  # a page file run alone has no navigation to link into
            pass


def scope_name(ctx: PageContext) -> str:
    """Return the display name of the context's scope unit in the session's language."""
    unit = cached(queries.unit_by_path)(ctx.engine, ctx.scope)
    if unit is None:
        return ctx.user.display_name
    return _unit_label(unit, ctx.lang)


# --- dashboard tables (issue 5) ------------------------------------------------------------------


TABLE_ROWS = 2_000  # rows a dashboard table shows on the page (downloads have all)


def table(df, t: Callable[..., str], name: str, key: str, columns: list[str] | None = None,
          column_config: dict | None = None, height: int | str = "auto") -> None:
    """Show a dashboard table with translated headers and values (lib.reports.labelled) and CSV /
    Excel download buttons; the files are built only when clicked. `column_config` is keyed by the
    raw column names."""
    from lib import fmt, reports

    # A province's lists run to a hundred thousand rows: the page shows the first TABLE_ROWS (the
    # lists come sorted most important first), the downloads carry every row.
    shown = reports.labelled(df.head(TABLE_ROWS), t, columns)
    if len(df) > TABLE_ROWS:
        lang = st.session_state.get(Keys.LANG, DEFAULT_LANGUAGE)
        st.caption(t("dash.rows_capped", shown=fmt.count(TABLE_ROWS, lang), total=fmt.count(len(df), lang)))
    config = {t(f"dcol.{c}"): st.column_config.NumberColumn(format=reports.page_format(c))
              for c in (columns or list(df.columns)) if c in df.columns and reports.page_format(c)}
    config |= {t(f"dcol.{c}"): v for c, v in (column_config or {}).items()}
    st.dataframe(shown, hide_index=True, column_config=config, height=height, key=f"{key}_table")
    row = st.container(horizontal=True)
    row.download_button(t("dash.csv"), data=lambda: reports.csv_bytes(df, t, columns), file_name=f"{name}.csv",
                         mime="text/csv", key=f"{key}_csv", on_click="ignore", icon=":material/download:")
    row.download_button(t("dash.xlsx"), data=lambda: reports.excel_bytes(df, t, name, columns),
                          file_name=f"{name}.xlsx", key=f"{key}_xlsx", on_click="ignore",
                          mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                          icon=":material/table_view:")


# --- daily work tables (issue 6) -----------------------------------------------------------------


def download_buttons(df, name: str, t: Callable[..., str], key: str, sheet: str | None = None) -> None:
    """CSV (UTF-8 with BOM, opens in Excel) and .xlsx download buttons for a table on screen
    (lib.export, formula-injection safe); the files are built only when clicked."""
    from lib import export

    row = st.container(horizontal=True)
    row.download_button(t("work.csv"), data=lambda: export.to_csv_bytes(df), file_name=f"{name}.csv",
                         mime="text/csv", key=f"{key}_csv", on_click="ignore", icon=":material/download:")
    row.download_button(t("work.xlsx"), data=lambda: export.to_xlsx_bytes(df, sheet or name),
                        file_name=f"{name}.xlsx", key=f"{key}_xlsx", on_click="ignore",
                        mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                        icon=":material/table_view:")


# --- presentation mode (会议模式) ----------------------------------------------------------------

# Meeting-room look: no sidebar, no header or toolbar, large type for the back of the room.
PRESENTATION_CSS = """<style>
[data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"], [data-testid="stHeader"],
[data-testid="stToolbar"], [data-testid="stDecoration"] {display: none !important;}
[data-testid="stMainBlockContainer"] {padding-top: 1rem; max-width: 100%;}
.slide-title {font-size: 1.6rem; color: #606c76; margin: 0;}
.slide-headline {font-size: 3.2rem; font-weight: 700; line-height: 1.2; color: #1f2933; margin: .3rem 0 1rem;}
.slide-figures {display: flex; gap: 3rem; margin-bottom: .5rem;}
.slide-figure .label {font-size: 1.4rem; color: #606c76;}
.slide-figure .value {font-size: 3rem; font-weight: 700;}
.slide-progress {font-size: 1.1rem; color: #606c76; text-align: right;}
.rag-green {color: #2e7d32;} .rag-amber {color: #e69100;} .rag-red {color: #c8102e;}
</style>"""


def slide_html(slide, index: int, total: int) -> str:
    """Return one slide's title, headline and key figures as HTML (all text escaped)."""
    from html import escape

    figures = "".join(
        f'<div class="slide-figure"><div class="label">{escape(label)}</div>'
        f'<div class="value rag-{rag or "none"}">{escape(value)}</div></div>'
        for label, value, rag in slide.figures)
    return (f'<div class="slide" data-slide="{escape(slide.key)}">'
            f'<div class="slide-progress">{index + 1} / {total}</div>'
            f'<p class="slide-title">{escape(slide.title)}</p>'
            f'<p class="slide-headline">{escape(slide.headline)}</p>'
            f'<div class="slide-figures">{figures}</div></div>')


def slide_chart(fig):
    """The slide's chart in presentation size (large fonts, no title)."""
    import plotly.graph_objects as go

    fig = go.Figure(fig)
    fig.update_layout(font_size=20, height=560, title=None, margin=dict(l=20, r=20, t=20, b=20))
    return fig


def briefing_downloads(ctx: PageContext) -> None:
    """Buttons that build the briefing as PowerPoint and PDF, with progress, then offer the file."""
    from lib import briefing

    t = ctx.t
    for kind, build, mime in (("pptx", briefing.build_pptx,
                               "application/vnd.openxmlformats-officedocument.presentationml.presentation"),
                              ("pdf", briefing.build_pdf, "application/pdf")):
        key = f"present_file_{kind}"
        if st.button(t(f"present.build_{kind}"), key=f"present_build_{kind}", icon=":material/build:"):
            bar = st.progress(0.0, text=t("present.building"))
            st.session_state[key] = build(ctx.engine, ctx.scope, ctx.month, ctx.lang,
                                          progress=lambda f, _s: bar.progress(f, text=t("present.building")))
            bar.empty()
        if st.session_state.get(key):
            st.download_button(t(f"present.download_{kind}"), st.session_state[key], key=f"present_dl_{kind}",
                               file_name=f"briefing_{ctx.month}.{kind}", mime=mime, icon=":material/download:")
