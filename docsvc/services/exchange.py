"""Exchange use cases (QCVN 102 edXML): send a registered document, let linked systems pull and
acknowledge what is addressed to them, receive their packages, report and follow statuses.

A package is built, validated and (with an agency key) signed once per attachment encoding
(raw, or zipped like the official SDK for the organisations whose directory entry says
``zip_attachments``), stored once as a blob, and pointed at by one ``Message`` per recipient.
Recipients whose registry is kept here ("hosted") receive at once: the package becomes an
incoming document and status 01 goes back. Others pull through the inbox (or, with an
endpoint, will be pushed to). One commit per use case.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import hashlib
import io
import json
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO
from zoneinfo import ZoneInfo

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.serialization import Encoding
from sqlalchemy import and_, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from docsvc import exchange as edxml
from docsvc.errors import (
    BadRequestError,
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
    UnprocessableError,
)
from docsvc.exchange import (
    STATUS_CODES,
    VN_TZ,
    DocumentPackage,
    EdxmlError,
    ParseLimits,
    StatusPackage,
    XmlSignatureInvalidError,
    XmlTooLargeError,
)
from docsvc.metadata import DOCUMENT_TYPES, resolve_type, search_text
from docsvc.models import (
    Delivery,
    Document,
    IdempotencyKey,
    LinkedSystem,
    Message,
    Organization,
    StatusEvent,
    TransportEvent,
    new_id,
    utcnow,
)
from docsvc.security import Actor, can_read, can_write
from docsvc.services import audit
from docsvc.services import directory as dirsvc
from docsvc.services.documents import deny, register_document, store_version
from docsvc.storage import BlobStore, read_verified

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
_CHUNK = 1024 * 1024
MAIN_FLOW = {"01": 1, "02": 2, "03": 2, "04": 3, "05": 4, "06": 5}
"""Rank of the main status flow 01 → 02|03 → 04 → 05 → 06; 13/15/16 are side flows."""
CLERK_CODES = ("02", "03", "04", "05", "06")
_ALLOWED_AFTER = {"02": {"01"}, "03": {"01"}, "04": {"03"}, "05": {"03", "04"},
                  "06": {"03", "04", "05"}}


# -- errors (stable codes, HTTP statuses) -------------------------------------------------------


class DocumentNotSendableError(ConflictError):
    """The document is not registered, not signed, secret, or lacks its số/ký hiệu."""

    code = "document_not_sendable"
    message_vi = "Văn bản chưa đủ điều kiện gửi (phải đã đăng ký, đã ký số, không mật)."
    message_en = "The document cannot be sent yet (it must be registered, signed, not secret)."


class RecipientUnknownError(UnprocessableError):
    code = "recipient_unknown"
    message_vi = "Cơ quan nhận không có trong danh bạ."
    message_en = "The recipient is not in the directory."


class SenderMismatchError(PermissionDeniedError):
    code = "sender_mismatch"
    message_vi = "Cơ quan gửi (From) không phải cơ quan của hệ thống gửi gói tin."
    message_en = "The package's sender (From) is not the calling system's organisation."


class IdempotencyConflictError(ConflictError):
    code = "idempotency_key_reused"
    message_vi = "Idempotency-Key này đã dùng cho một gói tin khác."
    message_en = "This Idempotency-Key was already used for different bytes."


class XmlSignatureRequiredError(EdxmlError):
    code = "xml_signature_required"
    message_vi = "Hệ thống gửi đã đăng ký chứng thư số: gói tin phải có chữ ký XML."
    message_en = "A certificate is pinned for the sender: the package must carry an XML signature."


class UnknownDocumentError(UnprocessableError):
    code = "document_unknown"
    message_vi = "Không có văn bản nào đã gửi cho cơ quan này với DocumentId đó."
    message_en = "No document with this DocumentId was sent to this organisation."


class StatusTransitionError(ConflictError):
    code = "status_transition_refused"
    message_vi = "Không chuyển được sang trạng thái này từ trạng thái hiện tại."
    message_en = "This status cannot follow the current one."


class AckConflictError(ConflictError):
    code = "ack_conflict"
    message_vi = "Gói tin đã được xác nhận với kết quả khác."
    message_en = "The message was already acknowledged with another result."


# -- configuration ------------------------------------------------------------------------------


@dataclass(frozen=True)
class AgencyKey:
    """The agency's XML signing key with its certificate chain (leaf first)."""

    key: PrivateKey = field(repr=False)
    chain: tuple[x509.Certificate, ...]

    @property
    def certificate_sha256(self) -> str:
        return hashlib.sha256(self.chain[0].public_bytes(Encoding.DER)).hexdigest()


@dataclass(frozen=True)
class ExchangeConfig:
    """What the exchange use cases need besides the session and the blob store."""

    local_organ_id: str
    """This instance's own agency (always hosted)."""
    zone: ZoneInfo = field(default_factory=lambda: ZoneInfo("Asia/Ho_Chi_Minh"))
    schemas: edxml.EdxmlSchemas | None = None
    """Our XSDs (None: the checkout's ``schemas/``)."""
    limits: ParseLimits = field(default_factory=ParseLimits)
    organ_id_allow: frozenset[str] = frozenset()
    lease: dt.timedelta = dt.timedelta(minutes=5)
    agency_key: AgencyKey | None = None
    """Signs outgoing packages and receipts; None: unsigned, and receipts say so."""
    spool_dir: Path | None = None
    """Where received attachments are decoded while a submission is handled (default: tmp)."""
    verifier: Any = None
    """Validates the PDF signatures of received documents (a ``verification.Verifier`` or a
    callable returning one); None: received documents are not verified."""
    verify_max_bytes: int = 50 * 1024 * 1024
    """Larger received PDFs are not verified on receipt (an INDETERMINATE result says so)."""


