"""Import time with the per-row audit and the stored-value merge (issue 14, 导入批次): the same files
imported into copies of one demo database by the code of a source tree (`--root`, default this
one), so the tree before the change and after it can be compared on the same data.

    python -m lib.demo --customers 100000 --months 24 --db sqlite:////tmp/imp100k.db --quiet
    python bench/import_hardening.py --db /tmp/imp100k.db --root /tmp/base_tree --json before.json
    python bench/import_hardening.py --db /tmp/imp100k.db --json after.json

Files: 20,000 new customers (no code); 100,000 consumption rows of a new month; 20,000 existing
customers with four columns (code, name, kind, station code: the partial update of issue 14).
Each file goes into a fresh copy of the database; best of `--repeat` runs, wall and CPU seconds, and
the CPU seconds spent in the steps issue 14 added (snapshot and record of the per-row changes, the
stored-value merge, the stored-duplicate read) with their share of the run: on a shared machine the
share measured inside one run is steadier than two runs' difference.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sqlalchemy import create_engine, text

TODAY = dt.date(2026, 12, 2)


def files(db_path: str) -> dict[str, bytes]:
    """The three files, from the database's own stations and customers."""
    engine = create_engine(f"sqlite:///{db_path}")
    with engine.connect() as conn:
        stations = conn.execute(text("SELECT code FROM station ORDER BY code")).scalars().all()
        cust = pd.read_sql_query(text("SELECT c.code, c.name, c.kind, s.code AS station_code FROM customer c "
                                      "JOIN station s ON s.id = c.station_id ORDER BY c.code"), conn)
        last = conn.execute(text("SELECT MAX(month) FROM monthly_consumption")).scalar()
    engine.dispose()
    n = 20_000
    new = pd.DataFrame({"name": [f"压测客户{i}" for i in range(n)], "kind": "personal", "sub_type": "private_car",
                        "station_code": [stations[i % len(stations)] for i in range(n)],
                        "phone": [f"1390{i:07d}" for i in range(n)], "gasoline_t": "0.2"})
    month = f"{int(last[:4]) + int(last[5:]) // 12}-{int(last[5:]) % 12 + 1:02d}"
    rng = np.random.default_rng(3)
    cons = pd.DataFrame({"customer_code": cust["code"].head(100_000), "month": month})
    cons["gasoline_t"] = rng.uniform(0, 2, len(cons)).round(3)
    cons["diesel_t"], cons["card_cny"], cons["visits"] = rng.uniform(0, 5, len(cons)).round(3), 500, 4
    upd = cust.sample(n=n, random_state=1).assign(name=lambda d: d["name"] + "改")
    return {"customers_new_20k": new.to_csv(index=False).encode("utf-8-sig"),
            "consumption_100k": cons.to_csv(index=False).encode("utf-8"),
            "customers_update_4cols_20k": upd.to_csv(index=False).encode("utf-8-sig")}


ADDED: dict[str, float] = {}  # CPU seconds inside the steps issue 14 added (this tree only), per run


def _timed(module, name: str) -> None:
    """Wrap `module.name` to add its CPU seconds to ADDED (the added steps' share of the same run)."""
    inner = getattr(module, name)

    def wrapper(*args, **kwargs):
        c0 = time.process_time()
        try:
            return inner(*args, **kwargs)
        finally:
            ADDED[name] = ADDED.get(name, 0.0) + time.process_time() - c0

    setattr(module, name, wrapper)


def _instrument() -> None:
    import lib.importer as imp

    for mod, names in ((getattr(imp, "revert", None), ("snapshot", "record")),
                       (getattr(imp, "merge", None), ("fill_stored",)), (imp, ("known_customers",))):
        for name in names:
            if mod is not None and hasattr(mod, name):
                _timed(mod, name)


def run(db_path: str, kind: str, data: bytes, repeat: int) -> dict:
    from lib.db import make_engine
    from lib.importer import import_file

    best = None
    for _ in range(repeat):
        with tempfile.TemporaryDirectory() as tmp:
            copy = Path(tmp) / "copy.db"
            shutil.copy(db_path, copy)
            engine = make_engine(f"sqlite:///{copy}")
            ADDED.clear()
            w0, c0 = time.perf_counter(), time.process_time()
            report = import_file(engine, kind, data, f"{kind}.csv", today=TODAY)
            wall, cpu = time.perf_counter() - w0, time.process_time() - c0
            engine.dispose()
        assert report.ok, report.errors[:3]
        if best is None or wall < best["wall_s"]:
            best = {"rows": report.rows, "inserted": report.inserted, "updated": report.updated,
                    "wall_s": round(wall, 2), "cpu_s": round(cpu, 2),
                    "added_cpu_s": {k: round(v, 2) for k, v in ADDED.items()},
                    "added_share": round(sum(ADDED.values()) / cpu, 3)}
    return best


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", required=True, help="a demo SQLite database file (copied for every run)")
    ap.add_argument("--root", default=str(Path(__file__).resolve().parent.parent), help="source tree to import lib from")
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--only", nargs="*")
    ap.add_argument("--json")
    args = ap.parse_args()
    sys.path.insert(0, args.root)
    _instrument()
    out = {}
    for name, data in files(args.db).items():
        if args.only and name not in args.only:
            continue
        kind = "consumption" if name.startswith("consumption") else "customers"
        out[name] = run(args.db, kind, data, args.repeat)
        print(name, out[name], flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps({"root": args.root, "results": out}, indent=1))


if __name__ == "__main__":
    main()
