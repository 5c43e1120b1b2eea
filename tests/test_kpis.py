"""lib.kpis.four_rates, the one function behind every four-rates figure (FOUR_RATES.md), table-driven."""
from __future__ import annotations

import math

import pytest

from lib.kpis import FOUR_RATES, SIDE_RATES, change, completion, four_rates, side_rates

KEYS = ("passing", "entering", "fuelled", "transactions", "full_tank", "active_customers", "repeat_customers")

# daily counts of two stations over three days: (passing, entering, fuelled, transactions, full_tank,
# customers with ≥ 1 visit, customers with ≥ 2 visits). Chosen so that the mean of daily ratios differs from the ratio of sums.
DAYS = {
    "station A": [(1000, 100, 90, 95, 50, 40, 20), (2000, 150, 140, 150, 60, 70, 30), (500, 80, 70, 72, 40, 30, 20)],
    "station B": [(4000, 300, 280, 290, 200, 100, 60), (100, 30, 20, 25, 20, 10, 9), (3000, 200, 190, 200, 90, 80, 20)],
}


def _sum(rows) -> dict[str, float]:
    return {k: float(sum(r[i] for r in rows)) for i, k in enumerate(KEYS)}


@pytest.mark.parametrize("rows", [
    pytest.param(DAYS["station A"], id="one-station-three-days"),
    pytest.param(DAYS["station B"], id="other-station-three-days"),
    pytest.param(DAYS["station A"] + DAYS["station B"], id="two-stations-six-days"),
    pytest.param(DAYS["station A"][:1], id="one-day"),
])
def test_rates_are_ratios_of_sums(rows):
    rates = four_rates(_sum(rows))
    for rate, (num, den) in FOUR_RATES.items():
        i, j = KEYS.index(num), KEYS.index(den)
        expected = sum(r[i] for r in rows) / sum(r[j] for r in rows)
        assert rates[rate] == pytest.approx(expected), rate
        if len(rows) > 1:  # … which is not the mean of the daily ratios
            mean_of_ratios = sum(r[i] / r[j] for r in rows) / len(rows)
            assert rates[rate] != pytest.approx(mean_of_ratios, rel=1e-4), rate


def test_stations_combine_by_sums_not_by_averaging_their_rates():
    a, b = four_rates(_sum(DAYS["station A"])), four_rates(_sum(DAYS["station B"]))
    both = four_rates(_sum(DAYS["station A"] + DAYS["station B"]))
    for rate in FOUR_RATES:
        assert both[rate] != pytest.approx((a[rate] + b[rate]) / 2, rel=1e-4)
        assert min(a[rate], b[rate]) <= both[rate] <= max(a[rate], b[rate])


@pytest.mark.parametrize("zeros,none_rates", [
    pytest.param({"passing": 0, "entering": 0, "fuelled": 0}, {"entry_rate", "pass_through_rate"}, id="no-traffic"),
    pytest.param({"entering": 0, "fuelled": 0}, {"pass_through_rate"}, id="nobody-entered"),
    pytest.param({"transactions": 0, "full_tank": 0}, {"fill_up_rate"}, id="no-transactions"),
    pytest.param({"active_customers": 0, "repeat_customers": 0}, {"return_rate"}, id="nobody-fuelled"),
    pytest.param({k: 0 for k in KEYS}, set(FOUR_RATES), id="all-zero"),
])
def test_zero_denominator_is_no_data(zeros, none_rates):
    rates = four_rates(_sum(DAYS["station A"]) | zeros)
    for rate in FOUR_RATES:
        if rate in none_rates:
            assert rates[rate] is None, rate  # "no data", never 0 % and never an error
        else:
            assert rates[rate] is not None and 0 <= rates[rate] <= 1, rate


