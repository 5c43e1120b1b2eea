"""Database access (数据库): engine creation, migrations and write transactions.

SQLite (the embedded default) runs in WAL mode with a busy timeout, and every write transaction
starts with `BEGIN IMMEDIATE` so concurrent writers queue instead of losing updates. PostgreSQL is
used as it is, through the same SQLAlchemy URL setting (`DATABASE_URL`).
"""
from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Connection, Date, DateTime, Engine, Table, column, create_engine, event, inspect, table

from lib.config import ROOT, database_url

BUSY_TIMEOUT_MS = 30_000
PG_OPTIONS = "-c jit=off -c random_page_cost=1.1"


def make_engine(url: str | None = None) -> Engine:
    """Return an engine for `url` (default: the configured database) with our SQLite settings."""
    url = url or database_url()
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_MS / 1000, "check_same_thread": False})
        _configure_sqlite(engine)
        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    # Session settings for dashboard reads (docs/SCALING.md): JIT compilation costs more than it saves
    # on queries that read one month (0.1–0.2 s each); random_page_cost 1.1 (SSD or data in memory,
    # PostgreSQL's default 4 assumes spinning disks) lets a month's index range be read instead of
    # the whole summary table.
    return create_engine(url, pool_pre_ping=True, connect_args={"options": PG_OPTIONS})


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):
        # Let SQLAlchemy emit BEGIN itself (pysqlite's implicit BEGIN is DEFERRED and loses races).
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA synchronous=NORMAL")
        # Scope filters are `org_path LIKE '/37/3701/%'`: with case-sensitive LIKE, SQLite answers them
        # from the org_path indexes as a range instead of scanning (org paths hold digits only).
        cur.execute("PRAGMA case_sensitive_like=ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection):
        mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
        conn.exec_driver_sql(f"BEGIN {mode}")


@contextmanager
def write(engine: Engine) -> Iterator[Connection]:
    """Open one write transaction: all or nothing; on SQLite it takes the write lock at once."""
    if engine.dialect.name == "sqlite":
        with engine.connect().execution_options(sqlite_begin="IMMEDIATE") as conn:
            with conn.begin():
                yield conn
    else:
        with engine.begin() as conn:
            yield conn


def upsert(conn: Connection, table_name: str, values: dict, key: Sequence[str], *,
           update: Sequence[str] | None = None, returning: str | None = None):
    """Insert one row into `table_name`, or when a row with the same unique `key` columns exists,
    update its `update` columns (default: every non-key column of `values`); `update=()` leaves
    the existing row alone (ON CONFLICT DO NOTHING). One atomic statement on SQLite and PostgreSQL
    (`INSERT … ON CONFLICT (key) DO UPDATE`), so two writers never both see "no row" and insert.

    Returns the `returning` column of the row written, or None when nothing was written
    (DO NOTHING on an existing row) or `returning` is not given. Names come from code, never from input.
    """
    from sqlalchemy.dialects import postgresql, sqlite

    names = list(values) + ([returning] if returning and returning not in values else [])
    t = table(table_name, *(column(n) for n in names))
    dialect = {"sqlite": sqlite, "postgresql": postgresql}.get(conn.dialect.name)
    if dialect is None:
        raise NotImplementedError(f"upsert: no ON CONFLICT support for {conn.dialect.name}")
    ins = dialect.insert(t).values(values)
    cols = [c for c in values if c not in key] if update is None else list(update)
    if cols:
        stmt = ins.on_conflict_do_update(index_elements=list(key), set_={c: ins.excluded[c] for c in cols})
    else:
        stmt = ins.on_conflict_do_nothing(index_elements=list(key))
    if returning:
        return conn.execute(stmt.returning(t.c[returning])).scalar()
    conn.execute(stmt)
    return None


def alembic_config(engine: Engine):
    """Return an Alembic config bound to `engine` (migrations live in `alembic/`)."""
    from alembic.config import Config

    cfg = Config(str(ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(ROOT / "alembic"))
    cfg.attributes["engine"] = engine
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to `revision` with Alembic (creates every table on an empty database)."""
    from alembic import command

    command.upgrade(alembic_config(engine), revision)


def downgrade(engine: Engine, revision: str = "base") -> None:
    """Step the schema back to `revision` with Alembic."""
    from alembic import command

    command.downgrade(alembic_config(engine), revision)


def is_empty(engine: Engine) -> bool:
    """True when the database has no organisation yet (a first start)."""
    if not inspect(engine).has_table("org_unit"):
        return True
    with engine.connect() as conn:
        return conn.exec_driver_sql("SELECT COUNT(*) FROM org_unit").scalar_one() == 0


# --- bulk insert ----------------------------------------------------------------------------------


def _sqlite_value(col_type):
    if isinstance(col_type, DateTime):
        return lambda v: None if v is None else v.strftime("%Y-%m-%d %H:%M:%S.%f")
    if isinstance(col_type, Date):
        return lambda v: v if v is None or isinstance(v, str) else v.isoformat()
    return None


def bulk_insert(conn: Connection, table: Table, cols: dict[str, Sequence]) -> int:
    """Insert column-wise data (name → list of Python values) into `table` in one batch, inside the
    caller's transaction: the raw DBAPI `executemany` on SQLite, COPY on PostgreSQL."""
    names = list(cols)
    if not names:
        return 0
    n = len(cols[names[0]])
    if n == 0:
        return 0
    dialect = conn.dialect.name
    quoted = ", ".join(f'"{c}"' for c in names)
    if dialect == "sqlite":
        values = []
        for c in names:
            conv = _sqlite_value(table.c[c].type)
            values.append([conv(v) for v in cols[c]] if conv else cols[c])
        cur = conn.connection.driver_connection.cursor()
        cur.executemany(f'INSERT INTO "{table.name}" ({quoted}) VALUES ({", ".join("?" * len(names))})',
                        zip(*values))
        cur.close()
    elif dialect == "postgresql":
        cur = conn.connection.driver_connection.cursor()
        with cur.copy(f'COPY "{table.name}" ({quoted}) FROM STDIN') as copy:
            for row in zip(*(cols[c] for c in names)):
                copy.write_row(row)
        cur.close()
    else:  # any other dialect: plain SQLAlchemy executemany
        conn.execute(table.insert(), [dict(zip(names, row)) for row in zip(*(cols[c] for c in names))])
    return n
