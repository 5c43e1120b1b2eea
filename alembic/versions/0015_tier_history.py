"""Tier history and closed months 等级历史与关账 (issue 15 point 2; DOMAIN §3 "History"; 002 §6.6.3):
`customer_tier_before` ("before this month the customer's tier was …", lib.tier_history) and
`month_close` (closed months whose summaries and appendix sheets never change, lib.months).

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-02
"""
import sqlalchemy as sa

from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "customer_tier_before",
        sa.Column("customer_id", sa.Integer(), sa.ForeignKey("customer.id"), primary_key=True),
        sa.Column("until_month", sa.String(7), primary_key=True),
        sa.Column("computed_tier", sa.String(10), nullable=False),
        sa.Column("tier_override", sa.String(10), nullable=True),
        sa.Column("size", sa.String(10), nullable=True),
        sa.Column("override_reason", sa.Text(), nullable=True),
        sa.Column("override_by", sa.String(50), nullable=True),
        sa.Column("override_at", sa.DateTime(), nullable=True),
    )
    op.create_table(
        "month_close",
        sa.Column("month", sa.String(7), primary_key=True),
        sa.Column("closed_by", sa.String(50), nullable=False),
        sa.Column("closed_at", sa.DateTime(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("month_close")
    op.drop_table("customer_tier_before")
