"""Submissions from linked systems: an edXML document or status package is checked (size, sender,
XML signature), stored once and addressed as one message per recipient, idempotently."""

from __future__ import annotations

import datetime as dt
import hashlib
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, cast

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from docsvc import exchange as edxml
from docsvc.errors import BadRequestError, ConflictError, DocsvcError
from docsvc.exchange import DocumentPackage, StatusPackage, XmlSignatureInvalidError, XmlTooLargeError
from docsvc.models import IdempotencyKey, LinkedSystem, Message, Organization, utcnow
from docsvc.security import Actor
from docsvc.services import audit
from docsvc.services.exchange.arrival import accept, received, verify_received
from docsvc.services.exchange.config import ExchangeConfig, make_receipt
from docsvc.services.exchange.errors import (
    IdempotencyConflictError,
    RecipientUnknownError,
    SenderMismatchError,
    UnknownDocumentError,
    XmlSignatureRequiredError,
)
from docsvc.services.exchange.flows import receive_takeback_request
from docsvc.services.exchange.mailbox import system_only
from docsvc.services.exchange.messages import iso, new_message, not_revocation
from docsvc.services.exchange.reports import apply_status
from docsvc.storage import BlobStore
from docsvc.storage.base import CHUNK

SPOOL_PREFIX = "docsvc-edxml-"
"""Prefix of the folders a received package is unpacked in (removed by ``check --repair`` when
a killed worker left one behind)."""


@dataclass(frozen=True)
class Submission:
    receipt: dict[str, Any]
    replayed: bool
    """True when the same key and bytes were submitted before (the first receipt is returned)."""