# -- receipts -----------------------------------------------------------------------------------


def _canonical(body: dict[str, Any]) -> bytes:
    return json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


def make_receipt(cfg: ExchangeConfig, body: dict[str, Any]) -> dict[str, Any]:
    """Return ``body`` with a signature by the agency key over its canonical JSON (if configured)."""
    key = cfg.agency_key
    if key is None:
        return {**body, "signature": None,
                "signature_note": "no agency key configured: this receipt is not signed"}
    data = _canonical(body)
    if isinstance(key.key, rsa.RSAPrivateKey):
        value, algorithm = key.key.sign(data, padding.PKCS1v15(), hashes.SHA256()), "RS256"
    else:
        value, algorithm = key.key.sign(data, ec.ECDSA(hashes.SHA256())), "ES256"
    return {**body, "signature": {
        "algorithm": algorithm, "value": base64.b64encode(value).decode(),
        "certificate": base64.b64encode(key.chain[0].public_bytes(Encoding.DER)).decode(),
        "certificate_sha256": key.certificate_sha256,
        "covers": "canonical JSON (sorted keys, no spaces, UTF-8) of the receipt without "
                  "signature and signature_note",
    }}


def verify_receipt(receipt: dict[str, Any], certificate: x509.Certificate) -> bool:
    """Tell whether a signed receipt is intact and signed by ``certificate``'s key."""
    signature = receipt.get("signature")
    if not signature:
        return False
    body = {k: v for k, v in receipt.items() if k not in ("signature", "signature_note")}
    raw = base64.b64decode(signature["value"])
    public = certificate.public_key()
    try:
        if isinstance(public, rsa.RSAPublicKey):
            public.verify(raw, _canonical(body), padding.PKCS1v15(), hashes.SHA256())
        elif isinstance(public, ec.EllipticCurvePublicKey):
            public.verify(raw, _canonical(body), ec.ECDSA(hashes.SHA256()))
        else:
            return False
    except Exception:  # noqa: BLE001 - cryptography raises InvalidSignature; any failure = False
        return False
    return True


# -- small helpers ------------------------------------------------------------------------------


def flows() -> Any:
    """The side flows (revocation, update, replacement, take-back, verification on receipt)."""
    from docsvc.services import exchange_flows

    return exchange_flows


def _not_revocation() -> Any:
    """Filter out revocation packages (BussinessDocType 1) from document messages."""
    return or_(Message.bussiness_doc_type.is_(None), Message.bussiness_doc_type != 1)


def _iso(value: dt.datetime | None) -> str | None:
    return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z") if value else None


def _cut(value: str | None, limit: int) -> str | None:
    return value[:limit] if value else None


def _event(session: Session, message: Message, event: str, organ_id: str | None, *,
           at: dt.datetime, **details: Any) -> None:
    session.add(TransportEvent(message_id=message.id, at=at, event=event, organ_id=organ_id,
                               sha256=message.sha256, details=details))


def _put(blobs: BlobStore, data: bytes) -> tuple[str, str, int]:
    sha256 = hashlib.sha256(data).hexdigest()
    info = blobs.put(io.BytesIO(data), sha256=sha256, size=len(data))
    return info.key, sha256, len(data)


def _sign(cfg: ExchangeConfig, data: bytes) -> bytes:
    if cfg.agency_key is None:
        return data
    return edxml.sign_package(data, cfg.agency_key.key, cfg.agency_key.chain, limits=cfg.limits)


def _edxml_org(org: Organization | None, organ_id: str, fallback_name: str = "",
               fallback_address: str = "") -> edxml.Organization:
    if org is None:
        return edxml.Organization(organ_id=organ_id, organ_name=fallback_name or organ_id,
                                  organ_add=fallback_address or fallback_name or organ_id)
    return edxml.Organization(
        organ_id=org.organ_id, organ_name=org.name,
        organ_add=org.address or fallback_address or org.name,
        email=org.email or "", telephone=org.telephone or "",
    )


def _new_message(session: Session, cfg: ExchangeConfig, *, kind: str, document_id: str,
                 sender: str, recipient: str, origin: str, blob: tuple[str, str, int],
                 now: dt.datetime, actor: Actor, local_document_id: str | None = None,
                 status_code: str | None = None, doc_type: int | None = None,
                 trace: list[dict[str, Any]] | None = None) -> Message:
    """Add a message and its delivery row: local when the recipient is hosted here, push when it
    has an endpoint, else pull."""
    key, sha256, size = blob
    message = Message(
        id=new_id(), kind=kind, document_id=document_id, local_document_id=local_document_id,
        sender_organ_id=sender, recipient_organ_id=recipient, origin=origin,
        status_code=status_code, bussiness_doc_type=doc_type, sha256=sha256, size=size,
        blob_key=key, trace=trace or [], created_by=actor.label, created_at=now, fetch_count=0,
    )
    session.add(message)
    target = session.get(Organization, recipient)
    if dirsvc.is_hosted(session, recipient, cfg.local_organ_id):
        delivery = Delivery(message=message, mode="local", state="delivered", delivered_at=now,
                            attempts=0)
        message.acked_at, message.ack_result = now, "received"
    elif target is not None and target.endpoint_url:
        delivery = Delivery(message=message, mode="push", endpoint_url=target.endpoint_url,
                            state="queued", next_attempt_at=now, attempts=0)
    else:
        delivery = Delivery(message=message, mode="pull", state="queued", attempts=0)
    session.add(delivery)
    _event(session, message, "created", sender, at=now, origin=origin, mode=delivery.mode,
           recipient=recipient)
    return message


