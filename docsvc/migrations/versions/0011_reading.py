"""reading the documents: searchable text of every version, renditions (OCR), background jobs

Revision ID: 0011_reading
Revises: 0011_axis

Hand-written. PostgreSQL: the ``unaccent`` extension (trusted since PostgreSQL 13: the database
owner may create it) is created in ``public`` so that it outlives any one schema, and the text
search configuration ``docsvc_vi`` (``simple`` with ``unaccent`` first) folds Vietnamese
diacritics: ``cải`` and ``cai`` give the same lexeme. SQLite: the FTS5 table
``document_text_fts`` holds the folded text (docsvc.search.fold_same_length), rowid =
``document_texts.id``, with the document id beside it (no join to rank documents).
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0011_reading"
down_revision = "0011_axis"
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    op.create_table(
        "document_texts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("document_id", sa.String(length=36), nullable=False),
        sa.Column("version_number", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=10), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("tsv", sa.Text().with_variant(postgresql.TSVECTOR(), "postgresql"), nullable=True),
        sa.Column("indexed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["document_id"], ["documents.id"], ondelete="CASCADE",
                                name=op.f("fk_document_texts_document_id_documents")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_document_texts")),
        sa.UniqueConstraint("document_id", "version_number",
                            name=op.f("uq_document_texts_document_id_version_number")),
    )
    op.create_index("ix_document_texts_tsv", "document_texts", ["tsv"], unique=False,
                    postgresql_using="gin")
    op.create_table(
        "document_renditions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("document_id", sa.String(length=36), nullable=False),
        sa.Column("version_number", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("blob_key", sa.String(length=200), nullable=False),
        sa.Column("media_type", sa.String(length=100), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["document_id"], ["documents.id"], ondelete="CASCADE",
                                name=op.f("fk_document_renditions_document_id_documents")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_document_renditions")),
        sa.UniqueConstraint("document_id", "version_number", "kind",
                            name=op.f("uq_document_renditions_document_id_version_number_kind")),
    )
    op.create_table(
        "jobs",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("document_id", sa.String(length=36), nullable=True),
        sa.Column("version_number", sa.Integer(), nullable=True),
        sa.Column("owner_organ_id", sa.String(length=13), nullable=True),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("progress", sa.Integer(), nullable=False),
        sa.Column("message", sa.String(length=500), nullable=True),
        sa.Column("result", sa.JSON(), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["document_id"], ["documents.id"], ondelete="CASCADE",
                                name=op.f("fk_jobs_document_id_documents")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_jobs")),
    )
    op.create_index(op.f("ix_jobs_document_id"), "jobs", ["document_id"], unique=False)
    if bind.dialect.name == "postgresql":
        exists = bind.execute(sa.text("SELECT 1 FROM pg_extension WHERE extname = 'unaccent'")).first()
        if not exists:
            op.execute("CREATE EXTENSION IF NOT EXISTS unaccent SCHEMA public")
        op.execute("CREATE TEXT SEARCH CONFIGURATION docsvc_vi (COPY = pg_catalog.simple)")
        op.execute("ALTER TEXT SEARCH CONFIGURATION docsvc_vi ALTER MAPPING FOR "
                   "hword, hword_part, word, asciiword, asciihword, hword_asciipart, numword, "
                   "numhword, hword_numpart WITH public.unaccent, pg_catalog.simple")
    else:
        op.execute("CREATE VIRTUAL TABLE document_text_fts USING fts5("
                   "body, document_id UNINDEXED, tokenize = 'unicode61 remove_diacritics 2')")


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.execute("DROP TEXT SEARCH CONFIGURATION IF EXISTS docsvc_vi")
    else:
        op.execute("DROP TABLE IF EXISTS document_text_fts")
    op.drop_index(op.f("ix_jobs_document_id"), table_name="jobs")
    op.drop_table("jobs")
    op.drop_table("document_renditions")
    op.drop_index("ix_document_texts_tsv", table_name="document_texts")
    op.drop_table("document_texts")
