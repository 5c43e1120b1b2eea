"""Streamlit frame (界面框架): engine, first-start bootstrap, page registry, sidebar and page guard.

This is the only `lib` module that imports streamlit. Pages call `guard()` at their top and get a
`PageContext`; they never read session state for scope or month themselves.
"""
from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from typing import Callable

import streamlit as st
from sqlalchemy import Engine

from lib import queries
from lib.config import database_url
from lib.db import is_empty, make_engine, upgrade
from lib.i18n import DEFAULT_LANGUAGE, LANGUAGES, translator  # noqa: F401 (re-exported for app.py)


class Keys:
    """Every session-state key the app uses, in one place."""

    LANG = "sidebar_lang"
    MONTH = "sidebar_month"
    SCOPE_LEVEL = "sidebar_scope_{depth}"  # one selectbox per level below the user's root unit


@dataclass(frozen=True)
class PageSpec:
    """A page of the app: file, catalog key of its title, Material icon, navigation section."""

    path: str
    title_key: str
    icon: str
    section: str


# Page titles and icons live here only (STYLE §1). Sections are catalog keys too.
PAGES: tuple[PageSpec, ...] = (
    PageSpec("pages/overview.py", "page.overview", ":material/dashboard:", "nav.dashboards"),
)


@dataclass(frozen=True)
class PageContext:
    """What a page needs: the engine, the viewer's chosen scope and month, and the translator."""

    engine: Engine
    scope: str
    month: str
    lang: str
    t: Callable[..., str]


# --- engine and first start --------------------------------------------------------------------

_bootstrap_lock = threading.Lock()


@st.cache_resource(show_spinner=False)
def get_engine() -> Engine:
    """Return the app's engine (one per process), schema upgraded to the latest migration."""
    engine = make_engine(database_url())
    upgrade(engine)
    return engine


def demo_mode() -> bool:
    """True when an empty database should be filled with the demo province (the default SQLite)."""
    default = "0" if os.environ.get("DATABASE_URL") else "1"
    return os.environ.get("GRIDCRM_DEMO", default) == "1"


def ensure_data(engine: Engine, t: Callable[..., str]) -> None:
    """On first start, create the demo province with a progress bar; later starts return at once."""
    if not is_empty(engine):
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


# --- language, navigation, sidebar -------------------------------------------------------------


def language() -> str:
    """Return the session's language (Chinese unless the user chose English)."""
    lang = st.session_state.get(Keys.LANG, DEFAULT_LANGUAGE)
    return lang if lang in LANGUAGES else DEFAULT_LANGUAGE


def navigation_pages(t: Callable[..., str]) -> dict[str, list]:
    """Return the st.navigation mapping {section title: [st.Page, …]} for the registered pages."""
    sections: dict[str, list] = {}
    for i, spec in enumerate(PAGES):
        page = st.Page(spec.path, title=t(spec.title_key), icon=spec.icon, default=(i == 0))
        sections.setdefault(t(spec.section), []).append(page)
    return sections


def _unit_label(unit, lang: str, t: Callable[..., str]) -> str:
    return unit["name_en"] if lang == "en" and unit["name_en"] else unit["name"]


def sidebar(engine: Engine, lang: str, t: Callable[..., str], root_scope: str) -> tuple[str, str]:
    """Draw language, scope and month pickers; return the chosen (scope, month).

    The scope picker walks down the org tree from the viewer's root unit, one selectbox per
    level, so it only ever offers units inside the viewer's own scope.
    """
    with st.sidebar:
        st.segmented_control(
            t("sidebar.language"), options=list(LANGUAGES), key=Keys.LANG, default=DEFAULT_LANGUAGE,
            format_func=lambda code: t(f"language.{code}"),
        )
        units = org_units(engine, root_scope)
        children: dict[int | None, list] = {}
        for unit in units.to_dict("records"):
            children.setdefault(unit["parent_id"], []).append(unit)
        current = units.loc[units["path"] == root_scope].to_dict("records")[0]
        scope, depth = root_scope, 0
        st.caption(t("sidebar.scope"))
        while children.get(current["id"]):
            options = [None] + children[current["id"]]
            choice = st.selectbox(
                t(f"level.{options[1]['level']}"), options, key=Keys.SCOPE_LEVEL.format(depth=depth),
                format_func=lambda u: t("sidebar.all") if u is None else _unit_label(u, lang, t),
            )
            if choice is None:
                break
            current, scope, depth = choice, choice["path"], depth + 1
        available = months(engine, scope) or months(engine, root_scope)
        month = st.selectbox(t("sidebar.month"), available, key=Keys.MONTH)
    return scope, month


_frame = threading.local()


def frame() -> PageContext:
    """Set up one script run: engine, data, language, sidebar; return the page context."""
    lang = language()
    t = translator(lang)
    engine = get_engine()
    ensure_data(engine, t)
    root_scope, _ = default_scope_and_month(engine)
    scope, month = sidebar(engine, lang, t, root_scope)
    return PageContext(engine=engine, scope=scope, month=month, lang=lang, t=t)


def run(pg, ctx: PageContext) -> None:
    """Run the selected page with `ctx` available to its `guard()` call."""
    _frame.ctx = ctx
    try:
        pg.run()
    finally:
        _frame.ctx = None


def guard() -> PageContext:
    """Every page calls this first. Returns the context app.py set up for this run; a page reached
    without app.py (Streamlit's `pages/` auto-discovery serves it directly) builds the frame itself.
    """
    ctx = getattr(_frame, "ctx", None)
    if ctx is not None:
        return ctx
    return frame()


def page_link(path: str, label: str) -> None:
    """Show a link to a registered page (drill-down); nothing if that page does not exist yet."""
    if any(spec.path == path for spec in PAGES):
        st.page_link(path, label=label, icon=":material/arrow_forward:")


def scope_name(ctx: PageContext) -> str:
    """Return the display name of the context's scope unit in the session's language."""
    unit = cached(queries.unit_by_path)(ctx.engine, ctx.scope)
    if unit is None:
        return ctx.scope
    return unit["name_en"] if ctx.lang == "en" and unit["name_en"] else unit["name"]
