"""registry: documents, versions, registers

Revision ID: 0001
Revises:
Create Date: 2026-11-25 22:03:52.517328
"""

import sqlalchemy as sa
from alembic import op

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('documents',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('direction', sa.String(length=10), nullable=False),
    sa.Column('owner_organ_id', sa.String(length=13), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('organ_id', sa.String(length=13), nullable=False),
    sa.Column('organ_name', sa.String(length=200), nullable=False),
    sa.Column('type_name', sa.String(length=100), nullable=False),
    sa.Column('type_abbr', sa.String(length=10), nullable=True),
    sa.Column('code_number', sa.String(length=11), nullable=True),
    sa.Column('code_notation', sa.String(length=30), nullable=True),
    sa.Column('issued_date', sa.Date(), nullable=True),
    sa.Column('place', sa.String(length=100), nullable=True),
    sa.Column('subject', sa.String(length=500), nullable=False),
    sa.Column('language', sa.String(length=30), nullable=True),
    sa.Column('signer_competence', sa.String(length=10), nullable=True),
    sa.Column('signer_position', sa.String(length=100), nullable=True),
    sa.Column('signer_name', sa.String(length=50), nullable=True),
    sa.Column('priority', sa.Integer(), nullable=False),
    sa.Column('secrecy', sa.String(length=10), nullable=False),
    sa.Column('due_date', sa.Date(), nullable=True),
    sa.Column('page_amount', sa.Integer(), nullable=True),
    sa.Column('issued_amount', sa.Integer(), nullable=True),
    sa.Column('description', sa.String(length=500), nullable=True),
    sa.Column('file_catalog', sa.Integer(), nullable=True),
    sa.Column('file_notation', sa.String(length=20), nullable=True),
    sa.Column('doc_ordinal', sa.Integer(), nullable=True),
    sa.Column('recipients', sa.JSON(), nullable=False),
    sa.Column('to_places', sa.JSON(), nullable=False),
    sa.Column('references', sa.JSON(), nullable=False),
    sa.Column('arrival_date', sa.Date(), nullable=True),
    sa.Column('arrival_number', sa.Integer(), nullable=True),
    sa.Column('search_text', sa.Text(), nullable=False),
    sa.Column('created_by', sa.String(length=100), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('registered_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_documents'))
    )
    with op.batch_alter_table('documents', schema=None) as batch_op:
        batch_op.create_index('ix_documents_code', ['code_number', 'code_notation', 'organ_id'], unique=False)
        batch_op.create_index('ix_documents_created', ['created_at', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_documents_organ_id'), ['organ_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_documents_owner_organ_id'), ['owner_organ_id'], unique=False)

    op.create_table('register_counters',
    sa.Column('organ_id', sa.String(length=13), nullable=False),
    sa.Column('register', sa.String(length=16), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('last_number', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('organ_id', 'register', 'year', name=op.f('pk_register_counters'))
    )
    op.create_table('document_versions',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('document_id', sa.String(length=36), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('media_type', sa.String(length=100), nullable=False),
    sa.Column('filename', sa.String(length=255), nullable=True),
    sa.Column('blob_key', sa.String(length=200), nullable=False),
    sa.Column('created_by', sa.String(length=100), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['document_id'], ['documents.id'], name=op.f('fk_document_versions_document_id_documents')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_document_versions')),
    sa.UniqueConstraint('document_id', 'number', name=op.f('uq_document_versions_document_id_number'))
    )
    with op.batch_alter_table('document_versions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_document_versions_document_id'), ['document_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_document_versions_sha256'), ['sha256'], unique=False)

    op.create_table('register_entries',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('organ_id', sa.String(length=13), nullable=False),
    sa.Column('register', sa.String(length=16), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('document_id', sa.String(length=36), nullable=False),
    sa.Column('registered_on', sa.Date(), nullable=False),
    sa.Column('registered_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('registered_by', sa.String(length=100), nullable=True),
    sa.ForeignKeyConstraint(['document_id'], ['documents.id'], name=op.f('fk_register_entries_document_id_documents')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_register_entries')),
    sa.UniqueConstraint('organ_id', 'register', 'year', 'number', name=op.f('uq_register_entries_organ_id_register_year_number')),
    sa.UniqueConstraint('register', 'document_id', name=op.f('uq_register_entries_register_document_id'))
    )


def downgrade() -> None:
    op.drop_table('register_entries')
    with op.batch_alter_table('document_versions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_document_versions_sha256'))
        batch_op.drop_index(batch_op.f('ix_document_versions_document_id'))

    op.drop_table('document_versions')
    op.drop_table('register_counters')
    with op.batch_alter_table('documents', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_documents_owner_organ_id'))
        batch_op.drop_index(batch_op.f('ix_documents_organ_id'))
        batch_op.drop_index('ix_documents_created')
        batch_op.drop_index('ix_documents_code')

    op.drop_table('documents')
