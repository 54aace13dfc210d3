"""signer keys stored sealed, pictures stored, token grants; path profiles made by admins retired

Revision ID: 0011_signer_keys
Revises: 0003_signing

Hand-written. Key material now enters by upload (sealed PKCS#12 and passphrase, PNG picture)
or by a PKCS#11 token label the operator granted to the agency (``signer_token_grants``).
Existing profiles that name server paths and were registered by someone other than the local
operator (an administrator through the API) are deactivated: nothing proves the files they
name belong to their agency. The operator re-imports them with ``docsvc signers import-keys``
(which checks the certificate against the agency) or the administrators upload the key again.
Profiles the operator registered keep working from their paths until imported.
"""

import sqlalchemy as sa
from alembic import op

revision = "0011_signer_keys"
down_revision = "0003_signing"
branch_labels = None
depends_on = None

OPERATOR_LABEL = "operator:cli"


def upgrade() -> None:
    with op.batch_alter_table("signer_profiles") as batch_op:
        batch_op.add_column(sa.Column("p12_sealed", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("passphrase_sealed", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("chain_pem", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("picture_png", sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column("certificate_override", sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
    op.create_table(
        "signer_token_grants",
        sa.Column("token_label", sa.String(length=100), nullable=False),
        sa.Column("organ_id", sa.String(length=13), nullable=False),
        sa.Column("pin_file", sa.String(length=500), nullable=True),
        sa.Column("pin_env", sa.String(length=100), nullable=True),
        sa.Column("created_by", sa.String(length=100), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("token_label"),
    )
    op.create_index("ix_signer_token_grants_organ_id", "signer_token_grants", ["organ_id"])
    profiles = sa.table("signer_profiles", sa.column("created_by", sa.String),
                        sa.column("active", sa.Boolean), sa.column("p12_path", sa.String),
                        sa.column("passphrase_file", sa.String),
                        sa.column("passphrase_env", sa.String), sa.column("pin_file", sa.String),
                        sa.column("pin_env", sa.String), sa.column("picture_path", sa.String),
                        sa.column("chain_file", sa.String))
    names_a_path = sa.or_(*(profiles.c[n].isnot(None) for n in (
        "p12_path", "passphrase_file", "passphrase_env", "pin_file", "pin_env", "picture_path",
        "chain_file")))
    op.execute(profiles.update()
               .where(names_a_path, sa.or_(profiles.c.created_by.is_(None),
                                           profiles.c.created_by != OPERATOR_LABEL))
               .values(active=False))


def downgrade() -> None:
    op.drop_index("ix_signer_token_grants_organ_id", table_name="signer_token_grants")
    op.drop_table("signer_token_grants")
    with op.batch_alter_table("signer_profiles") as batch_op:
        for name in ("certificate_override", "picture_png", "chain_pem", "passphrase_sealed",
                     "p12_sealed"):
            batch_op.drop_column(name)
