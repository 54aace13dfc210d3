"""JSON forms of registry objects (field names are snake_case of the edXML names)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, object_session

from docsvc.models import Document, DocumentLink, DocumentVersion, RegisterEntry
from docsvc.security import Actor, can_read

_FIELDS = (
    "direction", "owner_organ_id", "status", "organ_id", "organ_name", "type_name", "type_abbr",
    "code_number", "code_notation", "issued_date", "place", "subject", "language",
    "signer_competence", "signer_position", "signer_name", "recipients", "joint_organs",
    "to_places", "references",
    "priority", "secrecy", "due_date", "page_amount", "issued_amount", "description",
    "file_catalog", "file_notation", "doc_ordinal", "arrival_date", "arrival_number",
    "created_by", "created_at", "updated_at", "registered_at", "revoked_at", "revoked_reason",
)


def _value(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def version_to_dict(version: DocumentVersion) -> dict[str, Any]:
    """Return the JSON form of a version."""
    data = {
        "number": version.number, "kind": version.kind, "sha256": version.sha256,
        "size": version.size, "media_type": version.media_type, "filename": version.filename,
        "created_by": version.created_by, "created_at": _value(version.created_at),
    }
    if version.revoked_at is not None:  # content removed (revocation / agreed take-back)
        data.update(revoked=True, revoked_at=_value(version.revoked_at))
    return data


def document_to_dict(document: Document, *, with_versions: bool = True,
                     reader: Actor | None = None,
                     links: dict[str, Any] | None = None) -> dict[str, Any]:
    """Return the JSON form of a document; ``reader``: links to documents they may not read
    are left out (None: everything, for operators); ``links``: this document's entry of
    ``links_for`` when the caller looked up a whole page at once."""
    data: dict[str, Any] = {"id": document.id}
    data.update({name: _value(getattr(document, name)) for name in _FIELDS})
    data["number_notation"] = document.number_notation
    data["revoked"] = document.revoked_at is not None
    data.update(links if links is not None else links_of(document, reader))
    if with_versions:
        data["versions"] = [version_to_dict(v) for v in document.file_versions]
        data["attachments"] = [version_to_dict(v) for v in document.attachments]
    return data


def links_of(document: Document, reader: Actor | None = None) -> dict[str, Any]:
    """Return the update / replacement links of a document (BussinessDocType 2 and 3):
    ``updates`` / ``replaces`` (local ids of the older documents), ``updated_by`` /
    ``replaced_by`` (the newer ones) and ``links`` (with the edXML DocumentId, also for older
    documents we never received)."""
    session = object_session(document)
    if session is None or document.id is None:
        return _no_links()
    return links_for(session, [document.id], reader)[document.id]


def _no_links() -> dict[str, Any]:
    return {"updates": [], "replaces": [], "updated_by": [], "replaced_by": [], "links": []}


def links_for(session: Session, document_ids: list[str],
              reader: Actor | None = None) -> dict[str, dict[str, Any]]:
    """``links_of`` for many documents with one query (a page of a list)."""
    out = {document_id: _no_links() for document_id in document_ids}
    if not document_ids:
        return out
    rows = session.execute(select(DocumentLink).where(or_(
        DocumentLink.document_id.in_(document_ids),
        DocumentLink.target_document_id.in_(document_ids),
    )).order_by(DocumentLink.id)).scalars()

    def readable(document_id: str | None) -> bool:
        if document_id is None or reader is None:
            return True
        other = session.get(Document, document_id)
        return other is not None and can_read(reader, other)

    for link in rows:
        if link.document_id in out and readable(link.target_document_id):
            mine = out[link.document_id]
            if link.target_document_id:
                mine["updates" if link.kind == "update" else "replaces"].append(
                    link.target_document_id)
            mine["links"].append({"kind": link.kind, "document_id": link.target_edxml_id,
                                  "target": link.target_document_id, "reason": link.reason})
        # a secret or another agency's document: not even its id
        if link.target_document_id in out and readable(link.document_id):
            out[link.target_document_id][
                "updated_by" if link.kind == "update" else "replaced_by"].append(link.document_id)
    return out


def register_row_to_dict(entry: RegisterEntry) -> dict[str, Any]:
    """Return one register line as JSON."""
    doc = entry.document
    return {
        "number": entry.number,
        "registered_on": _value(entry.registered_on),
        "document_id": doc.id,
        "code_number": doc.code_number,
        "code_notation": doc.code_notation,
        "number_notation": doc.number_notation,
        "issued_date": _value(doc.issued_date),
        "organ_id": doc.organ_id,
        "organ_name": doc.organ_name,
        "type_name": doc.type_name,
        "subject": doc.subject,
        "signer_name": doc.signer_name,
        "recipients": "; ".join(r["organ_name"] for r in doc.recipients),
        "to_places": "; ".join(doc.to_places),
        "arrival_date": _value(doc.arrival_date),
        "secrecy": doc.secrecy,
        "priority": doc.priority,
        "registered_by": entry.registered_by,
    }
