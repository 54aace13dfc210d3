"""The pull side for linked systems: list (and lease) the messages addressed to their
organisation, fetch the bytes, note processing, acknowledge with a receipt; and what they sent."""

from __future__ import annotations

import base64
import datetime as dt
from typing import Any, BinaryIO

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from docsvc.errors import BadRequestError, NotFoundError, PermissionDeniedError
from docsvc.models import Delivery, Message, utcnow
from docsvc.security import Actor
from docsvc.services import audit
from docsvc.services.exchange.config import ExchangeConfig, make_receipt
from docsvc.services.exchange.errors import AckConflictError
from docsvc.services.exchange.messages import iso, record_event
from docsvc.storage import BlobStore, read_verified


def system_only(actor: Actor) -> str:
    """Return the caller's OrganId; raise PermissionDeniedError unless it is a linked system."""
    if actor.kind != "system" or not actor.organ_id:
        raise PermissionDeniedError("Chỉ hệ thống liên thông dùng hộp thư trao đổi.",
                                    "Only linked systems use the exchange mailbox.")
    return actor.organ_id


def message_to_dict(message: Message) -> dict[str, Any]:
    """Return the inbox form of a message."""
    return {"id": message.id, "kind": message.kind, "document_id": message.document_id,
            "sender": message.sender_organ_id, "recipient": message.recipient_organ_id,
            "status_code": message.status_code, "sha256": message.sha256, "size": message.size,
            "created_at": iso(message.created_at), "lease_until": iso(message.lease_until)}


def _cursor(message: Message) -> str:
    raw = f"{message.created_at.astimezone(dt.UTC).isoformat()}|{message.id}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[dt.datetime, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        stamp, message_id = raw.split("|", 1)
        return dt.datetime.fromisoformat(stamp), message_id
    except (ValueError, UnicodeDecodeError):
        raise BadRequestError("Tham số after không hợp lệ.", "Invalid 'after' cursor.",
                              details={"after": cursor}) from None


def inbox(
    session: Session, cfg: ExchangeConfig, *, actor: Actor, after: str | None = None,
    limit: int = 50, now: dt.datetime | None = None, kind: str | None = None,
) -> tuple[list[Message], str | None]:
    """List unacknowledged messages for the caller's organisation, oldest first, and lease them:
    a listed message is hidden until ``cfg.lease`` passes unless it is acknowledged.
    ``kind`` (``edoc``/``status``) lists, and leases, only messages of that kind."""
    organ_id = system_only(actor)
    now = now or utcnow()
    stmt = (select(Message).join(Delivery)
            .where(Message.recipient_organ_id == organ_id, Message.acked_at.is_(None),
                   Delivery.mode == "pull",
                   or_(Message.lease_until.is_(None), Message.lease_until <= now)))
    if kind is not None:
        stmt = stmt.where(Message.kind == kind)
    if after:
        created, message_id = _decode_cursor(after)
        stmt = stmt.where(or_(Message.created_at > created,
                              and_(Message.created_at == created, Message.id > message_id)))
    stmt = (stmt.order_by(Message.created_at, Message.id).limit(limit + 1)
            .with_for_update(of=Message, skip_locked=True))
    rows = list(session.execute(stmt).scalars())
    page = rows[:limit]
    for message in page:
        message.lease_until = now + cfg.lease
        record_event(session, message, "listed", organ_id, at=now, lease_until=iso(message.lease_until))
    session.commit()
    return page, _cursor(page[-1]) if len(rows) > limit else None


def count_unacknowledged(session: Session, *, actor: Actor, kind: str | None = None) -> int:
    """Return how many pull messages addressed to the caller await acknowledgement (leased too)."""
    organ_id = system_only(actor)
    stmt = (select(func.count()).select_from(Message).join(Delivery)
            .where(Message.recipient_organ_id == organ_id, Message.acked_at.is_(None),
                   Delivery.mode == "pull"))
    if kind is not None:
        stmt = stmt.where(Message.kind == kind)
    return int(session.execute(stmt).scalar_one())


