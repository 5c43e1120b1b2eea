"""Start and stop a throwaway PostgreSQL server for tests (Debian's packages, no system service).

    python scripts/pg_throwaway.py start DIR PORT   # prints the SQLAlchemy URL
    python scripts/pg_throwaway.py stop DIR

Runs initdb and pg_ctl on DIR, listening only on a Unix socket in DIR and on 127.0.0.1:PORT.
As root (CI), the server runs as the `postgres` system user, since PostgreSQL refuses root.
"""
from __future__ import annotations

import glob
import os
import shutil
import subprocess
import sys


def bindir() -> str | None:
    """Return the folder holding initdb/pg_ctl, or None when PostgreSQL is not installed."""
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if versions:
        return os.path.dirname(versions[-1])
    found = shutil.which("initdb")
    return os.path.dirname(found) if found else None


def _as_server_user(cmd: list[str]) -> list[str]:
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *cmd]
    return cmd


def start(data_dir: str, port: int) -> str:
    """Create a cluster in `data_dir`, start it, create database `gridcrm`; return its URL."""
    bins = bindir()
    if bins is None:
        raise RuntimeError("PostgreSQL is not installed (apt-get install postgresql)")
    os.makedirs(data_dir, exist_ok=True)
    if os.geteuid() == 0:
        shutil.chown(data_dir, "postgres", "postgres")
        os.chmod(data_dir, 0o700)
    pgdata = os.path.join(data_dir, "pgdata")
    run = lambda *c: subprocess.run(_as_server_user(list(c)), check=True, capture_output=True, text=True)  # noqa: E731
    if not os.path.exists(os.path.join(pgdata, "PG_VERSION")):
        run(f"{bins}/initdb", "-D", pgdata, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8")
    opts = f"-p {port} -k {data_dir} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off " \
           f"-c full_page_writes=off -c shared_buffers=256MB -c max_connections=200"
    run(f"{bins}/pg_ctl", "-D", pgdata, "-o", opts, "-l", os.path.join(data_dir, "server.log"), "-w", "start")
    exists = run(f"{bins}/psql", "-h", data_dir, "-p", str(port), "-U", "postgres", "-tAc",
                 "SELECT 1 FROM pg_database WHERE datname = 'gridcrm'").stdout.strip()
    if not exists:
        run(f"{bins}/createdb", "-h", data_dir, "-p", str(port), "-U", "postgres", "gridcrm")
    return f"postgresql+psycopg://postgres@127.0.0.1:{port}/gridcrm"


def stop(data_dir: str) -> None:
    """Stop the server of `data_dir` (fast shutdown)."""
    bins = bindir()
    subprocess.run(_as_server_user([f"{bins}/pg_ctl", "-D", os.path.join(data_dir, "pgdata"), "-m", "fast",
                                    "-w", "stop"]), check=False, capture_output=True)


if __name__ == "__main__":
    if sys.argv[1] == "start":
        print(start(sys.argv[2], int(sys.argv[3])))
    else:
        stop(sys.argv[2])