@pytest.mark.parametrize("missing,none_rates", [
    ("passing", {"entry_rate"}),
    ("entering", {"entry_rate", "pass_through_rate"}),
    ("fuelled", {"pass_through_rate"}),
    ("transactions", {"fill_up_rate"}),
    ("full_tank", {"fill_up_rate"}),
    ("active_customers", {"return_rate"}),
    ("repeat_customers", {"return_rate"}),
])
def test_missing_key_is_no_data(missing, none_rates):
    counts = _sum(DAYS["station A"])
    del counts[missing]
    rates = four_rates(counts)
    assert {r for r, v in rates.items() if v is None} == none_rates


def test_empty_counts_give_no_data_everywhere():
    assert four_rates({}) == {rate: None for rate in FOUR_RATES}
    assert four_rates({k: None for k in KEYS}) == {rate: None for rate in FOUR_RATES}


@pytest.mark.parametrize("rate", list(FOUR_RATES))
def test_rate_above_one_is_rejected(rate):
    num, den = FOUR_RATES[rate]
    counts = _sum(DAYS["station A"])
    counts[num] = counts[den] + 1
    if rate == "entry_rate":  # keep the other rates valid
        counts["fuelled"] = min(counts["fuelled"], counts["entering"])
    if rate == "pass_through_rate":
        counts["passing"] = counts["entering"] * 10
    with pytest.raises(ValueError, match=rate):
        four_rates(counts)


@pytest.mark.parametrize("rate", list(FOUR_RATES))
def test_rate_of_exactly_one_is_allowed(rate):
    num, den = FOUR_RATES[rate]
    counts = _sum(DAYS["station A"])
    counts[num] = counts[den]
    if rate == "entry_rate":
        counts["fuelled"] = min(counts["fuelled"], counts["entering"])
    assert four_rates(counts)[rate] == 1.0


@pytest.mark.parametrize("bad", [-1, -0.5, math.nan, "12", True, [1]], ids=repr)
@pytest.mark.parametrize("key", ["passing", "full_tank"])
def test_bad_counts_are_rejected(key, bad):
    counts = _sum(DAYS["station A"])
    counts[key] = bad
    with pytest.raises(ValueError, match=key):
        four_rates(counts)


def test_result_has_exactly_the_four_rates_as_fractions():
    rates = four_rates(_sum(DAYS["station A"]))
    assert set(rates) == {"entry_rate", "fill_up_rate", "return_rate", "pass_through_rate"}
    assert all(0 < v < 1 for v in rates.values())  # fractions (0.25), not percentages (25)


@pytest.mark.parametrize("actual,target,expected", [(5, 10, 0.5), (12, 10, 1.2), (0, 10, 0.0), (3, 0, None)])
def test_completion(actual, target, expected):
    assert completion(actual, target) == expected


@pytest.mark.parametrize("current,previous,expected", [(110, 100, 0.1), (50, 100, -0.5), (5, 0, None)])
def test_change(current, previous, expected):
    assert change(current, previous) == (pytest.approx(expected) if expected is not None else None)


@pytest.mark.parametrize("counts,expected", [
    pytest.param({"retained": 30, "prev_active": 40, "returning": 5, "identified": 20},
                 {"retention_rate": 0.75, "vehicle_return_rate": 0.25}, id="both"),
    pytest.param({"retained": 0, "prev_active": 0, "returning": 5, "identified": 20},
                 {"retention_rate": None, "vehicle_return_rate": 0.25}, id="nobody-last-month"),
    pytest.param({"retained": 3, "prev_active": 4}, {"retention_rate": 0.75, "vehicle_return_rate": None},
                 id="no-traffic-file"),
])
def test_side_rates_beside_the_four(counts, expected):
    """Issue 15: retention 留存率 and the vehicle-level return rate 车辆回头率, shown beside the four;
    the traffic file's identified/returning no longer feed the return rate."""
    assert side_rates(counts) == expected
    assert set(SIDE_RATES) == set(expected)
    assert four_rates(counts)["return_rate"] is None


def test_retention_above_one_is_rejected():
    with pytest.raises(ValueError, match="retention_rate"):
        side_rates({"retained": 5, "prev_active": 4})
