"""The upstream national axis: its configuration (one row), the axis side of each message sent
through it, and each package received from it (deduplicated by the axis's DocId)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from docsvc.models.registry import Base, utcnow

__all__ = ["AXIS_INBOUND_STATES", "AxisInbound", "AxisOutbound", "AxisSettings"]

AXIS_INBOUND_STATES = ("fetching", "filed", "refused", "acked")


class AxisSettings(Base):
    """How this instance reaches the axis (one row, id 1): endpoint, system id, sealed secret."""

    __tablename__ = "axis_settings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    endpoint: Mapped[str] = mapped_column(String(300))
    system_id: Mapped[str] = mapped_column(String(100))
    sealed_secret: Mapped[str] = mapped_column(Text)
    """The shared secret sealed with ``docsvc.vxp.auth.encrypt_secret`` (bound to the system id)."""
    from_code: Mapped[str | None] = mapped_column(String(100))
    """What goes in sendEdoc's ``from`` when not the sender's OrganId (some axes want the system id)."""
    enabled: Mapped[bool] = mapped_column(default=True)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_poll_at: Mapped[dt.datetime | None]
    last_ok_at: Mapped[dt.datetime | None]
    last_error: Mapped[str | None] = mapped_column(String(500))
    """The last operator-facing failure of a poll, send or directory sync (None when it worked)."""
    next_poll_at: Mapped[dt.datetime | None]
    """Back-off after failures: the next poll of the inbox is not before this."""
    poll_failures: Mapped[int] = mapped_column(Integer, default=0)
    directory_synced_at: Mapped[dt.datetime | None]
    directory_report: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class AxisOutbound(Base):
    """The axis side of a message sent through the axis (its delivery row has mode ``axis``)."""

    __tablename__ = "axis_outbound"

    message_id: Mapped[str] = mapped_column(ForeignKey("exchange_messages.id"), primary_key=True)
    axis_doc_id: Mapped[str | None] = mapped_column(String(100), index=True)
    """The ``DocId`` the axis gave on sendEdoc: kept, never sent again once known."""
    uncertain_since: Mapped[dt.datetime | None]
    """An attempt may have reached the axis without our knowing its DocId (timeout, garbage):
    the next attempt first looks for it in getSentEdocList."""
    send_status: Mapped[str | None] = mapped_column(String(40))
    receive_status: Mapped[str | None] = mapped_column(String(40))
    """The axis's delivery state for the recipient (getSentEdocList ``receiveStatus``)."""
    receive_status_desc: Mapped[str | None] = mapped_column(String(500))
    checked_at: Mapped[dt.datetime | None]
    next_check_at: Mapped[dt.datetime | None]


class AxisInbound(Base):
    """A package the axis listed for us: fetched, filed here, then acknowledged (or refused)."""

    __tablename__ = "axis_inbound"

    axis_doc_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    message_type: Mapped[str] = mapped_column(String(6))
    from_code: Mapped[str | None] = mapped_column(String(100))
    state: Mapped[str] = mapped_column(String(10), default="fetching")
    """``fetching`` (not filed yet), ``filed`` (committed, done not yet acknowledged),
    ``refused`` (fail not yet acknowledged), ``acked`` (the axis has our done/fail)."""
    ack_status: Mapped[str | None] = mapped_column(String(10))
    """``done`` or ``fail``: what we tell (or told) the axis."""
    sha256: Mapped[str | None] = mapped_column(String(64))
    message_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    reason: Mapped[str | None] = mapped_column(String(500))
    """Why the package was refused (sent with fail), or the last transient error."""
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)
