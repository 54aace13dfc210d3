"""Registry use cases: upload a document, register it (which numbers it), find it, read it.

Each write use case is one unit of work: bytes go to the blob store first, then one
``commit()`` records the rows that point to them.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import mimetypes
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, BinaryIO, NoReturn
from zoneinfo import ZoneInfo

from sqlalchemy import and_, func, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from docsvc.db import has_writes
from docsvc.errors import (
    BadRequestError,
    ConflictError,
    ContentRevokedError,
    NotFoundError,
    PermissionDeniedError,
)
from docsvc.filenames import safe_filename
from docsvc.metadata import Metadata, check_issuing_body, fold, search_text
from docsvc.models import (
    SECRECY_ORDER,
    Document,
    DocumentVersion,
    RegisterCounter,
    RegisterEntry,
    format_code_number,
    new_id,
    register_for,
)
from docsvc.pdf import DEFAULT_MAX_PAGES, PDF_MEDIA_TYPE, inspect_pdf, is_signable, repair_pdf
from docsvc.security import (
    Actor,
    can_create_in,
    can_read,
    can_read_registers,
    can_write,
    is_cleared_for,
    readable_organs,
)
from docsvc.services import audit
from docsvc.storage import BlobStore, hash_stream, read_verified

SYNC_INDEX_PAGES = 30
"""Uploads up to this many pages have their text indexed at once; larger ones in the background."""


@dataclass(frozen=True)
class Warning_:
    """A problem the clerk should see but that does not stop the action."""

    code: str
    message: str
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON form."""
        return {"code": self.code, "message": self.message, "details": self.details}


@dataclass(frozen=True)
class DocumentQuery:
    """Filters of the registry listing; ``after`` is the opaque cursor of the previous page."""

    q: str | None = None
    type_name: str | None = None
    direction: str | None = None
    issued_from: dt.date | None = None
    issued_to: dt.date | None = None
    organ_id: str | None = None
    owner_organ_id: str | None = None
    after: str | None = None
    limit: int = 50


def store_version(
    session: Session,
    blobs: BlobStore,
    document: Document,
    stream: BinaryIO,
    *,
    kind: str,
    filename: str | None,
    actor: Actor,
    sha256: str,
    size: int,
    media_type: str = PDF_MEDIA_TYPE,
) -> DocumentVersion:
    """Write the bytes to the store, then add (not commit) the version row that points to them."""
    stream.seek(0)
    info = blobs.put(stream, sha256=sha256, size=size)
    number = len(document.versions) + 1
    version = DocumentVersion(
        document=document, number=number, kind=kind, sha256=sha256, size=size,
        media_type=media_type, filename=safe_filename(filename) if filename else None,
        blob_key=info.key, created_by=actor.label,
    )
    session.add(version)
    return version


