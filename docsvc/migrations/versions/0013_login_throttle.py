"""login failures counted per name and source, not per account

Revision ID: 0013_login_throttle
Revises: 0012_joint_organs

Hand-written. Five failures of one name from one client address lock that pair only, so a
stranger cannot lock a named person out, and unknown names behave like real ones. The
``users.failed_logins``/``locked_until`` columns are no longer written by logins.
"""

import sqlalchemy as sa
from alembic import op

revision = "0013_login_throttle"
down_revision = "0012_joint_organs"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "login_throttle",
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("username", "source"),
    )


def downgrade() -> None:
    op.drop_table("login_throttle")
