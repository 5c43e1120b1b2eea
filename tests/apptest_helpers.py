"""Helpers for driving the app in AppTest."""
from __future__ import annotations

import os

from sqlalchemy import text

from lib.ui import Keys


def select_scope(at, city_index: int) -> None:
    """Pick the `city_index`-th city (1-based, by path) in the sidebar scope picker and rerun.

    Options are org paths shown through a label mapping; AppTest cannot map a label back through
    such a format function, so the value is set directly.
    """
    from lib.db import make_engine

    engine = make_engine(os.environ["DATABASE_URL"])
    with engine.connect() as conn:
        cities = conn.execute(text("SELECT path FROM org_unit WHERE level = 'city' ORDER BY path")).scalars().all()
    engine.dispose()
    at.sidebar.selectbox(key=Keys.SCOPE_LEVEL.format(depth=0)).set_value(cities[city_index - 1]).run()


def user_of(engine, login: str):
    """The demo user `login` as a logged-in session sees it (lib.auth.SessionUser)."""
    from lib import auth

    with engine.connect() as conn:
        uid = conn.execute(text("SELECT id FROM app_user WHERE login = :l"), {"l": login}).scalar_one()
    return auth.session_user(engine, uid)