def upload_document(
    session: Session,
    blobs: BlobStore,
    *,
    stream: BinaryIO,
    filename: str | None,
    metadata: Metadata,
    owner_organ_id: str,
    actor: Actor,
    max_pages: int = DEFAULT_MAX_PAGES,
    attachments: Sequence[tuple[BinaryIO, str | None]] = (),
) -> tuple[Document, list[Warning_]]:
    """Create a draft document from a PDF and its metadata, with its annexes (phụ lục:
    ``attachments`` as (stream, filename), any file type, stored as the document's attachments).

    The file is opened as the signer opens it. When that reader refuses it but qpdf can
    repair it (a scanner's or Pillow's slightly wrong cross-reference table), the repaired
    copy is stored as the working version (kind ``repaired``) after the original.

    Raises ``PermissionDeniedError`` (not a clerk of ``owner_organ_id``),
    ``UnsupportedMediaTypeError`` (not a PDF), ``InvalidPdfError`` (damaged),
    ``UnsignablePdfError`` (the signer cannot read it, even repaired),
    ``StorageUnavailableError`` (nothing is committed then).
    """
    if not can_create_in(actor, owner_organ_id):
        deny(session, actor, "document.upload", organ_id=owner_organ_id)
    check_issuing_body(metadata, owner_organ_id)
    hashed = getattr(stream, "sha256", None)  # an api.uploads.HashingSpool hashed it already
    size = getattr(stream, "size", None)
    known = (hashed, size) if isinstance(hashed, str) and isinstance(size, int) else None
    info = inspect_pdf(stream, known=known, max_pages=max_pages)
    refused = None if info.encrypted else is_signable(stream)
    repaired = repair_pdf(stream) if refused is not None else None
    fields = {k: getattr(metadata, k) for k in Metadata.__dataclass_fields__ if k != "owner_organ_id"}
    document = Document(
        id=new_id(),
        owner_organ_id=owner_organ_id,
        status="draft",
        search_text=search_text(metadata.subject, metadata.code_number, metadata.code_notation),
        created_by=actor.label,
        **fields,
    )
    if document.page_amount is None:
        document.page_amount = info.page_count or None
    document.versions = []
    session.add(document)
    store_version(
        session, blobs, document, stream, kind="original", filename=filename, actor=actor,
        sha256=info.sha256, size=info.size,
    )
    for annex, annex_name in attachments:
        digest, size = hashlib.sha256(), 0
        annex.seek(0)
        while chunk := annex.read(1 << 20):
            digest.update(chunk)
            size += len(chunk)
        store_version(session, blobs, document, annex, kind="attachment", filename=annex_name,
                      actor=actor, sha256=digest.hexdigest(), size=size,
                      media_type=mimetypes.guess_type(annex_name or "")[0]
                      or "application/octet-stream")
    warnings = duplicate_warnings(session, document)
    if repaired is not None:
        with repaired:
            sha256, size = hash_stream(repaired)
            store_version(session, blobs, document, repaired, kind="repaired",
                          filename=_repaired_name(filename), actor=actor, sha256=sha256,
                          size=size)
        warnings.append(Warning_(
            "pdf_repaired",
            "Tệp PDF có lỗi cấu trúc nhỏ; đã lưu bản sửa (qpdf) làm bản làm việc để ký số, "
            "bản gốc vẫn được giữ. / The PDF had small structural errors; a repaired copy "
            "(qpdf) is the working version for signing, the original is kept.",
            {"reason": refused, "repaired_sha256": sha256}))
    from docsvc.services import search

    search.index_metadata(session, document)
    if not info.encrypted and (info.page_count or 0) <= SYNC_INDEX_PAGES:
        search.index_version(session, document.id, 1, stream)  # larger ones: a background job
    if info.encrypted:
        warnings.append(Warning_("encrypted_pdf", "Tệp PDF được mã hóa: không ký số được. / "
                                 "The PDF is encrypted: it cannot be signed."))
    audit.record(session, actor, "document.upload", object_type="document", object_id=document.id,
                 content_sha256=info.sha256, organ_id=owner_organ_id,
                 details={"size": info.size, "warnings": [w.code for w in warnings],
                          **({"attachments": len(attachments)} if attachments else {})})
    session.commit()
    return document, warnings


def _repaired_name(filename: str | None) -> str:
    stem = (filename or "document.pdf").rsplit(".", 1)[0]
    return f"{stem}.repaired.pdf"


def duplicate_warnings(session: Session, document: Document) -> list[Warning_]:
    """Warn when another document has the same number, notation and issuing body (same year)."""
    if not document.code_number:
        return []
    stmt = select(Document.id, Document.issued_date).where(
        Document.code_number == document.code_number,
        Document.code_notation == document.code_notation,
        Document.organ_id == document.organ_id,
        Document.id != document.id,
    )
    year = document.issued_date.year if document.issued_date else None
    same = [
        doc_id for doc_id, issued in session.execute(stmt)
        if year is None or issued is None or issued.year == year
    ]
    if not same:
        return []
    return [Warning_(
        "duplicate_number",
        f"Trùng số, ký hiệu và cơ quan ban hành: {document.number_notation} của "
        f"{document.organ_name}. / Duplicate number, notation and issuing body.",
        {"document_ids": same},
    )]


