"""delivery: sealed tokens with which the push worker authenticates to peer docsvc instances

Revision ID: 0007
Revises: 0006

On the exchange branch, beside the VXP revision; ``docsvc db upgrade`` applies every head.
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "peer_credentials",
        sa.Column("organ_id", sa.String(length=13), nullable=False),
        sa.Column("sealed_token", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("organ_id", name=op.f("pk_peer_credentials")),
    )


def downgrade() -> None:
    op.drop_table("peer_credentials")
