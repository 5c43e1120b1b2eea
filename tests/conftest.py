"""Shared fixtures. The fixture database is a small demo province built once per test session
in a temporary SQLite file (or in PostgreSQL when TEST_DATABASE_URL is set), and the app under
test is pointed at it through DATABASE_URL before anything imports it.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# Users never see error details (.streamlit/config.toml); tests want the real message.
from streamlit import config as _st_config  # noqa: E402

_st_config.set_option("client.showErrorDetails", "full")

FIXTURE_CUSTOMERS = 2500
FIXTURE_MONTHS = 14  # enough for "same month last year"
FIXTURE_SEED = 11


def _fixture_url(tmp_root: Path) -> str:
    return os.environ.get("TEST_DATABASE_URL") or f"sqlite:///{tmp_root / 'fixture.db'}"


@pytest.fixture(scope="session")
def fixture_url(tmp_path_factory) -> str:
    """URL of the fixture database: a demo province of 2,500 customers × 14 months, built once."""
    from lib import demo
    from lib.db import make_engine, upgrade

    url = _fixture_url(tmp_path_factory.mktemp("db"))
    engine = make_engine(url)
    if url.startswith("postgresql"):
        from lib.db import downgrade

        downgrade(engine)
    upgrade(engine)
    demo.generate(engine, seed=FIXTURE_SEED, customers=FIXTURE_CUSTOMERS, months=FIXTURE_MONTHS,
                  end_month="2026-10")
    from lib import auth

    auth.create_demo_users(engine)
    engine.dispose()
    os.environ["DATABASE_URL"] = url
    return url


@pytest.fixture(scope="session")
def engine(fixture_url):
    """Engine on the fixture database (read-only use: tests that write make their own copy)."""
    from lib.db import make_engine

    eng = make_engine(fixture_url)
    yield eng
    eng.dispose()


@pytest.fixture()
def fresh_url(tmp_path):
    """URL of an empty database of the backend under test: a new SQLite file, or a new PostgreSQL
    database on the TEST_DATABASE_URL server (dropped afterwards)."""
    base = os.environ.get("TEST_DATABASE_URL")
    if not base:
        yield f"sqlite:///{tmp_path / 'fresh.db'}"
        return
    import uuid

    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield make_url(base).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture()
def small(fresh_url):
    """A writable demo province of 900 customers × 4 months (to 2026-10) with the demo users, in a
    database of its own (tests that change data use this, never the shared fixture)."""
    from lib import auth, demo
    from lib.db import make_engine

    engine = make_engine(fresh_url)
    demo.generate(engine, seed=5, customers=900, months=4, end_month="2026-10")
    auth.create_demo_users(engine)
    yield engine
    engine.dispose()
