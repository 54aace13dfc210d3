"""Exchange models: edXML messages per recipient, their delivery state, transport events,
business statuses (QCVN 102 §4.3) and the idempotency keys of submissions.

One package is stored once as a blob; each recipient's ``Message`` points at it.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from docsvc.models.registry import Base, new_id, utcnow

__all__ = [
    "ACK_RESULTS",
    "DELIVERY_MODES",
    "DELIVERY_STATES",
    "MESSAGE_KINDS",
    "MESSAGE_ORIGINS",
    "DOCUMENT_LINK_KINDS",
    "Delivery",
    "DocumentLink",
    "IdempotencyKey",
    "Message",
    "PeerCredential",
    "StatusEvent",
    "TransportEvent",
]

MESSAGE_KINDS = ("edoc", "status")
MESSAGE_ORIGINS = ("local", "submitted", "pushed")
DELIVERY_MODES = ("pull", "push", "local", "axis")
DELIVERY_STATES = ("queued", "delivered", "failed", "expired")
ACK_RESULTS = ("received", "rejected")


class Message(Base):
    """One edXML package addressed to one organisation (the package bytes are shared)."""

    __tablename__ = "exchange_messages"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    kind: Mapped[str] = mapped_column(String(6))
    """``edoc`` (document package) or ``status`` (status package)."""
    document_id: Mapped[str] = mapped_column(String(200), index=True)
    """The edXML DocumentId (of the document itself, or the one a status reports on)."""
    local_document_id: Mapped[str | None] = mapped_column(ForeignKey("documents.id"), index=True)
    """The sender's document in our registry (sender hosted here): the document sent, or for a
    status the received document it reports on."""
    delivered_document_id: Mapped[str | None] = mapped_column(ForeignKey("documents.id"), index=True)
    """The recipient's document in our registry (recipient hosted here): the incoming document
    filed on receipt, or for a status the sent document it is about."""
    sender_organ_id: Mapped[str] = mapped_column(String(13))
    recipient_organ_id: Mapped[str] = mapped_column(String(13))
    origin: Mapped[str] = mapped_column(String(10))
    """``local`` (made here by a clerk or automatically), ``submitted`` (by a linked system)."""
    status_code: Mapped[str | None] = mapped_column(String(2))
    bussiness_doc_type: Mapped[int | None] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigInteger)
    content_sha256: Mapped[str | None] = mapped_column(String(64))
    """Document packages made here: SHA-256 of what the package says apart from to whom and when
    (header, attachments by SHA-256, BussinessDocType, reason); an update equal to the last
    package a recipient got is not sent again. None for status packages and received ones."""
    blob_key: Mapped[str] = mapped_column(String(200))
    trace: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    """The package's TraceHeaders: ``[{"organ_id", "timestamp"}]`` (hops before us)."""
    created_by: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    lease_until: Mapped[dt.datetime | None]
    """Hidden from the inbox until then after being listed; back when unacknowledged."""
    fetch_count: Mapped[int] = mapped_column(Integer, default=0)
    acked_at: Mapped[dt.datetime | None]
    ack_result: Mapped[str | None] = mapped_column(String(10))
    ack_reason: Mapped[str | None] = mapped_column(String(500))
    receipt: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    """The transport receipt given when the recipient acknowledged."""

    delivery: Mapped[Delivery | None] = relationship(back_populates="message", lazy="selectin")

    __table_args__ = (
        Index("ix_exchange_messages_inbox", "recipient_organ_id", "acked_at", "created_at", "id"),
    )