def deny(session: Session, actor: Actor, action: str, *, document: Document | None = None,
         organ_id: str | None = None) -> NoReturn:
    """Record a refused action, then raise ``PermissionDeniedError``.

    Call it before the use case writes anything: it ends the caller's transaction (which holds
    only reads and row locks) and commits the record alone; after writes it raises
    ``RuntimeError`` instead of discarding them. (The record cannot go through a session of its
    own while the caller's transaction is open: SQLite transactions begin IMMEDIATE, one writer.)
    """
    _end_read_only(session, action)
    audit.record(session, actor, action, object_type="document" if document else None,
                 object_id=document.id if document else None, outcome="denied",
                 organ_id=organ_id or (document.owner_organ_id if document else None))
    session.commit()
    raise PermissionDeniedError()


def refuse(session: Session, actor: Actor, action: str, document: Document, error: Exception,
           **details: Any) -> NoReturn:
    """Record the refused action in the trail, then raise ``error`` (before any write: see deny)."""
    _end_read_only(session, action)
    audit.record(session, actor, action, object_type="document", object_id=document.id,
                 organ_id=document.owner_organ_id, outcome="refused", details=details)
    session.commit()
    raise error


def _end_read_only(session: Session, action: str) -> None:
    """End a transaction that only read and locked; refuse to throw away a caller's writes."""
    if has_writes(session):
        raise RuntimeError(f"{action}: a refusal after writes would discard them; refuse first")
    session.rollback()


def _not_found(document_id: str) -> NotFoundError:
    return NotFoundError("Không tìm thấy văn bản.", "Document not found.",
                         details={"document_id": document_id})


def readable_document(session: Session, document_id: str, actor: Actor) -> Document:
    """Return the document the actor may read, or raise ``NotFoundError`` (existence not revealed).

    A read of a secret document is recorded in the audit trail, in the caller's transaction:
    the use case that reads commits it (``get_document``, ``open_version``, ``history``).
    """
    document = session.get(Document, document_id)
    if document is None or not can_read(actor, document):
        raise _not_found(document_id)
    if document.is_secret:
        audit.record(session, actor, "document.read_secret", object_type="document",
                     object_id=document.id, organ_id=document.owner_organ_id,
                     details={"secrecy": document.secrecy})
    return document


def get_document(session: Session, document_id: str, actor: Actor) -> Document:
    """Return the document the actor may read (``readable_document``); the read of a secret
    document is committed to the trail, any other read commits nothing."""
    document = readable_document(session, document_id, actor)
    if document.is_secret:
        session.commit()
    return document


def lock_for_write(session: Session, document_id: str, actor: Actor, action: str, *,
                   people_only: bool = False) -> Document:
    """Return the document locked until commit when the actor may change it.

    ``NotFoundError`` when the actor may not even read it (existence not revealed); a recorded
    ``PermissionDeniedError`` when it may read but not change it (or is a linked system and
    ``people_only`` says only people act here).
    """
    document = session.get(Document, document_id, with_for_update=True, populate_existing=True)
    if document is None or not can_read(actor, document):
        raise _not_found(document_id)
    if not can_write(actor, document) or (people_only and actor.kind == "system"):
        deny(session, actor, action, document=document)
    return document


def _taken(session: Session, organ_id: str, register: str, year: int) -> set[int]:
    return set(session.execute(select(RegisterEntry.number).where(
        RegisterEntry.organ_id == organ_id, RegisterEntry.register == register,
        RegisterEntry.year == year)).scalars())


