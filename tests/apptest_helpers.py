"""Shared helpers of the page tests (AppTest): open the app as a user, pick a scope, submit a form,
read what a page rendered, and the independent computations several pages' figures are checked
against. Every page module in tests/pages/ and the cross-page tests import from here."""
from __future__ import annotations

import datetime as dt
import json
import os
from collections import defaultdict
from pathlib import Path

from sqlalchemy import text
from streamlit.testing.v1 import AppTest

from lib.i18n import translator
from lib.ui import Keys

ROOT = Path(__file__).resolve().parent.parent
T = translator("en")
TIMEOUT = 180


# --- users ------------------------------------------------------------------------------------------


def user_id(login: str, url: str | None = None) -> int:
    """The id of demo user `login` in the database the app under test uses (DATABASE_URL)."""
    from lib.db import make_engine

    engine = make_engine(url or os.environ["DATABASE_URL"])
    try:
        with engine.connect() as conn:
            return conn.execute(text("SELECT id FROM app_user WHERE login = :l"), {"l": login}).scalar_one()
    finally:
        engine.dispose()


def session_token(user: int | str, url: str | None = None) -> str:
    """A server-side session (lib.auth.start_session) of user id or demo login `user` in the database the
    app under test uses: what a login leaves in the browser session (`Keys.SESSION`)."""
    from lib import auth
    from lib.db import make_engine, write

    uid = user_id(user, url) if isinstance(user, str) else user
    engine = make_engine(url or os.environ["DATABASE_URL"])
    try:
        with write(engine) as conn:
            return auth.start_session(conn, uid)
    finally:
        engine.dispose()


def user_of(engine, login: str):
    """The demo user `login` as a logged-in session sees it (lib.auth.SessionUser)."""
    from lib import auth

    with engine.connect() as conn:
        uid = conn.execute(text("SELECT id FROM app_user WHERE login = :l"), {"l": login}).scalar_one()
    return auth.session_user(engine, uid)


def scope_of(engine, login: str) -> str:
    """The org path scope of demo user `login`."""
    return user_of(engine, login).scope


# --- driving the app --------------------------------------------------------------------------------


def app(login: str | None = "admin", lang: str | None = None, path: str = "app.py") -> AppTest:
    """An AppTest of `path` (not yet run), logged in as `login` (None: not logged in), in `lang`."""
    at = AppTest.from_file(str(ROOT / path), default_timeout=TIMEOUT)
    if lang:
        at.session_state[Keys.LANG] = lang
    if login:
        at.session_state[Keys.SESSION] = session_token(login)
    return at


def open_page(path: str, login: str = "admin", lang: str = "en", city_index: int | None = None,
              tab: tuple[str, str] | None = None) -> AppTest:
    """Log in as `login`, run app.py, switch to page `path`, optionally pick the `city_index`-th city
    as scope; `tab` = (widget key, catalog key of the label) opens that lazy tab. Asserts no exception."""
    at = app(login, lang)
    if tab:
        at.session_state[tab[0]] = translator(lang)(tab[1])
    at.run()
    at.switch_page(path).run()
    if city_index is not None:
        select_scope(at, city_index)
    assert not at.exception, [e.value for e in at.exception]
    return at


def select_scope(at, city_index: int) -> None:
    """Pick the `city_index`-th city (1-based, by path) in the sidebar scope picker and rerun.

    Options are org paths shown through a label mapping; AppTest cannot map a label back through
    such a format function, so the value is set directly.
    """
    at.sidebar.selectbox(key=Keys.SCOPE_LEVEL.format(depth=0)).set_value(city_path(city_index)).run()


def submit(at: AppTest, label: str) -> AppTest:
    """Click the (form submit) button labelled `label` and rerun."""
    return next(b for b in at.button if b.label == label).click().run()


def metrics(at: AppTest) -> dict[str, str]:
    """The page's metrics, label → shown value."""
    return {m.label: m.value for m in at.metric}


