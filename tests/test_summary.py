"""Summary table refresh: partial refreshes give the same table as a full rebuild."""
from _import_as import import_file as import_as
from sqlalchemy import text

from lib import demo
from lib.db import make_engine, upgrade, write
from lib.summary import refresh_station_monthly


def _table(conn):
    return conn.execute(text("SELECT station_id, month, tier, kind, org_path, customers, ROUND(CAST(gasoline_t AS NUMERIC), 6), "
                             "ROUND(CAST(diesel_t AS NUMERIC), 6), ROUND(CAST(card_cny AS NUMERIC), 2), visits FROM station_monthly "
                             "ORDER BY 1, 2, 3, 4, 5")).all()


def test_partial_refresh_equals_full_rebuild(fresh_url):
    engine = make_engine(fresh_url)
    upgrade(engine)
    demo.generate(engine, seed=3, customers=600, months=3, end_month="2026-10")
    with write(engine) as conn:
        cid, station, month = conn.execute(text(
            "SELECT m.customer_id, c.station_id, m.month FROM monthly_consumption m JOIN customer c "
            "ON c.id = m.customer_id ORDER BY m.customer_id, m.month LIMIT 1")).one()
        conn.execute(text("UPDATE monthly_consumption SET diesel_t = diesel_t + 100 WHERE customer_id = :c "
                          "AND month = :m"), {"c": cid, "m": month})
        before = _table(conn)
        refresh_station_monthly(conn, month=month, station_ids=[station])
        partial = _table(conn)
        refresh_station_monthly(conn)
        full = _table(conn)
    assert partial == full
    assert partial != before  # the change was picked up
    engine.dispose()


# --- customer_monthly 客户月度汇总 -------------------------------------------------------------------

import datetime as dt  # noqa: E402
from collections import defaultdict  # noqa: E402

import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from lib import auth, customers, rules  # noqa: E402
from lib.queries import shift_month  # noqa: E402
from lib.summary import refresh_customer_monthly  # noqa: E402

_CM_COLS = ("customer_id, month, org_path, station_id, grid_id, kind, computed_tier, tier_override, size, fuel, "
            "payment, value_class, ROUND(CAST(gasoline_t AS NUMERIC), 6), "
            "ROUND(CAST(diesel_t AS NUMERIC), 6), visits, ROUND(CAST(g_avg_t AS NUMERIC), 6), "
            "ROUND(CAST(d_avg_t AS NUMERIC), 6), ROUND(CAST(card_year_cny AS NUMERIC), 2), measured_tier, rule, "
            "ROUND(CAST(prev3_avg_t AS NUMERIC), 6), ROUND(CAST(last_year_t AS NUMERIC), 6), last_fuel_month")


def _cm(conn):
    return conn.execute(text(f"SELECT {_CM_COLS} FROM customer_monthly ORDER BY customer_id, month")).all()


def _full_rebuild_equals(engine) -> list:
    """The table as it stands, and assert it equals a full rebuild made inside a rolled-back transaction."""
    with engine.connect() as conn:
        now = _cm(conn)
    with engine.connect() as conn:
        tx = conn.begin()
        refresh_customer_monthly(conn)
        full = _cm(conn)
        tx.rollback()
    assert now == full
    return now