def _lock_counter(session: Session, organ_id: str, register: str, year: int) -> RegisterCounter:
    """Return the counter of a register, its row locked until commit."""
    dialect = session.get_bind().dialect.name
    row = {"organ_id": organ_id, "register": register, "year": year, "last_number": 0}
    if dialect == "postgresql":
        session.execute(postgresql.insert(RegisterCounter).values(row).on_conflict_do_nothing())
    elif dialect == "sqlite":
        session.execute(sqlite.insert(RegisterCounter).values(row).on_conflict_do_nothing())
    else:
        raise NotImplementedError(f"register numbering on {dialect}")
    return session.execute(
        select(RegisterCounter)
        .where(RegisterCounter.organ_id == organ_id, RegisterCounter.register == register,
               RegisterCounter.year == year)
        .with_for_update()
    ).scalar_one()


def _next_number(session: Session, organ_id: str, register: str, year: int) -> int:
    """Take the next number of a register, holding its counter row locked until commit.

    Numbers entered with their printed value (imported) are skipped, never handed out twice.
    """
    counter = _lock_counter(session, organ_id, register, year)
    taken = _taken(session, organ_id, register, year)
    counter.last_number += 1
    while counter.last_number in taken:
        counter.last_number += 1
    return counter.last_number


def peek_number(session: Session, organ_id: str, register: str, year: int) -> int:
    """Return the number the register would give next, taking nothing (issuance signs with it,
    then claims it with :func:`claim_number`)."""
    last = session.execute(select(RegisterCounter.last_number).where(
        RegisterCounter.organ_id == organ_id, RegisterCounter.register == register,
        RegisterCounter.year == year)).scalar_one_or_none() or 0
    taken = _taken(session, organ_id, register, year)
    number = last + 1
    while number in taken:
        number += 1
    return number


def claim_number(session: Session, organ_id: str, register: str, year: int, number: int) -> bool:
    """Take ``number`` if it is still the next one (counter locked until commit); else False."""
    counter = _lock_counter(session, organ_id, register, year)
    taken = _taken(session, organ_id, register, year)
    expected = counter.last_number + 1
    while expected in taken:
        expected += 1
    if expected != number:
        return False
    counter.last_number = number
    return True


def enter_in_register(session: Session, document: Document, *, register: str, year: int,
                      number: int, now: dt.datetime, today: dt.date, actor: Actor,
                      imported: bool = False) -> None:
    """Number an outgoing document and add its register line (not committed)."""
    document.code_number = format_code_number(number)
    document.issued_date = today if not imported else (document.issued_date or today)
    document.search_text = search_text(document.subject, document.code_number,
                                       document.code_notation)
    document.status = "registered"
    document.registered_at = now
    session.add(RegisterEntry(
        organ_id=document.owner_organ_id, register=register, year=year, number=number,
        document_id=document.id, registered_on=today, registered_at=now,
        registered_by=actor.label, imported=imported,
    ))


class NumberTakenError(ConflictError):
    code = "number_taken"
    message_vi = "Số này đã có trong sổ văn bản của năm; không đăng ký trùng số."
    message_en = "This number is already in the register of the year; it is not used twice."


def import_numbered(session: Session, *, document_id: str, actor: Actor, number: Any,
                    zone: ZoneInfo, now: dt.datetime | None = None
                    ) -> tuple[Document, list[Warning_]]:
    """Enter an already-numbered outgoing document with its printed number (imported), in the
    register of the year of its date; refuse a number already used (409 ``number_taken``)."""
    if isinstance(number, str) and number.isascii() and number.isdigit() and len(number) < 8:
        number = int(number)
    if not isinstance(number, int) or isinstance(number, bool) or not 0 < number < 10**7:
        raise BadRequestError(details={"fields": [{"field": "number",
                                                   "message": "the printed number, 1 or more"}]})
    document = lock_for_write(session, document_id, actor, "document.register")
    if document.status == "registered" or document.direction != "outgoing":
        session.rollback()
        raise ConflictError("Chỉ nhập số cho văn bản đi chưa đăng ký.",
                            "Only an unregistered outgoing document takes a printed number.",
                            details={"status": document.status, "direction": document.direction})
    now = now or dt.datetime.now(dt.UTC)
    today = now.astimezone(zone).date()
    year = document.issued_date.year if document.issued_date else today.year
    register = register_for(document.direction, document.secrecy)
    _lock_counter(session, document.owner_organ_id, register, year)
    if number in _taken(session, document.owner_organ_id, register, year):
        refuse(session, actor, "document.register", document,
               NumberTakenError(details={"number": number, "year": year, "register": register}),
               number=number, year=year)
    enter_in_register(session, document, register=register, year=year, number=number, now=now,
                      today=today, actor=actor, imported=True)
    session.flush()
    warnings = duplicate_warnings(session, document)
    audit.record(session, actor, "document.register", object_type="document",
                 object_id=document.id, content_sha256=document.latest_version.sha256,
                 organ_id=document.owner_organ_id,
                 details={"register": register, "year": year, "number": number,
                          "imported": True})
    session.commit()
    return document, warnings


