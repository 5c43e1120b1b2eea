"""The shared sidebar 侧边栏: who is logged in, logout, language, scope and month pickers."""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import streamlit as st
from sqlalchemy import Engine

from lib import auth
from lib.ui.cache import months, org_units
from lib.ui.keys import Keys
from lib.ui.language_switch import language_picker
from lib.ui.login import logout
from lib.ui.text import md_escape


def unit_label(unit, lang: str) -> str:
    """An org unit's name in the session's language (the Chinese name when there is no English one)."""
    return unit["name_en"] if lang == "en" and unit["name_en"] else unit["name"]


def sidebar(engine: Engine, lang: str, t: Callable[..., str], user: auth.SessionUser) -> tuple[str, str]:
    """Draw user, language, scope and month pickers; return the chosen (scope, month).

    The scope picker walks down the org tree from the user's own unit, one selectbox per level,
    so it only ever offers units inside the user's scope.
    """
    with st.sidebar:
        st.text(f"{user.display_name} · {t(f'role.{user.role}')}")  # plain text: names are user input
        if st.button(t("login.logout"), key=Keys.LOGOUT, icon=":material/logout:"):
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
                st.markdown(md_escape(unit_label(current, lang)))
            while children.get(current["id"]):
                below = {u["path"]: u for u in children[current["id"]]}
                labels = {"": t("sidebar.all")} | {p: unit_label(u, lang) for p, u in below.items()}
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
