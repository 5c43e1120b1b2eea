"""Hash every table of a database, rows sorted, one line per table (数据库逐表哈希).

Used to prove a refactoring of the demo generator left its output unchanged:
generate with the same seed before and after, then compare the two listings.
Columns that are random by design (Argon2 password hashes carry a random salt,
the demo users' creation time is the wall clock) are hashed as their presence only; pass ``--all`` to include them.

    python scripts/db_hash.py sqlite:////tmp/demo_before.db
"""
from __future__ import annotations

import argparse
import hashlib
import warnings

import sqlalchemy as sa

# Salted or stamped with the wall clock on every run, whatever the seed.
VOLATILE = {("app_user", "password_hash"), ("app_user", "created_at"), ("audit_log", "at")}


def table_hashes(url: str, include_volatile: bool = False) -> dict[str, tuple[int, str]]:
    """Return {table: (row count, sha256 of its rows sorted)} for every table of ``url``."""
    engine = sa.create_engine(url)
    meta = sa.MetaData()
    with warnings.catch_warnings():  # SQLite expression indexes are not reflected
        warnings.simplefilter("ignore", sa.exc.SAWarning)
        meta.reflect(engine)
    out = {}
    with engine.connect() as conn:
        for name in sorted(meta.tables):
            table = meta.tables[name]
            cols = [c.name for c in table.columns]
            rows = []
            for row in conn.execute(sa.select(table)):
                values = [
                    ("<set>" if v is not None else None)
                    if (name, col) in VOLATILE and not include_volatile else v
                    for col, v in zip(cols, row)
                ]
                rows.append(repr(tuple(values)))
            rows.sort()
            digest = hashlib.sha256()
            digest.update(repr(cols).encode())
            for r in rows:
                digest.update(r.encode())
                digest.update(b"\n")
            out[name] = (len(rows), digest.hexdigest()[:16])
    engine.dispose()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url")
    parser.add_argument("--all", action="store_true", help="include volatile columns")
    args = parser.parse_args()
    for name, (n, h) in table_hashes(args.url, args.all).items():
        print(f"{name:32s} {n:9d} {h}")


if __name__ == "__main__":
    main()
