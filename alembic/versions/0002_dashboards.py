"""dashboards tables (issue 5): potential customer surveys, win-back tasks

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""
from alembic import op
import sqlalchemy as sa

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "survey_submission",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("org_unit_id", sa.Integer(), sa.ForeignKey("org_unit.id"), nullable=False),
        sa.Column("org_path", sa.String(200), nullable=False),
        sa.Column("period", sa.String(7), nullable=False),
        sa.Column("submitted_on", sa.Date(), nullable=False),
        sa.Column("submitted_by", sa.String(50), nullable=False),
        sa.Column("potential_customers", sa.Integer(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.UniqueConstraint("org_unit_id", "period"),
    )
    op.create_index("ix_survey_submission_org_path", "survey_submission", ["org_path"])
    op.create_table(
        "win_back_task",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("customer_id", sa.Integer(), sa.ForeignKey("customer.id"), nullable=False),
        sa.Column("org_path", sa.String(200), nullable=False),
        sa.Column("manager_id", sa.Integer(), sa.ForeignKey("customer_manager.id"), nullable=True),
        sa.Column("month", sa.String(7), nullable=False),
        sa.Column("reason", sa.String(10), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("state", sa.String(10), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("outcome", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(50), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("done_on", sa.Date(), nullable=True),
    )
    op.create_index("ix_win_back_task_customer_id", "win_back_task", ["customer_id"])
    op.create_index("ix_win_back_task_org_path", "win_back_task", ["org_path"])


def downgrade() -> None:
    op.drop_index("ix_win_back_task_org_path", table_name="win_back_task")
    op.drop_index("ix_win_back_task_customer_id", table_name="win_back_task")
    op.drop_table("win_back_task")
    op.drop_index("ix_survey_submission_org_path", table_name="survey_submission")
    op.drop_table("survey_submission")
