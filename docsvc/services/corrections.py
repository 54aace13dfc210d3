"""Correcting a document's metadata: a draft may change freely, a registered document only
where the register and the exchange do not depend on it; every change is audited with the
values before and after.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from docsvc.errors import BadRequestError, ConflictError
from docsvc.metadata import Metadata, check_issuing_body, parse_metadata, search_text
from docsvc.models import Document, Message
from docsvc.security import Actor
from docsvc.services import audit
from docsvc.services.documents import Warning_, duplicate_warnings, lock_for_write

EDITABLE = tuple(name for name in Metadata.__dataclass_fields__
                 if name not in ("type_abbr", "owner_organ_id"))
LOCKED_ONCE_REGISTERED = ("direction", "organ_id", "code_number", "code_notation",
                          "issued_date", "type_name", "arrival_number", "arrival_date", "secrecy")
"""Số, ký hiệu, date and type (what the register line, the seal's stamp and the edXML
DocumentId are built on), the issuing body and direction, the arrival number and date, and
the secrecy level (which register, and who may read)."""
LOCKED_WHEN_RECEIVED = ("direction", "organ_id", "organ_name", "code_number", "code_notation",
                        "issued_date", "type_name", "subject")
"""What the sender's edXML header says of a document received through the exchange: the
receiver records it, it does not rewrite it."""


class FieldsLockedError(ConflictError):
    code = "fields_locked"
    message_vi = "Không sửa được các trường này: văn bản đã đăng ký (số, ký hiệu, ngày, loại, " \
                 "cơ quan ban hành, độ mật) hoặc nhận qua trục liên thông (thông tin của nơi gửi)."
    message_en = "These fields cannot change: the document is registered (number, notation, " \
                 "date, type, issuing body, secrecy) or was received through the exchange " \
                 "(what the sender said)."


class DocumentRevokedError(ConflictError):
    code = "document_revoked"
    message_vi = "Văn bản đã bị thu hồi; không sửa được nữa."
    message_en = "The document was revoked; it can no longer be changed."


def _raw(value: Any) -> Any:
    """The JSON form of a stored value, as ``parse_metadata`` reads it."""
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def _received_through_exchange(session: Session, document: Document) -> bool:
    return session.execute(select(Message.id).where(
        Message.delivered_document_id == document.id).limit(1)).first() is not None


def correct_metadata(session: Session, *, document_id: str, changes: Any, actor: Actor,
                     allowed_organ_ids: frozenset[str] = frozenset()
                     ) -> tuple[Document, list[str], list[Warning_]]:
    """Apply ``changes`` (a partial metadata object; ``null`` clears a field) to a document the
    actor may change; return it, the names of the fields that changed and warnings.

    The whole result is checked as on upload (``InvalidMetadataError`` lists every bad field).
    Raises ``NotFoundError``, ``PermissionDeniedError`` (recorded), ``BadRequestError``,
    ``FieldsLockedError`` (409, recorded) and ``DocumentRevokedError`` (409).
    """
    if not isinstance(changes, dict) or not changes:
        raise BadRequestError("Cần một đối tượng JSON với các trường cần sửa.",
                              "A JSON object with the fields to change is required.")
    document = lock_for_write(session, document_id, actor, "document.metadata_change",
                              people_only=True)
    if document.revoked_at is not None:
        raise DocumentRevokedError(details={"document_id": document_id})
    current = {name: _raw(getattr(document, name)) for name in EDITABLE}
    merged = {k: v for k, v in {**current, **changes}.items() if v not in (None, "", [])}
    checked = parse_metadata(merged, allowed_organ_ids=allowed_organ_ids)
    after = {name: getattr(checked, name) for name in EDITABLE}
    if after["page_amount"] is None:  # filled from the PDF on upload: keep it unless replaced
        after["page_amount"] = document.page_amount
    changed = [name for name in EDITABLE if after[name] != getattr(document, name)]
    locked = [name for name in changed if name in LOCKED_ONCE_REGISTERED] \
        if document.status == "registered" else []
    if _received_through_exchange(session, document):
        locked += [name for name in changed if name in LOCKED_WHEN_RECEIVED and name not in locked]
    if locked:
        session.rollback()
        audit.record(session, actor, "document.metadata_change", object_type="document",
                     object_id=document_id, organ_id=document.owner_organ_id, outcome="refused",
                     details={"locked": locked})
        session.commit()
        raise FieldsLockedError(details={"fields": locked})
    if "organ_id" in changed or "direction" in changed:
        check_issuing_body(checked, document.owner_organ_id)
    if not changed:
        session.commit()  # release the row lock: nothing to record
        return document, [], []
    before = {name: _raw(getattr(document, name)) for name in changed}
    for name in changed:
        setattr(document, name, after[name])
    document.type_abbr = checked.type_abbr
    document.search_text = search_text(document.subject, document.code_number,
                                       document.code_notation)
    warnings = duplicate_warnings(session, document)
    from docsvc.services.search import index_metadata

    index_metadata(session, document)
    audit.record(session, actor, "document.metadata_change", object_type="document",
                 object_id=document_id, organ_id=document.owner_organ_id,
                 details={"fields": {name: {"before": before[name], "after": _raw(after[name])}
                                     for name in changed},
                          "status": document.status})
    session.commit()
    return document, changed, warnings
