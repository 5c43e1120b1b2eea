"""lib.four_rates: the four rates by station, district and city, trend, targets with green/amber/red,
district medians, vehicle mix and peak-hour throughput — ratio of sums everywhere (FOUR_RATES.md)."""
from __future__ import annotations

from statistics import median

import pandas as pd
import pytest
from sqlalchemy import text

from lib import four_rates as fr
from lib import queries
from lib.config import rules as config

MONTH = "2026-10"


def _station_sums(engine, scope, month):
    with engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT t.station_id, SUM(passing_car + passing_medium + passing_truck + passing_bus), SUM(entering), "
            "SUM(fuelled), SUM(transactions), SUM(full_tank), SUM(identified), SUM(returned), SUM(peak_nozzle_lifts), "
            "COUNT(*), MAX(s.nozzles), MAX(s.org_path) FROM station_traffic t JOIN station s ON s.id = t.station_id "
            "WHERE t.org_path LIKE :s AND t.month = :m GROUP BY t.station_id"), {"s": scope + "%", "m": month}).all()
    return {r[0]: r[1:] for r in rows}


def _rates(s):
    """The traffic file's rates of summed station counts; the return rate counts customers
    (tests/test_return_rate.py), its traffic counts give the vehicle return rate."""
    return {"entry_rate": s[1] / s[0], "fill_up_rate": s[4] / s[3], "vehicle_return_rate": s[6] / s[5],
            "pass_through_rate": s[2] / s[1]}


def test_station_table_rates_targets_and_status(engine):
    table = fr.station_table(engine, "/37/", MONTH).set_index("station_id")
    sums = _station_sums(engine, "/37/", MONTH)
    with engine.connect() as conn:
        custom = {(s, r): t for s, r, t in conn.execute(text("SELECT station_id, rate, target FROM four_rate_target"))}
    defaults = config()["four_rates"]["targets"]
    assert custom, "the fixture has per-station targets"
    band = defaults["amber_band"]
    seen = set()
    for sid, s in sums.items():
        for rate, value in _rates(s).items():
            row = table.loc[sid]
            assert row[rate] == pytest.approx(value)
            if rate not in fr.RATES:  # the vehicle return rate: no target (the return rate's: test_return_rate)
                continue
            target = custom.get((sid, rate), defaults[rate])
            assert row[f"{rate}_target"] == pytest.approx(target)
            colour = "green" if value >= target else "amber" if value >= target * (1 - band) else "red"
            assert row[f"{rate}_status"] == colour
            seen.add(colour)
        assert row["throughput"] == pytest.approx(s[7] / (s[9] * s[8]))
    assert seen == {"green", "amber", "red"}


@pytest.mark.parametrize("value,target,expected", [
    (0.12, 0.12, "green"), (0.13, 0.12, "green"), (0.109, 0.12, "amber"), (0.108, 0.12, "amber"),
    (0.1079, 0.12, "red"), (0.0, 0.12, "red"), (None, 0.12, None), (0.5, None, None),
])
def test_status_bands(value, target, expected):
    assert fr.status(value, target) == expected


def test_district_median_compares_with_the_whole_district(engine):
    with engine.connect() as conn:
        station = conn.execute(text("SELECT path FROM org_unit WHERE level = 'station' ORDER BY path LIMIT 1")).scalar()
    district = "/".join(station.split("/")[:4]) + "/"
    sums = _station_sums(engine, district, MONTH)
    assert len(sums) > 1
    expected = {r: median(_rates(s)[r] for s in sums.values()) for r in fr.RATES if r != "return_rate"}
    row = fr.station_table(engine, station, MONTH).iloc[0]
    for rate in expected:
        assert row[f"{rate}_median"] == pytest.approx(expected[rate])
    assert len(fr.station_table(engine, station, MONTH)) == 1  # only the median leaves the district


@pytest.mark.parametrize("level", ["station", "district", "city"])
def test_by_level_is_a_ratio_of_sums(engine, level):
    got = fr.by_level(engine, "/37/", MONTH, level)
    sums = _station_sums(engine, "/37/", MONTH)
    depth = {"station": 5, "district": 4, "city": 3}[level]
    groups: dict[str, list] = {}
    for s in sums.values():
        groups.setdefault("/".join(s[10].split("/")[:depth]) + "/", []).append(s)
    assert set(got["path"]) == set(groups)
    for row in got.itertuples():
        total = [sum(x[i] for x in groups[row.path]) for i in range(8)]
        for rate, value in _rates(total).items():
            assert getattr(row, rate) == pytest.approx(value)
    assert got[list(fr.TRAFFIC_KEYS)].sum().to_dict() == pytest.approx(
        {k: v for k, v in queries.traffic_counts(engine, "/37/", MONTH).items()})


def test_trend_matches_the_overview_every_month(engine):
    trend = fr.trend(engine, "/37/3701/", MONTH)
    assert len(trend) == 12 and trend["month"].iloc[-1] == MONTH
    for row in trend.itertuples():
        expected = queries.scope_four_rates(engine, "/37/3701/", row.month)
        for rate in fr.RATES:
            assert getattr(row, rate) == pytest.approx(expected[rate])


def test_vehicle_mix_sums_to_all_passing_vehicles(engine):
    mix = fr.vehicle_mix(engine, "/37/", MONTH)
    assert list(mix["vehicle_class"]) == list(fr.CLASSES)
    assert mix["passing"].sum() == queries.traffic_counts(engine, "/37/", MONTH)["passing"]
    assert mix["share"].sum() == pytest.approx(1.0)


def test_no_traffic_is_no_data_not_zero(engine):
    s = fr.summary(engine, "/37/", "2019-01")
    assert s["rates"] == {r: None for r in fr.RATES} and s["throughput"] is None and s["stations"] == 0
    assert fr.vehicle_mix(engine, "/37/", "2019-01")["share"].isna().all()


def test_bad_counts_raise_instead_of_showing_a_rate_above_one():
    df = pd.DataFrame([{"passing": 10, "entering": 20, "fuelled": 5, "transactions": 5, "full_tank": 1,
                        "identified": 1, "returning": 0, "active_customers": 2, "repeat_customers": 1,
                        "prev_active": 2, "retained": 1}])
    with pytest.raises(ValueError, match="entry_rate"):
        fr.add_rates(df)


def test_summary_equals_the_overview(engine):
    s = fr.summary(engine, "/37/", MONTH)
    assert s["rates"] == pytest.approx(queries.scope_four_rates(engine, "/37/", MONTH))
    assert s["previous"] == pytest.approx(queries.scope_four_rates(engine, "/37/", "2026-09"))
    assert sum(s["red"].values()) > 0