# -- sending ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SendResult:
    messages: tuple[Message, ...]
    created: tuple[str, ...]
    """Recipients to whom a message was created now (the others had one already)."""
    package_sha256: str | None
    """The package of the first group built now: raw attachments, else zipped (None: nothing new)."""
    signed: bool
    package_sha256s: tuple[str, ...] = ()
    """Every package built now: at most two, raw then zipped attachments (see ``zip_attachments``
    in the directory)."""


def signature_state(session: Session, document: Document) -> dict[str, Any]:
    """Describe whether the document is signed enough to send: the latest version must be of kind
    ``signed``; when docsvc's signing recorded signatures, both person and agency must be there."""
    from docsvc import models

    latest = document.latest_version
    state: dict[str, Any] = {"latest_version_kind": latest.kind, "roles": []}
    record = getattr(models, "SignatureRecord", None)
    if record is not None:
        state["roles"] = sorted(set(session.execute(
            select(record.role).where(record.document_id == document.id)).scalars()))
    roles = set(state["roles"])
    state["sendable"] = latest.kind == "signed" and (not roles or {"person", "agency"} <= roles)
    return state


def _check_recipients(session: Session, cfg: ExchangeConfig, to: Any, sender: str) -> list[str]:
    if not isinstance(to, list) or not to or not all(isinstance(x, str) for x in to):
        raise BadRequestError('Cần "to": danh sách mã định danh cơ quan nhận.',
                              '"to" must be a non-empty list of OrganIds.', details={"to": to})
    wanted = list(dict.fromkeys(x.strip() for x in to))
    bad = [x for x in wanted if not edxml.is_valid_organ_id(x, cfg.organ_id_allow) or x == sender]
    if bad:
        raise BadRequestError("Mã định danh cơ quan nhận không hợp lệ.", "Invalid recipient OrganIds.",
                              details={"invalid": bad})
    unknown = [x for x in wanted if session.get(Organization, x) is None]
    if unknown:
        raise RecipientUnknownError(details={"unknown": unknown})
    return wanted


def _document_package(session: Session, blobs: BlobStore, document: Document,
                      recipients: Sequence[str], now: dt.datetime) -> DocumentPackage:
    if not document.code_number or not document.code_notation or not document.issued_date:
        raise DocumentNotSendableError(details={"reason": "number_notation_or_date_missing"})
    sender_org = session.get(Organization, document.organ_id)
    sender = _edxml_org(sender_org, document.organ_id, document.organ_name, document.place or "")
    to = tuple(_edxml_org(session.get(Organization, r), r) for r in recipients)
    type_row = next((i + 1 for i, (name, _) in enumerate(DOCUMENT_TYPES)
                     if name == document.type_name), None)
    version = document.latest_version
    with read_verified(blobs, version.blob_key) as stream:
        content = stream.read()
    number = document.number_notation or ""
    name = version.filename or f"{number.replace('/', '-')}.pdf"
    header = edxml.DocumentHeader(
        sender=sender, recipients=to,
        code=edxml.Code(document.code_number, document.code_notation),
        promulgation_info=edxml.PromulgationInfo(document.place or "", document.issued_date),
        document_type=edxml.DocumentType(type=type_row, type_detail=0, type_name=document.type_name),
        subject=document.subject,
        document_id=edxml.make_document_id(document.organ_id, document.issued_date,
                                           document.code_number, document.code_notation),
        signer_info=edxml.SignerInfo(document.signer_competence or "", document.signer_position or "",
                                     document.signer_name or ""),
        due_date=document.due_date, to_places=tuple(document.to_places or ()),
        other_info=edxml.OtherInfo(priority=document.priority, page_amount=document.page_amount,
                                   promulgation_amount=document.issued_amount),
    )
    return DocumentPackage(
        header=header,
        trace_headers=(edxml.TraceHeader(document.owner_organ_id, now.astimezone(VN_TZ)),),
        attachments=(edxml.Attachment(content_id="1", name=name, content_type=version.media_type,
                                      data=content, size=len(content), sha256=version.sha256),),
    )


