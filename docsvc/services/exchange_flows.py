"""Side flows of the exchange (QCVN 102 §4.2–§4.3): revocation, update, replacement, take-back,
and the verification of the PDF signatures of received documents.

- **Revocation** (BussinessDocType 1): the sender's clerk revokes a sent document; each
  recipient gets a revocation package through the ordinary send path. A receiver hosted here
  removes the document's content (versions marked ``revoked``, bytes deleted once the
  transaction commits and when no other row still uses them), keeps the metadata, the hashes,
  the verification results and the trail, and reports status **15** back (DOMAIN.md §4.3:
  "receiver agrees to the update / take-back" is the only code that says the receiver carried
  the sender's withdrawal out; §2 asks the receiver to tell the sender it deleted the document).
- **Update** (2) and **replacement** (3): the new incoming document is filed as usual and
  linked to the older one (``document_links``), found by ``Bussiness/DocumentId`` (update) or
  ``ReplacementInfo/DocumentId`` (replacement).
- **Take-back**: the sender's clerk asks with status **13** (reason required); the receiver's
  clerk answers **15** (agree: the content is removed as on a revocation) or **16** (refuse,
  reason required). An answer without a pending request, or a request while one is pending or
  after the document was withdrawn, is refused (409) and recorded in the audit trail.
- **Verification on receipt**: after a received document is committed, each PDF version is
  validated with the verification service and the verdict stored; a failure stores an
  ``INDETERMINATE`` result and never loses the document.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from collections.abc import Iterable
from typing import Any

from sqlalchemy import event, or_, select
from sqlalchemy.orm import Session

from docsvc import exchange as edxml
from docsvc.errors import BadRequestError, ConflictError, NotFoundError
from docsvc.exchange import STATUS_CODES, VN_TZ, DocumentPackage, StatusPackage
from docsvc.models import (
    Document,
    DocumentLink,
    DocumentVersion,
    Message,
    Organization,
    StatusEvent,
    VerificationResult,
    utcnow,
)
from docsvc.security import Actor, can_read, can_write
from docsvc.services import audit
from docsvc.services import exchange as xsvc
from docsvc.services.documents import deny
from docsvc.storage import BlobStore

log = logging.getLogger(__name__)

REVOCATION, UPDATE, REPLACEMENT = 1, 2, 3
TAKEBACK_CODES = ("13", "15", "16")
_PENDING_DELETES = "docsvc.pending_blob_deletes"


class NotRevocableError(ConflictError):
    code = "document_not_revocable"
    message_vi = "Không thu hồi được: văn bản chưa được gửi đi hoặc không phải văn bản đi."
    message_en = "Cannot revoke: the document is not an outgoing document that was sent."


class TakeBackRefusedError(ConflictError):
    code = "takeback_refused"
    message_vi = "Không gửi được yêu cầu lấy lại văn bản ở trạng thái hiện tại."
    message_en = "A take-back request cannot be sent in the current state."


# -- small helpers ------------------------------------------------------------------------------


def _reason(value: Any, *, field: str = "reason") -> str:
    if not isinstance(value, str) or not value.strip():
        raise BadRequestError(f"Cần nêu lý do ({field}).", f"A reason is required ({field}).",
                              details={field: value})
    return value.strip()[:500]


def _outgoing_for_clerk(session: Session, document_id: str, actor: Actor, action: str) -> Document:
    document = session.get(Document, document_id, with_for_update=True, populate_existing=True)
    if document is None or not can_read(actor, document):
        raise NotFoundError("Không tìm thấy văn bản.", "Document not found.",
                            details={"document_id": document_id})
    if not can_write(actor, document) or actor.kind == "system":
        deny(session, actor, action, document=document)
    return document


def _originals(session: Session, document: Document) -> list[Message]:
    """The document packages (new, update, replacement) we sent for ``document``."""
    return list(session.execute(select(Message).where(
        Message.local_document_id == document.id, Message.kind == "edoc", Message.origin == "local",
        or_(Message.bussiness_doc_type.is_(None), Message.bussiness_doc_type != REVOCATION),
    ).order_by(Message.created_at)).scalars())


def _received(session: Session, *, document_id: str, sender: str, recipient: str,
              exclude: str | None = None) -> Message | None:
    """The first document package (not a revocation) with ``document_id`` from ``sender`` that
    was filed as an incoming document of ``recipient`` here."""
    stmt = select(Message).where(
        Message.kind == "edoc", Message.document_id == document_id,
        Message.sender_organ_id == sender, Message.recipient_organ_id == recipient,
        Message.delivered_document_id.is_not(None),
        or_(Message.bussiness_doc_type.is_(None), Message.bussiness_doc_type != REVOCATION))
    if exclude is not None:
        stmt = stmt.where(Message.id != exclude)
    return session.execute(stmt.order_by(Message.created_at, Message.id)).scalars().first()


def _refuse(session: Session, actor: Actor, action: str, document: Document, error: Exception,
            **details: Any) -> None:
    """Undo what is pending, record the refusal in the trail, raise ``error``."""
    session.rollback()
    audit.record(session, actor, action, object_type="document", object_id=document.id,
                 organ_id=document.owner_organ_id, outcome="refused", details=details)
    session.commit()
    raise error


def _takeback_events(session: Session, document: Document, organ_id: str) -> list[StatusEvent]:
    return list(session.execute(select(StatusEvent).where(
        StatusEvent.local_document_id == document.id, StatusEvent.organ_id == organ_id,
        StatusEvent.code.in_(TAKEBACK_CODES)).order_by(StatusEvent.id)).scalars())


def takeback_state(events: Iterable[StatusEvent]) -> str:
    """``none``, ``pending`` (13 unanswered), ``agreed`` (15) or ``refused`` (16, may ask again)."""
    state = "none"
    for e in events:
        if e.code == "13":
            state = "pending"
        elif e.code == "15":
            return "agreed"
        elif e.code == "16" and state == "pending":
            state = "refused"
    return state


# -- removing content ---------------------------------------------------------------------------


def _purge_after_commit(session: Session) -> None:
    pending = session.info.pop(_PENDING_DELETES, None)
    if not pending:
        return
    blobs, keys = pending
    for key in sorted(keys):
        try:
            blobs.delete(key)
        except Exception:  # noqa: BLE001 - the rows are committed; an orphan is only reported
            log.exception("could not delete the revoked blob %s", key)


def _forget_after_rollback(session: Session) -> None:
    session.info.pop(_PENDING_DELETES, None)


def _delete_on_commit(session: Session, blobs: BlobStore, keys: set[str]) -> None:
    """Delete ``keys`` from the store once the transaction commits (never on a rollback)."""
    if not session.info.get("docsvc.purge_listeners"):
        event.listen(session, "after_commit", _purge_after_commit)
        event.listen(session, "after_rollback", _forget_after_rollback)
        session.info["docsvc.purge_listeners"] = True
    _, pending = session.info.setdefault(_PENDING_DELETES, (blobs, set()))
    pending |= keys


def _still_used(session: Session, key: str) -> bool:
    """Tell whether a live row needs ``key``: a version not revoked, or a message that is not a
    received package of a document whose content was removed."""
    version = session.execute(select(DocumentVersion.id).where(
        DocumentVersion.blob_key == key, DocumentVersion.revoked_at.is_(None)).limit(1)).first()
    if version is not None:
        return True
    for message in session.execute(select(Message).where(Message.blob_key == key)).scalars():
        if message.origin == "local" or message.delivered_document_id is None:
            return True
        target = session.get(Document, message.delivered_document_id)
        if target is None or target.revoked_at is None:
            return True
    return False


def withdraw(session: Session, blobs: BlobStore, document: Document, *, reason: str, cause: str,
             actor: Actor, now: dt.datetime) -> bool:
    """Remove a received document's content: mark it and its versions revoked, schedule the
    deletion of bytes no live row uses. The rows, hashes and verification results stay.
    Returns False when it was already withdrawn."""
    if document.revoked_at is not None:
        return False
    document.revoked_at, document.revoked_reason = now, reason[:500] or None
    keys = set()
    for version in document.versions:
        version.revoked_at = now
        keys.add(version.blob_key)
    # the received package carries the content too (base64): drop it when it came from elsewhere
    for message in session.execute(select(Message).where(
            Message.delivered_document_id == document.id, Message.kind == "edoc",
            Message.origin != "local")).scalars():
        keys.add(message.blob_key)
    session.flush()
    deleted = sorted(k for k in keys if not _still_used(session, k))
    _delete_on_commit(session, blobs, set(deleted))
    audit.record(session, actor, "document.content_removed", object_type="document",
                 object_id=document.id, organ_id=document.owner_organ_id,
                 details={"cause": cause, "reason": reason[:500],
                          "versions": [{"number": v.number, "sha256": v.sha256, "size": v.size}
                                       for v in document.versions],
                          "blobs_deleted": len(deleted), "blobs_kept": len(keys) - len(deleted)})
    return True


# -- receiving a document package (hook of exchange.py) -----------------------------------------


def accept(session: Session, blobs: BlobStore, cfg: xsvc.ExchangeConfig, package: DocumentPackage,
           message: Message, *, now: dt.datetime) -> Document:
    """A document package reached a recipient hosted here: dispatch on BussinessDocType."""
    doc_type = package.bussiness.doc_type
    if doc_type == REVOCATION:
        return _receive_revocation(session, blobs, cfg, package, message, now=now)
    document = xsvc._accept_document(session, blobs, cfg, package, message, now=now)
    if doc_type in (UPDATE, REPLACEMENT):
        _link(session, document, package, message)
    return document


def _receive_revocation(session: Session, blobs: BlobStore, cfg: xsvc.ExchangeConfig,
                        package: DocumentPackage, message: Message, *, now: dt.datetime) -> Document:
    target = package.bussiness.document_id or package.header.document_id
    original = _received(session, document_id=target, sender=message.sender_organ_id,
                         recipient=message.recipient_organ_id)
    if original is None:
        raise xsvc.UnknownDocumentError(details={"document_id": target, "bussiness_doc_type": 1})
    document = session.get(Document, original.delivered_document_id)
    assert document is not None
    message.delivered_document_id = document.id
    receiver = Actor(kind="system", name="exchange", organ_id=message.recipient_organ_id)
    reason = package.bussiness.reason or "Thu hồi văn bản"
    audit.record(session, receiver, "exchange.revocation", object_type="document",
                 object_id=document.id, content_sha256=message.sha256,
                 organ_id=message.recipient_organ_id,
                 details={"message_id": message.id, "from": message.sender_organ_id,
                          "document_id": target, "reason": reason[:500]})
    if withdraw(session, blobs, document, reason=reason, cause="revocation", actor=receiver,
                now=now):
        xsvc._report(session, blobs, cfg, document=document, incoming=original, code="15",
                     description=f"Đã thu hồi, xóa nội dung văn bản: {reason}"[:500],
                     actor=receiver, now=now)
    return document


def _link(session: Session, document: Document, package: DocumentPackage, message: Message) -> None:
    b = package.bussiness
    kind = "update" if b.doc_type == UPDATE else "replacement"
    if b.doc_type == REPLACEMENT:
        targets = [r.document_id for r in b.replacements if r.document_id]
        if not targets and b.document_id and b.document_id != package.header.document_id:
            targets = [b.document_id]
    else:
        targets = [b.document_id or package.header.document_id]
    for target in dict.fromkeys(targets):
        old = _received(session, document_id=target, sender=message.sender_organ_id,
                        recipient=message.recipient_organ_id, exclude=message.id)
        if old is not None and old.delivered_document_id == document.id:
            old = None
        session.add(DocumentLink(document_id=document.id, kind=kind, target_edxml_id=target[:200],
                                 target_document_id=old.delivered_document_id if old else None,
                                 message_id=message.id))


# -- revocation, sender side --------------------------------------------------------------------


def revoke_document(session: Session, blobs: BlobStore, cfg: xsvc.ExchangeConfig, *,
                    document_id: str, reason: Any, actor: Actor,
                    now: dt.datetime | None = None) -> list[Message]:
    """Revoke a sent document: one revocation package (BussinessDocType 1) per recipient.

    Idempotent per recipient (a recipient already sent a revocation gets none again). Raises
    NotFoundError, PermissionDeniedError, BadRequestError (no reason), NotRevocableError (409).
    """
    now = now or utcnow()
    document = _outgoing_for_clerk(session, document_id, actor, "document.revoke")
    reason = _reason(reason)
    sent = _originals(session, document)
    if document.direction != "outgoing" or not sent:
        _refuse(session, actor, "document.revoke", document, NotRevocableError(
            details={"document_id": document_id, "sent": bool(sent)}), reason="not_sent")
    revoked = {m.recipient_organ_id: m for m in session.execute(select(Message).where(
        Message.local_document_id == document.id, Message.kind == "edoc",
        Message.origin == "local", Message.bussiness_doc_type == REVOCATION)).scalars()}
    recipients = list(dict.fromkeys(m.recipient_organ_id for m in sent))
    messages = []
    for recipient in recipients:
        if recipient in revoked:
            messages.append(revoked[recipient])
            continue
        original = next(m for m in sent if m.recipient_organ_id == recipient)
        base = xsvc._document_package(session, blobs, document, [recipient], now)
        package = dataclasses.replace(base, attachments=(), bussiness=edxml.Bussiness(
            doc_type=REVOCATION, reason=reason, document_id=original.document_id))
        data = edxml.build_document_package(package)
        edxml.validate_package(data, cfg.schemas, limits=cfg.limits)
        blob = xsvc._put(blobs, xsvc._sign(cfg, data))
        trace = [{"organ_id": t.organ_id, "timestamp": xsvc._iso(t.timestamp)}
                 for t in package.trace_headers]
        message = xsvc._new_message(
            session, cfg, kind="edoc", document_id=original.document_id,
            sender=document.owner_organ_id, recipient=recipient, origin="local", blob=blob,
            now=now, actor=actor, local_document_id=document.id, doc_type=REVOCATION, trace=trace)
        messages.append(message)
        if message.delivery is not None and message.delivery.mode == "local":
            accept(session, blobs, cfg, package, message, now=now)
    if document.revoked_at is None:
        document.revoked_at, document.revoked_reason = now, reason
    audit.record(session, actor, "document.revoke", object_type="document", object_id=document.id,
                 organ_id=document.owner_organ_id,
                 details={"reason": reason, "to": [m.recipient_organ_id for m in messages],
                          "message_ids": [m.id for m in messages]})
    session.commit()
    return messages


# -- take-back: 13 from the sender, 15/16 from the receiver -------------------------------------


def request_takeback(session: Session, blobs: BlobStore, cfg: xsvc.ExchangeConfig, *,
                     document_id: str, reason: Any, to: Any = None, actor: Actor,
                     now: dt.datetime | None = None) -> list[Message]:
    """Ask the recipients (all, or those in ``to``) to give a sent document back: status 13.

    Raises BadRequestError (no reason, ``to`` not recipients), TakeBackRefusedError (409, and
    recorded) when a request is pending, the recipient agreed already or the document was
    revoked.
    """
    now = now or utcnow()
    document = _outgoing_for_clerk(session, document_id, actor, "document.takeback")
    reason = _reason(reason)
    sent = _originals(session, document)
    recipients = list(dict.fromkeys(m.recipient_organ_id for m in sent))
    if to is not None:
        if not isinstance(to, list) or not to or not all(isinstance(x, str) for x in to):
            raise BadRequestError('"to" phải là danh sách mã định danh cơ quan.',
                                  '"to" must be a list of OrganIds.', details={"to": to})
        unknown = [x for x in to if x not in recipients]
        if unknown:
            raise BadRequestError("Văn bản chưa gửi cho các cơ quan này.",
                                  "The document was not sent to these organisations.",
                                  details={"not_recipients": unknown})
        recipients = [r for r in recipients if r in to]
    if document.direction != "outgoing" or not recipients:
        _refuse(session, actor, "document.takeback", document, TakeBackRefusedError(
            details={"reason": "not_sent"}), reason="not_sent")
    states = {r: takeback_state(_takeback_events(session, document, r)) for r in recipients}
    blocked = {r: s for r, s in states.items() if s in ("pending", "agreed")}
    if document.revoked_at is not None or blocked:
        _refuse(session, actor, "document.takeback", document, TakeBackRefusedError(
            details={"states": states, "revoked": document.revoked_at is not None}),
            states=states, revoked=document.revoked_at is not None)
    messages = []
    for recipient in recipients:
        original = next(m for m in sent if m.recipient_organ_id == recipient)
        status = StatusPackage(
            sender=xsvc._edxml_org(session.get(Organization, document.owner_organ_id),
                                   document.owner_organ_id, document.organ_name),
            response_for=edxml.ResponseFor(
                organ_id=recipient, code=document.number_notation or "",
                promulgation_date=document.issued_date, document_id=original.document_id),
            status_code="13", timestamp=now.astimezone(VN_TZ), description=reason,
            staff_info=edxml.StaffInfo(staff=actor.name[:100]) if actor.kind == "user" else None)
        data = edxml.build_status_package(status)
        edxml.validate_package(data, cfg.schemas, limits=cfg.limits)
        blob = xsvc._put(blobs, xsvc._sign(cfg, data))
        message = xsvc._new_message(
            session, cfg, kind="status", document_id=original.document_id,
            sender=document.owner_organ_id, recipient=recipient, origin="local", blob=blob,
            now=now, actor=actor, local_document_id=document.id, status_code="13")
        session.add(StatusEvent(local_document_id=document.id, document_id=original.document_id,
                                organ_id=recipient, code="13", description=reason, occurred_at=now,
                                recorded_at=now, direction="out", message_id=message.id,
                                recorded_by=actor.label))
        if message.delivery is not None and message.delivery.mode == "local":
            apply_takeback_request(session, message, status, now=now)
        messages.append(message)
    audit.record(session, actor, "document.takeback", object_type="document",
                 object_id=document.id, organ_id=document.owner_organ_id,
                 details={"code": "13", "reason": reason, "to": recipients,
                          "message_ids": [m.id for m in messages]})
    session.commit()
    return messages


def apply_takeback_request(session: Session, message: Message, status: StatusPackage, *,
                           now: dt.datetime) -> StatusEvent | None:
    """Record a sender's 13 on the incoming document it concerns (None when we have none)."""
    original = _received(session, document_id=status.response_for.document_id,
                         sender=status.sender.organ_id, recipient=message.recipient_organ_id)
    if original is None:
        return None
    message.delivered_document_id = original.delivered_document_id
    event = StatusEvent(
        local_document_id=original.delivered_document_id, document_id=original.document_id,
        organ_id=message.recipient_organ_id, code="13",
        description=(status.description or "")[:500] or None, occurred_at=status.timestamp or now,
        recorded_at=now, direction="in", message_id=message.id,
        recorded_by=f"organ:{status.sender.organ_id}")
    session.add(event)
    return event


