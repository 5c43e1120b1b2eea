"""Chart labels from data are plain text (issue 14, failure 5): plotly renders a subset of HTML in
category labels, texts, hover texts and trace names, so a station named "<a href=…>" became a link on
the four-rates and briefing charts. Every chart of lib.charts / lib.charts_dashboards goes through
charts.layout, the presentation and the slide pictures through plain_labels."""
from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import pytest

from lib import charts, charts_dashboards
from lib.i18n import translator
from lib.ui.presentation import slide_chart

HOSTILE = "<a href='http://198.51.100.7/x'>站</a><img src=http://198.51.100.7/y>"
T = translator("zh")


def _raw_tags(fig: go.Figure) -> int:
    return sum(fig.to_json().count(tag) for tag in ("<a ", "<img", "<b>"))


@pytest.mark.parametrize("build", [
    lambda: charts_dashboards.count_bar(pd.Series({HOSTILE: 3, "乙站": 1}), "t"),
    lambda: charts.layout(go.Figure(go.Bar(x=[HOSTILE], y=[1], text=["<b>1</b>"], name=HOSTILE)), "t"),
    lambda: slide_chart(go.Figure(go.Bar(x=[HOSTILE], y=[1], hovertext=[HOSTILE]))),
    lambda: charts.plain_labels(go.Figure(go.Sankey(node=dict(label=[HOSTILE, "b"])))),
])
def test_labels_from_data_are_text_not_html(build):
    fig = build()
    assert _raw_tags(fig) == 0
    assert "&lt;a href=" in fig.to_json()  # still there, as characters plotly shows literally


def test_numbers_and_plain_names_are_left_as_they_are():
    fig = charts.plain_labels(go.Figure(go.Bar(x=["甲站", "乙站"], y=[1.5, 2.0], text=["1.5", "2.0"])))
    assert list(fig.data[0].x) == ["甲站", "乙站"] and list(fig.data[0].y) == [1.5, 2.0]
