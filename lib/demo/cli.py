"""`python -m lib.demo`: generate the demo province from the command line (演示数据)."""
from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    """Parse the arguments, generate, print the counts; return the exit status (2 on bad input)."""
    from lib import db, months
    from lib.auth import create_demo_users
    from lib.config import database_url
    from lib.demo import DemoExistsError, generate, geography, station_count

    ap = argparse.ArgumentParser(prog="python -m lib.demo", description="Generate the demo province (演示数据).")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--customers", type=int, default=30_000)
    ap.add_argument("--months", type=int, default=24)
    ap.add_argument("--db", default=None, help="SQLAlchemy URL (default: DATABASE_URL or data/gridcrm.db)")
    ap.add_argument("--end-month", default=None, help="last month of history, YYYY-MM (default: last month)")
    ap.add_argument("--cities", default=None,
                    help="Shandong's cities/districts to build: all, or codes such as 3701,3702,370102 "
                         "(default: all when customers ≥ 27,200, else 16 districts of 5 cities)")
    ap.add_argument("--replace", action="store_true", help="delete every row first if the database is not empty")
    ap.add_argument("--quiet", action="store_true")
    ap.add_argument("--no-users", action="store_true", help="do not create the documented demo users")
    args = ap.parse_args(argv)
    try:
        end = months.check(args.end_month) if args.end_month else None
        geography.select(args.cities, station_count(args.customers))
    except ValueError as exc:
        ap.error(str(exc))
    engine = db.make_engine(args.db or database_url())
    last = [""]

    def show(fraction: float, step: str) -> None:
        if not args.quiet and step != last[0]:
            print(f"[{fraction * 100:5.1f}%] {step}", file=sys.stderr, flush=True)
            last[0] = step

    try:
        counts = generate(engine, seed=args.seed, customers=args.customers, months=args.months, end_month=end,
                          progress=show, replace=args.replace, cities=args.cities)
        if not args.no_users:
            counts["demo_users"] = ", ".join(create_demo_users(engine))
    except (DemoExistsError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    finally:
        engine.dispose()
    for k, v in counts.items():
        print(f"{k}: {v}")
    return 0
