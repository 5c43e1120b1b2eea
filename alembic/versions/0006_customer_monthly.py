"""Per-customer monthly summary 客户月度汇总 (customer_monthly), read by the tiers, churn, report and
slide pages instead of 12 months of consumption per customer (issue 7).

The table is filled by lib.summary.refresh_customer_monthly; this migration fills it for existing
data so an upgraded database shows the same figures at once.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25
"""
import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "customer_monthly",
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("org_path", sa.String(length=200), nullable=False),
        sa.Column("station_id", sa.Integer(), nullable=False),
        sa.Column("grid_id", sa.Integer(), nullable=True),
        sa.Column("lon", sa.Float(), nullable=True),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("kind", sa.String(length=15), nullable=False),
        sa.Column("computed_tier", sa.String(length=10), nullable=False),
        sa.Column("tier_override", sa.String(length=10), nullable=True),
        sa.Column("size", sa.String(length=10), nullable=True),
        sa.Column("fuel", sa.String(length=10), nullable=False),
        sa.Column("payment", sa.String(length=15), nullable=False),
        sa.Column("value_class", sa.Integer(), nullable=False),
        sa.Column("gasoline_t", sa.Float(), nullable=False),
        sa.Column("diesel_t", sa.Float(), nullable=False),
        sa.Column("visits", sa.Integer(), nullable=False),
        sa.Column("g_avg_t", sa.Float(), nullable=False),
        sa.Column("d_avg_t", sa.Float(), nullable=False),
        sa.Column("card_year_cny", sa.Float(), nullable=False),
        sa.Column("measured_tier", sa.String(length=10), nullable=False),
        sa.Column("rule", sa.String(length=30), nullable=False),
        sa.Column("prev3_avg_t", sa.Float(), nullable=True),
        sa.Column("last_year_t", sa.Float(), nullable=True),
        sa.Column("last_fuel_month", sa.String(length=7), nullable=True),
        sa.ForeignKeyConstraint(["customer_id"], ["customer.id"]),
        sa.PrimaryKeyConstraint("customer_id", "month"),
    )
    op.create_index("ix_customer_monthly_scope", "customer_monthly", ["month", "org_path"],
                    postgresql_ops={"org_path": "varchar_pattern_ops"})
    from lib.summary import refresh_customer_monthly

    refresh_customer_monthly(op.get_bind())


def downgrade() -> None:
    op.drop_index("ix_customer_monthly_scope", table_name="customer_monthly")
    op.drop_table("customer_monthly")
