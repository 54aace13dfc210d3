"""flows: revoked content markers on documents and versions, update/replacement links

Revision ID: 0008
Revises: 0007

Hand-written. Revocation (BussinessDocType 1) and agreed take-backs (13 → 15) remove a received
document's content but keep its rows: ``revoked_at`` marks them. Updates (2) and replacements (3)
link the new incoming document to the old one in ``document_links``.
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("documents") as batch_op:
        batch_op.add_column(sa.Column("revoked_at", _TS, nullable=True))
        batch_op.add_column(sa.Column("revoked_reason", sa.String(length=500), nullable=True))
    with op.batch_alter_table("document_versions") as batch_op:
        batch_op.add_column(sa.Column("revoked_at", _TS, nullable=True))
    op.create_table(
        "document_links",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("document_id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("target_edxml_id", sa.String(length=200), nullable=False),
        sa.Column("target_document_id", sa.String(length=36), nullable=True),
        sa.Column("message_id", sa.String(length=36), nullable=True),
        sa.Column("created_at", _TS, nullable=False),
        sa.ForeignKeyConstraint(["document_id"], ["documents.id"],
                                name=op.f("fk_document_links_document_id_documents")),
        sa.ForeignKeyConstraint(["target_document_id"], ["documents.id"],
                                name=op.f("fk_document_links_target_document_id_documents")),
        sa.ForeignKeyConstraint(["message_id"], ["exchange_messages.id"],
                                name=op.f("fk_document_links_message_id_exchange_messages")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_document_links")),
    )
    with op.batch_alter_table("document_links") as batch_op:
        batch_op.create_index(batch_op.f("ix_document_links_document_id"), ["document_id"],
                              unique=False)
        batch_op.create_index(batch_op.f("ix_document_links_target_document_id"),
                              ["target_document_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("document_links") as batch_op:
        batch_op.drop_index(batch_op.f("ix_document_links_target_document_id"))
        batch_op.drop_index(batch_op.f("ix_document_links_document_id"))
    op.drop_table("document_links")
    with op.batch_alter_table("document_versions") as batch_op:
        batch_op.drop_column("revoked_at")
    with op.batch_alter_table("documents") as batch_op:
        batch_op.drop_column("revoked_reason")
        batch_op.drop_column("revoked_at")
