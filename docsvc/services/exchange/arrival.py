"""What happens when a document package reaches an organisation hosted here (sent from here or
submitted by a linked system): it is filed as an incoming document and 01 goes back, or it
revokes, updates or replaces one received before; then its PDF signatures are verified.

- **Revocation** (BussinessDocType 1): the content is removed (``withdrawal``), the metadata, the
  hashes, the verification results and the trail are kept, and status **15** goes back (DOMAIN.md
  §4.3: "receiver agrees to the update / take-back" is the only code that says the receiver
  carried the sender's withdrawal out; §2 asks the receiver to tell the sender it deleted it).
- **Update** (2) and **replacement** (3): the new incoming document is filed as usual and linked
  to the older one (``document_links``, with the BussinessDocReason), found by
  ``Bussiness/DocumentId`` (update) or ``ReplacementInfo/DocumentId`` (replacement). An update
  carries the same DocumentId as the first package: a revocation (or an agreed take-back) of it
  removes the content of every document filed from them.
- **Verification on receipt**: after a received document is committed, each PDF version is
  validated with the verification service and the verdict stored; a failure stores an
  ``INDETERMINATE`` result and never loses the document.
"""

from __future__ import annotations

import datetime as dt
import io
import logging
from collections.abc import Iterable
from typing import Any, BinaryIO

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from docsvc.exchange import STATUS_CODES, DocumentPackage
from docsvc.metadata import COMPETENCE_MAX, nfc, resolve_type, search_text
from docsvc.models import Document, DocumentLink, Message, VerificationResult, new_id
from docsvc.security import Actor
from docsvc.services import audit
from docsvc.services.documents import store_version
from docsvc.services.exchange.config import ExchangeConfig
from docsvc.services.exchange.errors import UnknownDocumentError
from docsvc.services.exchange.reports import report
from docsvc.services.exchange.withdrawal import withdraw
from docsvc.storage import BlobStore, hash_stream

log = logging.getLogger(__name__)

REVOCATION, UPDATE, REPLACEMENT = 1, 2, 3
"""BussinessDocType: a new document is 0."""


# -- filing a document --------------------------------------------------------------------------


def _cut(value: str | None, limit: int) -> str | None:
    return value[:limit] if value else None


def _incoming_from(session: Session, blobs: BlobStore, package: DocumentPackage, *, owner: str,
                   actor: Actor) -> Document:
    h = package.header
    resolved = resolve_type(h.document_type.type_name) if h.document_type.type_name else None
    type_name, type_abbr = resolved or (h.document_type.type_name or "Văn bản", None)
    o = h.other_info
    document = Document(
        id=new_id(), direction="incoming", owner_organ_id=owner, status="draft",
        organ_id=h.sender.organ_id, organ_name=(h.sender.organ_name or h.sender.organ_id)[:200],
        type_name=type_name[:100], type_abbr=type_abbr, code_number=_cut(h.code.code_number, 11),
        code_notation=_cut(h.code.code_notation, 30),
        issued_date=h.promulgation_info.promulgation_date,
        place=_cut(h.promulgation_info.place, 100), subject=(h.subject or "(không có trích yếu)")[:500],
        signer_competence=_cut(nfc(h.signer_info.competence).strip(), COMPETENCE_MAX),
        signer_position=_cut(h.signer_info.position, 100),
        signer_name=_cut(h.signer_info.full_name, 50),
        priority=o.priority if o.priority in (0, 1, 2, 3, 4) else 0,
        due_date=h.due_date, page_amount=o.page_amount, issued_amount=o.promulgation_amount,
        recipients=[{"organ_id": r.organ_id, "organ_name": r.organ_name or r.organ_id}
                    for r in h.recipients],
        to_places=list(h.to_places), references=[r.code for r in h.response_for if r.code],
        search_text=search_text(h.subject or "", h.code.code_number, h.code.code_notation),
        created_by=actor.label,
    )
    document.versions = []
    session.add(document)
    usable = [a for a in package.attachments
              if a.error is None and (a.data is not None or a.path is not None)]
    main = _main_file(usable)
    for attachment in usable:
        stream: BinaryIO
        if attachment.data is not None:
            stream = io.BytesIO(attachment.data)
        elif attachment.path is not None:
            stream = attachment.path.open("rb")
        else:
            continue
        with stream:
            sha256, size = attachment.sha256, attachment.size
            if not sha256:
                stream.seek(0)
                sha256, size = hash_stream(stream)
                stream.seek(0)
            store_version(session, blobs, document, stream,
                          kind="original" if attachment is main else "attachment",
                          filename=attachment.name, actor=actor, sha256=sha256, size=size,
                          media_type=(attachment.content_type or "application/octet-stream")[:100])
    return document


