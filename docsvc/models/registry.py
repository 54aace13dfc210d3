"""Registry models: documents, their append-only versions and the outgoing / incoming
registers, with the small pure rules that belong to them.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.sql.expression import false

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

DIRECTIONS = ("outgoing", "incoming")
SECRECY_LEVELS = ("none", "mat", "toi_mat", "tuyet_mat")
VERSION_KINDS = ("original", "repaired", "signed", "attachment")
REGISTERS = ("outgoing", "outgoing_secret", "incoming")


def utcnow() -> dt.datetime:
    """Return the current time, timezone-aware in UTC."""
    return dt.datetime.now(dt.UTC)


def new_id() -> str:
    """Return a new random public identifier."""
    return str(uuid.uuid4())


class UTCDateTime(TypeDecorator[dt.datetime]):
    """A timestamp that is always timezone-aware UTC in Python, whatever the database keeps."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):  # type: ignore[no-untyped-def]
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC) if value is not None else None

    def process_result_value(self, value, dialect):  # type: ignore[no-untyped-def]
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC) if value is not None else None


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {dt.datetime: UTCDateTime(), dict[str, Any]: JSON}


class Document(Base):
    """An official document with its Phụ lục VI metadata (Nghị định 30/2020)."""

    __tablename__ = "documents"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    direction: Mapped[str] = mapped_column(String(10))
    owner_organ_id: Mapped[str] = mapped_column(String(13), index=True)
    """Agency whose registry holds the document (the issuer for outgoing, the receiver for incoming)."""
    status: Mapped[str] = mapped_column(String(16), default="draft")
    """``draft`` until registered, then ``registered``."""

    organ_id: Mapped[str] = mapped_column(String(13), index=True)
    organ_name: Mapped[str] = mapped_column(String(200))
    type_name: Mapped[str] = mapped_column(String(100))
    type_abbr: Mapped[str | None] = mapped_column(String(10))
    code_number: Mapped[str | None] = mapped_column(String(11))
    code_notation: Mapped[str | None] = mapped_column(String(30))
    issued_date: Mapped[dt.date | None] = mapped_column(Date)
    place: Mapped[str | None] = mapped_column(String(100))
    subject: Mapped[str] = mapped_column(String(500))
    language: Mapped[str | None] = mapped_column(String(30))
    signer_competence: Mapped[str | None] = mapped_column(String(200))
    """The competence line(s) as printed ("TL. CHỦ TỊCH\nKT. CHÁNH VĂN PHÒNG"); see
    ``metadata.competence_prefix`` for the machine prefix."""
    signer_position: Mapped[str | None] = mapped_column(String(100))
    signer_name: Mapped[str | None] = mapped_column(String(50))
    priority: Mapped[int] = mapped_column(Integer, default=0)
    secrecy: Mapped[str] = mapped_column(String(10), default="none")
    due_date: Mapped[dt.date | None] = mapped_column(Date)
    page_amount: Mapped[int | None] = mapped_column(Integer)
    issued_amount: Mapped[int | None] = mapped_column(Integer)
    description: Mapped[str | None] = mapped_column(String(500))
    file_catalog: Mapped[int | None] = mapped_column(Integer)
    file_notation: Mapped[str | None] = mapped_column(String(20))
    doc_ordinal: Mapped[int | None] = mapped_column(Integer)
    recipients: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)
    joint_organs: Mapped[list[dict[str, str]] | None] = mapped_column(JSON, default=list)
    """Văn bản liên tịch: the other issuing agencies (``organ_id`` is the owner's)."""
    to_places: Mapped[list[str]] = mapped_column(JSON, default=list)
    references: Mapped[list[str]] = mapped_column(JSON, default=list)
    """Number/notation of documents this one refers to, e.g. ``168/TB-UBND``."""
    arrival_date: Mapped[dt.date | None] = mapped_column(Date)
    arrival_number: Mapped[int | None] = mapped_column(Integer)
    """Số đến: the number in the incoming register."""

    search_text: Mapped[str] = mapped_column(Text, default="")
    """Subject and number/notation folded to lowercase ASCII, for diacritic-blind search."""
    created_by: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    registered_at: Mapped[dt.datetime | None]
    revoked_at: Mapped[dt.datetime | None]
    """Outgoing: when we revoked it (BussinessDocType 1); incoming: when its content was removed
    on a revocation or an agreed take-back (15). The metadata and evidence stay."""
    revoked_reason: Mapped[str | None] = mapped_column(String(500))

    versions: Mapped[list[DocumentVersion]] = relationship(
        back_populates="document", order_by="DocumentVersion.number", lazy="selectin"
    )

    __table_args__ = (
        Index("ix_documents_created", "created_at", "id"),
        Index("ix_documents_code", "code_number", "code_notation", "organ_id"),
    )

    @property
    def number_notation(self) -> str | None:
        """Return ``185/TB-UBND`` style số/ký hiệu, or None before numbering."""
        if not self.code_number:
            return None
        return f"{self.code_number}/{self.code_notation}" if self.code_notation else self.code_number

    @property
    def file_versions(self) -> list[DocumentVersion]:
        """Return the versions of the document's main file (original, then signed), oldest first."""
        return [v for v in self.versions if v.kind != "attachment"]

    @property
    def attachments(self) -> list[DocumentVersion]:
        """Return the files that came with the document (phụ lục): not versions of it."""
        return [v for v in self.versions if v.kind == "attachment"]

    @property
    def latest_version(self) -> DocumentVersion:
        """Return the newest version of the main file (never an attachment)."""
        files = self.file_versions
        return files[-1] if files else self.versions[-1]

    @property
    def is_secret(self) -> bool:
        """Tell whether the document is classified (Mật, Tối mật, Tuyệt mật)."""
        return self.secrecy != "none"


