"""Alembic environment: runs migrations on the engine handed in by lib.db, or on the configured URL."""
from alembic import context
from lib.db import make_engine
from lib.models import Base  # importing the package registers every area's tables on Base.metadata

config = context.config
target_metadata = Base.metadata


def run_migrations_online() -> None:
    engine = config.attributes.get("engine") or make_engine()
    with engine.connect() as conn:
        context.configure(connection=conn, target_metadata=target_metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
        conn.commit()


run_migrations_online()
