"""exchange: messages, deliveries, transport events, statuses, idempotency keys

Revision ID: 0005
Revises: 0002

A branch of its own after the identities revision (like signing and verification);
``docsvc db upgrade`` applies every head.
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0002"
branch_labels = ("exchange",)
depends_on = None

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "exchange_messages",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=6), nullable=False),
        sa.Column("document_id", sa.String(length=200), nullable=False),
        sa.Column("local_document_id", sa.String(length=36), nullable=True),
        sa.Column("delivered_document_id", sa.String(length=36), nullable=True),
        sa.Column("sender_organ_id", sa.String(length=13), nullable=False),
        sa.Column("recipient_organ_id", sa.String(length=13), nullable=False),
        sa.Column("origin", sa.String(length=10), nullable=False),
        sa.Column("status_code", sa.String(length=2), nullable=True),
        sa.Column("bussiness_doc_type", sa.Integer(), nullable=True),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("blob_key", sa.String(length=200), nullable=False),
        sa.Column("trace", sa.JSON(), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=True),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("lease_until", _TS, nullable=True),
        sa.Column("fetch_count", sa.Integer(), nullable=False),
        sa.Column("acked_at", _TS, nullable=True),
        sa.Column("ack_result", sa.String(length=10), nullable=True),
        sa.Column("ack_reason", sa.String(length=500), nullable=True),
        sa.Column("receipt", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(["local_document_id"], ["documents.id"],
                                name=op.f("fk_exchange_messages_local_document_id_documents")),
        sa.ForeignKeyConstraint(["delivered_document_id"], ["documents.id"],
                                name=op.f("fk_exchange_messages_delivered_document_id_documents")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exchange_messages")),
    )
    with op.batch_alter_table("exchange_messages", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_exchange_messages_document_id"), ["document_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_exchange_messages_local_document_id"), ["local_document_id"],
                              unique=False)
        batch_op.create_index(batch_op.f("ix_exchange_messages_delivered_document_id"),
                              ["delivered_document_id"], unique=False)
        batch_op.create_index("ix_exchange_messages_inbox",
                              ["recipient_organ_id", "acked_at", "created_at", "id"], unique=False)

    op.create_table(
        "exchange_deliveries",
        sa.Column("message_id", sa.String(length=36), nullable=False),
        sa.Column("mode", sa.String(length=5), nullable=False),
        sa.Column("endpoint_url", sa.String(length=300), nullable=True),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", _TS, nullable=True),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.Column("delivered_at", _TS, nullable=True),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        sa.ForeignKeyConstraint(["message_id"], ["exchange_messages.id"],
                                name=op.f("fk_exchange_deliveries_message_id_exchange_messages")),
        sa.PrimaryKeyConstraint("message_id", name=op.f("pk_exchange_deliveries")),
    )
    with op.batch_alter_table("exchange_deliveries", schema=None) as batch_op:
        batch_op.create_index("ix_exchange_deliveries_due", ["state", "next_attempt_at"], unique=False)

    op.create_table(
        "exchange_transport_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("message_id", sa.String(length=36), nullable=False),
        sa.Column("at", _TS, nullable=False),
        sa.Column("event", sa.String(length=20), nullable=False),
        sa.Column("organ_id", sa.String(length=13), nullable=True),
        sa.Column("sha256", sa.String(length=64), nullable=True),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["message_id"], ["exchange_messages.id"],
                                name=op.f("fk_exchange_transport_events_message_id_exchange_messages")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exchange_transport_events")),
    )
    with op.batch_alter_table("exchange_transport_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_exchange_transport_events_message_id"), ["message_id"],
                              unique=False)

    op.create_table(
        "exchange_status_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("local_document_id", sa.String(length=36), nullable=False),
        sa.Column("document_id", sa.String(length=200), nullable=False),
        sa.Column("organ_id", sa.String(length=13), nullable=False),
        sa.Column("code", sa.String(length=2), nullable=False),
        sa.Column("description", sa.String(length=500), nullable=True),
        sa.Column("occurred_at", _TS, nullable=False),
        sa.Column("recorded_at", _TS, nullable=False),
        sa.Column("direction", sa.String(length=3), nullable=False),
        sa.Column("message_id", sa.String(length=36), nullable=True),
        sa.Column("recorded_by", sa.String(length=100), nullable=True),
        sa.ForeignKeyConstraint(["local_document_id"], ["documents.id"],
                                name=op.f("fk_exchange_status_events_local_document_id_documents")),
        sa.ForeignKeyConstraint(["message_id"], ["exchange_messages.id"],
                                name=op.f("fk_exchange_status_events_message_id_exchange_messages")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exchange_status_events")),
    )
    with op.batch_alter_table("exchange_status_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_exchange_status_events_local_document_id"),
                              ["local_document_id"], unique=False)

    op.create_table(
        "exchange_idempotency_keys",
        sa.Column("sender_organ_id", sa.String(length=13), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("receipt", sa.JSON(), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("sender_organ_id", "key", name=op.f("pk_exchange_idempotency_keys")),
    )


def downgrade() -> None:
    op.drop_table("exchange_idempotency_keys")
    with op.batch_alter_table("exchange_status_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_exchange_status_events_local_document_id"))
    op.drop_table("exchange_status_events")
    with op.batch_alter_table("exchange_transport_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_exchange_transport_events_message_id"))
    op.drop_table("exchange_transport_events")
    with op.batch_alter_table("exchange_deliveries", schema=None) as batch_op:
        batch_op.drop_index("ix_exchange_deliveries_due")
    op.drop_table("exchange_deliveries")
    with op.batch_alter_table("exchange_messages", schema=None) as batch_op:
        batch_op.drop_index("ix_exchange_messages_inbox")
        batch_op.drop_index(batch_op.f("ix_exchange_messages_delivered_document_id"))
        batch_op.drop_index(batch_op.f("ix_exchange_messages_local_document_id"))
        batch_op.drop_index(batch_op.f("ix_exchange_messages_document_id"))
    op.drop_table("exchange_messages")