def receive_takeback_request(session: Session, cfg: xsvc.ExchangeConfig, status: StatusPackage,
                             blob: tuple[str, str, int], actor: Actor,
                             now: dt.datetime) -> Message:
    """A linked system (the document's sender) submitted a 13: ``ResponseFor/OrganId`` names
    the recipient asked to give the document back. Hook of exchange._receive_status."""
    sender, recipient = status.sender.organ_id, status.response_for.organ_id
    sent = session.execute(select(Message).where(
        Message.kind == "edoc", Message.document_id == status.response_for.document_id,
        Message.sender_organ_id == sender, Message.recipient_organ_id == recipient,
    ).order_by(Message.created_at)).scalars().first() if recipient else None
    if sent is None:
        raise xsvc.UnknownDocumentError(details={"document_id": status.response_for.document_id,
                                                 "recipient": recipient or None})
    message = xsvc._new_message(
        session, cfg, kind="status", document_id=sent.document_id, sender=sender,
        recipient=recipient, origin="submitted", blob=blob, now=now, actor=actor,
        status_code="13")
    if message.delivery is not None and message.delivery.mode == "local":
        apply_takeback_request(session, message, status, now=now)
    return message


def answer_takeback(session: Session, blobs: BlobStore, cfg: xsvc.ExchangeConfig, *,
                    document_id: str, code: str, description: Any, actor: Actor,
                    now: dt.datetime | None = None) -> tuple[Document, Message]:
    """The receiver's clerk answers a pending 13: ``15`` agrees (the content is removed) or
    ``16`` refuses (reason required). Hook of exchange.report_status for codes 15 and 16."""
    now = now or utcnow()
    document = session.get(Document, document_id, with_for_update=True, populate_existing=True)
    if document is None or not can_read(actor, document):
        raise NotFoundError("Không tìm thấy văn bản.", "Document not found.",
                            details={"document_id": document_id})
    if not can_write(actor, document) or actor.kind == "system":
        deny(session, actor, "document.status", document=document)
    if description is not None and not isinstance(description, str):
        raise BadRequestError("description phải là văn bản.", "description must be text.")
    description = (description or "").strip()
    if code == "16" and not description:
        raise BadRequestError("Từ chối trả lại phải nêu lý do (description).",
                              "Refusing a take-back (16) needs a reason in description.")
    incoming = _received_by(session, document)
    if incoming is None or document.direction != "incoming":
        raise ConflictError("Văn bản không nhận qua trục liên thông.",
                            "The document was not received through the exchange.",
                            details={"document_id": document_id})
    events = _takeback_events(session, document, document.owner_organ_id)
    state = takeback_state(events)
    if state != "pending" or document.revoked_at is not None:
        _refuse(session, actor, "document.status", document, xsvc.StatusTransitionError(
            details={"current": state, "requested": code, "allowed_after": ["13"],
                     "revoked": document.revoked_at is not None}),
            current=state, requested=code)
    request = next(e for e in reversed(events) if e.code == "13")
    message = xsvc._report(session, blobs, cfg, document=document, incoming=incoming, code=code,
                           description=description or STATUS_CODES[code][0], actor=actor, now=now)
    audit.record(session, actor, "document.status", object_type="document", object_id=document.id,
                 content_sha256=message.sha256, organ_id=document.owner_organ_id,
                 details={"code": code, "message_id": message.id, "to": message.recipient_organ_id})
    if code == "15":
        withdraw(session, blobs, document, reason=request.description or description or "",
                 cause="takeback", actor=actor, now=now)
    session.commit()
    return document, message


