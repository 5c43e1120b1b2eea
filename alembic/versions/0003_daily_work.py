"""daily work tables (issue 6)

Matter routes, work logs, manager ratings and plans; indexes for the customer archive search
(credit-code duplicates; on PostgreSQL pattern-ops indexes so `LIKE 'q%'` uses an index, SQLite
uses a range condition on the existing name/code indexes instead) and the audit-log filter.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""
from alembic import op
import sqlalchemy as sa

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "matter_flow",
        sa.Column("matter_id", sa.Integer(), nullable=False),
        sa.Column("step", sa.String(length=20), nullable=False),
        sa.Column("escalation", sa.Integer(), nullable=False),
        sa.Column("step_since", sa.DateTime(), nullable=False),
        sa.Column("outcome", sa.String(length=15), nullable=True),
        sa.ForeignKeyConstraint(["matter_id"], ["matter.id"]),
        sa.PrimaryKeyConstraint("matter_id"),
    )
    op.create_index("ix_matter_flow_step", "matter_flow", ["step"])
    op.create_table(
        "work_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_path", sa.String(length=200), nullable=False),
        sa.Column("manager_id", sa.Integer(), nullable=True),
        sa.Column("author", sa.String(length=50), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["manager_id"], ["customer_manager.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_work_log_org_path", "work_log", ["org_path"])
    op.create_index("ix_work_log_day", "work_log", ["day"])
    op.create_table(
        "manager_rating",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("manager_id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("last_year_t", sa.Float(), nullable=False),
        sa.Column("level", sa.String(length=10), nullable=False),
        sa.Column("below_standard", sa.Boolean(), nullable=False),
        sa.Column("rated_at", sa.DateTime(), nullable=False),
        sa.Column("rated_by", sa.String(length=50), nullable=False),
        sa.ForeignKeyConstraint(["manager_id"], ["customer_manager.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("manager_id", "year", name="uq_manager_rating_year"),
    )
    op.create_index("ix_manager_rating_manager_id", "manager_rating", ["manager_id"])
    op.create_table(
        "manager_plan",
        sa.Column("manager_id", sa.Integer(), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("target_t", sa.Float(), nullable=False),
        sa.Column("updated_by", sa.String(length=50), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["manager_id"], ["customer_manager.id"]),
        sa.PrimaryKeyConstraint("manager_id", "month"),
    )
    op.create_index("ix_customer_credit_code", "customer", ["credit_code"])
    # archive search (lib.customers): scope walk in display order, and the tier in force in display order
    op.create_index("ix_customer_path_code", "customer", ["org_path", "code"])
    op.create_index("ix_customer_tier", "customer",
                    [sa.text("(COALESCE(tier_override, computed_tier))"), "org_path", "code"])
    op.create_index("ix_customer_status_kind", "customer", ["status", "kind", "org_path", "code"])
    op.create_index("ix_audit_log_entity", "audit_log", ["entity", "entity_id"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE INDEX ix_customer_name_pattern ON customer (name text_pattern_ops)")
        op.execute("CREATE INDEX ix_customer_code_pattern ON customer (code text_pattern_ops)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_customer_code_pattern")
        op.execute("DROP INDEX IF EXISTS ix_customer_name_pattern")
    op.drop_index("ix_audit_log_entity", table_name="audit_log")
    op.drop_index("ix_customer_status_kind", table_name="customer")
    op.drop_index("ix_customer_tier", table_name="customer")
    op.drop_index("ix_customer_path_code", table_name="customer")
    op.drop_index("ix_customer_credit_code", table_name="customer")
    op.drop_table("manager_plan")
    op.drop_index("ix_manager_rating_manager_id", table_name="manager_rating")
    op.drop_table("manager_rating")
    op.drop_index("ix_work_log_day", table_name="work_log")
    op.drop_index("ix_work_log_org_path", table_name="work_log")
    op.drop_table("work_log")
    op.drop_index("ix_matter_flow_step", table_name="matter_flow")
    op.drop_table("matter_flow")
