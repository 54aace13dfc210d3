"""signer competence as printed: "TL. CHỦ TỊCH", "TM. ỦY BAN NHÂN DÂN", or two lines

Revision ID: 0011
Revises: 0010

Hand-written. ``documents.signer_competence`` held only the prefix (10 characters), which cut
received values such as "TM. ỦY BAN NHÂN DÂN" to "TM. ỦY BAN". It now keeps the whole printed
text (200 characters); the prefix is derived where a machine needs it.
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("documents") as batch_op:
        batch_op.alter_column("signer_competence", existing_type=sa.String(length=10),
                              type_=sa.String(length=200), existing_nullable=True)


def downgrade() -> None:
    with op.batch_alter_table("documents") as batch_op:
        batch_op.alter_column("signer_competence", existing_type=sa.String(length=200),
                              type_=sa.String(length=10), existing_nullable=True)