class DocumentVersion(Base):
    """One immutable state of a document's file: the original, then signed versions."""

    __tablename__ = "document_versions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    document_id: Mapped[str] = mapped_column(ForeignKey("documents.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(16))
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    size: Mapped[int] = mapped_column(BigInteger)
    media_type: Mapped[str] = mapped_column(String(100))
    filename: Mapped[str | None] = mapped_column(String(255))
    blob_key: Mapped[str] = mapped_column(String(200))
    created_by: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[dt.datetime | None]
    """Set when the content was removed (revocation): the row, hash and size stay as evidence,
    the bytes are deleted unless another row still uses them."""

    document: Mapped[Document] = relationship(back_populates="versions")

    __table_args__ = (UniqueConstraint("document_id", "number"),)


class RegisterCounter(Base):
    """The last number handed out by one register of one agency in one calendar year.

    The row is locked (``SELECT … FOR UPDATE``) while a number is taken, so numbers stay
    unique and gapless under concurrent registration.
    """

    __tablename__ = "register_counters"

    organ_id: Mapped[str] = mapped_column(String(13), primary_key=True)
    register: Mapped[str] = mapped_column(String(16), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_number: Mapped[int] = mapped_column(Integer, default=0)


class RegisterEntry(Base):
    """One line of the outgoing (sổ văn bản đi) or incoming (sổ văn bản đến) register."""

    __tablename__ = "register_entries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    organ_id: Mapped[str] = mapped_column(String(13))
    register: Mapped[str] = mapped_column(String(16))
    year: Mapped[int] = mapped_column(Integer)
    number: Mapped[int] = mapped_column(Integer)
    document_id: Mapped[str] = mapped_column(ForeignKey("documents.id"))
    registered_on: Mapped[dt.date] = mapped_column(Date)
    registered_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    registered_by: Mapped[str | None] = mapped_column(String(100))
    imported: Mapped[bool] = mapped_column(default=False, server_default=false())
    """Entered with the number already printed on it (paper received, or a document issued
    before this system); not handed out by the counter."""

    document: Mapped[Document] = relationship(lazy="joined")

    __table_args__ = (
        UniqueConstraint("organ_id", "register", "year", "number"),
        UniqueConstraint("register", "document_id"),
    )


def format_code_number(number: int) -> str:
    """Write a số as Nghị định 30 does: numbers below 10 with a leading zero (``05``)."""
    return f"{number:02d}"


def register_for(direction: str, secrecy: str) -> str:
    """Return the register a document is numbered in: secret documents have their own."""
    if direction == "incoming":
        return "incoming"
    return "outgoing_secret" if secrecy != "none" else "outgoing"
