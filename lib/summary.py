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


def refresh_station_monthly(conn: Connection, month: str | None = None,
                            station_ids: list[int] | None = None) -> None:
    """Rebuild `station_monthly` inside the caller's transaction: all of it, or only the rows of
    one month and/or of some stations (after an import, a tier override or a customer's move)."""
    conds, params = [], {}
    if month is not None:
        conds.append("month = :m")
        params["m"] = month
    if station_ids is not None:
        if not station_ids:
            return
        names = [f"s{i}" for i in range(len(station_ids))]
        conds.append(f"station_id IN ({', '.join(':' + n for n in names)})")
        params |= dict(zip(names, (int(s) for s in station_ids)))
    where = " AND ".join(conds)
    conn.execute(text("DELETE FROM station_monthly" + (f" WHERE {where}" if where else "")), params)
    detail_where = where.replace("month", "m.month").replace("station_id", "c.station_id")
    conn.execute(text(_INSERT.format(where=f"WHERE {detail_where}" if where else "")), params)
