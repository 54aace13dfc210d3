"""Identity, directory and audit models: people, linked systems, tokens, organisations and
the audit hash chain.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String, Text, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from docsvc.models.registry import SECRECY_LEVELS, Base, utcnow

ROLES = ("clerk", "signer", "auditor", "admin")


class Organization(Base):
    """An agency of the directory (QĐ 20/2020 OrganId), with its place in the hierarchy."""

    __tablename__ = "organizations"

    organ_id: Mapped[str] = mapped_column(String(13), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    parent_id: Mapped[str | None] = mapped_column(String(13), index=True)
    address: Mapped[str | None] = mapped_column(String(300))
    email: Mapped[str | None] = mapped_column(String(100))
    telephone: Mapped[str | None] = mapped_column(String(50))
    endpoint_url: Mapped[str | None] = mapped_column(String(300))
    """Set when the agency runs its own docsvc and is reached by push; else it pulls."""
    zip_attachments: Mapped[bool] = mapped_column(default=False, server_default=false())
    """Send it packages whose attachments are each zipped like the official SDK (else raw)."""
    origin: Mapped[str | None] = mapped_column(String(10))
    """``axis`` for an entry synchronised from the national axis (never for one made here)."""
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class User(Base):
    """A person: clerk, signer, auditor or administrator of one agency."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    full_name: Mapped[str] = mapped_column(String(100), default="")
    organ_id: Mapped[str] = mapped_column(String(13), index=True)
    roles: Mapped[list[str]] = mapped_column(JSON, default=list)
    clearance: Mapped[str] = mapped_column(String(10), default="none")
    """Highest secrecy level the person may read (none, mat, toi_mat, tuyet_mat)."""
    audits_subordinates: Mapped[bool] = mapped_column(default=False)
    """An auditor granted the organisations below their own in the directory."""
    password_hash: Mapped[str | None] = mapped_column(String(200))
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[dt.datetime | None]
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class LinkedSystem(Base):
    """Another agency's document system that acts for one organisation."""

    __tablename__ = "linked_systems"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    organ_id: Mapped[str] = mapped_column(String(13), index=True)
    name: Mapped[str] = mapped_column(String(200))
    client_cert_sha256: Mapped[str | None] = mapped_column(String(64))
    """Fingerprint of the TLS client certificate the system must present, when pinned."""
    xml_signing_cert: Mapped[str | None] = mapped_column(Text)
    """PEM certificate that verifies the system's XML signatures, when pinned."""
    vxp_system_id: Mapped[str | None] = mapped_column(String(100), unique=True)
    """``XroadVnpt-systemid`` the system sends through the national axis SDK (VXP face)."""
    vxp_secret_sealed: Mapped[str | None] = mapped_column(Text)
    """The SDK's shared secret, sealed by ``docsvc.sealing`` (purpose ``vxp-secret``): HMAC needs it whole."""
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class ApiToken(Base):
    """A bearer token of a person or a linked system; only its SHA-256 is kept."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    """The first characters of the token, to recognise it in lists without revealing it."""
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    system_id: Mapped[int | None] = mapped_column(ForeignKey("linked_systems.id"), index=True)
    label: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime | None]
    revoked_at: Mapped[dt.datetime | None]
    last_used_at: Mapped[dt.datetime | None]

    user: Mapped[User | None] = relationship(lazy="joined")
    system: Mapped[LinkedSystem | None] = relationship(lazy="joined")


class LoginThrottle(Base):
    """Failed password logins of one name from one source: five in a row lock that pair (not
    the account) for a while, so a stranger cannot lock out a named person, and unknown names
    behave exactly like real ones."""

    __tablename__ = "login_throttle"

    username: Mapped[str] = mapped_column(String(64), primary_key=True)
    source: Mapped[str] = mapped_column(String(64), primary_key=True)
    """The client address (after the trusted proxy), ``cli`` or empty."""
    failures: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[dt.datetime | None]
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class WebSession(Base):
    """A browser session on the server side: the signed cookie names it, logout ends it, so a
    copied cookie is worthless after logout."""

    __tablename__ = "web_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    """SHA-256 of the random session id the cookie carries."""
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    ended_at: Mapped[dt.datetime | None]


class AuditEntry(Base):
    """One link of the audit hash chain: ``entry_hash = SHA-256(prev_hash ‖ canonical fields)``."""

    __tablename__ = "audit_entries"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(100))
    actor_kind: Mapped[str] = mapped_column(String(10))
    organ_id: Mapped[str | None] = mapped_column(String(13))
    action: Mapped[str] = mapped_column(String(40))
    object_type: Mapped[str | None] = mapped_column(String(20))
    object_id: Mapped[str | None] = mapped_column(String(64), index=True)
    content_sha256: Mapped[str | None] = mapped_column(String(64))
    outcome: Mapped[str] = mapped_column(String(10))
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    prev_hash: Mapped[str] = mapped_column(String(64))
    entry_hash: Mapped[str] = mapped_column(String(64), unique=True)


class AuditAnchor(Base):
    """The chain head at one moment, RFC 3161-timestamped when a TSA is configured: entries up
    to ``seq`` cannot be removed or rewritten later without the anchor showing it."""

    __tablename__ = "audit_anchors"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    seq: Mapped[int] = mapped_column(Integer, index=True)
    entry_hash: Mapped[str] = mapped_column(String(64))
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    tsa_url: Mapped[str | None] = mapped_column(String(300))
    token_der_base64: Mapped[str | None] = mapped_column(Text)
    """The TSA's TimeStampToken over SHA-256 = ``entry_hash`` (imprint is the hash itself)."""


class AuditHead(Base):
    """The one row that names the last entry; locked while appending, so the chain is a line."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, default=0)
    entry_hash: Mapped[str] = mapped_column(String(64))


SECRECY_ORDER = {level: rank for rank, level in enumerate(SECRECY_LEVELS)}
