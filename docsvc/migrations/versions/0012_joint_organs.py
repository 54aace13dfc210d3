"""joint documents: the co-issuing agencies, apart from the issuing body (the owner)

Revision ID: 0012_joint_organs
Revises: 0011_signer_keys

Hand-written. An outgoing document's ``organ_id`` is now its owner agency; the other agencies
of a joint document (văn bản liên tịch) are listed in ``documents.joint_organs``. Existing rows
get an empty list. Outgoing rows whose ``organ_id`` is another agency are left as they are
(their history is evidence) but can no longer be sent.
"""

import sqlalchemy as sa
from alembic import op

revision = "0012_joint_organs"
down_revision = "0011_signer_keys"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("documents") as batch_op:
        batch_op.add_column(sa.Column("joint_organs", sa.JSON(), nullable=True))
    documents = sa.table("documents", sa.column("joint_organs", sa.JSON()))
    op.execute(documents.update().values(joint_organs=[]))


def downgrade() -> None:
    with op.batch_alter_table("documents") as batch_op:
        batch_op.drop_column("joint_organs")
