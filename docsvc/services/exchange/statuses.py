"""Statuses of a document: the clerk's report on a received one (02 … 06, or 15/16 answering a
take-back) in the order of the main flow, and what the sender sees: per recipient, and the trace."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from docsvc.errors import BadRequestError, ConflictError, NotFoundError, PermissionDeniedError
from docsvc.exchange import STATUS_CODES
from docsvc.models import Document, Message, StatusEvent, TransportEvent, utcnow
from docsvc.security import Actor, can_read
from docsvc.services import audit
from docsvc.services.documents import lock_for_write, register_document
from docsvc.services.exchange.config import ExchangeConfig
from docsvc.services.exchange.errors import StatusTransitionError
from docsvc.services.exchange.flows import answer_takeback
from docsvc.services.exchange.messages import iso, not_revocation
from docsvc.services.exchange.reports import description_text, received_by, report
from docsvc.storage import BlobStore

MAIN_FLOW = {"01": 1, "02": 2, "03": 2, "04": 3, "05": 4, "06": 5}
"""Rank of the main status flow 01 → 02|03 → 04 → 05 → 06; 13/15/16 are side flows."""
CLERK_CODES = ("02", "03", "04", "05", "06")
_ALLOWED_AFTER = {"02": {"01"}, "03": {"01"}, "04": {"03"}, "05": {"03", "04"},
                  "06": {"03", "04", "05"}}


def _current_code(events: Sequence[StatusEvent]) -> str | None:
    main = [e for e in events if e.code in MAIN_FLOW]
    if not main:
        return None
    return max(main, key=lambda e: (MAIN_FLOW[e.code], e.occurred_at, e.id or 0)).code


def report_status(
    session: Session, blobs: BlobStore, cfg: ExchangeConfig, *, document_id: str, code: Any,
    description: Any, actor: Actor, now: dt.datetime | None = None,
) -> tuple[Document, Message]:
    """Report the clerk's handling of a received document (02 reject … 06 finished) to its sender.

    03 also registers the document in the incoming register (số đến). A status that does not
    follow the current one raises StatusTransitionError (409) and is recorded as refused.
    """
    now = now or utcnow()
    document = lock_for_write(session, document_id, actor, "document.status", people_only=True)
    if code in ("15", "16"):  # the answer to a take-back request (13)
        return answer_takeback(session, blobs, cfg, document_id=document_id, code=code,
                               description=description, actor=actor, now=now)
    if code not in CLERK_CODES:
        raise BadRequestError(f"Mã trạng thái phải là một trong {', '.join(CLERK_CODES)}.",
                              f"code must be one of {', '.join(CLERK_CODES)}.", details={"code": code})
    description = description_text(description)
    if code == "02" and not description:
        raise BadRequestError("Từ chối phải nêu lý do (description).",
                              "A rejection (02) needs a reason in description.")
    incoming = received_by(session, document)
    if incoming is None or document.direction != "incoming":
        raise ConflictError("Văn bản không nhận qua trục liên thông.",
                            "The document was not received through the exchange.",
                            details={"document_id": document_id})
    events = session.execute(select(StatusEvent).where(
        StatusEvent.local_document_id == document.id, StatusEvent.direction == "out")).scalars().all()
    current = _current_code(events)
    revoked = document.revoked_at is not None  # content removed: no more handling
    if revoked or current not in _ALLOWED_AFTER[code]:
        session.rollback()
        audit.record(session, actor, "document.status", object_type="document",
                     object_id=document.id, organ_id=document.owner_organ_id, outcome="refused",
                     details={"current": current, "requested": code, "revoked": revoked})
        session.commit()
        raise StatusTransitionError(details={"current": current, "requested": code,
                                             "allowed_after": sorted(_ALLOWED_AFTER[code]),
                                             "revoked": revoked})
    message = report(session, blobs, cfg, document=document, incoming=incoming, code=code,
                     description=description or STATUS_CODES[code][0], actor=actor, now=now)
    audit.record(session, actor, "document.status", object_type="document", object_id=document.id,
                 content_sha256=message.sha256, organ_id=document.owner_organ_id,
                 details={"code": code, "message_id": message.id, "to": message.recipient_organ_id})
    if code == "03":
        register_document(session, document_id=document.id, actor=actor, zone=cfg.zone, now=now)
    else:
        session.commit()
    return document, message


def _status_to_dict(event: StatusEvent) -> dict[str, Any]:
    return {"code": event.code, "meaning": STATUS_CODES.get(event.code, ("", ""))[1],
            "description": event.description, "organ_id": event.organ_id,
            "direction": event.direction, "occurred_at": iso(event.occurred_at),
            "recorded_at": iso(event.recorded_at), "message_id": event.message_id}


def _delivery(message: Message) -> dict[str, Any] | None:
    delivery = message.delivery
    if delivery is None:
        return None
    out = {"mode": delivery.mode, "state": delivery.state, "attempts": delivery.attempts,
           "delivered_at": iso(delivery.delivered_at), "ack_result": message.ack_result,
           "ack_reason": message.ack_reason}
    if delivery.mode == "axis":
        from docsvc.services.axis.routing import axis_delivery

        out["last_error"] = delivery.last_error
        out["axis"] = axis_delivery(message)
    return out


def document_statuses(session: Session, *, document_id: str, actor: Actor) -> dict[str, Any]:
    """Return, per recipient, the delivery state, the latest status and the history.

    One entry per recipient, for the first package it got (new or replacement); the updates
    sent to it later (BussinessDocType 2) are listed in its ``updates``, revocations not at all.
    """
    document = _readable(session, document_id, actor)
    events = session.execute(select(StatusEvent).where(
        StatusEvent.local_document_id == document.id).order_by(
        StatusEvent.occurred_at, StatusEvent.id)).scalars().all()
    sent = session.execute(select(Message).where(
        Message.local_document_id == document.id, Message.kind == "edoc",
        Message.origin == "local", not_revocation()).order_by(
        Message.created_at, Message.recipient_organ_id, Message.id)).scalars().all()
    recipients: dict[str, dict[str, Any]] = {}
    for message in sent:
        row = recipients.get(message.recipient_organ_id)
        if row is not None:  # a later package to the same recipient: an update
            row["updates"].append({
                "message_id": message.id, "bussiness_doc_type": message.bussiness_doc_type,
                "created_at": iso(message.created_at), "sha256": message.sha256,
                "delivery": _delivery(message)})
            continue
        mine = [e for e in events if e.organ_id == message.recipient_organ_id and e.direction == "in"]
        latest = _current_code(mine)
        recipients[message.recipient_organ_id] = {
            "organ_id": message.recipient_organ_id, "message_id": message.id,
            "bussiness_doc_type": message.bussiness_doc_type or 0,
            "delivery": _delivery(message),
            "latest": next((_status_to_dict(e) for e in reversed(mine) if e.code == latest), None),
            "history": [_status_to_dict(e) for e in mine],
            "updates": [],
        }
    ours = [e for e in events if e.direction == "out"]
    return {"document_id": document.id, "recipients": list(recipients.values()),
            "reported": {"latest": _current_code(ours), "history": [_status_to_dict(e) for e in ours]}}


def _readable(session: Session, document_id: str, actor: Actor) -> Document:
    document = session.get(Document, document_id)
    if document is None or not can_read(actor, document):
        raise NotFoundError("Không tìm thấy văn bản.", "Document not found.",
                            details={"document_id": document_id})
    if actor.kind == "system":
        raise PermissionDeniedError("Hệ thống liên thông dùng hộp thư trao đổi.",
                                    "Linked systems use the exchange inbox.")
    return document


def document_trace(session: Session, *, document_id: str, actor: Actor) -> dict[str, Any]:
    """Return every hop, transport event and status of a document, in time order."""
    document = _readable(session, document_id, actor)
    messages = session.execute(select(Message).where(or_(
        Message.local_document_id == document.id,
        Message.delivered_document_id == document.id))).scalars().all()
    by_id = {m.id: m for m in messages}
    entries: list[dict[str, Any]] = []
    hops = set()
    for m in messages:
        for hop in m.trace or ():
            key = (hop.get("organ_id"), hop.get("timestamp"), m.sha256)
            if key not in hops:
                hops.add(key)
                entries.append({"type": "hop", "at": hop.get("timestamp"), "organ_id": key[0],
                                "sha256": m.sha256, "message_kind": m.kind})
    if by_id:
        for e in session.execute(select(TransportEvent).where(
                TransportEvent.message_id.in_(list(by_id))).order_by(TransportEvent.id)).scalars():
            m = by_id[e.message_id]
            entries.append({"type": "transport", "at": iso(e.at), "event": e.event,
                            "organ_id": e.organ_id, "message_id": m.id, "message_kind": m.kind,
                            "from": m.sender_organ_id, "to": m.recipient_organ_id,
                            "sha256": e.sha256, "details": e.details})
    for s in session.execute(select(StatusEvent).where(
            StatusEvent.local_document_id == document.id).order_by(StatusEvent.id)).scalars():
        entries.append({"type": "status", "at": iso(s.occurred_at), **_status_to_dict(s)})
    entries.sort(key=lambda e: e["at"] or "")
    return {"document_id": document.id, "events": entries}