def send_document(
    session: Session, blobs: BlobStore, cfg: ExchangeConfig, *, document_id: str, to: Any,
    actor: Actor, now: dt.datetime | None = None,
) -> SendResult:
    """Send a registered, signed document to each organisation in ``to`` (one message each).

    At most two packages are built: one with the raw files for the recipients that take them,
    one with each file zipped for those whose directory entry sets ``zip_attachments``.

    Sending again to a recipient that already has the document creates nothing for it.
    Raises NotFoundError, PermissionDeniedError (not a clerk of its agency), BadRequestError
    (``to``), RecipientUnknownError, DocumentNotSendableError.
    """
    now = now or utcnow()
    # the row lock makes two concurrent sends to the same recipient create one message
    document = session.get(Document, document_id, with_for_update=True, populate_existing=True)
    if document is None or not can_read(actor, document):
        raise NotFoundError("Không tìm thấy văn bản.", "Document not found.",
                            details={"document_id": document_id})
    if not can_write(actor, document) or actor.kind == "system":
        deny(session, actor, "document.send", document=document)
    recipients = _check_recipients(session, cfg, to, document.owner_organ_id)
    signed = signature_state(session, document)
    problems = []
    if document.direction != "outgoing" or document.status != "registered":
        problems.append("not_registered_outgoing")
    if not signed["sendable"]:
        problems.append("not_signed_by_person_and_agency")
    if document.is_secret:
        problems.append("secret_document")
    if document.revoked_at is not None:
        problems.append("revoked")
    if problems:
        raise DocumentNotSendableError(details={"reasons": problems, "signatures": signed})
    existing = {m.recipient_organ_id: m for m in session.execute(select(Message).where(
        Message.local_document_id == document.id, Message.kind == "edoc",
        Message.origin == "local", _not_revocation())).scalars()}
    new = [r for r in recipients if r not in existing]
    if not new:
        session.commit()  # release the row lock
        return SendResult(tuple(existing[r] for r in recipients), (), None, False)
    try:
        whole = _document_package(session, blobs, document, new, now)
    except ValueError as exc:
        raise DocumentNotSendableError(details={"reason": str(exc)}) from None
    # one package per attachment encoding the recipients asked for in the directory (raw, or each
    # file zipped like the official SDK), addressed to its group and shared by their messages
    zipped = {r: bool(getattr(session.get(Organization, r), "zip_attachments", False)) for r in new}
    built: list[tuple[bool, list[str], DocumentPackage, tuple[str, str, int]]] = []
    for flag in (False, True):
        group = [r for r in new if zipped[r] == flag]
        if not group:
            continue
        package = whole if len(group) == len(new) else dataclasses.replace(
            whole, header=dataclasses.replace(whole.header, recipients=tuple(
                o for o in whole.header.recipients if o.organ_id in group)))
        data = edxml.build_document_package(package, zip_attachments=flag)
        edxml.validate_package(data, cfg.schemas, limits=cfg.limits)
        built.append((flag, group, package, _put(blobs, _sign(cfg, data))))
    created = []
    for _, group, package, blob in built:
        trace = [{"organ_id": t.organ_id, "timestamp": _iso(t.timestamp)}
                 for t in package.trace_headers]
        for recipient in group:
            message = _new_message(
                session, cfg, kind="edoc", document_id=package.header.document_id,
                sender=document.owner_organ_id, recipient=recipient, origin="local", blob=blob,
                now=now, actor=actor, local_document_id=document.id, doc_type=0, trace=trace)
            created.append(message)
            if message.delivery is not None and message.delivery.mode == "local":
                # the package as built: the original files, whatever the encoding on the wire
                flows().accept(session, blobs, cfg, package, message, now=now)
    first = built[0][3]
    audit.record(session, actor, "document.send", object_type="document", object_id=document.id,
                 content_sha256=first[1], organ_id=document.owner_organ_id,
                 details={"to": new, "document_id": built[0][2].header.document_id,
                          "signed_xml": cfg.agency_key is not None, "size": first[2],
                          "packages": [{"to": group, "zip_attachments": flag, "sha256": blob[1],
                                        "size": blob[2]} for flag, group, _, blob in built]})
    session.commit()
    flows().verify_received(session, blobs, cfg, created)
    return SendResult(tuple(existing.get(r) or next(m for m in created if m.recipient_organ_id == r)
                            for r in recipients), tuple(new), first[1], cfg.agency_key is not None,
                      tuple(blob[1] for _, _, _, blob in built))


# -- receiving a document package ---------------------------------------------------------------


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
        signer_competence=_cut(h.signer_info.competence, 10),
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
    first = True
    for attachment in package.attachments:
        if attachment.error is not None:
            continue
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
                sha256, size = _hash_file(stream)
            store_version(session, blobs, document, stream,
                          kind="original" if first else "attachment",
                          filename=_cut(attachment.name, 255), actor=actor, sha256=sha256, size=size,
                          media_type=(attachment.content_type or "application/octet-stream")[:100])
        first = False
    return document


def _hash_file(stream: BinaryIO) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    stream.seek(0)
    while chunk := stream.read(_CHUNK):
        digest.update(chunk)
        size += len(chunk)
    stream.seek(0)
    return digest.hexdigest(), size


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
    _report(session, blobs, cfg, document=document, incoming=message, code="01",
            description=STATUS_CODES["01"][0], actor=receiver, now=now)
    return document


# -- statuses -----------------------------------------------------------------------------------


