"""Chart builders (图表): plotly figures from query results; labels come from the caller's translator."""
from __future__ import annotations

from collections.abc import Callable

import pandas as pd
import plotly.graph_objects as go

from lib.rules import TIERS

TIER_COLOURS = {"province": "#7a0019", "city": "#c8102e", "district": "#f28c28", "station": "#4a90c2"}
FONT = "Noto Sans CJK SC, Microsoft YaHei, PingFang SC, sans-serif"


_LABEL_FIELDS = ("x", "y", "text", "hovertext", "labels", "name")


def _plain(value):
    """One label or an array of labels with plotly's tag brackets as entities (plotly shows them as
    the characters again), so data such as "<a href=…>" is text, never a link or formatting."""
    if isinstance(value, str):
        return value.replace("<", "&lt;").replace(">", "&gt;") if ("<" in value or ">" in value) else value
    if isinstance(value, (tuple, list)) or getattr(getattr(value, "dtype", None), "kind", "") == "O":
        out = [_plain(v) if isinstance(v, str) else v for v in value]
        return out if any(a is not b for a, b in zip(out, value)) else value
    return value


def plain_labels(fig: go.Figure) -> go.Figure:
    """Return `fig` with every text its traces take from data (categories, texts, hover texts, trace
    names, sankey node labels) shown as plain text: plotly renders a subset of HTML (links, bold,
    line breaks) in labels, and names of customers, stations or units come from users (issue 14)."""
    for trace in fig.data:
        for field in _LABEL_FIELDS:
            if field in trace and trace[field] is not None:
                trace[field] = _plain(trace[field])
        if trace.type == "sankey" and trace.node.label is not None:
            trace.node.label = _plain(trace.node.label)
    return fig


def layout(fig: go.Figure, title: str) -> go.Figure:
    """Return `fig` with the app's common chart frame: title, CJK font, margins, legend on top; labels
    from data as plain text (plain_labels)."""
    plain_labels(fig)
    fig.update_layout(
        title=title, font_family=FONT, margin=dict(l=10, r=10, t=50, b=10), height=360,
        legend=dict(orientation="h", yanchor="bottom", y=1.0, xanchor="right", x=1),
        plot_bgcolor="white",
    )
    return fig


def tier_kind_bar(tier_kind: pd.DataFrame, t: Callable[..., str]) -> go.Figure:
    """Grouped horizontal bars: customers by tier (province on top) and kind, counts on the bars.

    Station-level customers outnumber the others a hundredfold, so each kind gets its own bar and
    the count is printed beside every bar rather than read off the axis.
    """
    fig = go.Figure()
    labels = [t(f"tier.{x}") for x in TIERS]
    for kind, colour in (("personal", "#4a90c2"), ("institutional", "#c8102e")):
        counts = [int(tier_kind.loc[(tier_kind["tier"] == tier) & (tier_kind["kind"] == kind), "customers"].sum())
                  for tier in TIERS]
        fig.add_bar(y=labels, x=counts, name=t(f"kind.{kind}"), orientation="h", marker_color=colour,
                    text=[f"{c:,}" for c in counts], textposition="outside", cliponaxis=False)
    fig.update_layout(barmode="group", bargap=0.25)
    fig.update_xaxes(title=t("overview.customers_axis"), showgrid=True, gridcolor="#eee")
    return layout(fig, t("overview.by_tier"))


def volume_trend(trend: pd.DataFrame, t: Callable[..., str]) -> go.Figure:
    """Stacked monthly gasoline and diesel tonnes."""
    fig = go.Figure()
    fig.add_bar(x=trend["month"], y=trend["gasoline_t"], name=t("fuel.gasoline"), marker_color="#f28c28")
    fig.add_bar(x=trend["month"], y=trend["diesel_t"], name=t("fuel.diesel"), marker_color="#2f4f6f")
    fig.update_layout(barmode="stack")
    fig.update_yaxes(title=t("unit.tonnes"))
    return layout(fig, t("overview.volume_trend"))
