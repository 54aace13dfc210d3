"""JSON forms of registry objects (field names are snake_case of the edXML names)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import object_session

from docsvc.models import Document, DocumentLink, DocumentVersion, RegisterEntry
from docsvc.security import Actor, can_read

_FIELDS = (
    "direction", "owner_organ_id", "status", "organ_id", "organ_name", "type_name", "type_abbr",
    "code_number", "code_notation", "issued_date", "place", "subject", "language",
    "signer_competence", "signer_position", "signer_name", "recipients", "to_places", "references",
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
                     reader: Actor | None = None) -> dict[str, Any]:
    """Return the JSON form of a document; ``reader``: links to documents they may not read
    are left out (None: everything, for operators)."""
    data: dict[str, Any] = {"id": document.id}
    data.update({name: _value(getattr(document, name)) for name in _FIELDS})
    data["number_notation"] = document.number_notation
    data["revoked"] = document.revoked_at is not None
    data.update(links_of(document, reader))
    if with_versions:
        data["versions"] = [version_to_dict(v) for v in document.versions]
    return data


def links_of(document: Document, reader: Actor | None = None) -> dict[str, Any]:
    """Return the update / replacement links of a document (BussinessDocType 2 and 3):
    ``updates`` / ``replaces`` (local ids of the older documents), ``updated_by`` /
    ``replaced_by`` (the newer ones) and ``links`` (with the edXML DocumentId, also for older
    documents we never received)."""
    session = object_session(document)
    out: dict[str, Any] = {"updates": [], "replaces": [], "updated_by": [], "replaced_by": [],
                           "links": []}
    if session is None or document.id is None:
        return out
    rows = session.execute(select(DocumentLink).where(or_(
        DocumentLink.document_id == document.id, DocumentLink.target_document_id == document.id,
    )).order_by(DocumentLink.id)).scalars()
    def readable(document_id: str | None) -> bool:
        if document_id is None or reader is None:
            return True
        other = session.get(Document, document_id)
        return other is not None and can_read(reader, other)

    for link in rows:
        if not readable(link.target_document_id if link.document_id == document.id
                        else link.document_id):
            continue  # a secret or another agency's document: not even its id
        if link.document_id == document.id:
            if link.target_document_id:
                out["updates" if link.kind == "update" else "replaces"].append(link.target_document_id)
            out["links"].append({"kind": link.kind, "document_id": link.target_edxml_id,
                                 "target": link.target_document_id, "reason": link.reason})
        else:
            out["updated_by" if link.kind == "update" else "replaced_by"].append(link.document_id)
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
