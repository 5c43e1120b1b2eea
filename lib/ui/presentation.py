"""Presentation mode 会议模式: the meeting-room look, slide HTML and chart, briefing downloads."""
from __future__ import annotations

from html import escape

import streamlit as st

from lib.ui.keys import Keys

K = Keys.Presentation

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

    from lib.charts import plain_labels

    fig = plain_labels(go.Figure(fig))  # names from data as text (issue 14)
    fig.update_layout(font_size=20, height=560, title=None, margin=dict(l=20, r=20, t=20, b=20))
    return fig


def briefing_downloads(ctx) -> None:
    """Buttons that build the briefing as PowerPoint and PDF, with progress, then offer the file."""
    from lib import briefing

    t = ctx.t
    for kind, build, mime in (("pptx", briefing.build_pptx,
                               "application/vnd.openxmlformats-officedocument.presentationml.presentation"),
                              ("pdf", briefing.build_pdf, "application/pdf")):
        key = Keys.row(K.FILE, kind)
        if st.button(t(f"present.build_{kind}"), key=Keys.row(K.BUILD, kind), icon=":material/build:"):
            bar = st.progress(0.0, text=t("present.building"))
            st.session_state[key] = build(ctx.engine, ctx.scope, ctx.month, ctx.lang,
                                          progress=lambda f, _s, bar=bar: bar.progress(f, text=t("present.building")))
            bar.empty()
        if st.session_state.get(key):
            st.download_button(t(f"present.download_{kind}"), st.session_state[key], key=Keys.row(K.DOWNLOAD, kind),
                               file_name=f"briefing_{ctx.month}.{kind}", mime=mime, icon=":material/download:")
