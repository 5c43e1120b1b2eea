"""Benchmarks (性能基准): every page cold and warm in AppTest, the map payload, an import, and the
naive way on the same data in the same run.

    python -m bench --customers 100000 --months 24 [--db URL] --json bench/results/100k.json
    python -m bench --quick          # small and fast: what CI runs so the bench never rots

The database is built with the demo generator when it is missing (or empty) and reused after.
"""
from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from streamlit import config as _st_config  # noqa: E402

_st_config.set_option("client.showErrorDetails", "full")  # the report names the real error


def _ensure_db(url: str, customers: int, months: int) -> dict:
    from lib import auth, demo
    from lib.db import is_empty, make_engine, upgrade

    engine = make_engine(url)
    upgrade(engine)
    built = None
    if is_empty(engine):
        t0 = time.perf_counter()
        demo.generate(engine, customers=customers, months=months)
        auth.create_demo_users(engine)
        built = time.perf_counter() - t0
    engine.dispose()
    return {"generated_s": round(built, 2) if built is not None else None}


def _timed_run(at) -> float:
    t0 = time.perf_counter()
    at.run(timeout=600)
    elapsed = time.perf_counter() - t0
    if at.exception:
        raise RuntimeError(f"page raised: {[e.value for e in at.exception]}")
    return elapsed


def time_pages(login: str = "admin", only: list[str] | None = None) -> list[dict]:
    """Time every registered page the user may open (or those named in `only`, e.g. "tiers"):
    cold (empty data cache) and warm (rerun)."""
    import streamlit as st
    from sqlalchemy import text
    from streamlit.testing.v1 import AppTest

    from lib import auth
    from lib.db import make_engine, write
    from lib.ui import Keys, allowed_pages

    engine = make_engine(os.environ["DATABASE_URL"])
    with engine.connect() as conn:
        uid, role = conn.execute(text("SELECT id, role FROM app_user WHERE login = :l"), {"l": login}).one()
    results = []
    for spec in allowed_pages(role):
        if only and Path(spec.path).stem not in only:
            continue
        st.cache_data.clear()
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=600)
        with write(engine) as conn:
            at.session_state[Keys.SESSION] = auth.start_session(conn, uid)
        at.run(timeout=600)  # the landing page, so the switch below measures only this page
        st.cache_data.clear()
        at.switch_page(spec.path)
        try:
            cold = _timed_run(at)
            warm = min(_timed_run(at) for _ in range(3))
        except RuntimeError as exc:  # keep measuring the other pages; the error is in the report
            results.append({"page": spec.path, "cold_s": None, "warm_s": None, "error": str(exc)[:500]})
            print(f"  {spec.path:28s} ERROR {exc}", flush=True)
            continue
        results.append({"page": spec.path, "cold_s": round(cold, 3), "warm_s": round(warm, 3)})
        print(f"  {spec.path:28s} cold {cold:6.3f} s  warm {warm:6.3f} s", flush=True)
    return results


def time_naive(scope: str, month: str) -> dict:
    """The overview done the naive way (whole tables into pandas on every rerun)."""
    from streamlit.testing.v1 import AppTest

    os.environ["BENCH_SCOPE"], os.environ["BENCH_MONTH"] = scope, month
    at = AppTest.from_file(str(ROOT / "bench" / "naive_overview.py"), default_timeout=600)
    cold = _timed_run(at)
    warm = min(_timed_run(at) for _ in range(2))
    return {"page": "naive overview", "cold_s": round(cold, 3), "warm_s": round(warm, 3)}


def map_payload(engine, scope: str, month: str, naive: bool = True) -> dict:
    """What the grid map page sends to the browser (the map component's data), and the same for
    a naive one-marker-per-customer map of the same data (bench/map_payload.py measures both)."""
    from bench.map_payload import component_bytes, naive_map
    from lib import maps

    ours = component_bytes(maps.grid_map(engine, scope, month).map)
    theirs = component_bytes(naive_map(engine, scope, month)) if naive else None
    return {"payload_mb": round(ours / 1e6, 3),
            "naive_payload_mb": round(theirs / 1e6, 3) if theirs is not None else None}


