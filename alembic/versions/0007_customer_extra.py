"""Extension fields 扩展字段 of the customer archive (issue 12): a JSON column `extra` on customer
holding the fields whose spec row says `stored="extra"` (lib.customers.FIELDS), so a new archive
field needs no migration of its own. NULL (no extension field set) for existing customers.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02
"""
import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("customer", sa.Column("extra", sa.JSON(), nullable=True))


def downgrade() -> None:
    op.drop_column("customer", "extra")  # SQLite ≥ 3.35 drops a column in place
