"""anchors of the audit chain head, kept in the database and exported

Revision ID: 0015_audit_anchors
Revises: 0014_web_sessions

Hand-written. ``docsvc audit anchor`` (and the worker, periodically) stores the head with its
RFC 3161 timestamp token; ``docsvc audit verify`` checks the chain against every anchor (and
against an exported copy), so cutting the end of the chain is seen.
"""

import sqlalchemy as sa
from alembic import op

revision = "0015_audit_anchors"
down_revision = "0014_web_sessions"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "audit_anchors",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("entry_hash", sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("tsa_url", sa.String(length=300), nullable=True),
        sa.Column("token_der_base64", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_audit_anchors_seq", "audit_anchors", ["seq"])


def downgrade() -> None:
    op.drop_index("ix_audit_anchors_seq", table_name="audit_anchors")
    op.drop_table("audit_anchors")
