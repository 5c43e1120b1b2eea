"""The monthly briefing 月度通报 (日跟踪、周通报、月考核): one slide per section, each stating its finding.

`slides()` computes the content from the same functions the dashboard pages use; the presentation
page shows it, `build_pptx` and `build_pdf` export it. Sections: overview, grid map, tiers, plan
completion and ranking, the four rates with red/amber/green, churn and win-back, overdue matters.
"""
from __future__ import annotations

import json
from collections.abc import Callable

import pandas as pd
import plotly.graph_objects as go
from sqlalchemy import Engine

from lib import charts, development, fmt, four_rates, maps, matters, queries, tracking
from lib.i18n import translator
from lib.kpis import change
from lib.rules import TIERS
from lib.slides import Slide, chart_pngs, to_pdf, to_pptx

SECTIONS = ("overview", "grid_map", "tiers", "plan", "four_rates", "churn", "matters")
CHILD_LEVEL = {"province": "city", "city": "district", "district": "station", "station": "station"}
RATE_NAMES = ("entry_rate", "fill_up_rate", "return_rate", "pass_through_rate")


def _scope_unit(engine: Engine, scope: str) -> tuple[str, str, str]:
    """(level, Chinese name, English name) of the scope; a customer manager's scope is their station's."""
    unit = queries.unit_by_path(engine, scope)
    if unit is None:  # "…/m12/": the customer manager's station
        unit = queries.unit_by_path(engine, scope[: scope.rstrip("/").rfind("/") + 1])
    return unit["level"], unit["name"], unit["name_en"] or unit["name"]


def _bar(labels: list[str], values: list[float], text: list[str], colours: list[str] | str,
         target: float | None = None) -> go.Figure:
    fig = go.Figure(go.Bar(x=labels, y=values, text=text, textposition="outside", marker_color=colours,
                           cliponaxis=False))
    if target is not None:
        fig.add_hline(y=target, line_dash="dash", line_color="#1f2933")
    fig.update_layout(plot_bgcolor="white", showlegend=False, yaxis=dict(gridcolor="#eee"))
    return fig


def _grid_data(engine: Engine, scope: str, month: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    return maps.data.grids(engine, scope), maps.data.grid_volume(engine, scope, month)


def _grid_figure(engine: Engine, scope: str, month: str, lang: str, t: Callable[..., str],
                 data: tuple[pd.DataFrame, pd.DataFrame] | None = None) -> tuple[go.Figure, dict]:
    """Grids drawn as filled polygons, darker with more volume (offline: no map tiles)."""
    grids, volume = data or _grid_data(engine, scope, month)
    vol = volume.set_index("grid_id")["total_t"]
    grids["total_t"] = grids["id"].map(vol).fillna(0.0)
    top = float(grids["total_t"].max()) if len(grids) else 0.0
    # One trace per shade (rings joined with gaps), not one per grid: a province has a thousand grids.
    shades: dict[int, tuple[list, list]] = {}
    for row in grids.itertuples():
        geom = json.loads(row.geometry)
        polys = [geom["coordinates"]] if geom["type"] == "Polygon" else geom["coordinates"]
        shade = round(8 * (row.total_t / top if top else 0.0))
        xs, ys = shades.setdefault(shade, ([], []))
        for poly in polys:
            x, y = zip(*poly[0])
            xs += [*x, None]
            ys += [*y, None]
    fig = go.Figure()
    for shade, (xs, ys) in sorted(shades.items()):
        fig.add_trace(go.Scatter(x=xs, y=ys, fill="toself", mode="lines", line=dict(color="white", width=1),
                                 fillcolor=f"rgba(200,16,46,{0.15 + 0.75 * shade / 8:.2f})", hoverinfo="skip",
                                 showlegend=False))
    all_x = [v for xs, _ in shades.values() for v in xs if v is not None]
    all_y = [v for _, ys in shades.values() for v in ys if v is not None]
    if all_x:  # the city and district borders with their names (lib.maps.context), zoomed to the grids
        fig.add_traces(maps.context.plotly_traces(maps.context.features(engine, scope), lang))
        fig.update_xaxes(range=[min(all_x), max(all_x)])
        fig.update_yaxes(range=[min(all_y), max(all_y)])
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False, scaleanchor="x", scaleratio=1.25)
    fig.update_layout(plot_bgcolor="white")
    best = grids.sort_values("total_t", ascending=False).head(1)
    name = best["name"].iloc[0] if len(best) else "—"
    if len(best) and lang == "en":  # grids are named in Chinese: use the station unit's English name
        unit = queries.unit_by_path(engine, best["org_path"].iloc[0])
        name = t("briefing.grid_of", station=unit["name_en"]) if unit and unit["name_en"] else best["code"].iloc[0]
    return fig, {"grids": len(grids), "best": name,
                 "best_t": float(best["total_t"].iloc[0]) if len(best) else 0.0}


