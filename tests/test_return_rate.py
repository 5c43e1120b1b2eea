"""The return rate 顾客回头率 counts customers (FOUR_RATES.md; issue 15 point 7a): archive customers 档案客户
with ≥ 2 fuelling visits 加油次数 in the month ÷ those with ≥ 1, from the monthly consumption's visits, per
station and as a ratio of sums over districts and cities; beside it the retention rate 留存率 (last month's
active customers active again) and the traffic file's vehicle return rate. Checked against a built example
counted by hand and against plain Python over the consumption rows. SQLite and PostgreSQL
(TEST_DATABASE_URL) through the suite's fixtures."""
from __future__ import annotations

from collections import defaultdict

import pandas as pd
import pytest
from _work_db import db, small_url  # noqa: F401 (fixtures)
from sqlalchemy import text

from lib import four_rates as fr
from lib import queries, summary
from lib.db import write
from lib.maps import data as map_data

MONTH = "2026-10"
PREV = "2026-09"


def _rows(engine, sql: str, **params):
    with engine.connect() as conn:
        return conn.execute(text(sql), params).all()


# --- plain Python over the consumption rows -----------------------------------------------------------


def _on_books(status, lost, dev, month) -> bool:
    return (status == "existing" or (status == "lost" and lost > month)) and (dev is None or dev <= month)


def _independent(engine, scope: str, month: str) -> dict[int, dict[str, int]]:
    """Per station: customers on the books with ≥ 1 and ≥ 2 visits in `month`; those active (≥ 1 visit)
    on the books last month, and of them active again this month (counted at last month's station)."""
    prev = queries.shift_month(month, -1)
    custs = _rows(engine, "SELECT id, station_id, status, lost_month, developed_month FROM customer "
                          "WHERE org_path LIKE :s", s=scope + "%")
    visits = defaultdict(dict)
    for cid, m, v in _rows(engine, "SELECT customer_id, month, visits FROM monthly_consumption "
                                   "WHERE month IN (:a, :b)", a=month, b=prev):
        visits[cid][m] = v
    out: dict[int, dict[str, int]] = defaultdict(lambda: dict.fromkeys(queries.CUSTOMER_KEYS, 0))
    for cid, sid, status, lost, dev in custs:
        now = visits[cid].get(month, 0) if _on_books(status, lost, dev, month) else 0
        before = visits[cid].get(prev, 0) if _on_books(status, lost, dev, prev) else 0
        row = out[sid]
        row["active_customers"] += now >= 1
        row["repeat_customers"] += now >= 2
        row["prev_active"] += before >= 1
        row["retained"] += before >= 1 and now >= 1
    return {s: r for s, r in out.items() if any(r.values())}


def _ratio(num, den):
    return num / den if den else None


@pytest.mark.parametrize("scope", ["/37/", "/37/3701/"])
@pytest.mark.parametrize("month", [MONTH, "2026-03"])
def test_station_return_rate_and_retention_equal_a_count_of_customers(engine, scope, month):
    want = _independent(engine, scope, month)
    got = fr.station_table(engine, scope, month).set_index("station_id")
    assert set(want) <= set(got.index) and len(want) > 1
    for sid, c in want.items():
        assert got.loc[sid, "return_rate"] == pytest.approx(_ratio(c["repeat_customers"], c["active_customers"]))
        assert got.loc[sid, "retention_rate"] == pytest.approx(_ratio(c["retained"], c["prev_active"]))
        for k in queries.CUSTOMER_KEYS:
            assert got.loc[sid, k] == c[k], (sid, k)
    rates = got["return_rate"].dropna()
    assert 0 < rates.min() < rates.max() <= 1  # stations differ: the count can tell them apart


