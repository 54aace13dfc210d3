"""verification: stored validation results with their evidence

Revision ID: 0004
Revises: 0002

A branch of its own after the identities revision (like signing and exchange);
``docsvc db upgrade`` applies every head.
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0002"
branch_labels = ("verification",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "verification_results",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("document_id", sa.String(length=36), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("version_number", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("verdict", sa.String(length=16), nullable=False),
        sa.Column("sub_indication", sa.String(length=64), nullable=True),
        sa.Column("signatures", sa.JSON(), nullable=False),
        sa.Column("report", sa.JSON(), nullable=False),
        sa.Column("trust_fingerprint", sa.String(length=64), nullable=False),
        sa.Column("source", sa.String(length=10), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["document_id"], ["documents.id"],
                                name=op.f("fk_verification_results_document_id_documents")),
        sa.ForeignKeyConstraint(["version_id"], ["document_versions.id"],
                                name=op.f("fk_verification_results_version_id_document_versions")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_verification_results")),
    )
    with op.batch_alter_table("verification_results", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_verification_results_document_id"), ["document_id"],
                              unique=False)
        batch_op.create_index("ix_verification_results_version", ["version_id", "id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("verification_results", schema=None) as batch_op:
        batch_op.drop_index("ix_verification_results_version")
        batch_op.drop_index(batch_op.f("ix_verification_results_document_id"))
    op.drop_table("verification_results")