def slides(engine: Engine, scope: str, month: str, lang: str = "zh") -> list[Slide]:
    """Return the briefing's slides for `scope` and `month` in `lang`, one finding each."""
    t = translator(lang)
    level, name_zh, name_en = _scope_unit(engine, scope)
    where = f"{name_en if lang == 'en' else name_zh} · {fmt.month(month, lang)}"
    child = CHILD_LEVEL[level]
    out: list[Slide] = []
    # The slides' reads are independent: run them side by side on pooled connections.
    got = queries.side_by_side(engine, {
        "ov": (queries.overview, scope, month),
        "trend": (queries.volume_trend, scope, month),
        "grid": (_grid_data, scope, month),
        "plan": (development.rollup, scope, month, child),
        "rates_table": (four_rates.station_table, scope, month),
        "rates_level": (four_rates.by_level, scope, month, child if child != "province" else "city"),
        "tracking": (tracking.summary, scope, month),
        "warnings": (tracking.warnings_by_station, scope, month),
        "win_back": (tracking.win_back_rate, scope, month, "institutional"),
        "matters": (matters.counts, scope),
    })

    ov = got["ov"]
    vol, vol_ly = ov["volume"]["total_t"], ov["volume_last_year"]["total_t"]
    yoy = change(vol, vol_ly)
    out.append(Slide(
        "overview", f"{t('page.overview')} · {where}",
        t("briefing.overview_headline", volume=fmt.tonnes(vol, lang), change=fmt.pct(yoy, lang, signed=True) or "—"),
        [(t("overview.customers"), fmt.count(ov["customers"], lang), None),
         (t("overview.plan_card"), fmt.pct(ov["plan"]["personal_card"]["completion"], lang), None),
         (t("overview.churned"), fmt.count(ov["churned"], lang), None)],
        charts.volume_trend(got["trend"], t)))

    fig, g = _grid_figure(engine, scope, month, lang, t, got["grid"])
    out.append(Slide("grid_map", f"{t('briefing.grid_map')} · {where}",
                     t("briefing.grid_headline", grids=g["grids"], best=g["best"], volume=fmt.tonnes(g["best_t"], lang)),
                     [(t("briefing.grids"), fmt.count(g["grids"], lang), None)], fig))

    by_tier = ov["by_tier"]
    out.append(Slide(
        "tiers", f"{t('briefing.tiers')} · {where}",
        t("briefing.tiers_headline", **{k: fmt.count(by_tier[k], lang) for k in TIERS}),
        [(t(f"tier.{k}"), fmt.count(by_tier[k], lang), None) for k in reversed(TIERS)],
        charts.tier_kind_bar(ov["tier_kind"], t)))

    plan = got["plan"]
    below = plan[plan["card_completion"].astype(float) < 1]
    out.append(Slide(
        "plan", f"{t('briefing.plan')} · {where}",
        t("briefing.plan_headline", below=len(below), units=len(plan), level=t(f"level.{child}")),
        [(t("overview.plan_card"), fmt.pct(ov["plan"]["personal_card"]["completion"], lang),
          "green" if (ov["plan"]["personal_card"]["completion"] or 0) >= 1 else "red"),
         (t("briefing.plan_inst"), fmt.pct(ov["plan"]["institutional"]["completion"], lang),
          "green" if (ov["plan"]["institutional"]["completion"] or 0) >= 1 else "red")],
        _bar(plan["unit"].tolist(), [float(x or 0) * 100 for x in plan["card_completion"]],
             [fmt.pct(x, lang) for x in plan["card_completion"]],
             ["#2e7d32" if (x or 0) >= 1 else "#c8102e" for x in plan["card_completion"]], target=100)))

    rates = ov["four_rates"]
    table = got["rates_table"]
    red = {r: int((table[f"{r}_status"] == "red").sum()) for r in RATE_NAMES} if len(table) else {}
    targets = {r: float(table[f"{r}_target"].mean()) if len(table) else None for r in RATE_NAMES}
    worst = max(RATE_NAMES, key=lambda r: red.get(r, 0))
    out.append(Slide(
        "four_rates", f"{t('overview.four_rates')} · {where}",
        t("briefing.rates_headline", rate=t(f"rate.{worst}"), red=red.get(worst, 0), stations=len(table)),
        [(t(f"rate.{r}"), fmt.pct(rates[r], lang), four_rates.status(rates[r], targets[r])) for r in RATE_NAMES],
        _rates_by_unit(got["rates_level"], lang, t)))

    tr = got["tracking"]
    warnings = got["warnings"]
    out.append(Slide(
        "churn", f"{t('briefing.churn')} · {where}",
        t("briefing.churn_headline", lost=tr["lost"], warnings=tr["warnings"], without=tr["without_task"]),
        [(t("overview.churned"), fmt.count(tr["lost"], lang), "red" if tr["lost"] else "green"),
         (t("briefing.warnings"), fmt.count(tr["warnings"], lang), None),
         (t("briefing.without_task"), fmt.count(tr["without_task"], lang), "red" if tr["without_task"] else "green"),
         (t("churn.win_back_rate"), fmt.pct(got["win_back"]["rate"], lang), None)],  # 挽回率 (002 §6.6.2)
        _warnings_by_unit(warnings, t)))

    mc = got["matters"]
    out.append(Slide(
        "matters", f"{t('briefing.matters')} · {where}",
        t("briefing.matters_headline", overdue=mc["overdue"], open=mc["open"]),
        [(t("briefing.open"), fmt.count(mc["open"], lang), None),
         (t("briefing.overdue"), fmt.count(mc["overdue"], lang), "red" if mc["overdue"] else "green"),
         (t("briefing.closed"), fmt.count(mc["closed_this_month"], lang), None)],
        None))
    return out


