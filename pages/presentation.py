"""Presentation mode 会议模式: the monthly briefing as a slide show for the meeting room."""
import time

import streamlit as st

from lib import briefing, ui

ctx = ui.guard("pages/presentation.py")
t = ctx.t
K = ui.Keys.Presentation
deck = ui.cached(briefing.slides)(ctx.engine, ctx.scope, ctx.month, ctx.lang)
st.html(ui.PRESENTATION_CSS)

st.session_state.setdefault(K.INDEX, 0)
st.session_state.setdefault(K.PLAYING, False)
st.session_state.setdefault(K.SHOWN_AT, time.monotonic())


def go(step: int) -> None:
    st.session_state[K.INDEX] = (st.session_state[K.INDEX] + step) % len(deck)
    st.session_state[K.SHOWN_AT] = time.monotonic()


def toggle() -> None:
    st.session_state[K.PLAYING] = not st.session_state[K.PLAYING]
    st.session_state[K.SHOWN_AT] = time.monotonic()


bar = st.columns([1, 1, 1, 2, 4], vertical_alignment="center")
bar[0].button(t("present.prev"), key=K.PREV, icon=":material/chevron_left:", shortcut="Left",
              on_click=go, args=(-1,))
bar[1].button(t("present.next"), key=K.NEXT, icon=":material/chevron_right:", shortcut="Right",
              on_click=go, args=(1,))
playing = st.session_state[K.PLAYING]
bar[2].button(t("present.pause") if playing else t("present.play"), key=K.TOGGLE, shortcut="Space",
              icon=":material/pause:" if playing else ":material/play_arrow:", on_click=toggle)
interval = bar[3].select_slider(t("present.interval"), options=[5, 10, 20, 30, 60], value=20,
                                key=K.INTERVAL, format_func=lambda s: t("present.seconds", s=s))


@ui.fragment(run_every=1.0 if playing else None)
def show() -> None:
    """Only this fragment reruns while the show plays: it advances when the interval has passed."""
    if st.session_state[K.PLAYING] and time.monotonic() - st.session_state[K.SHOWN_AT] >= interval:
        go(1)
    i = st.session_state[K.INDEX]
    slide = deck[i]
    st.html(ui.slide_html(slide, i, len(deck)))
    if slide.chart is not None:
        st.plotly_chart(ui.slide_chart(slide.chart), width="stretch", key=ui.Keys.row(K.CHART, i),
                        config={"displayModeBar": False, "staticPlot": True})


show()
with bar[4].popover(t("present.export"), icon=":material/download:"):
    ui.briefing_downloads(ctx)