def register_document(
    session: Session, *, document_id: str, actor: Actor, zone: ZoneInfo,
    now: dt.datetime | None = None,
) -> tuple[Document, list[Warning_]]:
    """Enter the document in its register and give it its number; registering twice is a no-op.

    Outgoing documents get the next số of their agency's outgoing register for the year (secret
    ones from their own sequence); incoming documents get the next số đến and today's ngày đến.
    """
    document = lock_for_write(session, document_id, actor, "document.register")
    if document.status == "registered":
        session.commit()  # release the row lock; the number stays what it was
        return document, []
    now = now or dt.datetime.now(dt.UTC)
    today = now.astimezone(zone).date()
    register = register_for(document.direction, document.secrecy)
    number = _next_number(session, document.owner_organ_id, register, today.year)
    warnings: list[Warning_] = []
    if document.direction == "incoming":
        document.arrival_number = number
        document.arrival_date = today
    else:
        assigned = format_code_number(number)
        if document.code_number and document.code_number != assigned:
            warnings.append(Warning_(
                "code_number_replaced",
                f"Số {document.code_number} đã được thay bằng số của sổ văn bản đi: {assigned}. / "
                f"Number {document.code_number} replaced by the register's number {assigned}.",
                {"previous": document.code_number, "assigned": assigned},
            ))
        document.code_number = assigned
        document.issued_date = document.issued_date or today
        document.search_text = search_text(document.subject, document.code_number,
                                           document.code_notation)
    document.status = "registered"
    document.registered_at = now
    session.add(RegisterEntry(
        organ_id=document.owner_organ_id, register=register, year=today.year, number=number,
        document_id=document.id, registered_on=today, registered_at=now, registered_by=actor.label,
    ))
    session.flush()
    warnings.extend(duplicate_warnings(session, document))
    from docsvc.services import search

    search.index_metadata(session, document)  # the number is new
    audit.record(session, actor, "document.register", object_type="document", object_id=document.id,
                 content_sha256=document.latest_version.sha256, organ_id=document.owner_organ_id,
                 details={"register": register, "year": today.year, "number": number})
    session.commit()
    return document, warnings


def encode_cursor(document: Document) -> str:
    """Return the opaque cursor that continues a listing after ``document``."""
    raw = f"{document.created_at.isoformat()}|{document.id}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[dt.datetime, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        stamp, doc_id = raw.split("|", 1)
        return dt.datetime.fromisoformat(stamp), doc_id
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadRequestError("Tham số after không hợp lệ.", "Invalid 'after' cursor.",
                              details={"after": cursor}) from exc


