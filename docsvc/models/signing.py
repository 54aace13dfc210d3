"""Signing models: signer profiles (who signs, with which key and picture) and the record of
each signature applied to a document version.

Key material enters by upload: the PKCS#12 and its passphrase are stored sealed (AES-256-GCM
with a key derived from ``DOCSVC_SECRET_KEY``), the picture as validated PNG bytes, so every
instance reaches them. Token keys are named by a label the operator granted to the agency
(``SignerTokenGrant``); the PIN's file or variable is the operator's, never the API's. The path
columns remain for profiles the operator registered before (read on the operator's machine).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Integer, LargeBinary, String, Text, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from docsvc.models.registry import Base, DocumentVersion, utcnow

__all__ = ["KEY_SOURCES", "PROFILE_ROLES", "SignatureRecord", "SignerProfile", "SignerTokenGrant"]

PROFILE_ROLES = ("person", "agency")
KEY_SOURCES = ("pkcs12", "pkcs11")


class SignerProfile(Base):
    """A signer: the competent person or the agency, with a key source and appearance picture."""

    __tablename__ = "signer_profiles"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    """Chosen by the operator, e.g. ``demo-person``."""
    role: Mapped[str] = mapped_column(String(10))
    """``person`` (the competent person) or ``agency`` (the agency's seal key, held by clerks)."""
    organ_id: Mapped[str] = mapped_column(String(13), index=True)
    display_name: Mapped[str] = mapped_column(String(200))
    """The person's full name (searched on the page to place the signature) or the agency name."""
    position: Mapped[str | None] = mapped_column(String(100))
    username: Mapped[str | None] = mapped_column(String(64), index=True)
    """A person profile bound to this user: only they may sign with it."""
    key_source: Mapped[str] = mapped_column(String(10))
    p12_path: Mapped[str | None] = mapped_column(String(500))
    passphrase_file: Mapped[str | None] = mapped_column(String(500))
    passphrase_env: Mapped[str | None] = mapped_column(String(100))
    """Name of the environment variable holding the passphrase (never the passphrase)."""
    pkcs11_token_label: Mapped[str | None] = mapped_column(String(100))
    pkcs11_key_label: Mapped[str | None] = mapped_column(String(100))
    pkcs11_cert_label: Mapped[str | None] = mapped_column(String(100))
    pin_file: Mapped[str | None] = mapped_column(String(500))
    pin_env: Mapped[str | None] = mapped_column(String(100))
    chain_file: Mapped[str | None] = mapped_column(String(500))
    """PEM file of CA certificates to embed (tokens often hold only the signer's certificate)."""
    picture_path: Mapped[str | None] = mapped_column(String(500))
    """Blue signature picture (person) or red seal (agency), transparent PNG; demo default if empty."""
    p12_sealed: Mapped[str | None] = mapped_column(Text)
    """The uploaded PKCS#12, sealed (see the module docstring); never returned by any face."""
    passphrase_sealed: Mapped[str | None] = mapped_column(Text)
    """Its passphrase, sealed with the same key and bound to the profile id."""
    chain_pem: Mapped[str | None] = mapped_column(Text)
    """CA certificates to embed (PEM), uploaded or read once by the operator."""
    picture_png: Mapped[bytes | None] = mapped_column(LargeBinary)
    """The uploaded picture (PNG checked on upload); preferred over ``picture_path``."""
    certificate_override: Mapped[bool] = mapped_column(default=False, server_default=false())
    """The operator accepted a certificate whose organisation is not the profile's agency."""
    certificate_sha256: Mapped[str | None] = mapped_column(String(64))
    """Fingerprint of the certificate seen when the profile was added; a swapped key is refused."""
    certificate_subject: Mapped[str | None] = mapped_column(String(300))
    certificate_not_after: Mapped[dt.datetime | None]
    is_demo: Mapped[bool] = mapped_column(default=False)
    """Demo PKI material: refused when ``DOCSVC_ENV=production``."""
    active: Mapped[bool] = mapped_column(default=True)
    created_by: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class SignerTokenGrant(Base):
    """A PKCS#11 token the operator allowed one agency's administrators to name in a profile."""

    __tablename__ = "signer_token_grants"

    token_label: Mapped[str] = mapped_column(String(100), primary_key=True)
    organ_id: Mapped[str] = mapped_column(String(13), index=True)
    pin_file: Mapped[str | None] = mapped_column(String(500))
    """Where the operator keeps the token's PIN (a file on every instance) …"""
    pin_env: Mapped[str | None] = mapped_column(String(100))
    """… or the environment variable that holds it."""
    created_by: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class SignatureRecord(Base):
    """One signature applied by docsvc: which version it produced from which, by whom, how."""

    __tablename__ = "signature_records"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    document_id: Mapped[str] = mapped_column(ForeignKey("documents.id"), index=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("document_versions.id"), unique=True)
    """The new (signed) version."""
    based_on: Mapped[int] = mapped_column(Integer)
    """Number of the version that was signed; one signature per version (concurrency guard)."""
    role: Mapped[str] = mapped_column(String(10))
    """``person``, ``agency``, ``attachment`` or ``copy``."""
    profile_id: Mapped[str] = mapped_column(ForeignKey("signer_profiles.id"))
    level: Mapped[str] = mapped_column(String(6))
    requested_level: Mapped[str] = mapped_column(String(6))
    field_name: Mapped[str | None] = mapped_column(String(64))
    certificate_subject: Mapped[str | None] = mapped_column(String(300))
    certificate_sha256: Mapped[str | None] = mapped_column(String(64))
    signed_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    signed_by: Mapped[str] = mapped_column(String(100))

    version: Mapped[DocumentVersion] = relationship(lazy="joined")

    __table_args__ = (UniqueConstraint("document_id", "based_on"),)