def _report(session: Session, blobs: BlobStore, cfg: ExchangeConfig, *, document: Document,
            incoming: Message, code: str, description: str, actor: Actor,
            now: dt.datetime) -> Message:
    """Record our status on a received document and send it to its sender as a status package."""
    reporter = incoming.recipient_organ_id
    status = StatusPackage(
        sender=_edxml_org(session.get(Organization, reporter), reporter),
        response_for=edxml.ResponseFor(
            organ_id=incoming.sender_organ_id, code=document.number_notation or "",
            promulgation_date=document.issued_date, document_id=incoming.document_id),
        status_code=code, timestamp=now.astimezone(VN_TZ), description=description,
        staff_info=edxml.StaffInfo(staff=actor.name[:100]) if actor.kind == "user" else None,
    )
    data = edxml.build_status_package(status)
    edxml.validate_package(data, cfg.schemas, limits=cfg.limits)
    blob = _put(blobs, _sign(cfg, data))
    message = _new_message(session, cfg, kind="status", document_id=incoming.document_id,
                           sender=reporter, recipient=incoming.sender_organ_id, origin="local",
                           blob=blob, now=now, actor=actor, local_document_id=document.id,
                           status_code=code)
    session.add(StatusEvent(local_document_id=document.id, document_id=incoming.document_id,
                            organ_id=reporter, code=code, description=description[:500] or None,
                            occurred_at=now, recorded_at=now, direction="out",
                            message_id=message.id, recorded_by=actor.label))
    if message.delivery is not None and message.delivery.mode == "local":
        _apply_status(session, message, status, now=now)
    return message