def _received_by(session: Session, document: Document) -> Message | None:
    return session.execute(select(Message).where(
        Message.delivered_document_id == document.id, Message.kind == "edoc",
        or_(Message.bussiness_doc_type.is_(None), Message.bussiness_doc_type != REVOCATION),
    ).order_by(Message.created_at)).scalars().first()


# -- verifying received PDFs --------------------------------------------------------------------


def _verifier(cfg: xsvc.ExchangeConfig) -> Any:
    verifier = cfg.verifier
    return verifier() if callable(verifier) and not hasattr(verifier, "validate") else verifier


def verify_received(session: Session, blobs: BlobStore, cfg: xsvc.ExchangeConfig,
                    messages: Iterable[Message]) -> list[VerificationResult]:
    """Validate the PDF versions of the documents filed from ``messages`` (after their commit)
    and keep each verdict; any failure is logged and kept as INDETERMINATE. Never raises."""
    from docsvc.services import verification as vsvc

    if cfg.verifier is None:
        return []
    document_ids = list(dict.fromkeys(
        m.delivered_document_id for m in messages
        if m.kind == "edoc" and m.delivered_document_id and m.bussiness_doc_type != REVOCATION))
    results = []
    actor = Actor(kind="operator", name="exchange-receive", organ_id=None)
    for document_id in document_ids:
        document = session.get(Document, document_id)
        if document is None:
            continue
        versions = [(v.id, v.number, v.sha256, v.size, v.blob_key) for v in document.versions
                    if v.revoked_at is None and (v.media_type == "application/pdf"
                                                 or (v.filename or "").lower().endswith(".pdf"))]
        for version_id, number, sha256, size, key in versions:
            try:
                if not _looks_like_pdf(blobs, key):
                    continue  # not a PDF whatever its name says: no PDF signature to verify
                if size > cfg.verify_max_bytes:
                    raise VerificationSkipped(f"{size} bytes: larger than {cfg.verify_max_bytes} "
                                              "verified on receipt; verify it on demand")
                _, _, result = vsvc.verify_version(
                    session, blobs, _verifier(cfg), document_id=document_id, number=number,
                    actor=actor, source="api")
            except Exception as exc:  # noqa: BLE001 - a verdict is never worth losing a document
                session.rollback()
                if isinstance(exc, VerificationSkipped):
                    log.warning("received document %s version %s not verified: %s",
                                document_id, number, exc)
                else:
                    log.exception("verifying received document %s version %s failed",
                                  document_id, number)
                result = VerificationResult(
                    document_id=document_id, version_id=version_id, version_number=number,
                    sha256=sha256, verdict="INDETERMINATE",
                    sub_indication="TOO_LARGE" if isinstance(exc, VerificationSkipped)
                    else "VERIFICATION_ERROR",
                    signatures=[], report={"error": type(exc).__name__, "detail": str(exc)[:500]},
                    trust_fingerprint="", source="api", created_by=actor.label)
                session.add(result)
                session.commit()
            results.append(result)
    return results


class VerificationSkipped(Exception):
    """A received version is not verified on receipt (kept as INDETERMINATE)."""


def _looks_like_pdf(blobs: BlobStore, key: str) -> bool:
    with blobs.open(key) as stream:
        return b"%PDF-" in stream.read(1024)
