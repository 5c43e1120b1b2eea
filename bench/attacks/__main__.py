"""`python -m bench.attacks [--db URL] [--quick] [--json OUT] [--only PATTERN]`: run the attack set."""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.attacks", description="Run the issue-14 attack set.")
    ap.add_argument("--db", default=None, help="PostgreSQL server URL (a database is created from it); "
                                                "default: a temporary SQLite file")
    ap.add_argument("--quick", action="store_true", help="about 40 attacks, under 3 minutes")
    ap.add_argument("--json", default=None, help="write the results here")
    ap.add_argument("--only", default=None, help="only the attacks whose id contains this")
    ap.add_argument("--mem-mb", type=int, default=3072, help="memory limit of each import child (RLIMIT_AS)")
    ap.add_argument("--wall-s", type=float, default=60.0, help="wall-clock limit of each import child")
    ap.add_argument("--customers", type=int, default=1500, help="customers of the attack database")
    args = ap.parse_args(argv)
    result = campaign(args)
    print(json.dumps(result["summary"], indent=1))
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(result, indent=1, ensure_ascii=False))
    return 0


def campaign(args) -> dict:
    """Build the attack database, run the chosen attacks, return the results and the tally."""
    from bench.attacks import core

    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="attacks_") as tmp:
        base = core.build_base(args.db, Path(tmp), args.customers)
        env = core.Env(base, Path(tmp), quick=args.quick, mem_mb=args.mem_mb, wall_s=args.wall_s,
                       fx=core.fixtures(base))
        os.environ["DATABASE_URL"] = base
        attacks = core.select_attacks(args.quick, args.only)
        print(f"{len(attacks)} attacks on {env.base_url.split('@')[-1]}", flush=True)
        try:
            results = core.run(env, attacks, echo=lambda s: print(s, flush=True))
        finally:
            from bench.attacks import web

            web.stop_server(env)
            if env.postgres:
                for url in (env.fx.get("hostile_url"), base):
                    if url:
                        core._pg_drop(args.db, url)
    return {"summary": core.tally(results), "results": results,
            "run": {"at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), "quick": args.quick,
                    "backend": "postgresql" if env.postgres else "sqlite", "customers": args.customers,
                    "mem_limit_mb": args.mem_mb, "wall_limit_s": args.wall_s,
                    "seconds": round(time.perf_counter() - t0, 1), "python": platform.python_version(),
                    "cpus": os.cpu_count()}}


if __name__ == "__main__":
    sys.exit(main())