def list_documents(
    session: Session, query: DocumentQuery, actor: Actor
) -> tuple[Sequence[Document], str | None]:
    """Return one page of the documents the actor may read, newest first, and the next cursor."""
    stmt = select(Document)
    if actor.kind != "operator":
        if actor.kind == "system":
            raise PermissionDeniedError(
                "Hệ thống liên thông nhận văn bản qua hộp thư trao đổi, không qua sổ đăng ký.",
                "Linked systems receive documents through the exchange inbox, not the registry.")
        visible_levels = [lvl for lvl, rank in SECRECY_ORDER.items()
                          if rank <= SECRECY_ORDER.get(actor.clearance, 0)]
        stmt = stmt.where(Document.owner_organ_id.in_(sorted(readable_organs(actor))),
                          Document.secrecy.in_(visible_levels))
    if query.q:
        for word in fold(query.q).split():
            escaped = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            stmt = stmt.where(Document.search_text.like(f"%{escaped}%", escape="\\"))
    if query.type_name:
        from docsvc.metadata import resolve_type

        resolved = resolve_type(query.type_name)
        stmt = stmt.where(Document.type_name == (resolved[0] if resolved else query.type_name))
    if query.direction:
        stmt = stmt.where(Document.direction == query.direction)
    if query.issued_from:
        stmt = stmt.where(Document.issued_date >= query.issued_from)
    if query.issued_to:
        stmt = stmt.where(Document.issued_date <= query.issued_to)
    if query.organ_id:
        stmt = stmt.where(Document.organ_id == query.organ_id)
    if query.owner_organ_id:
        stmt = stmt.where(Document.owner_organ_id == query.owner_organ_id)
    if query.after:
        created, doc_id = _decode_cursor(query.after)
        stmt = stmt.where(or_(Document.created_at < created,
                              and_(Document.created_at == created, Document.id < doc_id)))
    stmt = stmt.order_by(Document.created_at.desc(), Document.id.desc()).limit(query.limit + 1)
    rows = session.execute(stmt).scalars().all()
    page = rows[: query.limit]
    next_after = encode_cursor(page[-1]) if len(rows) > query.limit else None
    return page, next_after


def open_version(
    session: Session, blobs: BlobStore, *, document_id: str, actor: Actor, number: int | None = None,
    attachment: bool = False,
) -> tuple[DocumentVersion, BinaryIO]:
    """Return a version of the main file (the latest by default), or with ``attachment`` one of
    the document's attachments, and its bytes, checked against their hash.

    The read of a secret document is committed to the trail once the version is found."""
    document = readable_document(session, document_id, actor)
    if number is None:
        version = document.latest_version
    else:
        pool = document.attachments if attachment else document.file_versions
        found = next((v for v in pool if v.number == number), None)
        if found is None:
            if attachment:
                raise NotFoundError("Không có tệp đính kèm này.", "No such attachment.",
                                    details={"document_id": document_id, "attachment": number})
            raise NotFoundError("Không có phiên bản này.", "No such version.",
                                details={"document_id": document_id, "version": number})
        version = found
    if version.revoked_at is not None:
        raise ContentRevokedError(details={"document_id": document_id, "version": version.number})
    stream = read_verified(blobs, version.blob_key)
    if document.is_secret:
        session.commit()
    return version, stream


def register_rows(
    session: Session, *, organ_id: str, register: str, year: int, actor: Actor
) -> Sequence[RegisterEntry]:
    """Return the lines of one register of one agency for one year, in number order."""
    if not can_read_registers(actor, organ_id):
        raise PermissionDeniedError()
    if register == "outgoing_secret" and actor.kind == "user" and actor.clearance == "none":
        raise PermissionDeniedError("Sổ văn bản mật chỉ dành cho người được phép.",
                                    "The secret register is for cleared people only.")
    rows = session.execute(
        select(RegisterEntry)
        .where(RegisterEntry.organ_id == organ_id, RegisterEntry.register == register,
               RegisterEntry.year == year)
        .order_by(RegisterEntry.number)
    ).scalars().all()
    return [row for row in rows if is_cleared_for(actor, row.document)]


def count_documents(session: Session) -> int:
    """Return how many documents the registry holds."""
    return session.execute(select(func.count()).select_from(Document)).scalar_one()


def history(session: Session, *, document_id: str, actor: Actor) -> Sequence[Any]:
    """Return the audit entries of a document, for auditors and its owning clerks."""
    from docsvc.security import can_read_history

    document = readable_document(session, document_id, actor)
    if not can_read_history(actor, document):
        raise PermissionDeniedError()
    if document.is_secret:
        session.commit()
    return audit.document_history(session, document_id)