def _apply_status(session: Session, message: Message, status: StatusPackage, *,
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


def _current_code(events: Sequence[StatusEvent]) -> str | None:
    main = [e for e in events if e.code in MAIN_FLOW]
    if not main:
        return None
    return max(main, key=lambda e: (MAIN_FLOW[e.code], e.occurred_at, e.id or 0)).code


def report_status(
    session: Session, blobs: BlobStore, cfg: ExchangeConfig, *, document_id: str, code: Any,
    description: Any, actor: Actor, now: dt.datetime | None = None,
) -> tuple[Document, Message]:
    """Report the clerk's handling of a received document (02 reject … 06 finished) to its sender.

    03 also registers the document in the incoming register (số đến). A status that does not
    follow the current one raises StatusTransitionError (409) and is recorded as refused.
    """
    now = now or utcnow()
    document = session.get(Document, document_id, with_for_update=True, populate_existing=True)
    if document is None or not can_read(actor, document):
        raise NotFoundError("Không tìm thấy văn bản.", "Document not found.",
                            details={"document_id": document_id})
    if not can_write(actor, document) or actor.kind == "system":
        deny(session, actor, "document.status", document=document)
    if code in ("15", "16"):  # the answer to a take-back request (13)
        return flows().answer_takeback(session, blobs, cfg, document_id=document_id, code=code,
                                       description=description, actor=actor, now=now)
    if code not in CLERK_CODES:
        raise BadRequestError(f"Mã trạng thái phải là một trong {', '.join(CLERK_CODES)}.",
                              f"code must be one of {', '.join(CLERK_CODES)}.", details={"code": code})
    if description is not None and not isinstance(description, str):
        raise BadRequestError("description phải là văn bản.", "description must be text.")
    description = (description or "").strip()
    if code == "02" and not description:
        raise BadRequestError("Từ chối phải nêu lý do (description).",
                              "A rejection (02) needs a reason in description.")
    incoming = session.execute(select(Message).where(
        Message.delivered_document_id == document.id, Message.kind == "edoc",
        _not_revocation()).order_by(Message.created_at)).scalars().first()
    if incoming is None or document.direction != "incoming":
        raise ConflictError("Văn bản không nhận qua trục liên thông.",
                            "The document was not received through the exchange.",
                            details={"document_id": document_id})
    events = session.execute(select(StatusEvent).where(
        StatusEvent.local_document_id == document.id, StatusEvent.direction == "out")).scalars().all()
    current = _current_code(events)
    revoked = document.revoked_at is not None  # content removed: no more handling
    if revoked or current not in _ALLOWED_AFTER[code]:
        session.rollback()
        audit.record(session, actor, "document.status", object_type="document",
                     object_id=document.id, organ_id=document.owner_organ_id, outcome="refused",
                     details={"current": current, "requested": code, "revoked": revoked})
        session.commit()
        raise StatusTransitionError(details={"current": current, "requested": code,
                                             "allowed_after": sorted(_ALLOWED_AFTER[code]),
                                             "revoked": revoked})
    message = _report(session, blobs, cfg, document=document, incoming=incoming, code=code,
                      description=description or STATUS_CODES[code][0], actor=actor, now=now)
    audit.record(session, actor, "document.status", object_type="document", object_id=document.id,
                 content_sha256=message.sha256, organ_id=document.owner_organ_id,
                 details={"code": code, "message_id": message.id, "to": message.recipient_organ_id})
    if code == "03":
        register_document(session, document_id=document.id, actor=actor, zone=cfg.zone, now=now)
    else:
        session.commit()
    return document, message


def _status_to_dict(event: StatusEvent) -> dict[str, Any]:
    return {"code": event.code, "meaning": STATUS_CODES.get(event.code, ("", ""))[1],
            "description": event.description, "organ_id": event.organ_id,
            "direction": event.direction, "occurred_at": _iso(event.occurred_at),
            "recorded_at": _iso(event.recorded_at), "message_id": event.message_id}


def document_statuses(session: Session, *, document_id: str, actor: Actor) -> dict[str, Any]:
    """Return, per recipient, the delivery state, the latest status and the history."""
    document = _readable(session, document_id, actor)
    events = session.execute(select(StatusEvent).where(
        StatusEvent.local_document_id == document.id).order_by(
        StatusEvent.occurred_at, StatusEvent.id)).scalars().all()
    sent = session.execute(select(Message).where(
        Message.local_document_id == document.id, Message.kind == "edoc",
        Message.origin == "local", _not_revocation()).order_by(Message.created_at)).scalars().all()
    recipients = []
    for message in sent:
        mine = [e for e in events if e.organ_id == message.recipient_organ_id and e.direction == "in"]
        latest = _current_code(mine)
        delivery = message.delivery
        recipients.append({
            "organ_id": message.recipient_organ_id, "message_id": message.id,
            "delivery": {"mode": delivery.mode, "state": delivery.state,
                         "attempts": delivery.attempts, "delivered_at": _iso(delivery.delivered_at),
                         "ack_result": message.ack_result, "ack_reason": message.ack_reason}
            if delivery else None,
            "latest": next((_status_to_dict(e) for e in reversed(mine) if e.code == latest), None),
            "history": [_status_to_dict(e) for e in mine],
        })
    ours = [e for e in events if e.direction == "out"]
    return {"document_id": document.id, "recipients": recipients,
            "reported": {"latest": _current_code(ours), "history": [_status_to_dict(e) for e in ours]}}


def _readable(session: Session, document_id: str, actor: Actor) -> Document:
    document = session.get(Document, document_id)
    if document is None or not can_read(actor, document):
        raise NotFoundError("Không tìm thấy văn bản.", "Document not found.",
                            details={"document_id": document_id})
    if actor.kind == "system":
        raise PermissionDeniedError("Hệ thống liên thông dùng hộp thư trao đổi.",
                                    "Linked systems use the exchange inbox.")
    return document


def document_trace(session: Session, *, document_id: str, actor: Actor) -> dict[str, Any]:
    """Return every hop, transport event and status of a document, in time order."""
    document = _readable(session, document_id, actor)
    messages = session.execute(select(Message).where(or_(
        Message.local_document_id == document.id,
        Message.delivered_document_id == document.id))).scalars().all()
    by_id = {m.id: m for m in messages}
    entries: list[dict[str, Any]] = []
    hops = set()
    for m in messages:
        for hop in m.trace or ():
            key = (hop.get("organ_id"), hop.get("timestamp"), m.sha256)
            if key not in hops:
                hops.add(key)
                entries.append({"type": "hop", "at": hop.get("timestamp"), "organ_id": key[0],
                                "sha256": m.sha256, "message_kind": m.kind})
    if by_id:
        for e in session.execute(select(TransportEvent).where(
                TransportEvent.message_id.in_(list(by_id))).order_by(TransportEvent.id)).scalars():
            m = by_id[e.message_id]
            entries.append({"type": "transport", "at": _iso(e.at), "event": e.event,
                            "organ_id": e.organ_id, "message_id": m.id, "message_kind": m.kind,
                            "from": m.sender_organ_id, "to": m.recipient_organ_id,
                            "sha256": e.sha256, "details": e.details})
    for s in session.execute(select(StatusEvent).where(
            StatusEvent.local_document_id == document.id).order_by(StatusEvent.id)).scalars():
        entries.append({"type": "status", "at": _iso(s.occurred_at), **_status_to_dict(s)})
    entries.sort(key=lambda e: e["at"] or "")
    return {"document_id": document.id, "events": entries}


# -- pull API for linked systems ----------------------------------------------------------------


def _system_only(actor: Actor) -> str:
    if actor.kind != "system" or not actor.organ_id:
        raise PermissionDeniedError("Chỉ hệ thống liên thông dùng hộp thư trao đổi.",
                                    "Only linked systems use the exchange mailbox.")
    return actor.organ_id


def message_to_dict(message: Message) -> dict[str, Any]:
    """Return the inbox form of a message."""
    return {"id": message.id, "kind": message.kind, "document_id": message.document_id,
            "sender": message.sender_organ_id, "recipient": message.recipient_organ_id,
            "status_code": message.status_code, "sha256": message.sha256, "size": message.size,
            "created_at": _iso(message.created_at), "lease_until": _iso(message.lease_until)}


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
    organ_id = _system_only(actor)
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
        _event(session, message, "listed", organ_id, at=now, lease_until=_iso(message.lease_until))
    session.commit()
    return page, _cursor(page[-1]) if len(rows) > limit else None


def count_unacknowledged(session: Session, *, actor: Actor, kind: str | None = None) -> int:
    """Return how many pull messages addressed to the caller await acknowledgement (leased too)."""
    organ_id = _system_only(actor)
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
    organ_id = _system_only(actor)
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
    organ_id = _system_only(actor)
    message = _addressed(session, message_id, organ_id)
    if message.acked_at is None:
        _event(session, message, "processing", organ_id, at=now or utcnow(),
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
    organ_id = _system_only(actor)
    message = _addressed(session, message_id, organ_id)
    stream = read_verified(blobs, message.blob_key)
    message.fetch_count += 1
    _event(session, message, "fetched", organ_id, at=now or utcnow(), count=message.fetch_count)
    session.commit()
    return message, stream


def ack_message(
    session: Session, cfg: ExchangeConfig, *, message_id: str, result: Any, reason: Any,
    actor: Actor, now: dt.datetime | None = None,
) -> dict[str, Any]:
    """Acknowledge transport of a message (``received`` or ``rejected``); a repeat returns the
    first receipt, a repeat with the other result raises AckConflictError."""
    organ_id = _system_only(actor)
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
        "result": result, "reason": message.ack_reason, "acknowledged_at": _iso(now),
    })
    _event(session, message, "acked", organ_id, at=now, result=result, reason=message.ack_reason)
    audit.record(session, actor, "exchange.ack", object_type="message", object_id=message.id,
                 content_sha256=message.sha256, organ_id=organ_id, details={"result": result})
    session.commit()
    return message.receipt