class Delivery(Base):
    """How and whether one message reached its recipient: the outbox row of a push, or the
    pull mailbox state (``queued`` until acknowledged)."""

    __tablename__ = "exchange_deliveries"

    message_id: Mapped[str] = mapped_column(ForeignKey("exchange_messages.id"), primary_key=True)
    mode: Mapped[str] = mapped_column(String(5))
    """``pull`` (the recipient's system fetches), ``push`` (to ``endpoint_url``), ``local``, ``axis``
    (sendEdoc to the national axis: ``AxisOutbound``)."""
    endpoint_url: Mapped[str | None] = mapped_column(String(300))
    state: Mapped[str] = mapped_column(String(10), default="queued")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime | None]
    last_error: Mapped[str | None] = mapped_column(String(500))
    delivered_at: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    message: Mapped[Message] = relationship(back_populates="delivery")

    __table_args__ = (Index("ix_exchange_deliveries_due", "state", "next_attempt_at"),)


class TransportEvent(Base):
    """Something that happened to a message in transport: created, listed, fetched, acknowledged."""

    __tablename__ = "exchange_transport_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    message_id: Mapped[str] = mapped_column(ForeignKey("exchange_messages.id"), index=True)
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    event: Mapped[str] = mapped_column(String(20))
    organ_id: Mapped[str | None] = mapped_column(String(13))
    """The organisation that acted (sender, fetching recipient …)."""
    sha256: Mapped[str | None] = mapped_column(String(64))
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class StatusEvent(Base):
    """One business status of a document at one receiving organisation (01 … 16)."""

    __tablename__ = "exchange_status_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    local_document_id: Mapped[str] = mapped_column(ForeignKey("documents.id"), index=True)
    document_id: Mapped[str] = mapped_column(String(200))
    """The edXML DocumentId."""
    organ_id: Mapped[str] = mapped_column(String(13))
    """The receiving organisation whose handling the status describes."""
    code: Mapped[str] = mapped_column(String(2))
    description: Mapped[str | None] = mapped_column(String(500))
    occurred_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    """The package's Timestamp (when the status happened)."""
    recorded_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    direction: Mapped[str] = mapped_column(String(3))
    """``in``: reported to us by a recipient; ``out``: reported by us on a document we received."""
    message_id: Mapped[str | None] = mapped_column(ForeignKey("exchange_messages.id"))
    recorded_by: Mapped[str | None] = mapped_column(String(100))


class IdempotencyKey(Base):
    """A submission's key: the same sender and key return the first receipt."""

    __tablename__ = "exchange_idempotency_keys"

    sender_organ_id: Mapped[str] = mapped_column(String(13), primary_key=True)
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64))
    receipt: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class PeerCredential(Base):
    """The token a peer docsvc instance gave us (it registered us as a linked system), sealed:
    the delivery worker presents it when pushing to that organisation's endpoint."""

    __tablename__ = "peer_credentials"

    organ_id: Mapped[str] = mapped_column(String(13), primary_key=True)
    """The peer organisation whose endpoint accepts this token."""
    sealed_token: Mapped[str] = mapped_column(Text)
    """Sealed by ``docsvc.sealing`` (purpose ``peer-token``); never in clear."""
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


DOCUMENT_LINK_KINDS = ("update", "replacement")


class DocumentLink(Base):
    """A document that updates (BussinessDocType 2) or replaces (3) an earlier one: an incoming
    document linked on receipt, or an outgoing one we sent as a replacement."""

    __tablename__ = "document_links"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    document_id: Mapped[str] = mapped_column(ForeignKey("documents.id"), index=True)
    """The new document."""
    kind: Mapped[str] = mapped_column(String(12))
    """``update`` or ``replacement``."""
    target_edxml_id: Mapped[str] = mapped_column(String(200))
    """The edXML DocumentId of the document updated or replaced."""
    target_document_id: Mapped[str | None] = mapped_column(ForeignKey("documents.id"), index=True)
    """That document in our registry (received, or for a replacement we sent, ours), else None."""
    message_id: Mapped[str | None] = mapped_column(ForeignKey("exchange_messages.id"))
    reason: Mapped[str | None] = mapped_column(String(500))
    """The BussinessDocReason of the update or replacement."""
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