@pytest.mark.parametrize("level,depth", [("district", 4), ("city", 3)])
def test_areas_are_ratios_of_sums_not_means_of_station_rates(engine, level, depth):
    want = _independent(engine, "/37/", MONTH)
    paths = dict(_rows(engine, "SELECT id, org_path FROM station"))
    groups: dict[str, list[dict]] = defaultdict(list)
    for sid, c in want.items():
        groups["/".join(paths[sid].split("/")[:depth]) + "/"].append(c)
    got = fr.by_level(engine, "/37/", MONTH, level).set_index("path")
    differs = 0
    for path, rows in groups.items():
        num, den = sum(r["repeat_customers"] for r in rows), sum(r["active_customers"] for r in rows)
        assert got.loc[path, "return_rate"] == pytest.approx(num / den)
        kept, before = sum(r["retained"] for r in rows), sum(r["prev_active"] for r in rows)
        assert got.loc[path, "retention_rate"] == pytest.approx(kept / before)
        mean = sum(r["repeat_customers"] / r["active_customers"] for r in rows) / len(rows)
        differs += abs(mean - num / den) > 1e-9
    assert differs > 0  # the mean of the station rates would have given other figures


def test_scope_figures_overview_summary_trend_and_map_agree(engine):
    want = _independent(engine, "/37/3701/", MONTH)
    num, den = (sum(c[k] for c in want.values()) for k in ("repeat_customers", "active_customers"))
    assert queries.scope_four_rates(engine, "/37/3701/", MONTH)["return_rate"] == pytest.approx(num / den)
    s = fr.summary(engine, "/37/3701/", MONTH)
    kept, before = (sum(c[k] for c in want.values()) for k in ("retained", "prev_active"))
    assert s["rates"]["return_rate"] == pytest.approx(num / den)
    assert s["sides"]["retention_rate"] == pytest.approx(kept / before)
    trend = fr.trend(engine, "/37/3701/", MONTH).set_index("month")
    assert trend.loc[MONTH, "return_rate"] == pytest.approx(num / den)
    shown = map_data.station_rates(engine, "/37/3701/", MONTH).set_index("station_id")
    for sid, c in want.items():
        assert shown.loc[sid, "return_rate"] == pytest.approx(c["repeat_customers"] / c["active_customers"])


def test_vehicle_return_rate_stays_the_traffic_files_figure(engine):
    (ret, ident), = _rows(engine, "SELECT SUM(returned), SUM(identified) FROM station_traffic "
                                  "WHERE org_path LIKE '/37/%' AND month = :m", m=MONTH)
    s = fr.summary(engine, "/37/", MONTH)
    assert s["sides"]["vehicle_return_rate"] == pytest.approx(ret / ident)
    assert s["rates"]["return_rate"] != pytest.approx(ret / ident)


def test_no_customer_data_is_no_data(engine):
    s = fr.summary(engine, "/37/", "2019-01")
    assert s["rates"]["return_rate"] is None and s["sides"] == {"retention_rate": None, "vehicle_return_rate": None}
    first = _rows(engine, "SELECT MIN(month) FROM monthly_consumption")[0][0]
    assert fr.summary(engine, "/37/", first)["sides"]["retention_rate"] is None  # nobody active the month before


# --- a built example counted by hand ----------------------------------------------------------------------

# (visits last month, visits this month) of the example customers of one station. ≥ 1 visit = active.
EXAMPLE = [(0, 0), (0, 1), (1, 0), (1, 2), (3, 1), (2, 5), (0, 2)]
# this month: active 5 (all but the 1st and 3rd), ≥ 2 visits 3 → 3/5; last month active 4, again now 3 → 3/4
ACTIVE, REPEAT, PREV_ACTIVE, RETAINED = 5, 3, 4, 3