def sent_messages(
    session: Session, *, actor: Actor, kind: str | None = None, message_id: str | None = None,
    limit: int = 500,
) -> list[Message]:
    """Return the messages the caller's organisation sent, newest first; with ``message_id``,
    only those of the same sending (same package, same moment: one per recipient)."""
    organ_id = system_only(actor)
    stmt = select(Message).where(Message.sender_organ_id == organ_id)
    if kind is not None:
        stmt = stmt.where(Message.kind == kind)
    if message_id is not None:
        anchor = session.get(Message, message_id)
        if anchor is None or anchor.sender_organ_id != organ_id:
            return []
        stmt = stmt.where(Message.sha256 == anchor.sha256, Message.created_at == anchor.created_at)
    stmt = stmt.order_by(Message.created_at.desc(), Message.id).limit(limit)
    return list(session.execute(stmt).scalars())


def note_processing(
    session: Session, *, message_id: str, actor: Actor, description: str = "",
    now: dt.datetime | None = None,
) -> Message:
    """Record that the recipient's system is handling a message (no acknowledgement yet)."""
    organ_id = system_only(actor)
    message = _addressed(session, message_id, organ_id)
    if message.acked_at is None:
        record_event(session, message, "processing", organ_id, at=now or utcnow(),
                     description=description[:500] or None)
    session.commit()
    return message


def _addressed(session: Session, message_id: str, organ_id: str, *, lock: bool = False) -> Message:
    stmt = select(Message).where(Message.id == message_id)
    if lock:
        stmt = stmt.with_for_update()
    message = session.execute(stmt).scalar_one_or_none()
    if message is None or message.recipient_organ_id != organ_id:
        raise NotFoundError("Không tìm thấy gói tin.", "Message not found.",
                            details={"message_id": message_id})
    return message


def fetch_message(
    session: Session, blobs: BlobStore, *, message_id: str, actor: Actor,
    now: dt.datetime | None = None,
) -> tuple[Message, BinaryIO]:
    """Return a message addressed to the caller and its edXML bytes (hash-checked)."""
    organ_id = system_only(actor)
    message = _addressed(session, message_id, organ_id)
    stream = read_verified(blobs, message.blob_key)
    message.fetch_count += 1
    record_event(session, message, "fetched", organ_id, at=now or utcnow(), count=message.fetch_count)
    session.commit()
    return message, stream


def ack_message(
    session: Session, cfg: ExchangeConfig, *, message_id: str, result: Any, reason: Any,
    actor: Actor, now: dt.datetime | None = None,
) -> dict[str, Any]:
    """Acknowledge transport of a message (``received`` or ``rejected``); a repeat returns the
    first receipt, a repeat with the other result raises AckConflictError."""
    organ_id = system_only(actor)
    message = _addressed(session, message_id, organ_id, lock=True)
    if result not in ("received", "rejected"):
        raise BadRequestError('result phải là "received" hoặc "rejected".',
                              'result must be "received" or "rejected".', details={"result": result})
    if reason is not None and not isinstance(reason, str):
        raise BadRequestError("reason phải là văn bản.", "reason must be text.")
    if message.acked_at is not None:
        session.rollback()
        if message.ack_result != result:
            raise AckConflictError(details={"ack_result": message.ack_result})
        return message.receipt or {}
    if result == "rejected" and not (reason or "").strip():
        raise BadRequestError("Từ chối phải nêu lý do (reason).", "A rejection needs a reason.")
    now = now or utcnow()
    message.acked_at, message.ack_result = now, result
    message.ack_reason = (reason or "").strip()[:500] or None
    message.lease_until = None
    if message.delivery is not None:
        message.delivery.state = "delivered" if result == "received" else "failed"
        message.delivery.delivered_at = now if result == "received" else None
        message.delivery.last_error = message.ack_reason if result == "rejected" else None
    message.receipt = make_receipt(cfg, {
        "type": "ack", "message_id": message.id, "sha256": message.sha256, "size": message.size,
        "document_id": message.document_id, "from": message.sender_organ_id, "to": organ_id,
        "result": result, "reason": message.ack_reason, "acknowledged_at": iso(now),
    })
    record_event(session, message, "acked", organ_id, at=now, result=result, reason=message.ack_reason)
    audit.record(session, actor, "exchange.ack", object_type="message", object_id=message.id,
                 content_sha256=message.sha256, organ_id=organ_id, details={"result": result})
    session.commit()
    return message.receipt
