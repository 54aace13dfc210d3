"""signing: signer profiles and signature records

Revision ID: 0003_signing
Revises: 0002

A branch of its own after the identities revision: verification and exchange add theirs
beside it, and ``docsvc db upgrade`` applies every head.
"""

import sqlalchemy as sa
from alembic import op

revision = "0003_signing"
down_revision = "0002"
branch_labels = ("signing",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "signer_profiles",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=10), nullable=False),
        sa.Column("organ_id", sa.String(length=13), nullable=False),
        sa.Column("display_name", sa.String(length=200), nullable=False),
        sa.Column("position", sa.String(length=100), nullable=True),
        sa.Column("username", sa.String(length=64), nullable=True),
        sa.Column("key_source", sa.String(length=10), nullable=False),
        sa.Column("p12_path", sa.String(length=500), nullable=True),
        sa.Column("passphrase_file", sa.String(length=500), nullable=True),
        sa.Column("passphrase_env", sa.String(length=100), nullable=True),
        sa.Column("pkcs11_token_label", sa.String(length=100), nullable=True),
        sa.Column("pkcs11_key_label", sa.String(length=100), nullable=True),
        sa.Column("pkcs11_cert_label", sa.String(length=100), nullable=True),
        sa.Column("pin_file", sa.String(length=500), nullable=True),
        sa.Column("pin_env", sa.String(length=100), nullable=True),
        sa.Column("chain_file", sa.String(length=500), nullable=True),
        sa.Column("picture_path", sa.String(length=500), nullable=True),
        sa.Column("certificate_sha256", sa.String(length=64), nullable=True),
        sa.Column("certificate_subject", sa.String(length=300), nullable=True),
        sa.Column("certificate_not_after", sa.DateTime(timezone=True), nullable=True),
        sa.Column("is_demo", sa.Boolean(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_signer_profiles")),
    )
    with op.batch_alter_table("signer_profiles", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_signer_profiles_organ_id"), ["organ_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_signer_profiles_username"), ["username"], unique=False)

    op.create_table(
        "signature_records",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("document_id", sa.String(length=36), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("based_on", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=10), nullable=False),
        sa.Column("profile_id", sa.String(length=64), nullable=False),
        sa.Column("level", sa.String(length=6), nullable=False),
        sa.Column("requested_level", sa.String(length=6), nullable=False),
        sa.Column("field_name", sa.String(length=64), nullable=True),
        sa.Column("certificate_subject", sa.String(length=300), nullable=True),
        sa.Column("certificate_sha256", sa.String(length=64), nullable=True),
        sa.Column("signed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("signed_by", sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(["document_id"], ["documents.id"],
                                name=op.f("fk_signature_records_document_id_documents")),
        sa.ForeignKeyConstraint(["profile_id"], ["signer_profiles.id"],
                                name=op.f("fk_signature_records_profile_id_signer_profiles")),
        sa.ForeignKeyConstraint(["version_id"], ["document_versions.id"],
                                name=op.f("fk_signature_records_version_id_document_versions")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_signature_records")),
        sa.UniqueConstraint("document_id", "based_on",
                            name=op.f("uq_signature_records_document_id_based_on")),
        sa.UniqueConstraint("version_id", name=op.f("uq_signature_records_version_id")),
    )
    with op.batch_alter_table("signature_records", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_signature_records_document_id"), ["document_id"],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table("signature_records", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_signature_records_document_id"))
    op.drop_table("signature_records")
    with op.batch_alter_table("signer_profiles", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_signer_profiles_username"))
        batch_op.drop_index(batch_op.f("ix_signer_profiles_organ_id"))
    op.drop_table("signer_profiles")
