"""Sending a registered, signed document: one package per attachment encoding (raw, or zipped
like the official SDK for the organisations whose directory entry says ``zip_attachments``), stored
once and pointed at by one message per recipient; a recipient hosted here receives it at once."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from docsvc import exchange as edxml
from docsvc.errors import BadRequestError
from docsvc.exchange import VN_TZ, DocumentPackage
from docsvc.metadata import DOCUMENT_TYPES
from docsvc.models import Document, Message, Organization, utcnow
from docsvc.security import Actor
from docsvc.services import audit
from docsvc.services import directory as dirsvc
from docsvc.services.documents import lock_for_write
from docsvc.services.exchange.arrival import accept, verify_received
from docsvc.services.exchange.config import ExchangeConfig
from docsvc.services.exchange.errors import DocumentNotSendableError, RecipientUnknownError
from docsvc.services.exchange.messages import edxml_org, iso, new_message, not_revocation, put, sign
from docsvc.storage import BlobStore, read_verified


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


def document_package(session: Session, blobs: BlobStore, document: Document,
                     recipients: Sequence[str], now: dt.datetime) -> DocumentPackage:
    """Build the package of ``document`` (its latest version attached) addressed to ``recipients``."""
    if not document.code_number or not document.code_notation or not document.issued_date:
        raise DocumentNotSendableError(details={"reason": "number_notation_or_date_missing"})
    sender_org = session.get(Organization, document.organ_id)
    sender = edxml_org(sender_org, document.organ_id, document.organ_name, document.place or "")
    to = tuple(edxml_org(session.get(Organization, r), r) for r in recipients)
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

    Recipients served here (hosted or pulling) share one package with the raw files and one
    with each file zipped (directory ``zip_attachments``); each peer instance reached by push
    gets a package addressed only to its own recipients.

    Sending again to a recipient that already has the document creates nothing for it.
    Raises NotFoundError, PermissionDeniedError (not a clerk of its agency), BadRequestError
    (``to``), RecipientUnknownError, DocumentNotSendableError.
    """
    now = now or utcnow()
    # the row lock makes two concurrent sends to the same recipient create one message
    document = lock_for_write(session, document_id, actor, "document.send", people_only=True)
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
        Message.origin == "local", not_revocation())).scalars()}
    new = [r for r in recipients if r not in existing]
    if not new:
        session.commit()  # release the row lock
        return SendResult(tuple(existing[r] for r in recipients), (), None, False)
    try:
        whole = document_package(session, blobs, document, new, now)
    except ValueError as exc:
        raise DocumentNotSendableError(details={"reason": str(exc)}) from None
    # One package per attachment encoding the recipients asked for in the directory (raw, or
    # each file zipped like the official SDK), addressed to its group and shared by their
    # messages. A recipient reached by push gets a package naming only the recipients of its
    # peer instance: a peer files what a package lists, and must not re-route the others.
    groups: dict[tuple[bool, str], list[str]] = {}
    for recipient in new:
        org = session.get(Organization, recipient)
        zip_flag = bool(getattr(org, "zip_attachments", False))
        peer = "" if org is None or dirsvc.is_hosted(session, recipient, cfg.local_organ_id) \
            else (org.endpoint_url or "")
        groups.setdefault((zip_flag, peer), []).append(recipient)
    built: list[tuple[bool, list[str], DocumentPackage, tuple[str, str, int]]] = []
    for (flag, _peer), group in sorted(groups.items()):
        package = whole if len(group) == len(new) else dataclasses.replace(
            whole, header=dataclasses.replace(whole.header, recipients=tuple(
                o for o in whole.header.recipients if o.organ_id in group)))
        data = edxml.build_document_package(package, zip_attachments=flag)
        edxml.validate_package(data, cfg.schemas, limits=cfg.limits)
        built.append((flag, group, package, put(blobs, sign(cfg, data))))
    created = []
    for _, group, package, blob in built:
        trace = [{"organ_id": t.organ_id, "timestamp": iso(t.timestamp)}
                 for t in package.trace_headers]
        for recipient in group:
            message = new_message(
                session, cfg, kind="edoc", document_id=package.header.document_id,
                sender=document.owner_organ_id, recipient=recipient, origin="local", blob=blob,
                now=now, actor=actor, local_document_id=document.id, doc_type=0, trace=trace)
            created.append(message)
            if message.delivery is not None and message.delivery.mode == "local":
                # the package as built: the original files, whatever the encoding on the wire
                accept(session, blobs, cfg, package, message, now=now)
    first = built[0][3]
    audit.record(session, actor, "document.send", object_type="document", object_id=document.id,
                 content_sha256=first[1], organ_id=document.owner_organ_id,
                 details={"to": new, "document_id": built[0][2].header.document_id,
                          "signed_xml": cfg.agency_key is not None, "size": first[2],
                          "packages": [{"to": group, "zip_attachments": flag, "sha256": blob[1],
                                        "size": blob[2]} for flag, group, _, blob in built]})
    session.commit()
    verify_received(session, blobs, cfg, created)
    return SendResult(tuple(existing.get(r) or next(m for m in created if m.recipient_organ_id == r)
                            for r in recipients), tuple(new), first[1], cfg.agency_key is not None,
                      tuple(blob[1] for _, _, _, blob in built))

