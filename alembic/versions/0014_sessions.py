"""Sessions and login attempts 会话与登录尝试 (issue 14): `user_session`, a server-side session per
login (the browser holds a random token, the table its SHA-256; reset, deactivation, role change and
idle timeout end it), and `login_attempt`, the tries per (login, source address) the backoff reads.

Revision ID: 0014
Revises: 0012
Create Date: 2026-12-02
"""
import sqlalchemy as sa

from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "login_attempt",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("login", sa.String(50), nullable=False),
        sa.Column("source", sa.String(64), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("kind", sa.String(10), nullable=False),
    )
    op.create_index("ix_login_attempt_at", "login_attempt", ["at"])
    op.create_index("ix_login_attempt_login", "login_attempt", ["login", "source", "at"])
    op.create_table(
        "user_session",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("app_user.id"), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(), nullable=False),
        sa.Column("ended_at", sa.DateTime(), nullable=True),
        sa.Column("reason", sa.String(30), nullable=True),
    )
    op.create_index("ix_user_session_user_id", "user_session", ["user_id"])


def downgrade() -> None:
    op.drop_index("ix_user_session_user_id", table_name="user_session")
    op.drop_table("user_session")
    op.drop_index("ix_login_attempt_login", table_name="login_attempt")
    op.drop_index("ix_login_attempt_at", table_name="login_attempt")
    op.drop_table("login_attempt")
