"""Chart builders of the dashboards (看板图表): plotly figures from lib results; labels from the caller's
translator. Same look as lib.charts (font with CJK glyphs, white background, legend on top)."""
from __future__ import annotations

from collections.abc import Callable

import pandas as pd
import plotly.graph_objects as go

from lib.charts import FONT, TIER_COLOURS, layout
from lib.rules import TIERS
from lib.vocab import display

STATUS_COLOURS = {"green": "#2e8b57", "amber": "#f2a900", "red": "#c8102e", None: "#bbbbbb"}
RATE_COLOURS = {"entry_rate": "#4a90c2", "fill_up_rate": "#f28c28", "return_rate": "#2e8b57",
                "pass_through_rate": "#7a0019"}
NONE_COLOUR = "#999999"


def dimension_bar(df: pd.DataFrame, dimension: str, t: Callable[..., str]) -> go.Figure:
    """Horizontal bars: customers per value of one dimension (tier, size, kind, …), counts printed."""
    labels = [str(display(t, dimension, v)) for v in df[dimension]]
    colours = [TIER_COLOURS.get(v, "#4a90c2") for v in df[dimension]] if dimension == "tier" else "#4a90c2"
    fig = go.Figure(go.Bar(
        y=labels, x=df["customers"], orientation="h", marker_color=colours,
        text=[f"{int(c):,}" for c in df["customers"]], textposition="outside", cliponaxis=False,
        customdata=df["volume_t"], hovertemplate="%{y}: %{x:,} · %{customdata:,.1f} t<extra></extra>"))
    fig.update_yaxes(autorange="reversed")
    top = float(df["customers"].max()) if len(df) else 1.0
    fig.update_xaxes(title=t("overview.customers_axis"), showgrid=True, gridcolor="#eee", range=[0, top * 1.18])
    return layout(fig, t("tiers.by_dimension", dimension=t(f"col.{dimension}")))


def migration_sankey(flows: pd.DataFrame, t: Callable[..., str], month_from: str, month_to: str) -> go.Figure:
    """Sankey of tier migration 等级迁移: tiers of `month_from` on the left, of `month_to` on the right."""
    states = list(reversed(TIERS)) + ["none"]
    left = [f"{t(f'tier.{s}')} · {month_from}" for s in states]
    right = [f"{t(f'tier.{s}')} · {month_to}" for s in states]
    colours = [TIER_COLOURS.get(s, NONE_COLOUR) for s in states] * 2
    idx = {s: i for i, s in enumerate(states)}
    fig = go.Figure(go.Sankey(
        arrangement="snap",
        node=dict(label=left + right, color=colours, pad=18, thickness=16),
        link=dict(source=[idx[s] for s in flows["from_tier"]],
                  target=[len(states) + idx[s] for s in flows["to_tier"]],
                  value=flows["customers"].tolist(),
                  color=["rgba(200,16,46,0.35)" if a != b else "rgba(150,150,150,0.25)"
                         for a, b in zip(flows["from_tier"], flows["to_tier"])]),
    ))
    fig.update_layout(font_family=FONT, title=t("tiers.migration_title", a=month_from, b=month_to), height=420,
                      margin=dict(l=10, r=10, t=50, b=10))
    return fig


def pipeline_funnel(pipe: pd.DataFrame, t: Callable[..., str]) -> go.Figure:
    """Funnel of development cases by stage (cases that reached each stage), 002 §6.5.4."""
    rows = pipe[pipe["stage"] != "lost"]
    fig = go.Figure(go.Funnel(y=[t(f"val.stage.{s}") for s in rows["stage"]], x=rows["reached"],
                              textinfo="value+percent initial", marker_color="#c8102e"))
    return layout(fig, t("plan.funnel_title"))


