"""Markdown tables from benchmark results (性能基准报告), for bench/README.md.

    python bench/report.py bench/results/sqlite_100k.json --cold 1.5
    python bench/report.py bench/results/postgres_1m.json --cold 3
    python bench/report.py bench/results/load_10_sessions.json

Each page's cold and warm time is printed beside the goal (warm ≤ 0.3 s for every size; cold ≤ 1.5 s
at 100,000 customers on SQLite and ≤ 3 s at 1,000,000 on PostgreSQL, issue 7), then the naive way
on the same data with the ratio, the map payload and the validated import.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

WARM_GOAL_S = 0.3
IMPORT_GOAL = 20_000
MAP_GOAL_MB = 1.0


def _met(ok: bool) -> str:
    return "met" if ok else "**not met**"


def pages_table(result: dict, cold_goal: float) -> str:
    rows = [f"| page | cold s | warm s | goal (cold ≤ {cold_goal:g}, warm ≤ {WARM_GOAL_S:g}) |", "|---|---:|---:|---|"]
    for p in result["pages"]:
        if p.get("cold_s") is None:
            rows.append(f"| {Path(p['page']).stem} | — | — | **error**: {p.get('error', '')[:80]} |")
            continue
        ok = p["cold_s"] <= cold_goal and p["warm_s"] <= WARM_GOAL_S
        rows.append(f"| {Path(p['page']).stem} | {p['cold_s']:.3f} | {p['warm_s']:.3f} | {_met(ok)} |")
    return "\n".join(rows)


def naive_table(result: dict) -> str:
    overview = next((p for p in result["pages"] if p["page"].endswith("overview.py")), None)
    naive, mp, imp = result.get("naive"), result.get("map"), result.get("import")
    rows = ["| | ours | naive way | ratio |", "|---|---:|---:|---:|"]
    if overview and naive:
        rows.append(f"| overview cold | {overview['cold_s']:.3f} s | {naive['cold_s']:.2f} s | "
                    f"{naive['cold_s'] / overview['cold_s']:.0f}× |")
        rows.append(f"| overview warm | {overview['warm_s']:.3f} s | {naive['warm_s']:.2f} s | "
                    f"{naive['warm_s'] / max(overview['warm_s'], 1e-3):.0f}× |")
    if mp:
        theirs = (naive or {}).get("map_payload_mb")
        ratio = f"{theirs / mp['payload_mb']:.0f}× smaller" if theirs else "—"
        rows.append(f"| grid map payload (goal ≤ {MAP_GOAL_MB:g} MB) | {mp['payload_mb']:.2f} MB | "
                    f"{f'{theirs:.1f} MB' if theirs else '—'} | {ratio} |")
    if imp and imp.get("rows_per_s"):
        rows.append(f"| validated import (goal ≥ {IMPORT_GOAL:,} rows/s) | {imp['rows_per_s']:,} rows/s | — | "
                    f"{_met(imp['rows_per_s'] >= IMPORT_GOAL)} |")
    return "\n".join(rows)


def load_table(result: dict) -> str:
    rows = ["| page | views | p50 s | p95 s | max s |", "|---|---:|---:|---:|---:|"]
    for p in result["pages"]:
        rows.append(f"| {p['page']} | {p['n']} | {p['p50_s']:.2f} | {p['p95_s']:.2f} | {p['max_s']:.2f} |")
    a = result["all"]
    rows.append(f"| **all pages** | {a['n']} | {a['p50_s']:.2f} | **{a['p95_s']:.2f}** | {a['max_s']:.2f} |")
    rss = result["server_rss_mb"]
    rows.append("")
    rows.append(f"Server memory (resident, with children): start {rss['start']:.0f} MB, peak {rss['peak']:.0f} MB, "
                f"end {rss['end']:.0f} MB. Errors {result['errors']}, requests to outside hosts "
                f"{result['outside_requests']}.")
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python bench/report.py", description=__doc__.splitlines()[0])
    ap.add_argument("json")
    ap.add_argument("--cold", type=float, default=1.5, help="cold goal in seconds")
    args = ap.parse_args(argv)
    result = json.loads(Path(args.json).read_text())
    if "sessions" in result:
        print(load_table(result))
        return 0
    print(pages_table(result, args.cold))
    print()
    print(naive_table(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
