"""Messages between agencies: the row with its delivery (local, push or pull) and its transport
events, and the edXML package it points to, signed with the agency key and stored by its hash."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
from typing import Any

from sqlalchemy import or_
from sqlalchemy.orm import Session

from docsvc import exchange as edxml
from docsvc.models import Delivery, Message, Organization, TransportEvent, new_id
from docsvc.security import Actor
from docsvc.services import directory as dirsvc
from docsvc.services import wakeup
from docsvc.services.axis.routing import is_axis_routed
from docsvc.services.exchange.config import ExchangeConfig
from docsvc.storage import BlobStore


def not_revocation() -> Any:
    """Filter out revocation packages (BussinessDocType 1) from document messages."""
    return or_(Message.bussiness_doc_type.is_(None), Message.bussiness_doc_type != 1)


def iso(value: dt.datetime | None) -> str | None:
    """Return ``value`` in ISO 8601 UTC with a ``Z`` (None stays None)."""
    return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z") if value else None


def record_event(session: Session, message: Message, event: str, organ_id: str | None, *,
                 at: dt.datetime, **details: Any) -> None:
    """Add a transport event of ``message`` (created, listed, fetched, processing, acked)."""
    session.add(TransportEvent(message_id=message.id, at=at, event=event, organ_id=organ_id,
                               sha256=message.sha256, details=details))


def put(blobs: BlobStore, data: bytes) -> tuple[str, str, int]:
    """Store ``data`` under its SHA-256; return the blob key, the SHA-256 and the size."""
    sha256 = hashlib.sha256(data).hexdigest()
    info = blobs.put(io.BytesIO(data), sha256=sha256, size=len(data))
    return info.key, sha256, len(data)


def sign(cfg: ExchangeConfig, data: bytes) -> bytes:
    """Return the package with the agency's XML signature (as it is when no key is configured)."""
    if cfg.agency_key is None:
        return data
    return edxml.sign_package(data, cfg.agency_key.key, cfg.agency_key.chain, limits=cfg.limits)


def edxml_org(org: Organization | None, organ_id: str, fallback_name: str = "",
              fallback_address: str = "") -> edxml.Organization:
    """Return the edXML form of a directory entry (the fallbacks when it is not in the directory)."""
    if org is None:
        return edxml.Organization(organ_id=organ_id, organ_name=fallback_name or organ_id,
                                  organ_add=fallback_address or fallback_name or organ_id)
    return edxml.Organization(
        organ_id=org.organ_id, organ_name=org.name,
        organ_add=org.address or fallback_address or org.name,
        email=org.email or "", telephone=org.telephone or "",
    )


def new_message(session: Session, cfg: ExchangeConfig, *, kind: str, document_id: str,
                sender: str, recipient: str, origin: str, blob: tuple[str, str, int],
                now: dt.datetime, actor: Actor, local_document_id: str | None = None,
                status_code: str | None = None, doc_type: int | None = None,
                trace: list[dict[str, Any]] | None = None,
                content_sha256: str | None = None, like: Message | None = None) -> Message:
    """Add a message and its delivery row: local when the recipient is hosted here, axis when
    it is reached through the national axis (``services.axis.routing``), push when it has an
    endpoint, else pull. ``content_sha256``: see ``Message.content_sha256``.

    ``like``: the message this one follows up (a revocation, a take-back request) travels the
    way that one did, so it reaches the copy it concerns even if the recipient has since got
    users here (pull → hosted) or lost its endpoint (push → pull)."""
    key, sha256, size = blob
    message = Message(
        id=new_id(), kind=kind, document_id=document_id, local_document_id=local_document_id,
        sender_organ_id=sender, recipient_organ_id=recipient, origin=origin,
        status_code=status_code, bussiness_doc_type=doc_type, sha256=sha256, size=size,
        content_sha256=content_sha256, blob_key=key, trace=trace or [], created_by=actor.label,
        created_at=now, fetch_count=0,
    )
    session.add(message)
    target = session.get(Organization, recipient)
    followed = like.delivery.mode if like is not None and like.delivery is not None else None
    if followed == "local" or (followed is None
                               and dirsvc.is_hosted(session, recipient, cfg.local_organ_id)):
        delivery = Delivery(message=message, mode="local", state="delivered", delivered_at=now,
                            attempts=0)
        message.acked_at, message.ack_result = now, "received"
    elif followed == "axis" or (followed is None and not (target is not None and target.endpoint_url)
                                and is_axis_routed(session, recipient, target)):
        delivery = Delivery(message=message, mode="axis", state="queued", next_attempt_at=now,
                            attempts=0)
    elif followed != "pull" and target is not None and target.endpoint_url:
        delivery = Delivery(message=message, mode="push", endpoint_url=target.endpoint_url,
                            state="queued", next_attempt_at=now, attempts=0)
    else:
        delivery = Delivery(message=message, mode="pull", state="queued", attempts=0)
    session.add(delivery)
    if delivery.mode == "push":
        wakeup.announce(session)  # a listening worker looks at once when this commits
    record_event(session, message, "created", sender, at=now, origin=origin, mode=delivery.mode,
                 recipient=recipient)
    return message

