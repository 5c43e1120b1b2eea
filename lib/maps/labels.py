"""Tables beside the maps (地图旁的表格): labelled through the one vocabulary (lib.vocab), and the
partition check summaries 全覆盖、无交叉 of the grid map page.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping

import pandas as pd

from lib import vocab


def labelled(df: pd.DataFrame, t: Callable[..., str]) -> pd.DataFrame:
    """Return a map table for display (lib.vocab.labelled): every labelled column, headers and coded
    values (tier, kind, status, sub type) in the session's language."""
    return vocab.labelled(df, t, values={"status": "customer_status"})


def partition_summary(reports: Mapping, districts: pd.DataFrame, t: Callable[..., str]) -> pd.DataFrame:
    """Return one row per district: grids checked, clean or not, overlaps and gaps (count, m²)."""
    names = dict(zip(districts["path"], districts["name"]))
    rows = []
    for path, r in reports.items():
        rows.append({"district": names.get(path, path), "ok": t("maps.partition.ok") if r.ok else t("maps.partition.bad"),
                     "overlaps": len(r.overlaps), "overlap_m2": round(sum(x[2] for x in r.overlaps), 1),
                     "gaps": len(r.gaps), "gap_m2": round(sum(r.gaps), 1),
                     "outside_m2": round(sum(x[1] for x in r.outside), 1)})
    cols = ["district", "ok", "overlaps", "overlap_m2", "gaps", "gap_m2", "outside_m2"]
    return labelled(pd.DataFrame(rows, columns=cols), t)


def partition_problems(reports: Mapping, districts: pd.DataFrame, t: Callable[..., str]) -> pd.DataFrame:
    """Return one row per gap, overlap or piece outside the district, largest first."""
    names = dict(zip(districts["path"], districts["name"]))
    rows = []
    for path, r in reports.items():
        name = names.get(path, path)
        if getattr(r, "error", None):
            rows.append({"district": name, "problem": r.error, "area_m2": None})
        rows += [{"district": name, "problem": t("maps.problem.overlap", a=a, b=b, area=f"{m2:,.0f}"),
                  "area_m2": round(m2, 1)} for a, b, m2 in r.overlaps]
        rows += [{"district": name, "problem": t("maps.problem.gap", area=f"{m2:,.0f}"), "area_m2": round(m2, 1)}
                 for m2 in r.gaps]
        rows += [{"district": name, "problem": t("maps.problem.outside", grid=g, area=f"{m2:,.0f}"),
                  "area_m2": round(m2, 1)} for g, m2 in r.outside]
    df = pd.DataFrame(rows, columns=["district", "problem", "area_m2"])
    return labelled(df.sort_values("area_m2", ascending=False, na_position="first").reset_index(drop=True), t)
