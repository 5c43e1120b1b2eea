"""PostgreSQL: pattern-ops indexes so scope prefixes (org_path LIKE '/37/3701/%') use an index
under any database collation. SQLite gets the same effect from PRAGMA case_sensitive_like.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25
"""
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

# (index name, table, columns); org_path first so a prefix range narrows the scan.
INDEXES = [
    ("ix_pg_customer_scope", "customer", ["org_path", "status"]),
    ("ix_pg_station_monthly_scope", "station_monthly", ["org_path", "month"]),
    ("ix_pg_station_traffic_scope", "station_traffic", ["org_path", "month"]),
    ("ix_pg_org_unit_path", "org_unit", ["path"]),
    ("ix_pg_grid_scope", "grid", ["org_path"]),
    ("ix_pg_visit_scope", "visit", ["org_path"]),
    ("ix_pg_matter_scope", "matter", ["org_path"]),
]


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for name, table, cols in INDEXES:
        op.create_index(name, table, cols, postgresql_ops={"org_path": "varchar_pattern_ops",
                                                           "path": "varchar_pattern_ops"})


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for name, table, _ in INDEXES:
        op.drop_index(name, table_name=table)
