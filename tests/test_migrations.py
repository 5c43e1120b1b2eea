"""Alembic migrations: upgrade from empty, downgrade to empty, upgrade again; and the migrated
schema matches the models (a hand-written migration that forgot a column fails here)."""
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from lib.db import downgrade, make_engine, upgrade
from lib.models import Base


def test_upgrade_downgrade_upgrade(fresh_url):
    engine = make_engine(fresh_url)
    upgrade(engine)
    tables = set(inspect(engine).get_table_names())
    assert set(Base.metadata.tables) <= tables
    downgrade(engine)
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    upgrade(engine)
    assert set(inspect(engine).get_table_names()) == tables
    engine.dispose()


def test_migrated_schema_matches_the_models(fresh_url):
    engine = make_engine(fresh_url)
    upgrade(engine)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    # PostgreSQL-only pattern-ops indexes (named ix_pg_* or *_pattern) are not in the models on purpose.
    diff = [d for d in diff if not (d[0] == "remove_index" and (d[1].name.startswith("ix_pg_")
                                                                or d[1].name.endswith("_pattern")))]
    assert diff == []
    engine.dispose()