def completion_bars(roll: pd.DataFrame, t: Callable[..., str], kind: str) -> go.Figure:
    """Horizontal bars of plan completion per unit (kind "card" or "inst") with the 100 % line."""
    df = roll.dropna(subset=[f"{kind}_completion"]).sort_values(f"{kind}_completion")
    values = df[f"{kind}_completion"].astype(float)
    colours = ["#2e8b57" if v >= 1 else "#f2a900" if v >= 0.9 else "#c8102e" for v in values]
    fig = go.Figure(go.Bar(y=df["unit"], x=values, orientation="h", marker_color=colours,
                           text=[f"{v:.0%}" for v in values], textposition="outside", cliponaxis=False))
    fig.add_vline(x=1.0, line_dash="dash", line_color="#333")
    top = float(values.max()) if len(values) else 1.0
    fig.update_xaxes(tickformat=".0%", showgrid=True, gridcolor="#eee", range=[0, max(1.2, top * 1.15)])
    fig.update_layout(height=max(300, 22 * len(df) + 90))
    return layout(fig, t(f"plan.completion_{kind}"))


def rate_trend(trend: pd.DataFrame, t: Callable[..., str]) -> go.Figure:
    """Monthly lines of the four rates with their targets dashed."""
    fig = go.Figure()
    for rate, colour in RATE_COLOURS.items():
        fig.add_scatter(x=trend["month"], y=trend[rate], name=t(f"rate.{rate}"), mode="lines+markers",
                        line_color=colour)
        fig.add_scatter(x=trend["month"], y=trend[f"{rate}_target"], name=t("fr.target_of", rate=t(f"rate.{rate}")),
                        mode="lines", line=dict(color=colour, dash="dot", width=1), showlegend=False)
    fig.update_yaxes(tickformat=".0%", rangemode="tozero", showgrid=True, gridcolor="#eee")
    return layout(fig, t("fr.trend_title"))


def station_rate_bars(table: pd.DataFrame, rate: str, t: Callable[..., str]) -> go.Figure:
    """Bars of one rate per station coloured green/amber/red against its target; ◆ = district median."""
    df = table.sort_values(rate, ascending=False)
    fig = go.Figure()
    fig.add_bar(x=df["station"], y=df[rate], name=t(f"rate.{rate}"),
                marker_color=[STATUS_COLOURS.get(s, STATUS_COLOURS[None]) for s in df[f"{rate}_status"]])
    fig.add_scatter(x=df["station"], y=df[f"{rate}_target"], mode="lines", name=t(f"col.{rate}_target"),
                    line=dict(color="#333", dash="dash"))
    fig.add_scatter(x=df["station"], y=df[f"{rate}_median"], mode="markers", name=t(f"col.{rate}_median"),
                    marker=dict(symbol="diamond", color="#333", size=7))
    fig.update_yaxes(tickformat=".0%", showgrid=True, gridcolor="#eee")
    fig.update_xaxes(showticklabels=len(df) <= 40)
    return layout(fig, t("fr.by_station_title", rate=t(f"rate.{rate}")))


def vehicle_mix(mix: pd.DataFrame, t: Callable[..., str]) -> go.Figure:
    """Donut of passing vehicles by class 车型."""
    fig = go.Figure(go.Pie(labels=[t(f"val.vehicle_class.{c}") for c in mix["vehicle_class"]],
                           values=mix["passing"], hole=0.5, sort=False,
                           marker_colors=["#4a90c2", "#f28c28", "#2f4f6f", "#2e8b57"]))
    return layout(fig, t("fr.mix_title"))


def count_bar(series: pd.Series, title: str, colour: str = "#c8102e") -> go.Figure:
    """Bars of a labelled count series (index = labels), biggest first, counts printed."""
    s = series.sort_values(ascending=False)
    fig = go.Figure(go.Bar(x=[str(i) for i in s.index], y=s.values, marker_color=colour,
                           text=[f"{int(v):,}" for v in s.values], textposition="outside", cliponaxis=False))
    fig.update_yaxes(showgrid=True, gridcolor="#eee")
    return layout(fig, title)
