"""Surveys 调查 (issue 15, 002 §6.5.1–6.5.2): the objects surveyed 调查对象 of a station's potential
customer survey (`survey_submission.objects`, {object type: count}) and `special_survey`, a unit's key
customer special survey 重点客户专项调查 on one consumer group.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-02
"""
import sqlalchemy as sa

from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("survey_submission") as batch:
        batch.add_column(sa.Column("objects", sa.JSON(), nullable=True))
    op.create_table(
        "special_survey",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("org_unit_id", sa.Integer(), sa.ForeignKey("org_unit.id"), nullable=False),
        sa.Column("org_path", sa.String(200), nullable=False),
        sa.Column("topic", sa.String(100), nullable=False),
        sa.Column("target_group", sa.String(100), nullable=False),
        sa.Column("objects", sa.JSON(), nullable=False),
        sa.Column("started_on", sa.Date(), nullable=False),
        sa.Column("ended_on", sa.Date(), nullable=False),
        sa.Column("customers_found", sa.Integer(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("recorded_by", sa.String(50), nullable=False),
        sa.Column("recorded_at", sa.DateTime(), nullable=False),
        sa.UniqueConstraint("org_unit_id", "topic", "started_on"),
    )
    op.create_index("ix_special_survey_org_path", "special_survey", ["org_path"])


def downgrade() -> None:
    op.drop_index("ix_special_survey_org_path", table_name="special_survey")
    op.drop_table("special_survey")
    with op.batch_alter_table("survey_submission") as batch:
        batch.drop_column("objects")
