"""The session's language 界面语言: Chinese unless the user chose English, and the 中文/English switch."""
from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from lib.i18n import DEFAULT_LANGUAGE, LANGUAGES
from lib.ui.keys import Keys


def language() -> str:
    """Return the session's language (Chinese unless the user chose English)."""
    lang = st.session_state.get(Keys.LANG, DEFAULT_LANGUAGE)
    return lang if lang in LANGUAGES else DEFAULT_LANGUAGE


def language_picker(t: Callable[..., str], place: str) -> None:
    """The 中文/English switch. The choice lives in a plain session key (not the widget's own), so it
    survives moving from the login page to the app, where the switch is another widget."""
    widget = Keys.LANG_WIDGET.format(place=place)

    def keep() -> None:
        if st.session_state.get(widget) in LANGUAGES:
            st.session_state[Keys.LANG] = st.session_state[widget]

    st.session_state[widget] = language()
    st.segmented_control(t("sidebar.language"), options=list(LANGUAGES), key=widget, on_change=keep,
                         format_func=lambda code: t(f"language.{code}"))