def _rates_by_unit(df, lang: str, t: Callable[..., str]) -> go.Figure:
    fig = go.Figure()
    for rate, colour in zip(RATE_NAMES, ("#c8102e", "#f28c28", "#4a90c2", "#2f4f6f")):
        fig.add_bar(x=df["unit"], y=[(v or 0) * 100 for v in df[rate]], name=t(f"rate.{rate}"), marker_color=colour)
    fig.update_layout(barmode="group", plot_bgcolor="white", yaxis=dict(gridcolor="#eee", ticksuffix="%"),
                      legend=dict(orientation="h", y=1.1))
    return fig


def _warnings_by_unit(per_station, t: Callable[..., str]) -> go.Figure | None:
    """The 15 stations with the most churn warnings (counts per station, most first)."""
    if per_station is None or len(per_station) == 0:
        return None
    counts = per_station.head(15)
    return _bar(counts.index.tolist(), counts.tolist(), [str(v) for v in counts], "#c8102e")


def _build(render: Callable, engine: Engine, scope: str, month: str, lang: str,
           progress: Callable[[float, str], None] | None) -> bytes:
    deck = slides(engine, scope, month, lang)
    if progress:
        progress(0.3, "charts")
    pngs = chart_pngs(deck)
    if progress:
        progress(0.9, "file")
    return render(deck, pngs)


def build_pptx(engine: Engine, scope: str, month: str, lang: str = "zh",
               progress: Callable[[float, str], None] | None = None) -> bytes:
    """Return the briefing as a 16:9 PowerPoint file (charts as images rendered with kaleido)."""
    return _build(to_pptx, engine, scope, month, lang, progress)


def build_pdf(engine: Engine, scope: str, month: str, lang: str = "zh",
              progress: Callable[[float, str], None] | None = None) -> bytes:
    """Return the briefing as a PDF, one 16:9 page per slide."""
    return _build(to_pdf, engine, scope, month, lang, progress)
