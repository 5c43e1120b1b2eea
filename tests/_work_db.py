"""Databases for the daily-work tests that write (issue 6): a small demo province built once per
module, and a private writable copy of it per test (a file copy on SQLite; on PostgreSQL, when
TEST_DATABASE_URL is set, a new database made from it as a template). The shared `engine` fixture
is never written to."""
from __future__ import annotations

import os
import shutil
import uuid

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from lib import auth
from lib.db import make_engine

SMALL = dict(seed=5, customers=900, months=14, end_month="2026-10")


def _pg_admin():
    return create_engine(os.environ["TEST_DATABASE_URL"], isolation_level="AUTOCOMMIT")


def build_demo(tmp_path_factory, size: dict, tag: str):
    """Yield the URL of a demo province of `size` (lib.demo.generate's arguments) with the demo users, in a
    temporary SQLite file or a new PostgreSQL database on TEST_DATABASE_URL's server (dropped after)."""
    from lib import demo

    base = os.environ.get("TEST_DATABASE_URL")
    if base:
        name = f"{tag[0]}_{uuid.uuid4().hex[:12]}"
        with _pg_admin().connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        url = make_url(base).set(database=name).render_as_string(hide_password=False)
    else:
        url = f"sqlite:///{tmp_path_factory.mktemp(tag) / 'small.db'}"
    eng = make_engine(url)
    demo.generate(eng, **size)
    auth.create_demo_users(eng)
    eng.dispose()
    yield url
    if base:
        with _pg_admin().connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)'))


def private_copy(source_url: str, tmp_path):
    """Yield a writable engine on a private copy of the database at `source_url` (a file copy, or a
    PostgreSQL database made from it as a template; dropped after)."""
    if source_url.startswith("sqlite"):
        dst = tmp_path / "copy.db"
        shutil.copy(source_url.split("///", 1)[1], dst)
        url = f"sqlite:///{dst}"
    else:
        name = f"c_{uuid.uuid4().hex[:12]}"
        with _pg_admin().connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{make_url(source_url).database}"'))
        url = make_url(source_url).set(database=name).render_as_string(hide_password=False)
    eng = make_engine(url)
    yield eng
    eng.dispose()
    if not source_url.startswith("sqlite"):
        with _pg_admin().connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)'))


@pytest.fixture(scope="module")
def small_url(tmp_path_factory):
    """A small demo province (900 customers × 14 months, demo users), built once per test module."""
    yield from build_demo(tmp_path_factory, SMALL, "work")


@pytest.fixture()
def db(small_url, tmp_path):
    """A writable engine on a private copy of the small province."""
    yield from private_copy(small_url, tmp_path)


def user(engine, login: str) -> auth.SessionUser:
    """The demo user `login` as a session user."""
    with engine.connect() as conn:
        uid = conn.execute(text("SELECT id FROM app_user WHERE login = :l"), {"l": login}).scalar_one()
    return auth.session_user(engine, uid)


def count(engine, sql: str, **params) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text(sql), params).scalar_one())
