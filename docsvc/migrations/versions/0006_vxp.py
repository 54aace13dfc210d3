"""vxp: linked systems get the national axis SDK's system id and their sealed shared secret

Revision ID: 0006
Revises: 0005

On the exchange branch: the VXP face is a second face on the exchange services.
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("linked_systems", schema=None) as batch_op:
        batch_op.add_column(sa.Column("vxp_system_id", sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column("vxp_secret_sealed", sa.Text(), nullable=True))
        batch_op.create_unique_constraint(batch_op.f("uq_linked_systems_vxp_system_id"), ["vxp_system_id"])


def downgrade() -> None:
    with op.batch_alter_table("linked_systems", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_linked_systems_vxp_system_id"), type_="unique")
        batch_op.drop_column("vxp_secret_sealed")
        batch_op.drop_column("vxp_system_id")
