"""issuance: register lines entered with their printed number

Revision ID: 0011_issuance
Revises: 0011_reading

Hand-written. ``register_entries.imported`` marks a line whose number was printed on the
document before it reached the register (paper received, a notice issued before this system);
the counter did not hand it out. Existing rows are numbers the counter gave: false.
"""

import sqlalchemy as sa
from alembic import op

revision = "0011_issuance"
down_revision = "0011_reading"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("register_entries") as batch_op:
        batch_op.add_column(sa.Column("imported", sa.Boolean(), nullable=False,
                                      server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("register_entries") as batch_op:
        batch_op.drop_column("imported")