def _main_file(attachments: list[Any]) -> Any:
    """Return the document's main file among a package's attachments: the first PDF (by type
    or name), else the first file; the others are its attachments (phụ lục, drafts)."""
    for attachment in attachments:
        name = (attachment.name or "").lower()
        if (attachment.content_type or "").lower() == "application/pdf" or name.endswith(".pdf"):
            return attachment
    return attachments[0] if attachments else None


def _accept_document(session: Session, blobs: BlobStore, cfg: ExchangeConfig,
                     package: DocumentPackage, message: Message, *, now: dt.datetime) -> Document:
    """A document reached a hosted recipient: file it as incoming and report 01 to the sender."""
    receiver = Actor(kind="system", name="exchange", organ_id=message.recipient_organ_id)
    document = _incoming_from(session, blobs, package, owner=message.recipient_organ_id,
                              actor=receiver)
    session.flush()  # the document row first: no ORM relationship orders it before the message
    message.delivered_document_id = document.id
    audit.record(session, receiver, "exchange.receive", object_type="document", object_id=document.id,
                 content_sha256=message.sha256, organ_id=message.recipient_organ_id,
                 details={"message_id": message.id, "from": message.sender_organ_id,
                          "document_id": message.document_id})
    report(session, blobs, cfg, document=document, incoming=message, code="01",
           description=STATUS_CODES["01"][0], actor=receiver, now=now)
    return document


# -- revocation, update, replacement ------------------------------------------------------------


def accept(session: Session, blobs: BlobStore, cfg: ExchangeConfig, package: DocumentPackage,
           message: Message, *, now: dt.datetime) -> Document:
    """A document package reached a recipient hosted here: dispatch on BussinessDocType."""
    doc_type = package.bussiness.doc_type
    if doc_type == REVOCATION:
        return _receive_revocation(session, blobs, cfg, package, message, now=now)
    document = _accept_document(session, blobs, cfg, package, message, now=now)
    if doc_type in (UPDATE, REPLACEMENT):
        _link(session, document, package, message)
    return document


def _receive_revocation(session: Session, blobs: BlobStore, cfg: ExchangeConfig,
                        package: DocumentPackage, message: Message, *, now: dt.datetime) -> Document:
    target = package.bussiness.document_id or package.header.document_id
    original = received(session, document_id=target, sender=message.sender_organ_id,
                        recipient=message.recipient_organ_id)
    if original is None:
        raise UnknownDocumentError(details={"document_id": target, "bussiness_doc_type": 1})
    document = session.get(Document, original.delivered_document_id)
    assert document is not None
    message.delivered_document_id = document.id
    receiver = Actor(kind="system", name="exchange", organ_id=message.recipient_organ_id)
    reason = package.bussiness.reason or "Thu hồi văn bản"
    audit.record(session, receiver, "exchange.revocation", object_type="document",
                 object_id=document.id, content_sha256=message.sha256,
                 organ_id=message.recipient_organ_id,
                 details={"message_id": message.id, "from": message.sender_organ_id,
                          "document_id": target, "reason": reason[:500]})
    withdrawn = [withdraw(session, blobs, d, reason=reason, cause="revocation", actor=receiver,
                          now=now) for d in family(session, document, original)]
    if any(withdrawn):
        report(session, blobs, cfg, document=document, incoming=original, code="15",
               description=f"Đã thu hồi, xóa nội dung văn bản: {reason}"[:500],
               actor=receiver, now=now)
    return document


def _link(session: Session, document: Document, package: DocumentPackage, message: Message) -> None:
    b = package.bussiness
    kind = "update" if b.doc_type == UPDATE else "replacement"
    if b.doc_type == REPLACEMENT:
        targets = [r.document_id for r in b.replacements if r.document_id]
        if not targets and b.document_id and b.document_id != package.header.document_id:
            targets = [b.document_id]
    else:
        targets = [b.document_id or package.header.document_id]
    for target in dict.fromkeys(targets):
        old = received(session, document_id=target, sender=message.sender_organ_id,
                       recipient=message.recipient_organ_id, exclude=message.id)
        if old is not None and old.delivered_document_id == document.id:
            old = None
        session.add(DocumentLink(document_id=document.id, kind=kind, target_edxml_id=target[:200],
                                 target_document_id=old.delivered_document_id if old else None,
                                 message_id=message.id, reason=(b.reason or "")[:500] or None))
        if old is not None:  # the older document's history says it was updated or replaced
            audit.record(session, Actor(kind="system", name="exchange",
                                        organ_id=message.recipient_organ_id),
                         f"exchange.{'updated' if kind == 'update' else 'replaced'}",
                         object_type="document", object_id=old.delivered_document_id,
                         organ_id=message.recipient_organ_id,
                         details={"by": document.id, "message_id": message.id,
                                  "reason": (b.reason or "")[:500]})


