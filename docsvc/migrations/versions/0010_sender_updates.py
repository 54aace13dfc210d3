"""sender updates and replacements: what a document package says, and why a link was made

Revision ID: 0010
Revises: 0009

Hand-written. ``exchange_messages.content_sha256`` fingerprints what a document package says
apart from to whom and when it was sent (header, attachments by SHA-256, BussinessDocType and
reason): an update (BussinessDocType 2) whose fingerprint equals the last package a recipient got
creates no message. ``document_links.reason`` keeps the BussinessDocReason of an update or
replacement, on the sender's side (a replacement it sent) and on the receiver's.
Existing rows stay NULL: a message sent before has no fingerprint, so the next update goes out.
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("exchange_messages") as batch_op:
        batch_op.add_column(sa.Column("content_sha256", sa.String(length=64), nullable=True))
    with op.batch_alter_table("document_links") as batch_op:
        batch_op.add_column(sa.Column("reason", sa.String(length=500), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("document_links") as batch_op:
        batch_op.drop_column("reason")
    with op.batch_alter_table("exchange_messages") as batch_op:
        batch_op.drop_column("content_sha256")