def _spool(stream: BinaryIO, limit: int) -> tuple[BinaryIO, str, int]:
    spool = cast(BinaryIO, tempfile.SpooledTemporaryFile(max_size=4 * CHUNK))  # noqa: SIM115 - returned
    digest, size = hashlib.sha256(), 0
    try:
        while chunk := stream.read(CHUNK):
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
    via_axis: bool = False,
) -> Submission:
    """Accept an edXML document or status package from a linked system.

    Idempotent by the caller's organisation and ``idempotency_key`` (default: the SHA-256 of
    the bytes). Nothing is stored unless every check passes. Raises XmlTooLargeError (413),
    IdempotencyConflictError (409), EdxmlError (422: malformed, hostile, schema, signature),
    SenderMismatchError (403), RecipientUnknownError / UnknownDocumentError (422).

    ``via_axis``: the package came from the national axis (``services.axis.inbound``): the
    sender is the package's, and only the recipients served here get it (the axis delivers the
    others' copies); a document already filed here from the same sender and DocumentId is a
    duplicate (``DuplicateArrivalError``), whatever its bytes.
    """
    organ_id = None if via_axis else system_only(actor)
    now = now or utcnow()
    if idempotency_key is not None and not (0 < len(idempotency_key) <= 200):
        raise BadRequestError("Idempotency-Key dài 1–200 ký tự.", "Idempotency-Key: 1-200 characters.")
    spool, sha256, size = _spool(stream, cfg.limits.max_bytes)
    with spool:
        if size == 0:
            raise BadRequestError("Thân yêu cầu rỗng: cần gói tin edXML.",
                                  "Empty body: an edXML package is expected.")
        key = idempotency_key or f"sha256:{sha256}"
        known = session.get(IdempotencyKey, (organ_id, key)) if organ_id is not None else None
        if known is not None:
            if known.sha256 != sha256:
                raise IdempotencyConflictError(details={"key": key, "first_sha256": known.sha256})
            return Submission(known.receipt, True)
        folder = Path(tempfile.mkdtemp(prefix=SPOOL_PREFIX, dir=cfg.spool_dir))
        try:
            result = edxml.parse_package(spool, limits=cfg.limits, attachment_dir=folder,
                                         organ_id_allow=cfg.organ_id_allow)
            package = result.package
            sender = package.header.sender if isinstance(package, DocumentPackage) else package.sender
            if organ_id is None:  # via the axis: the package names its sender
                organ_id = sender.organ_id
                known = session.get(IdempotencyKey, (organ_id, key))
                if known is not None and known.sha256 == sha256:
                    return Submission(known.receipt, True)
            if sender.organ_id != organ_id:
                audit.record(session, actor, "exchange.submit", object_type="message",
                             content_sha256=sha256, organ_id=organ_id, outcome="denied",
                             details={"reason": "sender_mismatch", "from": sender.organ_id})
                session.commit()
                raise SenderMismatchError(details={"from": sender.organ_id, "caller": organ_id})
            signature = _check_signature(session, cfg, spool, package, actor)
            spool.seek(0)
            written = _NewBlobs(blobs)
            try:
                info = written.put(spool, sha256=sha256, size=size)
                blob = (info.key, sha256, size)
                if isinstance(package, DocumentPackage):
                    messages = _receive_document(session, written, cfg, package, blob, actor, now,
                                                 via_axis=via_axis)
                else:
                    messages = [_receive_status(session, cfg, package, blob, actor, now)]
            except DocsvcError:
                written.forget_unreferenced(session)  # refused: nothing stays stored
                raise
            receipt = make_receipt(cfg, {
                "type": "submission", "message_ids": [m.id for m in messages],
                "kind": result.kind, "document_id": messages[0].document_id, "sha256": sha256,
                "size": size, "from": organ_id, "to": [m.recipient_organ_id for m in messages],
                "received_at": iso(now), "xml_signature": signature,
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
            verify_received(session, blobs, cfg, messages)
            return Submission(receipt, False)
        finally:
            shutil.rmtree(folder, ignore_errors=True)


class _NewBlobs:
    """The blob store of one submission, remembering the keys it wrote that were not there
    before, so a refusal can take them back (a refused package left its bytes behind)."""

    def __init__(self, blobs: BlobStore) -> None:
        self._blobs = blobs
        self.new: list[str] = []

    def put(self, stream: BinaryIO, *, sha256: str, size: int):  # type: ignore[no-untyped-def]
        """Store like the wrapped store, noting a key that did not exist."""
        from docsvc.storage.base import key_for

        existed = self._blobs.exists(key_for(sha256))
        info = self._blobs.put(stream, sha256=sha256, size=size)
        if not existed:
            self.new.append(info.key)
        return info

    def __getattr__(self, name: str):  # type: ignore[no-untyped-def]
        return getattr(self._blobs, name)

    def forget_unreferenced(self, session: Session) -> None:
        """Roll back, then delete the new keys that no committed row names."""
        from docsvc.models import DocumentVersion

        session.rollback()
        for key in self.new:
            named = session.execute(select(Message.id).where(Message.blob_key == key).limit(1)
                                    ).first() or session.execute(
                select(DocumentVersion.id).where(DocumentVersion.blob_key == key).limit(1)).first()
            if named is None:
                self._blobs.delete(key)


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
                      now: dt.datetime, *, via_axis: bool = False) -> list[Message]:
    recipients = list(dict.fromkeys(r.organ_id for r in package.header.recipients))
    if via_axis:
        recipients = axis_recipients(session, package, recipients, cfg.local_organ_id)
    unknown = [r for r in recipients if session.get(Organization, r) is None]
    if not recipients or unknown:
        raise RecipientUnknownError(details={"unknown": unknown or ["(none)"]})
    sender = package.header.sender.organ_id
    if sender in recipients:
        raise RecipientUnknownError("Cơ quan gửi không thể tự gửi cho mình.",
                                    "The sender cannot address itself.", details={"to": sender})
    trace = [{"organ_id": t.organ_id, "timestamp": iso(t.timestamp)} for t in package.trace_headers]
    messages = []
    revoked_id = (package.bussiness.document_id or package.header.document_id) \
        if package.bussiness.doc_type == 1 else None
    for recipient in recipients:
        # a revocation travels the way the document it revokes did (see new_message's like)
        original = session.execute(select(Message).where(
            Message.kind == "edoc", Message.document_id == revoked_id,
            Message.sender_organ_id == sender, Message.recipient_organ_id == recipient,
            not_revocation()).order_by(Message.created_at)).scalars().first() \
            if revoked_id else None
        message = new_message(
            session, cfg, kind="edoc", document_id=package.header.document_id, sender=sender,
            recipient=recipient, origin="submitted", blob=blob, now=now, actor=actor,
            doc_type=package.bussiness.doc_type, trace=trace, like=original)
        messages.append(message)
        if message.delivery is not None and message.delivery.mode == "local":
            accept(session, blobs, cfg, package, message, now=now)
    return messages


def _receive_status(session: Session, cfg: ExchangeConfig, status: StatusPackage,
                    blob: tuple[str, str, int], actor: Actor, now: dt.datetime) -> Message:
    if status.status_code == "13":  # from the document's sender to its recipient
        return receive_takeback_request(session, cfg, status, blob, actor, now)
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
    message = new_message(
        session, cfg, kind="status", document_id=sent.document_id, sender=status.sender.organ_id,
        recipient=recipient, origin="submitted", blob=blob, now=now, actor=actor,
        status_code=status.status_code)
    if message.delivery is not None and message.delivery.mode == "local":
        apply_status(session, message, status, now=now)
    return message



def axis_recipients(session: Session, package: DocumentPackage, recipients: list[str],
                    local_organ_id: str) -> list[str]:
    """Return the recipients of an axis package that are served here (hosted, push peers, linked
    systems), without those that already filed this document from this sender.

    Raises RecipientUnknownError when none is served here, DuplicateArrivalError when every one
    of them has it already.
    """
    from docsvc.services.axis.routing import is_axis_routed
    from docsvc.services.directory import is_hosted

    ours = [r for r in recipients if is_hosted(session, r, local_organ_id) or (
        session.get(Organization, r) is not None and not is_axis_routed(session, r))]
    if not ours:
        raise RecipientUnknownError("Gói tin từ trục không gửi cho cơ quan nào ở đây.",
                                    "The axis package is addressed to no organisation served here.",
                                    details={"to": recipients})
    if package.bussiness.doc_type in (0, None):
        sender = package.header.sender.organ_id
        fresh = [r for r in ours if received(session, document_id=package.header.document_id,
                                             sender=sender, recipient=r) is None]
        if not fresh:
            raise DuplicateArrivalError(details={"document_id": package.header.document_id,
                                                 "from": sender, "to": ours})
        ours = fresh
    return ours


class DuplicateArrivalError(ConflictError):
    """Every recipient here already has this document (same sender and DocumentId)."""

    code = "exchange_duplicate_arrival"
    message_vi = "Văn bản này (cùng cơ quan gửi và DocumentId) đã được nhận trước đó."
    message_en = "This document (same sender and DocumentId) was received before."
