"""Status packages (QCVN 102 §4.3) between agencies: ours on a document we received, sent back to
its sender (``report``), and a recipient's on a document we sent, recorded here (``apply_status``).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from docsvc import exchange as edxml
from docsvc.errors import BadRequestError
from docsvc.exchange import VN_TZ, StatusPackage
from docsvc.models import Document, Message, Organization, StatusEvent
from docsvc.security import Actor
from docsvc.services.exchange.config import ExchangeConfig
from docsvc.services.exchange.messages import edxml_org, new_message, not_revocation, put, sign
from docsvc.storage import BlobStore


def report(session: Session, blobs: BlobStore, cfg: ExchangeConfig, *, document: Document,
           incoming: Message, code: str, description: str, actor: Actor,
           now: dt.datetime) -> Message:
    """Record our status on a received document and send it to its sender as a status package."""
    reporter = incoming.recipient_organ_id
    status = StatusPackage(
        sender=edxml_org(session.get(Organization, reporter), reporter),
        response_for=edxml.ResponseFor(
            organ_id=incoming.sender_organ_id, code=document.number_notation or "",
            promulgation_date=document.issued_date, document_id=incoming.document_id),
        status_code=code, timestamp=now.astimezone(VN_TZ), description=description,
        staff_info=edxml.StaffInfo(staff=actor.name[:100]) if actor.kind == "user" else None,
    )
    data = edxml.build_status_package(status)
    edxml.validate_package(data, cfg.schemas, limits=cfg.limits)
    blob = put(blobs, sign(cfg, data))
    message = new_message(session, cfg, kind="status", document_id=incoming.document_id,
                          sender=reporter, recipient=incoming.sender_organ_id, origin="local",
                          blob=blob, now=now, actor=actor, local_document_id=document.id,
                          status_code=code)
    session.add(StatusEvent(local_document_id=document.id, document_id=incoming.document_id,
                            organ_id=reporter, code=code, description=description[:500] or None,
                            occurred_at=now, recorded_at=now, direction="out",
                            message_id=message.id, recorded_by=actor.label))
    if message.delivery is not None and message.delivery.mode == "local":
        apply_status(session, message, status, now=now)
    return message


def apply_status(session: Session, message: Message, status: StatusPackage, *,
                 now: dt.datetime) -> StatusEvent | None:
    """Record a recipient's status on the document we sent it (None when we did not send it)."""
    sent = session.execute(select(Message).where(
        Message.kind == "edoc", Message.origin == "local",
        Message.document_id == status.response_for.document_id,
        Message.recipient_organ_id == status.sender.organ_id,
    ).order_by(Message.created_at)).scalars().first()
    if sent is None or sent.local_document_id is None:
        return None
    message.delivered_document_id = sent.local_document_id
    event = StatusEvent(
        local_document_id=sent.local_document_id, document_id=sent.document_id,
        organ_id=status.sender.organ_id, code=status.status_code,
        description=(status.description or "")[:500] or None,
        occurred_at=status.timestamp or now, recorded_at=now, direction="in",
        message_id=message.id, recorded_by=f"organ:{status.sender.organ_id}")
    session.add(event)
    return event



def description_text(value: Any) -> str:
    """The description a clerk gives with a status: text, stripped ('' when none)."""
    if value is not None and not isinstance(value, str):
        raise BadRequestError("description phải là văn bản.", "description must be text.")
    return (value or "").strip()


def received_by(session: Session, document: Document) -> Message | None:
    """The document package (not a revocation) through which ``document`` was received."""
    return session.execute(select(Message).where(
        Message.delivered_document_id == document.id, Message.kind == "edoc",
        not_revocation()).order_by(Message.created_at)).scalars().first()