def rendered_text(at: AppTest) -> str:
    """Everything the page put on screen (text, metrics, tables, charts), as one string."""
    parts = []
    for kind in ("title", "header", "subheader", "markdown", "caption", "text", "metric", "info", "warning",
                 "error", "success", "table"):
        for el in getattr(at, kind):
            parts.append(str(getattr(el, "value", "")))
            parts.append(str(getattr(el, "label", "")))
    for df in at.dataframe:
        parts.append(df.value.to_csv())
    for el in at.get("plotly_chart"):
        parts.append(json.dumps(el.proto.spec if hasattr(el.proto, "spec") else str(el.proto), ensure_ascii=False))
    return "\n".join(parts)


def assert_chinese_key_numbers(page: str, title: str) -> None:
    """A dashboard page in Chinese: its title, and four key figures first, each labelled in Chinese."""
    at = open_page(page, lang="zh")
    assert at.title[0].value == title
    assert len(at.metric) == 4
    assert all(any("\u4e00" <= ch <= "\u9fff" for ch in m.label) for m in at.metric)


# --- independent computations (plain SQL + Python) ---------------------------------------------------


def one(engine, sql: str, **params):
    """The single value `sql` returns."""
    with engine.connect() as conn:
        return conn.execute(text(sql), params).scalar_one()


def city_path(city_index: int, url: str | None = None) -> str:
    """The org path of the `city_index`-th city (1-based, by path)."""
    from lib.db import make_engine

    engine = make_engine(url or os.environ["DATABASE_URL"])
    try:
        with engine.connect() as conn:
            cities = conn.execute(text("SELECT path FROM org_unit WHERE level = 'city' ORDER BY path")).scalars().all()
    finally:
        engine.dispose()
    return cities[city_index - 1]


def scope_and_month(engine, city_index: int | None) -> tuple[str, str]:
    """The scope a page shows after `select_scope(city_index)` (None: the root), and the default month."""
    from lib import queries

    root, month = queries.default_scope_and_month(engine)
    return (root if city_index is None else city_path(city_index)), month


def customers(engine, scope: str):
    """Customer rows of `scope`: id, kind, payment, status, lost_month, developed_month, org_path,
    tier, tier_override, agreement, province_procurement, stable."""
    with engine.connect() as conn:
        return conn.execute(text(
            "SELECT id, kind, payment, status, lost_month, developed_month, org_path, "
            "COALESCE(tier_override, computed_tier), tier_override, agreement, province_procurement, stable "
            "FROM customer WHERE org_path LIKE :s"), {"s": scope + "%"}).all()


def on_books(c, month: str) -> bool:
    """A `customers()` row is on the books in `month` (在册)."""
    return (c[3] == "existing" or (c[3] == "lost" and c[4] > month)) and (c[5] is None or c[5] <= month)


def consumption(engine, scope: str):
    """{customer id: {month: (gasoline t, diesel t, card CNY)}} of `scope`, and the first month of data."""
    with engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT m.customer_id, m.month, m.gasoline_t, m.diesel_t, m.card_cny FROM monthly_consumption m "
            "JOIN customer c ON c.id = m.customer_id WHERE c.org_path LIKE :s"), {"s": scope + "%"}).all()
        first = conn.execute(text("SELECT MIN(month) FROM monthly_consumption")).scalar()
    by = defaultdict(dict)
    for cid, month, g, d, c in rows:
        by[cid][month] = (g, d, c)
    return by, first


def month_index(m: str) -> int:
    """'YYYY-MM' as a month count, for differences."""
    return int(m[:4]) * 12 + int(m[5:7])


