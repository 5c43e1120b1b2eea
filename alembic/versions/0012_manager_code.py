"""Customer manager codes 客户经理编号 (issue 13): `customer_manager.code`, the key a managers import
file names a manager by (existing codes update that manager). Existing rows get the generated code
"M" + six-digit id (M000012); a manager created later without a code gets the same form
(lib.managers.generated_code). Unique index; NULL allowed only until a row is first written by
lib.managers.

Revision ID: 0012
Revises: 0008
Create Date: 2026-12-02
"""
import sqlalchemy as sa

from alembic import op

revision = "0012"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("customer_manager", sa.Column("code", sa.String(30), nullable=True))
    op.execute("UPDATE customer_manager SET code = 'M' || SUBSTR('000000' || CAST(id AS VARCHAR(12)), "
               "LENGTH(CAST(id AS VARCHAR(12))) + 1) WHERE code IS NULL")
    op.create_index("uq_customer_manager_code", "customer_manager", ["code"], unique=True)


def downgrade() -> None:
    op.drop_index("uq_customer_manager_code", table_name="customer_manager")
    op.drop_column("customer_manager", "code")
