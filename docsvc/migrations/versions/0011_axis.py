"""upstream axis: configuration, the axis side of sent messages, received packages, origin

Revision ID: 0011_axis
Revises: 0011

Hand-written. ``axis_settings`` holds the one upstream axis (endpoint, system id, sealed
secret, poll state); ``axis_outbound`` the axis DocId and delivery state of each message sent
through it; ``axis_inbound`` each package the axis listed for us, by its DocId, so a crash
between filing and acknowledging neither loses nor duplicates it. ``organizations.origin`` marks
directory entries synchronised from the axis (NULL: made here).
"""

import sqlalchemy as sa
from alembic import op

revision = "0011_axis"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "axis_settings",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("endpoint", sa.String(300), nullable=False),
        sa.Column("system_id", sa.String(100), nullable=False),
        sa.Column("sealed_secret", sa.Text(), nullable=False),
        sa.Column("from_code", sa.String(100)),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_poll_at", sa.DateTime(timezone=True)),
        sa.Column("last_ok_at", sa.DateTime(timezone=True)),
        sa.Column("last_error", sa.String(500)),
        sa.Column("next_poll_at", sa.DateTime(timezone=True)),
        sa.Column("poll_failures", sa.Integer(), nullable=False),
        sa.Column("directory_synced_at", sa.DateTime(timezone=True)),
        sa.Column("directory_report", sa.JSON()),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_axis_settings")),
    )
    op.create_table(
        "axis_outbound",
        sa.Column("message_id", sa.String(36), nullable=False),
        sa.Column("axis_doc_id", sa.String(100)),
        sa.Column("uncertain_since", sa.DateTime(timezone=True)),
        sa.Column("send_status", sa.String(40)),
        sa.Column("receive_status", sa.String(40)),
        sa.Column("receive_status_desc", sa.String(500)),
        sa.Column("checked_at", sa.DateTime(timezone=True)),
        sa.Column("next_check_at", sa.DateTime(timezone=True)),
        sa.ForeignKeyConstraint(["message_id"], ["exchange_messages.id"],
                                name=op.f("fk_axis_outbound_message_id_exchange_messages")),
        sa.PrimaryKeyConstraint("message_id", name=op.f("pk_axis_outbound")),
    )
    op.create_index(op.f("ix_axis_outbound_axis_doc_id"), "axis_outbound", ["axis_doc_id"])
    op.create_table(
        "axis_inbound",
        sa.Column("axis_doc_id", sa.String(100), nullable=False),
        sa.Column("message_type", sa.String(6), nullable=False),
        sa.Column("from_code", sa.String(100)),
        sa.Column("state", sa.String(10), nullable=False),
        sa.Column("ack_status", sa.String(10)),
        sa.Column("sha256", sa.String(64)),
        sa.Column("message_ids", sa.JSON(), nullable=False),
        sa.Column("reason", sa.String(500)),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True)),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("axis_doc_id", name=op.f("pk_axis_inbound")),
    )
    with op.batch_alter_table("organizations") as batch_op:
        batch_op.add_column(sa.Column("origin", sa.String(length=10), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("organizations") as batch_op:
        batch_op.drop_column("origin")
    op.drop_table("axis_inbound")
    op.drop_index(op.f("ix_axis_outbound_axis_doc_id"), table_name="axis_outbound")
    op.drop_table("axis_outbound")
    op.drop_table("axis_settings")
