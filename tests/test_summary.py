"""Summary table refresh: partial refreshes give the same table as a full rebuild."""
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
