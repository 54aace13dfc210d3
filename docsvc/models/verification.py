"""Verification models: the stored outcome of each validation of a stored document version,
with the evidence used (certificates, revocation data), so an auditor can file it and
``docsvc audit-archive`` can tell when a verdict changed.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from docsvc.models.registry import Base, utcnow

__all__ = ["VERIFICATION_SOURCES", "VerificationResult"]

VERIFICATION_SOURCES = ("api", "cli", "archive")
"""Who ran the validation: an API/web request, ``docsvc verify-version``, ``docsvc audit-archive``."""


class VerificationResult(Base):
    """One validation of one stored version: the verdict, the whole report and its evidence."""

    __tablename__ = "verification_results"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    document_id: Mapped[str] = mapped_column(ForeignKey("documents.id"), index=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("document_versions.id"))
    version_number: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    """SHA-256 of the bytes that were validated (checked against the version's hash on read)."""
    verdict: Mapped[str] = mapped_column(String(16))
    """``TOTAL_PASSED``, ``TOTAL_FAILED`` or ``INDETERMINATE`` (ETSI EN 319 102-1)."""
    sub_indication: Mapped[str | None] = mapped_column(String(64))
    """The document-level sub-indication (``FORMAT_FAILURE``), when the file itself fails."""
    signatures: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    """Per signature: ``field_name``, ``indication``, ``sub_indication`` (compared between runs)."""
    report: Mapped[dict[str, Any]] = mapped_column(JSON)
    """The full JSON report including the evidence (DER as base64)."""
    trust_fingerprint: Mapped[str] = mapped_column(String(64))
    """SHA-256 over the trust anchors and CRLs in force: tells a changed configuration apart."""
    source: Mapped[str] = mapped_column(String(10))
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    __table_args__ = (Index("ix_verification_results_version", "version_id", "id"),)
