"""Development stage log 开发过程记录 (issue 15, 002 §6.5.4): `development_stage`, one row per stage a
development case reached (day, note, who, when). Existing cases get their log from what the case row
holds: "collect" on the day it started and, when it has moved on, its current stage on its stage day.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-02
"""
import sqlalchemy as sa

from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "development_stage",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("case_id", sa.Integer(), sa.ForeignKey("development.id"), nullable=False),
        sa.Column("stage", sa.String(10), nullable=False),
        sa.Column("stage_on", sa.Date(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("actor", sa.String(50), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_development_stage_case_id", "development_stage", ["case_id"])
    op.execute("INSERT INTO development_stage (case_id, stage, stage_on, note, actor, at) "
               "SELECT id, 'collect', started_on, '', '', CURRENT_TIMESTAMP FROM development")
    op.execute("INSERT INTO development_stage (case_id, stage, stage_on, note, actor, at) "
               "SELECT id, stage, stage_on, '', '', CURRENT_TIMESTAMP FROM development WHERE stage <> 'collect'")


def downgrade() -> None:
    op.drop_index("ix_development_stage_case_id", table_name="development_stage")
    op.drop_table("development_stage")