def received(session: Session, *, document_id: str, sender: str, recipient: str,
             exclude: str | None = None) -> Message | None:
    """The first document package (not a revocation) with ``document_id`` from ``sender`` that
    was filed as an incoming document of ``recipient`` here."""
    stmt = select(Message).where(
        Message.kind == "edoc", Message.document_id == document_id,
        Message.sender_organ_id == sender, Message.recipient_organ_id == recipient,
        Message.delivered_document_id.is_not(None),
        or_(Message.bussiness_doc_type.is_(None), Message.bussiness_doc_type != REVOCATION))
    if exclude is not None:
        stmt = stmt.where(Message.id != exclude)
    return session.execute(stmt.order_by(Message.created_at, Message.id)).scalars().first()


def family(session: Session, document: Document, first: Message) -> list[Document]:
    """``document`` (filed from ``first``) and the documents filed here from the updates of it:
    every incoming document of the recipient from a package of the sender with the same
    DocumentId (not a revocation), oldest first."""
    ids = dict.fromkeys([document.id, *session.execute(select(Message.delivered_document_id).where(
        Message.kind == "edoc", Message.document_id == first.document_id,
        Message.sender_organ_id == first.sender_organ_id,
        Message.recipient_organ_id == first.recipient_organ_id,
        Message.delivered_document_id.is_not(None),
        or_(Message.bussiness_doc_type.is_(None), Message.bussiness_doc_type != REVOCATION),
    ).order_by(Message.created_at, Message.id)).scalars()])
    documents = [session.get(Document, i) for i in ids]
    return [d for d in documents if d is not None and d.direction == "incoming"]


# -- verifying received PDFs --------------------------------------------------------------------


def _verifier(cfg: ExchangeConfig) -> Any:
    verifier = cfg.verifier
    return verifier() if callable(verifier) and not hasattr(verifier, "validate") else verifier


def verify_received(session: Session, blobs: BlobStore, cfg: ExchangeConfig,
                    messages: Iterable[Message]) -> list[VerificationResult]:
    """Validate the PDF versions of the documents filed from ``messages`` (after their commit)
    and keep each verdict; any failure is logged and kept as INDETERMINATE. Never raises."""
    from docsvc.services import verification as vsvc

    if cfg.verifier is None:
        return []
    document_ids = list(dict.fromkeys(
        m.delivered_document_id for m in messages
        if m.kind == "edoc" and m.delivered_document_id and m.bussiness_doc_type != REVOCATION))
    results = []
    actor = Actor(kind="operator", name="exchange-receive", organ_id=None)
    for document_id in document_ids:
        document = session.get(Document, document_id)
        if document is None:
            continue
        versions = [(v.id, v.number, v.sha256, v.size, v.blob_key) for v in document.versions
                    if v.revoked_at is None and (v.media_type == "application/pdf"
                                                 or (v.filename or "").lower().endswith(".pdf"))]
        for version_id, number, sha256, size, key in versions:
            try:
                if not _looks_like_pdf(blobs, key):
                    continue  # not a PDF whatever its name says: no PDF signature to verify
                if size > cfg.verify_max_bytes:
                    raise VerificationSkipped(f"{size} bytes: larger than {cfg.verify_max_bytes} "
                                              "verified on receipt; verify it on demand")
                _, _, result = vsvc.verify_version(
                    session, blobs, _verifier(cfg), document_id=document_id, number=number,
                    actor=actor, source="api")
            except Exception as exc:  # noqa: BLE001 - a verdict is never worth losing a document
                session.rollback()
                if isinstance(exc, VerificationSkipped):
                    log.warning("received document %s version %s not verified: %s",
                                document_id, number, exc)
                else:
                    log.exception("verifying received document %s version %s failed",
                                  document_id, number)
                result = VerificationResult(
                    document_id=document_id, version_id=version_id, version_number=number,
                    sha256=sha256, verdict="INDETERMINATE",
                    sub_indication="TOO_LARGE" if isinstance(exc, VerificationSkipped)
                    else "VERIFICATION_ERROR",
                    signatures=[], report={"error": type(exc).__name__, "detail": str(exc)[:500]},
                    trust_fingerprint="", source="api", created_by=actor.label)
                session.add(result)
                session.commit()
            results.append(result)
    return results


class VerificationSkipped(Exception):
    """A received version is not verified on receipt (kept as INDETERMINATE)."""


def _looks_like_pdf(blobs: BlobStore, key: str) -> bool:
    with blobs.open(key) as stream:
        return b"%PDF-" in stream.read(1024)
