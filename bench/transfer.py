"""Full export and restore timed (全量导出与恢复性能, issue 13 part 5): export a database with
lib.transfer, restore it into a new SQLite file and (with --pg) into a new PostgreSQL database,
export that one again, and check every table hash for hash (scripts/db_hash.py, volatile columns
included).

    python -m lib.demo --customers 100000 --months 24 --db sqlite:////work/bench_db/t100k.db --quiet
    python bench/transfer.py --db sqlite:////work/bench_db/t100k.db \\
        --pg postgresql+psycopg://postgres@127.0.0.1:5446/gridcrm --json bench/results/transfer_100k.json

--pg names any database on the server: the bench creates its own database beside it and drops it.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))


CPU: dict[str, float] = {}  # this process's CPU seconds per step: the machine is shared, wall time is not ours alone


def _timed(fn, *args, step: str = "") -> tuple[float, object]:
    t0, c0 = time.perf_counter(), time.process_time()
    out = fn(*args)
    if step:
        CPU[step] = round(time.process_time() - c0, 2)
    return round(time.perf_counter() - t0, 2), out


def _say(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def run(db: str, pg: str | None, work: Path, verify: bool) -> dict:
    import sqlalchemy as sa
    from db_hash import table_hashes
    from sqlalchemy.engine import make_url

    from lib import transfer
    from lib.db import make_engine

    work.mkdir(parents=True, exist_ok=True)
    out: dict = {"source": db, "machine": {"python": platform.python_version(), "cores": os.cpu_count(),
                                            "sqlite": __import__("sqlite3").sqlite_version,
                                            "load_average_at_start": os.getloadavg()[0]}}
    src = make_engine(db)
    zip_path = work / "transfer_bench.zip"
    secs, manifest = _timed(transfer.export, src, zip_path, _say, step="export_sqlite")
    src.dispose()
    rows = sum(f["rows"] for f in manifest["files"].values())
    out["rows"] = rows
    out["tables"] = {f["table"]: f["rows"] for f in manifest["files"].values()}
    out["zip_mb"] = round(zip_path.stat().st_size / 1e6, 1)
    out["export_sqlite_s"] = secs
    source_hashes = table_hashes(db, include_volatile=True) if verify else None

    target = work / "transfer_bench_restored.db"
    for p in (target, Path(f"{target}-wal"), Path(f"{target}-shm")):
        p.unlink(missing_ok=True)
    url = f"sqlite:///{target}"
    eng = make_engine(url)
    out["import_sqlite_s"], _ = _timed(transfer.restore, eng, zip_path, _say, step="import_sqlite")
    eng.dispose()
    if verify:
        out["sqlite_tables_equal"] = table_hashes(url, include_volatile=True) == source_hashes
    for p in (target, Path(f"{target}-wal"), Path(f"{target}-shm")):
        p.unlink(missing_ok=True)

    if pg:
        name = f"bench_transfer_{uuid.uuid4().hex[:8]}"
        admin = sa.create_engine(pg, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        pg_url = make_url(pg).set(database=name).render_as_string(hide_password=False)
        try:
            eng = make_engine(pg_url)
            out["import_postgresql_s"], _ = _timed(transfer.restore, eng, zip_path, _say, step="import_postgresql")
            again = work / "transfer_bench_pg.zip"
            out["export_postgresql_s"], m2 = _timed(transfer.export, eng, again, _say, step="export_postgresql")
            eng.dispose()
            out["postgresql_files_equal"] = ({k: v["sha256"] for k, v in m2["files"].items()}
                                             == {k: v["sha256"] for k, v in manifest["files"].items()})
            if verify:
                out["postgresql_tables_equal"] = table_hashes(pg_url, include_volatile=True) == source_hashes
            again.unlink(missing_ok=True)
        finally:
            with admin.connect() as conn:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()
    for k in [k for k in out if k.endswith("_s")]:
        out[k[:-2] + "_rows_per_s"] = int(rows / out[k]) if out[k] else None
    zip_path.unlink(missing_ok=True)
    out["machine"]["load_average_at_end"] = os.getloadavg()[0]
    out["cpu_s_this_process"] = dict(CPU)  # PostgreSQL's own server CPU is not in these
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", required=True, help="the database to export (e.g. the 100,000-customer demo)")
    parser.add_argument("--pg", help="a PostgreSQL URL on the server to restore into (a new database beside it)")
    parser.add_argument("--work", default="/tmp/gridcrm_transfer_bench", help="folder for the zip and the copy")
    parser.add_argument("--no-verify", action="store_true", help="skip the table-hash comparison")
    parser.add_argument("--json", help="write the results here")
    args = parser.parse_args()
    result = run(args.db, args.pg, Path(args.work), not args.no_verify)
    text = json.dumps(result, indent=1)
    print(text)
    if args.json:
        Path(args.json).write_text(text + "\n")


if __name__ == "__main__":
    main()
