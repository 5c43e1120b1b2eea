"""The 100,000-row consumption check, our vectorised Checker against the same checks as a pandera
schema (issue 12: "pandera for file columns is worth trying; keep what measures faster").

    python -m bench.pandera_check [--rows 100000] [--bad 0.01] [--repeat 3]

Both read the same frame of text cells (as lib.importer.read gives it) and find the same bad rows;
pandera (not a dependency: `pip install pandera` to run this) only finds them, the Checker also
returns the clean values. Prints the best of `repeat` runs for each, with and without bad rows.
"""
from __future__ import annotations

import argparse
import datetime as dt
import time

import numpy as np
import pandas as pd

from lib.importer import Context, check_frame
from lib.validation import _months


def frame(rows: int, bad: float, seed: int = 1) -> tuple[pd.DataFrame, Context]:
    rng = np.random.default_rng(seed)
    codes = np.array([f"370102001G21{i:07d}" for i in range(max(rows // 4, 1))], dtype=object)
    months = [f"2026-{m:02d}" for m in range(1, 11)]
    df = pd.DataFrame({
        "customer_code": codes[np.arange(rows) % len(codes)],
        "month": [months[i // len(codes) % len(months)] for i in range(rows)],
        "gasoline_t": rng.uniform(0, 3, rows).round(3).astype(str),
        "diesel_t": rng.uniform(0, 9, rows).round(3).astype(str),
        "card_cny": rng.integers(0, 5000, rows).astype(str),
        "visits": rng.integers(0, 40, rows).astype(str),
    }).astype(object)
    n_bad = int(rows * bad)
    idx = rng.choice(rows, n_bad, replace=False)
    for k, i in enumerate(idx):
        col, value = [("diesel_t", "abc"), ("month", "2026-13"), ("visits", "2.5"), ("customer_code", "NOSUCH")][k % 4]
        df.at[i, col] = value
    customers = pd.DataFrame({"code": codes, "id": np.arange(len(codes)), "org_path": "/37/",
                              "station_id": 1, "manager_id": None}).set_index("code")
    ctx = Context("/37/", dt.date(2026, 11, 20), pd.DataFrame(), pd.DataFrame(), pd.DataFrame(), customers)
    return df, ctx


def checker(df: pd.DataFrame, ctx: Context) -> int:
    _, ck = check_frame("consumption", df, ctx)
    return int(ck.bad.sum())


def pandera_schema(ctx: Context):
    import pandera.pandas as pa

    known = set(ctx.customers.index)

    def number(lo: float, hi: float, integer: bool = False):
        def ok(s: pd.Series) -> pd.Series:  # the Checker's parsing: C parser first, separators only on failures
            num = pd.to_numeric(s.where(s != "", "0"), errors="coerce")
            retry = num.isna()
            if retry.any():
                num[retry] = pd.to_numeric(s[retry].str.replace(",", "", regex=False), errors="coerce")
            good = num.notna() & np.isfinite(num.fillna(0)) & (num >= lo) & (num <= hi)
            return good & (num == np.floor(num)) if integer else good
        return pa.Check(ok)

    def month_ok(s: pd.Series) -> pd.Series:  # the Checker's parsing: each distinct value once
        codes, uniques = pd.factorize(s)
        ok, out = _months(pd.Series(uniques, dtype=object))
        return pd.Series(ok[codes] & (out[codes] <= "2026-11"), index=s.index)

    return pa.DataFrameSchema({
        "customer_code": pa.Column(str, [pa.Check.str_length(1, 24), pa.Check(lambda s: s.str.upper().isin(known))]),
        "month": pa.Column(str, pa.Check(month_ok)),
        "gasoline_t": pa.Column(str, number(0, 100_000)),
        "diesel_t": pa.Column(str, number(0, 100_000)),
        "card_cny": pa.Column(str, number(0, 1e9)),
        "visits": pa.Column(str, number(0, 100_000, integer=True)),
    }, unique=["customer_code", "month"], report_duplicates="exclude_first")


def with_pandera(df: pd.DataFrame, schema) -> int:
    import pandera.errors

    try:
        schema.validate(df, lazy=True)
    except pandera.errors.SchemaErrors as exc:
        rows = exc.failure_cases["index"].dropna()
        return int(rows.nunique())
    return 0


def best(fn, repeat: int) -> tuple[float, int]:
    times, result = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return min(times), result


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--bad", type=float, default=0.01)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    for bad in (0.0, args.bad):
        df, ctx = frame(args.rows, bad)
        schema = pandera_schema(ctx)
        ours, n_ours = best(lambda df=df, ctx=ctx: checker(df, ctx), args.repeat)
        theirs, n_theirs = best(lambda df=df, schema=schema: with_pandera(df, schema), args.repeat)
        print(f"{args.rows:,} rows, {bad:.0%} bad: Checker {ours:.3f} s ({n_ours} bad rows), "
              f"pandera {theirs:.3f} s ({n_theirs} bad rows)")


if __name__ == "__main__":
    main()