def rates(engine, scope: str, month: str) -> dict[str, float]:
    """The four rates (四率) of `scope` in `month` from station_traffic."""
    with engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT passing_car + passing_medium + passing_truck + passing_bus, entering, fuelled, transactions, "
            "full_tank, identified, returned FROM station_traffic WHERE org_path LIKE :s AND month = :m"),
            {"s": scope + "%", "m": month}).all()
    s = [sum(r[i] for r in rows) for i in range(7)]
    repeat, active = customer_visits(engine, scope, month)
    return {"entry_rate": s[1] / s[0], "fill_up_rate": s[4] / s[3], "return_rate": repeat / active,
            "pass_through_rate": s[2] / s[1]}


def customer_visits(engine, scope: str, month: str) -> tuple[int, int]:
    """The return rate's counts (issue 15) in plain Python: customers of `scope` on the books in `month`
    with ≥ 2 and with ≥ 1 fuelling visits in the month's consumption rows."""
    with engine.connect() as conn:
        visits = dict(conn.execute(text("SELECT customer_id, visits FROM monthly_consumption WHERE month = :m"),
                                   {"m": month}).all())
    counted = [visits.get(c[0], 0) for c in customers(engine, scope) if on_books(c, month)]
    return sum(v >= 2 for v in counted), sum(v >= 1 for v in counted)


def independent_rings(engine, station_id: int, scope: str, radii) -> list[dict]:
    """Existing, potential and competitor customers of `scope` per ring around a station, by plain haversine."""
    import math

    with engine.connect() as conn:
        slon, slat = conn.execute(text("SELECT lon, lat FROM station WHERE id = :i"), {"i": station_id}).one()
        rows_ = conn.execute(text("SELECT status, lon, lat FROM customer WHERE org_path LIKE :s AND lon IS NOT NULL"),
                             {"s": scope + "%"}).all()
    out = [{"existing": 0, "potential": 0, "competitor": 0} for _ in radii]
    r_earth = 6_371_008.8
    for status, lon, lat in rows_:
        p1, p2 = math.radians(slat), math.radians(lat)
        a = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon - slon) / 2) ** 2
        d = 2 * r_earth * math.asin(math.sqrt(a)) / 1000
        for i, r in enumerate(radii):
            if d < r:
                if status in out[i]:
                    out[i][status] += 1
                break
    return out


# --- surveys 潜在客户调查 ----------------------------------------------------------------------------------


def survey_states(engine, scope: str, period: str, month_end: str, pending: bool) -> dict:
    """The potential customer survey of `period` per station of `scope` as seen at `month_end`: station id →
    (district id, status: on_time / late / missing, or pending while the period's month is the one looked
    at), from the tables in plain SQL + Python (002 §6.5.1; tests/test_surveys.py, the surveys page)."""
    with engine.connect() as conn:
        stations = conn.execute(text("SELECT id, parent_id FROM org_unit WHERE level = 'station' AND path LIKE :s"),
                                {"s": scope + "%"}).all()
        subs = dict(conn.execute(text("SELECT org_unit_id, submitted_on FROM survey_submission WHERE period = :p"),
                                 {"p": period}).all())
    due = dt.date(int(period[:4]), int(period[5:]), 31)
    out = {}
    for sid, district in stations:
        day = subs.get(sid)
        day = dt.date.fromisoformat(str(day)[:10]) if day else None
        if day is not None and day > dt.date.fromisoformat(month_end):
            day = None  # reported after the month looked at: not yet then
        out[sid] = (district, "pending" if day is None and pending else "missing" if day is None
                    else "on_time" if day <= due else "late")
    return out


# --- the lazy tabs (st.tabs on_change="rerun": only the open tab runs) -------------------------------

LAZY_TABS = {
    "pages/tiers.py": ("tiers_tab", ("tiers.tab_distribution", "tiers.tab_migration", "tiers.tab_candidates",
                                     "tiers.tab_load")),
    "pages/churn.py": ("churn_tab", ("churn.tab_warnings", "churn.tab_tracking", "churn.tab_lost",
                                     "churn.tab_grades", "churn.tab_tasks")),
}
