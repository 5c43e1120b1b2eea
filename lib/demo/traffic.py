"""Stage 5, traffic 站点车流: daily passing, entering, fuelled, full-tank, identified and returning
vehicles per station for the four rates 四率 (FOUR_RATES.md), over the last ≤ 24 months; and the
competitor stations 竞争对手加油站 near some stations.

Own random streams `[seed, 202]` (traffic) and `[seed, 303]` (competitors).
"""
from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd
from shapely.geometry import Point

from lib import months
from lib.demo.common import KM_PER_DEG_LAT, Ids, Period, frame, km_per_deg_lon
from lib.demo.words import BRAND_WORDS, ROADS, SEASON_G


@dataclass(frozen=True)
class Days:
    """The days of the traffic window with their labels and a seasonal × weekday factor."""

    as_str: list[str]
    as_obj: list
    month: np.ndarray
    factor: np.ndarray

    @classmethod
    def of(cls, period: Period) -> Days:
        T = min(period.n, 24)
        first = months.first_day(period.month_list[-T])
        last = months.first_day(months.shift(period.end_month, 1))
        days = np.arange(np.datetime64(first), np.datetime64(last), dtype="datetime64[D]")
        moy = days.astype("datetime64[M]").astype(int) % 12
        dow = (days.astype(int) + 3) % 7  # Monday = 0
        factor = np.array([0.95, 0.95, 0.97, 1.0, 1.08, 1.1, 1.02])[dow] * SEASON_G[moy]
        return cls(days.astype(str).tolist(), days.astype(object).tolist(),
                   days.astype("datetime64[M]").astype(str), factor)


def window_months(period: Period) -> int:
    """Months of traffic written (the last ≤ 24 of the history)."""
    return min(period.n, 24)


def chunk_count(stations: list[dict], period: Period) -> int:
    return max(4, math.ceil(len(stations) * len(Days.of(period).as_str) / 200_000))


def chunks(seed: int, stations: list[dict], period: Period, sqlite: bool) -> Iterator[pd.DataFrame]:
    """Yield station_traffic rows for chunks of stations (≤ 200,000 rows each, at least 4 chunks).
    Days go in as ISO text on SQLite, as dates elsewhere."""
    rng = np.random.default_rng([seed, 202])
    days = Days.of(period)
    n = len(stations)
    # station-level behaviour around the default targets (entry 12 %, fill-up 55 %, return 45 %, pass 92 %)
    p = dict(entry=np.clip(rng.normal(0.12, 0.025, n), 0.08, 0.18), pass_=rng.uniform(0.88, 0.97, n),
             full=rng.uniform(0.45, 0.70, n), ident=rng.uniform(0.30, 0.60, n), ret=rng.uniform(0.35, 0.60, n),
             shares=rng.dirichlet([14, 2.5, 2.5, 1.2], n), lpr=rng.random(n) < 0.2)  # car, medium, truck, bus
    fuelled_mean = np.array([s["daily_t"] for s in stations]) / 0.045  # ~45 kg per vehicle
    for part in np.array_split(np.arange(n), chunk_count(stations, period)):
        if len(part):
            yield _chunk(rng, stations, days, p, fuelled_mean, part, sqlite)
        else:
            yield frame({})


def _chunk(rng, stations, days: Days, p: dict, fuelled_mean, part: np.ndarray, sqlite: bool) -> pd.DataFrame:
    k, D = len(part), len(days.as_str)
    mean_pass = (fuelled_mean[part] / (p["entry"][part] * p["pass_"][part]))[:, None] * days.factor[None, :]
    passing = rng.poisson(mean_pass * np.exp(rng.normal(0, 0.06, (k, D))))
    sh = p["shares"][part]
    car = rng.binomial(passing, sh[:, [0]])
    rest = passing - car
    med = rng.binomial(rest, np.clip(sh[:, [1]] / (1 - sh[:, [0]]), 0, 1))
    rest2 = rest - med
    truck = rng.binomial(rest2, np.clip(sh[:, [2]] / (sh[:, [2]] + sh[:, [3]]), 0, 1))
    pe = np.clip(p["entry"][part][:, None] * np.exp(rng.normal(0, 0.05, (k, D))), 0, 1)
    entering = rng.binomial(passing, pe)
    fuelled = rng.binomial(entering, p["pass_"][part][:, None])
    transactions = fuelled + rng.binomial(fuelled, 0.03)
    full = rng.binomial(transactions, p["full"][part][:, None])
    ident = rng.binomial(fuelled, p["ident"][part][:, None])
    ret = rng.binomial(ident, p["ret"][part][:, None])
    peak = rng.binomial(transactions, 0.11)
    sampling = ["LPR 24h" if p["lpr"][i] else "15min/h x 24h" for i in part.tolist()]
    return frame({
        "station_id": np.repeat([stations[i]["id"] for i in part.tolist()], D),
        "day": days.as_str * k if sqlite else days.as_obj * k,
        "org_path": np.repeat(np.array([stations[i]["path"] for i in part.tolist()], dtype=object), D),
        "month": np.tile(days.month, k),
        "passing_car": car.ravel(), "passing_medium": med.ravel(),
        "passing_truck": truck.ravel(), "passing_bus": (rest2 - truck).ravel(),
        "entering": entering.ravel(), "fuelled": fuelled.ravel(),
        "transactions": transactions.ravel(), "full_tank": full.ravel(),
        "identified": ident.ravel(), "returned": ret.ravel(), "peak_nozzle_lifts": peak.ravel(),
        "sampling": np.repeat(np.array(sampling, dtype=object), D),
    })


def competitor_rows(seed: int, ids: Ids, stations: list[dict]) -> pd.DataFrame:
    """Competitor stations 竞争对手加油站 (Sinopec, Shell, private) 0.6–3 km from a third of the stations,
    inside the station's district."""
    rng = np.random.default_rng([seed, 303])
    n_st = len(stations)
    n = max(1, round(n_st / 3))
    rows = []
    for si in rng.choice(n_st, n, replace=n > n_st).tolist():
        s = stations[si]
        d = s["district"]
        kx = km_per_deg_lon(s["lat"])
        for _ in range(30):
            rkm, ang = rng.uniform(0.6, 3.0), rng.uniform(0, 2 * np.pi)
            x = s["lon"] + rkm * math.cos(ang) / kx
            y = s["lat"] + rkm * math.sin(ang) / KM_PER_DEG_LAT
            if d["poly"].contains(Point(x, y)):
                break
        else:
            continue
        brand = ["中国石化", "壳牌", "民营"][int(rng.choice(3, p=[0.5, 0.15, 0.35]))]
        road = ROADS[int(rng.integers(0, len(ROADS)))]
        short = d["name"][:-1]
        if brand == "中国石化":
            name = f"中国石化{short}{road}加油站"
        elif brand == "壳牌":
            name = f"壳牌{d['city']['name']}{road}加油站"
        else:
            name = f"{short}{BRAND_WORDS[int(rng.integers(0, len(BRAND_WORDS)))]}加油站"
        rows.append((d["path"], name, brand, x, y))
    cols = {k: [r[j] for r in rows] for j, k in enumerate(("org_path", "name", "brand", "lon", "lat"))}
    cols["id"] = ids.take("competitor_station", len(rows))
    return frame(cols)
