"""Stage 4, consumption 月度消费: each consuming customer's monthly gasoline, diesel, card money and
fuelling visits, with seasonality, trend, churn decline and silence; then each station's daily sales
日销量 and grade 站级 (DOMAIN §9) from the last 12 months.

Own random stream `[seed, 101]`, so this stage draws the same numbers whatever the others do.
"""
from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np
import pandas as pd

from lib import months, rules
from lib.demo.common import Period, frame
from lib.demo.words import SEASON_D, SEASON_G


def chunks(seed: int, attrs: dict, period: Period, n_stations: int) -> Iterator[tuple[pd.DataFrame, np.ndarray]]:
    """Yield (monthly_consumption rows, tonnes per station over the last 12 months) per chunk of
    about 40,000 customers (at least 8 chunks: the progress bar moves)."""
    rng = np.random.default_rng([seed, 101])
    consuming = np.nonzero((attrs["status"] == "existing") | (attrs["status"] == "lost"))[0]
    n_chunks = max(8, math.ceil(len(consuming) / 40_000))
    for part in np.array_split(consuming, n_chunks):
        if not len(part):
            yield frame({}), np.zeros(n_stations)
            continue
        rows, vol = _chunk(rng, attrs, period, part)
        last12 = np.arange(period.n)[None, :] >= period.n - 12
        yield rows, np.bincount(attrs["sidx"][part], weights=(vol * last12).sum(axis=1), minlength=n_stations)


def chunk_count(attrs: dict) -> int:
    """How many chunks `chunks` yields (for the progress fractions)."""
    consuming = np.count_nonzero((attrs["status"] == "existing") | (attrs["status"] == "lost"))
    return max(8, math.ceil(consuming / 40_000))


def _chunk(rng: np.random.Generator, c: dict, period: Period, part: np.ndarray) -> tuple[pd.DataFrame, np.ndarray]:
    """Rows of one chunk of customers and their monthly volume (customers × months, t)."""
    n, M = len(part), period.n
    mcol = np.arange(M)[None, :]
    personal = ~c["inst"][part][:, None]
    start = np.maximum(c["dev"][part], 0)[:, None]
    lost = c["lost"][part][:, None]
    end = np.where(lost >= 0, lost, M - 1)
    active = (mcol >= start) & (mcol <= end)
    sigma = np.where(personal, 0.28, 0.15)
    slope = rng.normal(0.002, 0.008, (n, 1))
    trend = (1 + slope) ** (mcol - (M - 1))  # demand figures are today's level
    decline = _decline(c["trend"][part][:, None], lost, mcol, n, M)
    skip = personal & (rng.random((n, M)) < 0.07)
    base = trend * decline * ~skip * active
    ng = np.exp(rng.normal(0, 1, (n, M)) * sigma - sigma ** 2 / 2)
    nd = np.exp(rng.normal(0, 1, (n, M)) * sigma - sigma ** 2 / 2)
    gas = np.round(c["g"][part][:, None] * SEASON_G[period.month_of_year - 1][None, :] * ng * base, 3)
    die = np.round(c["d"][part][:, None] * SEASON_D[period.month_of_year - 1][None, :] * nd * base, 3)
    zero_card = rng.random((n, M)) < np.where(personal, 0.3, 0.15)
    cardm = np.round(c["card"][part][:, None] / 12 * np.exp(rng.normal(0, 0.5, (n, M)) - 0.125)
                     * ~zero_card * decline * active, 0)
    vol = gas + die
    # fuelling visits 加油次数: personal 1–8 a month; fleets by volume (t per fill)
    fill = np.where(die > gas, np.where(personal, 0.25, 0.18), np.where(personal, 0.035, 0.05))
    lam = np.where(vol > 0, vol / fill, 0.0)
    visits = rng.poisson(np.minimum(lam, 5000))
    visits = np.where(personal, np.clip(visits, 1, 8), np.maximum(visits, 1)) * (vol > 0)
    r, col = np.nonzero((vol > 0) | (cardm > 0))
    rows = frame({
        "customer_id": c["id"][part][r], "month": np.array(period.month_list, dtype=object)[col],
        "gasoline_t": gas[r, col], "diesel_t": die[r, col], "card_cny": cardm[r, col], "visits": visits[r, col],
    })
    return rows, vol


def _decline(tf: np.ndarray, lost: np.ndarray, mcol: np.ndarray, n: int, M: int) -> np.ndarray:
    """Volume factor: fading out before a loss, declining (1) or silent (2) in the last months."""
    decline = np.ones((n, M))
    decline = np.where(lost >= 0, np.clip(0.2 + 0.2 * (lost - mcol), 0.0, 1.0), decline)
    decline = np.where((tf == 1) & (mcol >= M - 3), np.array([0.7, 0.45, 0.25])[np.clip(mcol - (M - 3), 0, 2)], decline)
    return np.where((tf == 2) & (mcol >= M - 2), 0.0, decline)


def station_grades(stations: list[dict], station_t: np.ndarray, period: Period) -> pd.DataFrame:
    """Daily sales 日销量 = customers' sales over the last 12 months (per day) + walk-in sales, and the
    grade from it (lib.rules.station_grade); sets `daily_t` and `grade` of each station."""
    days = sum(months.days_in(x) for x in period.month_list[-12:])
    for i, s in enumerate(stations):
        s["daily_t"] = round(station_t[i] / days + s["walkin_t"], 3)
        s["grade"] = rules.station_grade(s["daily_t"])
    return frame({"id": [s["id"] for s in stations], "daily_sales_t": [s["daily_t"] for s in stations],
                  "grade": [s["grade"] for s in stations]})
