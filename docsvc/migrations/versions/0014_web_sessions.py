"""browser sessions kept on the server, so logout ends them

Revision ID: 0014_web_sessions
Revises: 0013_login_throttle

Hand-written. The signed session cookie now names a row of ``web_sessions``; logout sets
``ended_at`` and a copy of the cookie no longer opens a page. Cookies issued before the
upgrade name no row: those people log in again once.
"""

import sqlalchemy as sa
from alembic import op

revision = "0014_web_sessions"
down_revision = "0013_login_throttle"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "web_sessions",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_web_sessions_user_id", "web_sessions", ["user_id"])


def downgrade() -> None:
    op.drop_index("ix_web_sessions_user_id", table_name="web_sessions")
    op.drop_table("web_sessions")
