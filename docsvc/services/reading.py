"""Reading what the registry stores: metadata suggestions from a PDF's text (Phụ lục VI).

The extraction itself is a capability (``docsvc.extract``); this use case adds the directory
(to match the issuing body and the Nơi nhận items to OrganIds) and never stores anything.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any, BinaryIO

from sqlalchemy import select
from sqlalchemy.orm import Session

from docsvc.extract import Extraction, extract_metadata, suggested_metadata
from docsvc.models import Document, DocumentRendition, Organization
from docsvc.security import Actor
from docsvc.storage import BlobStore, read_verified


def directory_names(session: Session) -> list[tuple[str, str]]:
    """Return (OrganId, name) of every directory entry."""
    return [(oid, name) for oid, name in session.execute(
        select(Organization.organ_id, Organization.name).order_by(Organization.organ_id))]


def read_pdf(session: Session, stream: BinaryIO | bytes) -> Extraction:
    """Extract the metadata fields of a PDF; a PDF without text gives no fields and a reason."""
    return extract_metadata(stream, directory=directory_names(session))


def suggest(session: Session, stream: BinaryIO | bytes, given: dict[str, Any] | None
            ) -> dict[str, Any]:
    """Return ``{"fields": …, "reason": …}``: suggestions for the fields ``given`` leaves out."""
    extraction = read_pdf(session, stream)
    if hasattr(stream, "seek"):
        stream.seek(0)
    return {"fields": suggested_metadata(extraction, given=given if isinstance(given, dict) else {}),
            "reason": extraction.reason, "source": extraction.source}


def open_rendition(session: Session, blobs: BlobStore, *, document_id: str, number: int,
                   actor: Actor) -> tuple[DocumentRendition, BinaryIO]:
    """Return the searchable rendition of a version and its bytes (hash checked)."""
    from docsvc.errors import ContentRevokedError, NotFoundError
    from docsvc.services.documents import get_document

    document = get_document(session, document_id, actor)
    version = next((v for v in document.versions if v.number == number), None)
    rendition = session.execute(select(DocumentRendition).where(
        DocumentRendition.document_id == document.id, DocumentRendition.version_number == number,
        DocumentRendition.kind == "searchable")).scalar_one_or_none()
    if version is None or rendition is None:
        raise NotFoundError("Phiên bản này chưa có bản nhận dạng chữ.",
                            "This version has no searchable rendition.",
                            details={"document_id": document_id, "version": number})
    if version.revoked_at is not None:
        raise ContentRevokedError(details={"document_id": document_id, "version": number})
    return rendition, read_verified(blobs, rendition.blob_key)


def renditions_of(session: Session, document: Document) -> dict[int, DocumentRendition]:
    """Return the searchable renditions of a document by version number."""
    rows = session.execute(select(DocumentRendition).where(
        DocumentRendition.document_id == document.id,
        DocumentRendition.kind == "searchable")).scalars()
    return {row.version_number: row for row in rows}


def as_download(rendition: DocumentRendition) -> SimpleNamespace:
    """Return what ``downloads.version_response`` needs to send a rendition's bytes."""
    return SimpleNamespace(sha256=rendition.sha256, media_type=rendition.media_type,
                           size=rendition.size, number=rendition.version_number,
                           filename=f"{rendition.document_id}-v{rendition.version_number}-searchable.pdf")
