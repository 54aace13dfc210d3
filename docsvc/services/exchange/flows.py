"""Side flows a sender's clerk starts (QCVN 102 §4.2–§4.3): update, revocation and take-back.

- **Update** (BussinessDocType 2): a sent document is sent again, with the same edXML DocumentId,
  to its recipients (or some of them), e.g. after its metadata or file was corrected; a receiver
  files it as a new incoming document linked to the first (``arrival``). A recipient whose last
  package says the same (``sending.content_fingerprint``: same metadata, files, type and reason)
  gets nothing new, so a repeated update is harmless.
- **Revocation** (BussinessDocType 1): each recipient of a sent document gets a revocation package
  through the ordinary send path (what a receiver hosted here does with it: ``arrival``).
- **Take-back**: the sender's clerk asks with status **13** (reason required); the receiver's
  clerk answers **15** (agree: the content is removed as on a revocation) or **16** (refuse,
  reason required). An answer without a pending request, or a request while one is pending or
  after the document was withdrawn, is refused (409) and recorded in the audit trail.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from docsvc import exchange as edxml
from docsvc.errors import BadRequestError, ConflictError
from docsvc.exchange import STATUS_CODES, VN_TZ, StatusPackage
from docsvc.models import Document, Message, Organization, StatusEvent, utcnow
from docsvc.security import Actor
from docsvc.services import audit
from docsvc.services.documents import lock_for_write, refuse
from docsvc.services.exchange.arrival import (
    REVOCATION,
    UPDATE,
    accept,
    family,
    received,
    verify_received,
)
from docsvc.services.exchange.config import ExchangeConfig
from docsvc.services.exchange.errors import (
    DocumentNotSendableError,
    NotRevocableError,
    NotUpdatableError,
    StatusTransitionError,
    TakeBackRefusedError,
    UnknownDocumentError,
)
from docsvc.services.exchange.messages import edxml_org, iso, new_message, put, sign
from docsvc.services.exchange.reports import description_text, received_by, report
from docsvc.services.exchange.sending import (
    content_fingerprint,
    dispatch,
    document_package,
    got_it,
    packages_details,
    sent_messages_of,
    signature_state,
)
from docsvc.services.exchange.withdrawal import withdraw
from docsvc.storage import BlobStore

TAKEBACK_CODES = ("13", "15", "16")


# -- small helpers ------------------------------------------------------------------------------


def _reason(value: Any, *, field: str = "reason") -> str:
    if not isinstance(value, str) or not value.strip():
        raise BadRequestError(f"Cần nêu lý do ({field}).", f"A reason is required ({field}).",
                              details={field: value})
    return value.strip()[:500]


def takeback_events(session: Session, document: Document, organ_id: str) -> list[StatusEvent]:
    """The 13/15/16 events of ``document`` with ``organ_id``, in the order they were recorded
    (what ``takeback_state`` decides on)."""
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


# -- update, sender side ------------------------------------------------------------------------


@dataclass(frozen=True)
class UpdateResult:
    messages: tuple[Message, ...]
    """Per recipient asked: the update created now, or the last package it got (unchanged)."""
    created: tuple[str, ...]
    """Recipients to whom an update was sent now."""
    unchanged: tuple[str, ...]
    """Recipients whose last package already says the same (nothing sent)."""
    content_sha256: str
    """``sending.content_fingerprint`` of the update."""
    package_sha256s: tuple[str, ...]
    """The packages built now (raw, zipped attachments): empty when nothing was sent."""
    signed: bool


def update_document(session: Session, blobs: BlobStore, cfg: ExchangeConfig, *,
                    document_id: str, reason: Any, to: Any = None, actor: Actor,
                    now: dt.datetime | None = None) -> UpdateResult:
    """Send a sent document again as an update (BussinessDocType 2, same edXML DocumentId, the
    current metadata and latest version) to its recipients, or those in ``to``.

    A recipient whose last package has the same ``content_fingerprint`` (nothing changed since,
    same reason) and was not refused in transport gets nothing. Raises NotFoundError,
    PermissionDeniedError, BadRequestError (no reason; ``to`` not a list of recipients),
    NotUpdatableError (409, recorded: not sent, revoked, latest version not signed …).
    """
    now = now or utcnow()
    document = lock_for_write(session, document_id, actor, "document.update", people_only=True)
    reason = _reason(reason)
    if to is not None and (not isinstance(to, list) or not to
                           or not all(isinstance(x, str) for x in to)):
        raise BadRequestError('"to" phải là danh sách mã định danh cơ quan.',
                              '"to" must be a list of OrganIds.', details={"to": to})
    sent = sent_messages_of(session, document)
    signed = signature_state(session, document)
    problems = []
    if document.direction != "outgoing":
        problems.append("not_outgoing")
    elif not sent:
        problems.append("not_sent")
    if document.revoked_at is not None:
        problems.append("revoked")
    if document.status != "registered":
        problems.append("not_registered")
    if not signed["sendable"]:
        problems.append("not_signed_by_person_and_agency")
    if document.is_secret:
        problems.append("secret_document")
    if problems:
        refuse(session, actor, "document.update", document,
                NotUpdatableError(details={"reasons": problems, "signatures": signed}),
                reasons=problems)
    recipients = list(dict.fromkeys(m.recipient_organ_id for m in sent))
    if to is not None:
        wanted = list(dict.fromkeys(x.strip() for x in to))
        strangers = [x for x in wanted if x not in recipients]
        if strangers:
            raise BadRequestError("Văn bản chưa gửi cho các cơ quan này.",
                                  "The document was not sent to these organisations.",
                                  details={"not_recipients": strangers})
        recipients = wanted
    edxml_id = sent[0].document_id  # the update keeps the DocumentId the recipients know
    try:
        base = document_package(session, blobs, document, recipients, now)
    except ValueError as exc:
        raise DocumentNotSendableError(details={"reason": str(exc)}) from None
    whole = dataclasses.replace(
        base, header=dataclasses.replace(base.header, document_id=edxml_id),
        bussiness=edxml.Bussiness(
            doc_type=UPDATE, reason=reason, document_id=edxml_id,
            document_info=edxml.BussinessDocumentInfo(document_info=1, document_receiver=0)))
    content = content_fingerprint(whole)
    last: dict[str, Message] = {}
    for message in sent:  # oldest first: the last package each recipient got wins
        last[message.recipient_organ_id] = message
    unchanged = [r for r in recipients
                 if last[r].content_sha256 == content and got_it(last[r])]
    todo = [r for r in recipients if r not in unchanged]
    if not todo:
        session.commit()  # release the row lock
        return UpdateResult(tuple(last[r] for r in recipients), (), tuple(unchanged), content,
                            (), False)
    if len(todo) < len(recipients):
        whole = dataclasses.replace(whole, header=dataclasses.replace(whole.header, recipients=tuple(
            o for o in whole.header.recipients if o.organ_id in todo)))
    built, created = dispatch(session, blobs, cfg, document=document, whole=whole,
                              recipients=todo, now=now, actor=actor)
    audit.record(session, actor, "document.update", object_type="document",
                 object_id=document.id, content_sha256=built[0].blob[1],
                 organ_id=document.owner_organ_id,
                 details={"reason": reason, "document_id": edxml_id, "to": todo,
                          "unchanged": unchanged, "content_sha256": content,
                          "message_ids": [m.id for m in created],
                          "signed_xml": cfg.agency_key is not None,
                          "packages": packages_details(built)})
    session.commit()
    verify_received(session, blobs, cfg, created)
    by_recipient = {m.recipient_organ_id: m for m in created}
    return UpdateResult(tuple(by_recipient.get(r) or last[r] for r in recipients), tuple(todo),
                        tuple(unchanged), content, tuple(b.blob[1] for b in built),
                        cfg.agency_key is not None)


# -- revocation, sender side --------------------------------------------------------------------


def revoke_document(session: Session, blobs: BlobStore, cfg: ExchangeConfig, *,
                    document_id: str, reason: Any, actor: Actor,
                    now: dt.datetime | None = None) -> list[Message]:
    """Revoke a sent document: one revocation package (BussinessDocType 1) per recipient.

    Idempotent per recipient (a recipient already sent a revocation gets none again). Raises
    NotFoundError, PermissionDeniedError, BadRequestError (no reason), NotRevocableError (409).
    """
    now = now or utcnow()
    document = lock_for_write(session, document_id, actor, "document.revoke",
                              people_only=True)
    reason = _reason(reason)
    sent = sent_messages_of(session, document)
    if document.direction != "outgoing" or not sent:
        refuse(session, actor, "document.revoke", document, NotRevocableError(
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
        try:
            base = document_package(session, blobs, document, [recipient], now,
                                    with_files=False)
        except ValueError as exc:
            raise DocumentNotSendableError(details={"reason": str(exc)}) from None
        # the header names the DocumentId the recipient knows, whatever was corrected since
        package = dataclasses.replace(
            base,
            header=dataclasses.replace(base.header, document_id=original.document_id),
            bussiness=edxml.Bussiness(doc_type=REVOCATION, reason=reason,
                                      document_id=original.document_id))
        data = edxml.build_document_package(package)
        edxml.validate_package(data, cfg.schemas, limits=cfg.limits)
        blob = put(blobs, sign(cfg, data))
        trace = [{"organ_id": t.organ_id, "timestamp": iso(t.timestamp)}
                 for t in package.trace_headers]
        message = new_message(
            session, cfg, kind="edoc", document_id=original.document_id,
            sender=document.owner_organ_id, recipient=recipient, origin="local", blob=blob,
            now=now, actor=actor, local_document_id=document.id, doc_type=REVOCATION, trace=trace,
            like=original)
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


def request_takeback(session: Session, blobs: BlobStore, cfg: ExchangeConfig, *,
                     document_id: str, reason: Any, to: Any = None, actor: Actor,
                     now: dt.datetime | None = None) -> list[Message]:
    """Ask the recipients (all, or those in ``to``) to give a sent document back: status 13.

    Raises BadRequestError (no reason, ``to`` not recipients), TakeBackRefusedError (409, and
    recorded) when a request is pending, the recipient agreed already or the document was
    revoked.
    """
    now = now or utcnow()
    document = lock_for_write(session, document_id, actor, "document.takeback",
                              people_only=True)
    reason = _reason(reason)
    sent = sent_messages_of(session, document)
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
        refuse(session, actor, "document.takeback", document, TakeBackRefusedError(
            details={"reason": "not_sent"}), reason="not_sent")
    states = {r: takeback_state(takeback_events(session, document, r)) for r in recipients}
    blocked = {r: s for r, s in states.items() if s in ("pending", "agreed")}
    if document.revoked_at is not None or blocked:
        refuse(session, actor, "document.takeback", document, TakeBackRefusedError(
            details={"states": states, "revoked": document.revoked_at is not None}),
            states=states, revoked=document.revoked_at is not None)
    messages = []
    for recipient in recipients:
        original = next(m for m in sent if m.recipient_organ_id == recipient)
        status = StatusPackage(
            sender=edxml_org(session.get(Organization, document.owner_organ_id),
                             document.owner_organ_id, document.organ_name),
            response_for=edxml.ResponseFor(
                organ_id=recipient, code=document.number_notation or "",
                promulgation_date=document.issued_date, document_id=original.document_id),
            status_code="13", timestamp=now.astimezone(VN_TZ), description=reason,
            staff_info=edxml.StaffInfo(staff=actor.name[:100]) if actor.kind == "user" else None)
        data = edxml.build_status_package(status)
        edxml.validate_package(data, cfg.schemas, limits=cfg.limits)
        blob = put(blobs, sign(cfg, data))
        message = new_message(
            session, cfg, kind="status", document_id=original.document_id,
            sender=document.owner_organ_id, recipient=recipient, origin="local", blob=blob,
            now=now, actor=actor, local_document_id=document.id, status_code="13", like=original)
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
    original = received(session, document_id=status.response_for.document_id,
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
    audit.record(session, Actor(kind="system", name="exchange", organ_id=message.recipient_organ_id),
                 "exchange.takeback_request", object_type="document",
                 object_id=original.delivered_document_id, content_sha256=message.sha256,
                 organ_id=message.recipient_organ_id,
                 details={"message_id": message.id, "from": status.sender.organ_id,
                          "reason": (status.description or "")[:500]})
    return event


def receive_takeback_request(session: Session, cfg: ExchangeConfig, status: StatusPackage,
                             blob: tuple[str, str, int], actor: Actor,
                             now: dt.datetime) -> Message:
    """A linked system (the document's sender) submitted a 13: ``ResponseFor/OrganId`` names
    the recipient asked to give the document back. Hook of receiving._receive_status."""
    sender, recipient = status.sender.organ_id, status.response_for.organ_id
    sent = session.execute(select(Message).where(
        Message.kind == "edoc", Message.document_id == status.response_for.document_id,
        Message.sender_organ_id == sender, Message.recipient_organ_id == recipient,
    ).order_by(Message.created_at)).scalars().first() if recipient else None
    if sent is None:
        raise UnknownDocumentError(details={"document_id": status.response_for.document_id,
                                            "recipient": recipient or None})
    message = new_message(
        session, cfg, kind="status", document_id=sent.document_id, sender=sender,
        recipient=recipient, origin="submitted", blob=blob, now=now, actor=actor,
        status_code="13", like=sent)
    if message.delivery is not None and message.delivery.mode == "local":
        apply_takeback_request(session, message, status, now=now)
    return message


def answer_takeback(session: Session, blobs: BlobStore, cfg: ExchangeConfig, *,
                    document_id: str, code: str, description: Any, actor: Actor,
                    now: dt.datetime | None = None) -> tuple[Document, Message]:
    """The receiver's clerk answers a pending 13: ``15`` agrees (the content is removed) or
    ``16`` refuses (reason required). Hook of statuses.report_status for codes 15 and 16."""
    now = now or utcnow()
    document = lock_for_write(session, document_id, actor, "document.status", people_only=True)
    description = description_text(description)
    if code == "16" and not description:
        raise BadRequestError("Từ chối trả lại phải nêu lý do (description).",
                              "Refusing a take-back (16) needs a reason in description.")
    incoming = received_by(session, document)
    if incoming is None or document.direction != "incoming":
        raise ConflictError("Văn bản không nhận qua trục liên thông.",
                            "The document was not received through the exchange.",
                            details={"document_id": document_id})
    events = takeback_events(session, document, document.owner_organ_id)
    state = takeback_state(events)
    if state != "pending" or document.revoked_at is not None:
        refuse(session, actor, "document.status", document, StatusTransitionError(
            details={"current": state, "requested": code, "allowed_after": ["13"],
                     "revoked": document.revoked_at is not None}),
            current=state, requested=code)
    request = next(e for e in reversed(events) if e.code == "13")
    message = report(session, blobs, cfg, document=document, incoming=incoming, code=code,
                     description=description or STATUS_CODES[code][0], actor=actor, now=now)
    audit.record(session, actor, "document.status", object_type="document", object_id=document.id,
                 content_sha256=message.sha256, organ_id=document.owner_organ_id,
                 details={"code": code, "message_id": message.id, "to": message.recipient_organ_id})
    if code == "15":
        # the updates received since carry the same content: they go too
        for target in family(session, document, incoming):
            withdraw(session, blobs, target, reason=request.description or description or "",
                     cause="takeback", actor=actor, now=now)
    session.commit()
    return document, message


