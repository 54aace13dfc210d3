"""zip attachments: per-organisation choice of raw or SDK-style zipped attachments on output

Revision ID: 0009
Revises: 0008

Hand-written. ``organizations.zip_attachments`` tells ``send_document`` to zip each attachment
of the packages for that recipient like the official SDK (``ContentType`` ``application/zip``);
existing organisations keep receiving raw files.
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("organizations") as batch_op:
        batch_op.add_column(sa.Column("zip_attachments", sa.Boolean(), nullable=False,
                                      server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("organizations") as batch_op:
        batch_op.drop_column("zip_attachments")
