"""lib.checklist 数据完整性: the statuses, the counts against independent SQL for every demo user's
scope (province, city, district, station, customer manager), and a gap made on purpose."""
from __future__ import annotations

import pytest
from apptest_helpers import scope_of
from sqlalchemy import text

from lib import auth, checklist, importer, queries
from lib.ui import page_spec


@pytest.mark.parametrize("done,total,expected", [(0, 0, "missing"), (0, 5, "missing"), (3, 5, "partial"),
                                                 (5, 5, "ok"), (6, 5, "ok")],
                         ids=["nothing", "none", "some", "all", "more"])
def test_status(done, total, expected):
    assert checklist.status(done, total) == expected


def test_every_check_names_a_dashboard_page_and_an_import_kind_or_page():
    for c in checklist.CHECKS:
        assert page_spec(f"pages/{c.dashboard}.py") is not None, c.key
        assert c.unit in checklist.UNITS, c.key
        assert c.kind in importer.KINDS or c.kind in (
            "org_units", "stations", "competitor_stations", "managers", "users", "targets", "rate_targets",
            "station_sales", "surveys"), c.key  # the kinds of issue 13's other branches
    assert len(set(checklist.CHECK_KEYS)) == len(checklist.CHECKS)


def _independent(engine, scope: str, month: str) -> dict[str, tuple[int, int]]:
    """Some lines recomputed in plain SQL + Python: stations with traffic, districts with grids,
    customers on the books with coordinates."""
    station_path = queries.station_scope(scope)
    with engine.connect() as conn:
        stations = conn.execute(text("SELECT id, org_unit_id FROM station WHERE org_path LIKE :s"),
                                {"s": station_path + "%"}).all()
        with_traffic = set(conn.execute(text("SELECT DISTINCT station_id FROM station_traffic WHERE month = :m"),
                                        {"m": month}).scalars())
        districts = conn.execute(text("SELECT id, path FROM org_unit WHERE level = 'district'")).all()
        parents = dict(conn.execute(text("SELECT id, parent_id FROM org_unit")).all())
        gridded = {parents[u] for u in conn.execute(text(
            "SELECT s.org_unit_id FROM grid g JOIN station s ON s.id = g.station_id")).scalars()}
        custs = conn.execute(text("SELECT status, lost_month, developed_month, lon, lat FROM customer "
                                  "WHERE org_path LIKE :s"), {"s": scope + "%"}).all()
    mine = [d for d, p in districts if p.startswith(station_path) or station_path.startswith(p)]
    books = [c for c in custs if (c[0] == "existing" or (c[0] == "lost" and c[1] > month))
             and (c[2] is None or c[2] <= month)]
    return {"traffic": (sum(s in with_traffic for s, _ in stations), len(stations)),
            "grids": (sum(d in gridded for d in mine), len(mine)),
            "coordinates": (sum(c[3] is not None and c[4] is not None for c in books), len(books))}


@pytest.mark.parametrize("login", [u[0] for u in auth.DEMO_USERS if u[0] != "viewer"])
def test_counts_equal_independent_sql_in_each_scope(engine, login):
    scope = scope_of(engine, login)
    _, month = queries.default_scope_and_month(engine)
    items = checklist.checklist(engine, scope, month).set_index("check")
    for check, (done, total) in _independent(engine, scope, month).items():
        assert (items.at[check, "done"], items.at[check, "total"]) == (done, total), check
        assert items.at[check, "status"] == checklist.status(done, total)
    assert items.at["stations", "total"] >= 1
    assert list(items.index) == list(checklist.CHECK_KEYS)


def test_a_station_scope_sees_its_own_district(engine):
    scope = scope_of(engine, "station")
    _, month = queries.default_scope_and_month(engine)
    items = checklist.checklist(engine, scope, month).set_index("check")
    assert items.at["grids", "total"] == 1 and items.at["stations", "total"] == 1


def test_a_gap_made_on_purpose_is_counted(small):
    """Traffic removed for one station in the month: the four-rates line turns partial, 1 missing."""
    with small.begin() as conn:
        scope, month = queries.default_scope_and_month(small)
        station = conn.execute(text("SELECT MIN(id) FROM station")).scalar_one()
        before = checklist.checklist(small, scope, month).set_index("check").loc["traffic"]
        conn.execute(text("DELETE FROM station_traffic WHERE station_id = :s AND month = :m"),
                     {"s": station, "m": month})
    after = checklist.checklist(small, scope, month).set_index("check").loc["traffic"]
    assert before["status"] == "ok"
    assert (after["status"], after["missing"], after["total"]) == ("partial", 1, before["total"])
    counts = checklist.open_items(checklist.checklist(small, scope, month))
    assert sum(counts.values()) == len(checklist.CHECKS)
