"""Fixtures of the page tests (tests/pages/): a writable province the app under test points at."""
from __future__ import annotations

import pytest

from lib import auth, demo
from lib.db import make_engine


@pytest.fixture()
def writable(fresh_url, monkeypatch):
    """A demo province of 900 customers × 4 months with the demo users, in a database of its own,
    which the app under test (DATABASE_URL) uses for this test: pages may write to it."""
    engine = make_engine(fresh_url)
    demo.generate(engine, seed=5, customers=900, months=4, end_month="2026-10")
    auth.create_demo_users(engine)
    monkeypatch.setenv("DATABASE_URL", fresh_url)
    yield engine
    engine.dispose()