# -- submissions from linked systems ------------------------------------------------------------


@dataclass(frozen=True)
class Submission:
    receipt: dict[str, Any]
    replayed: bool
    """True when the same key and bytes were submitted before (the first receipt is returned)."""


def _spool(stream: BinaryIO, limit: int) -> tuple[BinaryIO, str, int]:
    spool = tempfile.SpooledTemporaryFile(max_size=4 * _CHUNK)  # noqa: SIM115 - returned
    digest, size = hashlib.sha256(), 0
    try:
        while chunk := stream.read(_CHUNK):
            size += len(chunk)
            if size > limit:
                raise XmlTooLargeError(f"Gói tin lớn hơn {limit} byte.",
                                       f"The package is larger than {limit} bytes.",
                                       details={"limit": limit})
            digest.update(chunk)
            spool.write(chunk)
    except BaseException:
        spool.close()
        raise
    spool.seek(0)
    return spool, digest.hexdigest(), size


def submit_package(
    session: Session, blobs: BlobStore, cfg: ExchangeConfig, *, stream: BinaryIO,
    idempotency_key: str | None, actor: Actor, now: dt.datetime | None = None,
) -> Submission:
    """Accept an edXML document or status package from a linked system.

    Idempotent by the caller's organisation and ``idempotency_key`` (default: the SHA-256 of
    the bytes). Nothing is stored unless every check passes. Raises XmlTooLargeError (413),
    IdempotencyConflictError (409), EdxmlError (422: malformed, hostile, schema, signature),
    SenderMismatchError (403), RecipientUnknownError / UnknownDocumentError (422).
    """
    organ_id = _system_only(actor)
    now = now or utcnow()
    if idempotency_key is not None and not (0 < len(idempotency_key) <= 200):
        raise BadRequestError("Idempotency-Key dài 1–200 ký tự.", "Idempotency-Key: 1-200 characters.")
    spool, sha256, size = _spool(stream, cfg.limits.max_bytes)
    with spool:
        if size == 0:
            raise BadRequestError("Thân yêu cầu rỗng: cần gói tin edXML.",
                                  "Empty body: an edXML package is expected.")
        key = idempotency_key or f"sha256:{sha256}"
        known = session.get(IdempotencyKey, (organ_id, key))
        if known is not None:
            if known.sha256 != sha256:
                raise IdempotencyConflictError(details={"key": key, "first_sha256": known.sha256})
            return Submission(known.receipt, True)
        folder = Path(tempfile.mkdtemp(prefix="edxml-", dir=cfg.spool_dir))
        try:
            result = edxml.parse_package(spool, limits=cfg.limits, attachment_dir=folder,
                                         organ_id_allow=cfg.organ_id_allow)
            package = result.package
            sender = package.header.sender if isinstance(package, DocumentPackage) else package.sender
            if sender.organ_id != organ_id:
                audit.record(session, actor, "exchange.submit", object_type="message",
                             content_sha256=sha256, organ_id=organ_id, outcome="denied",
                             details={"reason": "sender_mismatch", "from": sender.organ_id})
                session.commit()
                raise SenderMismatchError(details={"from": sender.organ_id, "caller": organ_id})
            signature = _check_signature(session, cfg, spool, package, actor)
            spool.seek(0)
            info = blobs.put(spool, sha256=sha256, size=size)
            blob = (info.key, sha256, size)
            if isinstance(package, DocumentPackage):
                messages = _receive_document(session, blobs, cfg, package, blob, actor, now)
            else:
                messages = [_receive_status(session, cfg, package, blob, actor, now)]
            receipt = make_receipt(cfg, {
                "type": "submission", "message_ids": [m.id for m in messages],
                "kind": result.kind, "document_id": messages[0].document_id, "sha256": sha256,
                "size": size, "from": organ_id, "to": [m.recipient_organ_id for m in messages],
                "received_at": _iso(now), "xml_signature": signature,
                "warnings": [w.code for w in result.warnings],
            })
            session.add(IdempotencyKey(sender_organ_id=organ_id, key=key, sha256=sha256,
                                       receipt=receipt, created_at=now))
            audit.record(session, actor, "exchange.submit", object_type="message",
                         object_id=messages[0].id, content_sha256=sha256, organ_id=organ_id,
                         details={"kind": result.kind, "to": receipt["to"], "size": size})
            try:
                session.commit()
            except IntegrityError:
                # the same key committed by a concurrent request first: answer as a repeat
                session.rollback()
                known = session.get(IdempotencyKey, (organ_id, key))
                if known is None:
                    raise
                if known.sha256 != sha256:
                    raise IdempotencyConflictError(
                        details={"key": key, "first_sha256": known.sha256}) from None
                return Submission(known.receipt, True)
            flows().verify_received(session, blobs, cfg, messages)
            return Submission(receipt, False)
        finally:
            shutil.rmtree(folder, ignore_errors=True)


