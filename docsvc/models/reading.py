"""Models of what the service reads from its documents: the searchable text of each version,
renditions made from a version (the OCR'd searchable PDF) and background jobs with progress.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Mapped, mapped_column

from docsvc.models.registry import Base, new_id, utcnow

__all__ = ["JOB_KINDS", "JOB_STATES", "DocumentRendition", "DocumentText", "Job"]

JOB_KINDS = ("ocr", "index")
JOB_STATES = ("queued", "running", "done", "failed")


class DocumentText(Base):
    """The searchable text of one version of a document (``version_number`` 0: its metadata).

    PostgreSQL keeps ``tsv`` (``to_tsvector('docsvc_vi', …)``, unaccented, GIN-indexed);
    SQLite keeps a folded copy in the FTS5 table ``document_text_fts`` (rowid = ``id``).
    """

    __tablename__ = "document_texts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    document_id: Mapped[str] = mapped_column(ForeignKey("documents.id", ondelete="CASCADE"))
    version_number: Mapped[int] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(String(10))
    """``metadata``, ``text`` (the PDF's own text) or ``ocr`` (the searchable rendition's)."""
    content: Mapped[str] = mapped_column(Text)
    """NFC text, pages separated by form feeds; snippets are cut from it."""
    tsv: Mapped[Any] = mapped_column(Text().with_variant(postgresql.TSVECTOR(), "postgresql"),
                                     nullable=True)
    indexed_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        UniqueConstraint("document_id", "version_number"),
        Index("ix_document_texts_tsv", "tsv", postgresql_using="gin"),
    )


class DocumentRendition(Base):
    """Bytes made from a version for reading, never for signing or exchange (OCR'd PDF)."""

    __tablename__ = "document_renditions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    document_id: Mapped[str] = mapped_column(ForeignKey("documents.id", ondelete="CASCADE"))
    version_number: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(16))
    """``searchable``: the version with an invisible OCR text layer (ocrmypdf + tesseract)."""
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigInteger)
    blob_key: Mapped[str] = mapped_column(String(200))
    media_type: Mapped[str] = mapped_column(String(100), default="application/pdf")
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    __table_args__ = (UniqueConstraint("document_id", "version_number", "kind"),)


class Job(Base):
    """Background work on a document version (OCR, indexing): state and progress for people."""

    __tablename__ = "jobs"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    kind: Mapped[str] = mapped_column(String(16))
    document_id: Mapped[str | None] = mapped_column(ForeignKey("documents.id", ondelete="CASCADE"),
                                                    index=True)
    version_number: Mapped[int | None] = mapped_column(Integer)
    owner_organ_id: Mapped[str | None] = mapped_column(String(13))
    state: Mapped[str] = mapped_column(String(10), default="queued")
    progress: Mapped[int] = mapped_column(Integer, default=0)
    """Percent done (0–100)."""
    message: Mapped[str | None] = mapped_column(String(500))
    """What it is doing, or why it failed (machine code first: ``ocr_unavailable: …``)."""
    result: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_by: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    started_at: Mapped[dt.datetime | None]
    finished_at: Mapped[dt.datetime | None]