def independent_customer_monthly(engine, month: str) -> dict[int, tuple]:
    """Each on-the-books customer's measures in `month` from raw rows, by the rule book's words:
    (measured tier, 3-month mean G, D, annualised card, mean of the 3 months before, last year)."""
    with engine.connect() as conn:
        first = conn.execute(text("SELECT MIN(month) FROM monthly_consumption")).scalar()
        custs = conn.execute(text("SELECT id, kind, status, lost_month, developed_month, agreement, "
                                  "province_procurement, stable FROM customer")).all()
        cons = conn.execute(text("SELECT customer_id, month, gasoline_t, diesel_t, card_cny "
                                 "FROM monthly_consumption")).all()
    by = defaultdict(dict)
    for cid, m, g, d, c in cons:
        by[cid][m] = (g, d, c)
    idx = lambda m: int(m[:4]) * 12 + int(m[5:7])  # noqa: E731
    out = {}
    for cid, kind, status, lost, dev, agr, pp, stable in custs:
        if not ((status == "existing" or (status == "lost" and lost is not None and lost > month))
                and (dev is None or dev <= month)):
            continue
        start = max(dev or first, first)
        n3 = max(1, min(3, idx(month) - idx(start) + 1))
        n12 = max(1, min(12, idx(month) - idx(start) + 1))
        rows = by[cid]
        get = lambda m, k, rows=rows: rows.get(m, (0.0, 0.0, 0.0))[k]
        g = round(sum(get(shift_month(month, -k), 0) for k in range(3)) / n3, 6)
        d = round(sum(get(shift_month(month, -k), 1) for k in range(3)) / n3, 6)
        c = round(sum(get(shift_month(month, -k), 2) for k in range(12)) * 12 / n12, 2)
        tier = rules.tier_decision(g, d, c, institutional=kind == "institutional", agreement=agr,
                                   province_procurement=bool(pp), stable=bool(stable)).tier
        before = [shift_month(month, -k) for k in (1, 2, 3) if shift_month(month, -k) >= start]
        prev3 = sum(get(m, 0) + get(m, 1) for m in before) / len(before) if before else None
        ly = shift_month(month, -12)
        last_year = get(ly, 0) + get(ly, 1) if ly >= start else None
        out[cid] = (tier, g, d, c, prev3, last_year)
    return out


@pytest.mark.parametrize("k", [0, 2, 5])
def test_customer_monthly_equals_the_rule_book_computed_from_raw_rows(engine, k):
    with engine.connect() as conn:
        month = shift_month(conn.execute(text("SELECT MAX(month) FROM monthly_consumption")).scalar(), -k)
        got = conn.execute(text("SELECT customer_id, measured_tier, g_avg_t, d_avg_t, card_year_cny, prev3_avg_t, "
                                "last_year_t FROM customer_monthly WHERE month = :m"), {"m": month}).all()
    want = independent_customer_monthly(engine, month)
    assert len(got) == len(want) > 100
    for cid, tier, g, d, c, prev3, ly in got:
        w = want[cid]
        assert tier == w[0], cid
        assert (g, d, c) == pytest.approx(w[1:4])
        assert (prev3 is None) == (w[4] is None) and (prev3 is None or prev3 == pytest.approx(w[4]))
        assert (ly is None) == (w[5] is None) and (ly is None or ly == pytest.approx(w[5]))


def test_threshold_reached_in_decimals_counts_as_reached(small):
    """1.763 + 2.251 + 1.986 t in three months is 2 t a month: district tier (002 §6.3.1.3.1 含2吨)."""
    with small.begin() as conn:
        cid = conn.execute(text("SELECT id FROM customer WHERE status = 'existing' AND kind = 'personal' "
                                "AND developed_month IS NULL AND agreement IS NULL ORDER BY id LIMIT 1")).scalar()
        conn.execute(text("DELETE FROM monthly_consumption WHERE customer_id = :c"), {"c": cid})
        for m, g in (("2026-08", 1.763), ("2026-09", 2.251), ("2026-10", 1.986)):
            conn.execute(text("INSERT INTO monthly_consumption (customer_id, month, gasoline_t, diesel_t, card_cny, "
                              "visits) VALUES (:c, :m, :g, 0, 0, 1)"), {"c": cid, "m": m, "g": g})
        refresh_customer_monthly(conn, [cid])
        tier, g = conn.execute(text("SELECT measured_tier, g_avg_t FROM customer_monthly WHERE customer_id = :c "
                                    "AND month = '2026-10'"), {"c": cid}).one()
    assert (tier, g) == ("district", 2.0)


def _consumption_csv(rows) -> bytes:
    return pd.DataFrame(rows, columns=["customer_code", "month", "gasoline_t", "diesel_t", "card_cny",
                                       "visits"]).to_csv(index=False).encode()


