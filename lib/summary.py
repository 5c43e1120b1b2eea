"""Summary tables (汇总表) the dashboards read instead of millions of detail rows.

`station_monthly` holds, per station, month, tier in force and customer kind, the consumption of
that station's customers. Call `refresh_station_monthly` in the same transaction as any change to
`monthly_consumption` or to customers' tiers, stations or kinds.
"""
from __future__ import annotations

from sqlalchemy import Connection, text

_INSERT = """
INSERT INTO station_monthly (station_id, month, tier, kind, org_path, customers,
                             gasoline_t, diesel_t, card_cny, visits)
SELECT c.station_id, m.month, COALESCE(c.tier_override, c.computed_tier), c.kind, c.org_path,
       SUM(CASE WHEN m.gasoline_t + m.diesel_t > 0 OR m.card_cny > 0 THEN 1 ELSE 0 END),
       SUM(m.gasoline_t), SUM(m.diesel_t), SUM(m.card_cny), SUM(m.visits)
FROM monthly_consumption m JOIN customer c ON c.id = m.customer_id
{where}
GROUP BY c.station_id, m.month, COALESCE(c.tier_override, c.computed_tier), c.kind, c.org_path
"""


def refresh_station_monthly(conn: Connection, month: str | None = None) -> None:
    """Rebuild `station_monthly` for one month (or all months) inside the caller's transaction."""
    if month is None:
        conn.execute(text("DELETE FROM station_monthly"))
        conn.execute(text(_INSERT.format(where="")))
    else:
        conn.execute(text("DELETE FROM station_monthly WHERE month = :m"), {"m": month})
        conn.execute(text(_INSERT.format(where="WHERE m.month = :m")), {"m": month})