def _build(engine, pairs) -> tuple[str, int]:
    """Give the first customers on the books of one station the visits of `pairs` (its other customers no
    visits), rebuilding the monthly summary as an import does."""
    sid, scope = _rows(engine, "SELECT s.id, s.org_path FROM station s JOIN customer_monthly cm ON cm.station_id = s.id "
                               "WHERE cm.month = :m GROUP BY s.id, s.org_path ORDER BY COUNT(*) DESC, s.id LIMIT 1",
                       m=MONTH)[0]
    ids = [r[0] for r in _rows(engine, "SELECT customer_id FROM customer_monthly WHERE station_id = :s AND month = :m "
                                       "AND customer_id IN (SELECT customer_id FROM customer_monthly WHERE month = :p) "
                                       "ORDER BY customer_id", s=sid, m=MONTH, p=PREV)]
    assert len(ids) >= len(pairs)
    all_ids = [r[0] for r in _rows(engine, "SELECT id FROM customer WHERE station_id = :s", s=sid)]
    with write(engine) as conn:
        for cid in all_ids:
            conn.execute(text("UPDATE monthly_consumption SET visits = 0 WHERE customer_id = :c AND month IN (:a, :b)"),
                         {"c": cid, "a": MONTH, "b": PREV})
        for cid, (before, now) in zip(ids, pairs):
            for month, v in ((PREV, before), (MONTH, now)):
                n = conn.execute(text("UPDATE monthly_consumption SET visits = :v WHERE customer_id = :c AND month = :m"),
                                 {"v": v, "c": cid, "m": month}).rowcount
                if not n:
                    conn.execute(text("INSERT INTO monthly_consumption (customer_id, month, gasoline_t, diesel_t, "
                                      "card_cny, visits) VALUES (:c, :m, 0.5, 0, 0, :v)"), {"c": cid, "m": month, "v": v})
        summary.refresh_customer_monthly(conn, all_ids)
    return scope, sid


def test_built_example_counted_by_hand(db):  # noqa: F811
    scope, sid = _build(db, EXAMPLE)
    counts = queries.customer_visit_counts(db, scope, MONTH).set_index("station_id").loc[sid]
    assert {k: int(counts[k]) for k in queries.CUSTOMER_KEYS} == {
        "active_customers": ACTIVE, "repeat_customers": REPEAT, "prev_active": PREV_ACTIVE, "retained": RETAINED}
    row = fr.station_table(db, scope, MONTH).set_index("station_id").loc[sid]
    assert row["return_rate"] == pytest.approx(REPEAT / ACTIVE)
    assert row["retention_rate"] == pytest.approx(RETAINED / PREV_ACTIVE)


@pytest.mark.parametrize("target,status", [(0.55, "green"), (0.60, "green"), (0.65, "amber"), (0.66, "amber"),
                                           (0.67, "red"), (0.70, "red"), (None, "red")])
def test_return_rate_status_against_the_stations_target(db, target, status):  # noqa: F811
    """3/5 = 60 % against the station's target (its row, else config's 70 %): green at or above,
    amber within 10 % below (≥ 0.9 × target), red further below."""
    scope, sid = _build(db, EXAMPLE)
    if target is not None:
        with write(db) as conn:
            conn.execute(text("DELETE FROM four_rate_target WHERE station_id = :s AND rate = 'return_rate'"), {"s": sid})
            conn.execute(text("INSERT INTO four_rate_target (station_id, rate, target) VALUES (:s, 'return_rate', :t)"),
                         {"s": sid, "t": target})
    else:
        with write(db) as conn:
            conn.execute(text("DELETE FROM four_rate_target WHERE station_id = :s"), {"s": sid})
    row = fr.station_table(db, scope, MONTH).set_index("station_id").loc[sid]
    assert row["return_rate_target"] == pytest.approx(0.70 if target is None else target)
    assert row["return_rate_status"] == status


def test_nobody_fuelling_is_no_data_not_zero(db):  # noqa: F811
    scope, sid = _build(db, [(0, 0)])
    row = fr.station_table(db, scope, MONTH).set_index("station_id").loc[sid]
    assert row["active_customers"] == 0 and pd.isna(row["return_rate"]) and row["return_rate_status"] is None
    assert pd.isna(row["retention_rate"])


@pytest.mark.parametrize("level", ["station", "district", "city"])
def test_the_pages_rollup_of_the_station_table_equals_by_level(engine, level):
    """The four-rates page rolls up the station table it already has instead of reading again."""
    rolled = fr.rollup(fr.station_table(engine, "/37/", MONTH), level)
    pd.testing.assert_frame_equal(rolled, fr.by_level(engine, "/37/", MONTH, level))