def test_imports_and_edits_keep_customer_monthly_equal_to_a_full_rebuild(small):
    today = dt.date(2026, 11, 20)
    with small.connect() as conn:
        codes = conn.execute(text("SELECT code FROM customer WHERE status = 'existing' AND (developed_month IS NULL OR developed_month < '2026-09') ORDER BY id LIMIT 30")).scalars().all()
    start = _full_rebuild_equals(small)
    # a new month for some customers: every customer on the books gets a row for it
    rep = import_as(small, "consumption", _consumption_csv([(c, "2026-11", 9.5, 0, 0, 4) for c in codes[:10]]),
                               "c.csv", today=today)
    assert rep.ok, rep.errors
    after = _full_rebuild_equals(small)
    assert after != start
    with small.connect() as conn:
        on_books_nov = conn.execute(text("SELECT COUNT(*) FROM customer_monthly WHERE month = '2026-11'")).scalar()
        on_books_oct = conn.execute(text("SELECT COUNT(*) FROM customer_monthly WHERE month = '2026-10'")).scalar()
        tier = conn.execute(text("SELECT cm.measured_tier FROM customer_monthly cm JOIN customer c ON c.id = "
                                 "cm.customer_id WHERE c.code = :c AND cm.month = '2026-11'"), {"c": codes[0]}).scalar()
    assert on_books_nov >= on_books_oct * 0.95 and tier in ("district", "city")  # 9.5 t/3 months ≥ 2 t
    # an earlier month changed for others: their later months follow
    rep = import_as(small, "consumption", _consumption_csv([(c, "2026-08", 0, 80, 0, 2) for c in codes[10:20]]),
                               "c.csv", today=today)
    assert rep.ok, rep.errors
    _full_rebuild_equals(small)
    # a customer lost, another moved to a manager: edits through lib.customers
    admin = auth.authenticate(small, "admin", "demo-2026").user
    with small.connect() as conn:
        cid = conn.execute(text("SELECT id FROM customer WHERE code = :c"), {"c": codes[25]}).scalar()
    customers.update(small, admin, cid, {"status": "lost", "lost_month": "2026-09", "lost_reason": "price"})
    # a tier override (lib.tiers) is copied into the customer's monthly rows from its month on (the
    # months before keep their tier: lib.tier_history)
    from lib import tiers
    from lib.rules import TIERS
    with small.connect() as conn:
        other, computed = conn.execute(text("SELECT id, computed_tier FROM customer WHERE code = :c"),
                                       {"c": codes[26]}).one()
    new = TIERS[TIERS.index(computed) + 1] if computed != "province" else "city"
    tiers.set_override(small, admin, other, new, "测试调整原因", month="2026-11")
    with small.connect() as conn:
        copied = dict(conn.execute(text("SELECT month, tier_override FROM customer_monthly WHERE customer_id = :c"),
                                   {"c": other}).all())
    assert {m for m, o in copied.items() if o is not None} == {"2026-11"} and {copied[m] for m in copied} == {None, new}
    _full_rebuild_equals(small)
    with small.connect() as conn:
        months = conn.execute(text("SELECT month FROM customer_monthly WHERE customer_id = :c"), {"c": cid}).scalars().all()
    assert months and max(months) < "2026-09"
    _full_rebuild_equals(small)
    # a customer import: new customers are on the books at once, updated ones follow
    with small.connect() as conn:
        station = conn.execute(text("SELECT code FROM station ORDER BY code LIMIT 1")).scalar()
    df = pd.DataFrame({"name": ["月度汇总测试甲", "月度汇总测试乙"], "kind": "personal", "sub_type": "private_car",
                       "station_code": station})
    rep = import_as(small, "customers", df.to_csv(index=False).encode(), "c.csv", today=today)
    assert rep.ok, rep.errors
    with small.connect() as conn:
        n = conn.execute(text("SELECT COUNT(*) FROM customer_monthly cm JOIN customer c ON c.id = cm.customer_id "
                              "WHERE c.name LIKE '月度汇总测试%'")).scalar()
    assert n > 0
    _full_rebuild_equals(small)


def test_customer_without_a_grid_is_summarised(small):
    """grid_id NULL makes pandas read the column as float; the rows must still be written (COPY on
    PostgreSQL refuses 12.0 for an integer)."""
    with small.begin() as conn:
        cid = conn.execute(text("SELECT id FROM customer WHERE status = 'existing' ORDER BY id LIMIT 1")).scalar()
        conn.execute(text("UPDATE customer SET grid_id = NULL WHERE id = :c"), {"c": cid})
        refresh_customer_monthly(conn)
        rows = conn.execute(text("SELECT COUNT(*), COUNT(grid_id) FROM customer_monthly WHERE customer_id = :c"),
                            {"c": cid}).one()
        other = conn.execute(text("SELECT grid_id FROM customer_monthly WHERE customer_id <> :c AND grid_id IS NOT NULL "
                                  "LIMIT 1"), {"c": cid}).scalar()
    assert rows[0] > 0 and rows[1] == 0
    assert isinstance(other, int)
