"""Page customer_map 客户地图: the station picker holds the scope's stations, the ring table counts the
customers around the chosen station as plain haversine does, bad radii are refused on the page."""
from __future__ import annotations

from apptest_helpers import independent_rings, one, open_page, scope_of

from lib.ui import Keys

PAGE = "pages/customer_map.py"
K = Keys.CustomerMap


def test_station_picker_offers_exactly_the_scopes_stations(engine):
    at = open_page(PAGE, "area")
    n = one(engine, "SELECT COUNT(*) FROM station WHERE org_path LIKE :s", s=scope_of(engine, "area") + "%")
    assert len(at.selectbox(key=K.STATION).options) == n > 1


def test_ring_table_equals_independent_haversine(engine):
    at = open_page(PAGE, "area")
    at.text_input(key=K.RADII).input("0.5, 2, 4, 8").run()
    assert not at.exception, [e.value for e in at.exception]
    station_id = int(at.selectbox(key=K.STATION).value)
    expected = independent_rings(engine, station_id, scope_of(engine, "area"), (0.5, 2, 4, 8))
    table = at.dataframe[0].value  # the ring counts (the potential customers' list comes second)
    assert len(table) == 4
    got = [dict(zip(("existing", "potential", "competitor"), map(int, row[-3:]))) for row in table.values.tolist()]
    assert got == expected
    assert sum(sum(r.values()) for r in expected) > 0


def test_bad_radii_are_refused_on_the_page(engine):
    at = open_page(PAGE, "area")
    n_tables = len(at.dataframe)
    at.text_input(key=K.RADII).input("5, 1").run()
    assert not at.exception
    assert at.error and "radii" in at.error[0].value
    assert len(at.dataframe) < n_tables