def time_import(engine, rows: int) -> dict:
    """Validated import (dry run: every check, nothing written) of `rows` consumption rows."""
    try:
        from lib import importer
    except ImportError:
        return {"rows": 0, "rows_per_s": None}
    import pandas as pd
    from sqlalchemy import text

    from lib.actors import system_user

    with engine.connect() as conn:
        sample = pd.read_sql_query(
            text("SELECT c.code AS customer_code, m.month, m.gasoline_t, m.diesel_t, m.card_cny, m.visits "
                 "FROM monthly_consumption m JOIN customer c ON c.id = m.customer_id LIMIT :n"), conn,
            params={"n": rows})
    data = sample.to_csv(index=False).encode("utf-8")
    t0 = time.perf_counter()
    report = importer.import_file(engine, "consumption", data, "bench.csv", dry_run=True,
                                  user=system_user(engine))
    elapsed = time.perf_counter() - t0
    ok = getattr(report, "ok", None)
    return {"rows": len(sample), "rows_per_s": round(len(sample) / elapsed) if ok else None, "ok": ok}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    ap.add_argument("--customers", type=int, default=100_000)
    ap.add_argument("--months", type=int, default=24)
    ap.add_argument("--db", default=None)
    ap.add_argument("--json", default=None)
    ap.add_argument("--quick", action="store_true", help="3,000 customers × 6 months (CI)")
    ap.add_argument("--import-rows", type=int, default=100_000)
    ap.add_argument("--pages", nargs="*", default=None, metavar="NAME",
                    help="time only these pages (e.g. tiers churn); the other parts still run unless skipped")
    ap.add_argument("--skip", nargs="*", default=(), choices=("naive", "naive-map", "map", "import"),
                    help="leave parts out (the JSON then lacks them); naive-map: the one-marker-per-customer "
                         "map only (at 1,000,000 customers it needs more than 16 GB: bench/map_payload.py "
                         "--chunked measures its size in parts)")
    args = ap.parse_args(argv)
    if args.quick:
        args.customers, args.months, args.import_rows = 3000, 6, 5000
    url = args.db or f"sqlite:///{ROOT / 'data' / 'bench' / f'bench_{args.customers}_{args.months}.db'}"
    os.environ["DATABASE_URL"] = url
    print(f"database {url}", flush=True)
    build = _ensure_db(url, args.customers, args.months)

    from lib.db import make_engine
    from lib.queries import default_scope_and_month

    engine = make_engine(url)
    scope, month = default_scope_and_month(engine)
    with engine.connect() as conn:
        from sqlalchemy import text

        monthly_rows = conn.execute(text("SELECT COUNT(*) FROM monthly_consumption")).scalar_one()
        n_customers = conn.execute(text("SELECT COUNT(*) FROM customer")).scalar_one()
    print("pages (province admin, whole province):", flush=True)
    pages = time_pages(only=args.pages)
    # the import first, then the naive way: a million folium markers leave garbage behind that
    # slows whatever the same process does next
    gc.collect()
    imp = time_import(engine, args.import_rows) if "import" not in args.skip else None
    naive = time_naive(scope, month) if "naive" not in args.skip else None
    gc.collect()
    payload = (map_payload(engine, scope, month, naive=not {"naive", "naive-map"} & set(args.skip))
               if "map" not in args.skip else None)
    if naive is not None and payload is not None:
        naive["map_payload_mb"] = payload.pop("naive_payload_mb")
    result = {
        "scale": {"customers": n_customers, "monthly_rows": monthly_rows, "backend": engine.dialect.name,
                  **build},
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "pages": pages,
        "naive": naive,
        "map": payload,
        "import": imp,
    }
    overview = next((p for p in pages if p["page"] == "pages/overview.py"), None)
    if overview and naive:
        result["ratios"] = {"naive_over_overview_cold": round(naive["cold_s"] / overview["cold_s"], 1),
                            "naive_over_overview_warm": round(naive["warm_s"] / max(overview["warm_s"], 1e-3), 1)}
    print(json.dumps(result, indent=1))
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(result, indent=1))
    engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