def _check_signature(session: Session, cfg: ExchangeConfig, spool: BinaryIO,
                     package: DocumentPackage | StatusPackage, actor: Actor) -> str:
    system = session.get(LinkedSystem, actor.system_id) if actor.system_id else None
    pinned = system.xml_signing_cert if system is not None else None
    signed = (isinstance(package, DocumentPackage) and package.signature is not None
              and package.signature.is_xmldsig)
    if not signed and isinstance(package, StatusPackage):
        spool.seek(0)
        signed = b"http://www.w3.org/2000/09/xmldsig#" in spool.read()
    if not signed:
        if pinned:
            raise XmlSignatureRequiredError()
        return "absent"
    spool.seek(0)
    check = edxml.verify_package(spool.read(), expected_cert=pinned, limits=cfg.limits)
    if not check.is_valid:
        raise XmlSignatureInvalidError(details={"reason": check.reason, "detail": check.detail[:300]})
    return "valid" if pinned else "valid_not_pinned"


def _receive_document(session: Session, blobs: BlobStore, cfg: ExchangeConfig,
                      package: DocumentPackage, blob: tuple[str, str, int], actor: Actor,
                      now: dt.datetime) -> list[Message]:
    recipients = list(dict.fromkeys(r.organ_id for r in package.header.recipients))
    unknown = [r for r in recipients if session.get(Organization, r) is None]
    if not recipients or unknown:
        raise RecipientUnknownError(details={"unknown": unknown or ["(none)"]})
    sender = package.header.sender.organ_id
    if sender in recipients:
        raise RecipientUnknownError("Cơ quan gửi không thể tự gửi cho mình.",
                                    "The sender cannot address itself.", details={"to": sender})
    trace = [{"organ_id": t.organ_id, "timestamp": _iso(t.timestamp)} for t in package.trace_headers]
    messages = []
    for recipient in recipients:
        message = _new_message(
            session, cfg, kind="edoc", document_id=package.header.document_id, sender=sender,
            recipient=recipient, origin="submitted", blob=blob, now=now, actor=actor,
            doc_type=package.bussiness.doc_type, trace=trace)
        messages.append(message)
        if message.delivery is not None and message.delivery.mode == "local":
            flows().accept(session, blobs, cfg, package, message, now=now)
    return messages


def _receive_status(session: Session, cfg: ExchangeConfig, status: StatusPackage,
                    blob: tuple[str, str, int], actor: Actor, now: dt.datetime) -> Message:
    if status.status_code == "13":  # from the document's sender to its recipient
        return flows().receive_takeback_request(session, cfg, status, blob, actor, now)
    target = status.response_for.organ_id
    sent = session.execute(select(Message).where(
        Message.kind == "edoc", Message.document_id == status.response_for.document_id,
        Message.recipient_organ_id == status.sender.organ_id)).scalars().first()
    if sent is None:
        raise UnknownDocumentError(details={"document_id": status.response_for.document_id})
    recipient = sent.sender_organ_id
    if target and target != recipient:
        raise RecipientUnknownError("ResponseFor/OrganId không phải cơ quan đã gửi văn bản.",
                                    "ResponseFor/OrganId is not the organisation that sent the document.",
                                    details={"organ_id": target, "sender_of_document": recipient})
    message = _new_message(
        session, cfg, kind="status", document_id=sent.document_id, sender=status.sender.organ_id,
        recipient=recipient, origin="submitted", blob=blob, now=now, actor=actor,
        status_code=status.status_code)
    if message.delivery is not None and message.delivery.mode == "local":
        _apply_status(session, message, status, now=now)
    return message


# -- configuration from settings ----------------------------------------------------------------


def load_demo_agency_key(settings: Any) -> AgencyKey | None:
    """Return the demo PKI's agency key (``docsvc pki demo``) outside production, when it exists
    and names this instance's agency; else None (packages and receipts then go unsigned)."""
    from docsvc.pki import demo

    manifest = settings.pki_dir / demo.MANIFEST
    if settings.env == "production" or settings.organ_id != demo.AGENCY_ORGAN_ID or not manifest.exists():
        return None
    pki = demo.load(settings.pki_dir)
    credential = pki["agency-rsa"]
    chain = x509.load_pem_x509_certificates(pki.chain_path.read_bytes())
    return AgencyKey(credential.private_key(), (credential.certificate(), *chain))


def config_from_settings(settings: Any, *, agency_key: AgencyKey | None = None,
                         verifier: Any = None) -> ExchangeConfig:
    """Return the exchange configuration of an instance (``verifier``: see ExchangeConfig)."""
    return ExchangeConfig(
        verifier=verifier,
        local_organ_id=settings.organ_id, zone=settings.zone,
        organ_id_allow=settings.organ_id_allow,
        lease=dt.timedelta(seconds=settings.exchange_lease_seconds), agency_key=agency_key,
        limits=ParseLimits(max_bytes=min(settings.max_upload_bytes, ParseLimits().max_bytes)),
    )
