"""Sending a registered, signed document: one package per attachment encoding (raw, or zipped
like the official SDK for the organisations whose directory entry says ``zip_attachments``), stored
once and pointed at by one message per recipient; a recipient hosted here receives it at once.

A document sent with ``replaces`` is a **replacement** (văn bản thay thế, BussinessDocType 3): its
packages name each replaced document (our own outgoing documents that were sent) with the
recipients of the package that got it (``ReplacementInfoList``), and the link is kept here in
``document_links``. Once sent, a document keeps what it replaces: later recipients get the same
replacement, and another ``replaces`` is refused.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from docsvc import exchange as edxml
from docsvc.errors import BadRequestError
from docsvc.exchange import VN_TZ, Bussiness, DocumentPackage, ReplacementInfo
from docsvc.filenames import safe_filename
from docsvc.metadata import DOCUMENT_TYPES
from docsvc.models import Document, DocumentLink, Message, Organization, utcnow
from docsvc.security import Actor, can_read
from docsvc.services import audit
from docsvc.services import directory as dirsvc
from docsvc.services.documents import lock_for_write, refuse
from docsvc.services.exchange.arrival import REPLACEMENT, accept, verify_received
from docsvc.services.exchange.config import ExchangeConfig
from docsvc.services.exchange.errors import (
    DocumentNotSendableError,
    RecipientUnknownError,
    ReplacementRefusedError,
)
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
    doc_type: int = 0
    """BussinessDocType of the document's packages: 0 new, 3 replacement."""
    replaces: tuple[dict[str, Any], ...] = ()
    """A replacement's replaced documents: ``{"id", "document_id" (edXML), "organ_ids"}`` (every
    recipient that got it; each package names only its own recipients among them)."""


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
                     recipients: Sequence[str], now: dt.datetime, *,
                     with_files: bool = True) -> DocumentPackage:
    """Build the package of ``document`` (its latest version attached unless ``with_files`` is
    False: a revocation carries no files, so none is read) addressed to ``recipients``."""
    if not document.code_number or not document.code_notation or not document.issued_date:
        raise DocumentNotSendableError(details={"reason": "number_notation_or_date_missing"})
    if document.direction == "outgoing" and document.organ_id != document.owner_organ_id:
        # A row from before the rule: never send a package in another agency's name.
        raise DocumentNotSendableError(details={"reason": "issuing_body_not_owner",
                                                "organ_id": document.organ_id,
                                                "owner_organ_id": document.owner_organ_id})
    sender_org = session.get(Organization, document.organ_id)
    sender = edxml_org(sender_org, document.organ_id, document.organ_name, document.place or "")
    to = tuple(edxml_org(session.get(Organization, r), r) for r in recipients)
    type_row = next((i + 1 for i, (name, _) in enumerate(DOCUMENT_TYPES)
                     if name == document.type_name), None)
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
    package = DocumentPackage(
        header=header,
        trace_headers=(edxml.TraceHeader(document.owner_organ_id, now.astimezone(VN_TZ)),))
    if not with_files:
        return package
    version = document.latest_version
    with read_verified(blobs, version.blob_key) as stream:
        content = stream.read()
    number = document.number_notation or ""
    name = safe_filename(version.filename, f"{number.replace('/', '-')}.pdf")
    return dataclasses.replace(package, attachments=(edxml.Attachment(
        content_id="1", name=name, content_type=version.media_type, data=content,
        size=len(content), sha256=version.sha256),))


REPLACES_MAX = 20
"""At most this many documents replaced by one."""


def content_fingerprint(package: DocumentPackage) -> str:
    """SHA-256 of what a document package says apart from to whom and when it is sent: the header
    without its recipients, each attachment's name, type and SHA-256, the BussinessDocType, its
    reason and target, and the replaced DocumentIds. Two packages with the same fingerprint
    carry the same document; the TraceHeader's timestamp (and so the package's own hash) always
    differs, and the attachment encoding (raw or zipped) does not count."""
    b = package.bussiness
    body = {
        "header": dataclasses.asdict(dataclasses.replace(package.header, recipients=())),
        "attachments": [{"name": a.name, "content_type": a.content_type,
                         "sha256": a.sha256 or hashlib.sha256(a.read_bytes()).hexdigest()}
                        for a in package.attachments],
        "bussiness": {"doc_type": b.doc_type, "reason": b.reason,
                      "document_id": b.document_id or package.header.document_id,
                      "replaces": [r.document_id for r in b.replacements]},
    }
    text = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class Built:
    """One package built for a group of recipients, stored as ``blob`` (key, SHA-256, size)."""

    zip_attachments: bool
    group: tuple[str, ...]
    package: DocumentPackage
    blob: tuple[str, str, int]


def dispatch(
    session: Session, blobs: BlobStore, cfg: ExchangeConfig, *, document: Document,
    whole: DocumentPackage, recipients: Sequence[str], now: dt.datetime, actor: Actor,
    bussiness: Callable[[Sequence[str]], Bussiness] | None = None,
) -> tuple[list[Built], list[Message]]:
    """Build, validate, sign and store the packages of ``whole`` and add one message per recipient
    (a recipient hosted here receives at once). ``bussiness`` gives the Bussiness block of the
    package of a group (default: ``whole``'s).

    One package per attachment encoding the recipients asked for in the directory (raw, or each
    file zipped like the official SDK), addressed to its group and shared by their messages. A
    recipient reached by push gets a package naming only the recipients of its peer instance:
    a peer files what a package lists, and must not re-route the others."""
    groups: dict[tuple[bool, str], list[str]] = {}
    for recipient in recipients:
        org = session.get(Organization, recipient)
        zip_flag = bool(getattr(org, "zip_attachments", False))
        peer = "" if org is None or dirsvc.is_hosted(session, recipient, cfg.local_organ_id) \
            else (org.endpoint_url or "")
        groups.setdefault((zip_flag, peer), []).append(recipient)
    built: list[Built] = []
    for (flag, _peer), group in sorted(groups.items()):
        package = whole if len(group) == len(recipients) else dataclasses.replace(
            whole, header=dataclasses.replace(whole.header, recipients=tuple(
                o for o in whole.header.recipients if o.organ_id in group)))
        if bussiness is not None:
            package = dataclasses.replace(package, bussiness=bussiness(group))
        data = edxml.build_document_package(package, zip_attachments=flag)
        edxml.validate_package(data, cfg.schemas, limits=cfg.limits)
        built.append(Built(flag, tuple(group), package, put(blobs, sign(cfg, data))))
    created = []
    for item in built:
        package = item.package
        trace = [{"organ_id": t.organ_id, "timestamp": iso(t.timestamp)}
                 for t in package.trace_headers]
        content = content_fingerprint(package)
        for recipient in item.group:
            message = new_message(
                session, cfg, kind="edoc", document_id=package.header.document_id,
                sender=document.owner_organ_id, recipient=recipient, origin="local",
                blob=item.blob, now=now, actor=actor, local_document_id=document.id,
                doc_type=package.bussiness.doc_type, trace=trace, content_sha256=content)
            created.append(message)
            if message.delivery is not None and message.delivery.mode == "local":
                # the package as built: the original files, whatever the encoding on the wire
                accept(session, blobs, cfg, package, message, now=now)
    return built, created


def packages_details(built: Sequence[Built]) -> list[dict[str, Any]]:
    """The audit form of the packages built by one use case."""
    return [{"to": list(b.group), "zip_attachments": b.zip_attachments, "sha256": b.blob[1],
             "size": b.blob[2]} for b in built]


def sent_messages_of(session: Session, document: Document) -> list[Message]:
    """The document packages (new, update, replacement; not revocations) we sent for
    ``document``, oldest first (the recipients of one sending by OrganId)."""
    return list(session.execute(select(Message).where(
        Message.local_document_id == document.id, Message.kind == "edoc",
        Message.origin == "local", not_revocation(),
    ).order_by(Message.created_at, Message.recipient_organ_id, Message.id)).scalars())


def got_it(message: Message) -> bool:
    """Tell whether a recipient got (or will get) the package: not refused in transport, not
    given up by the push worker."""
    if message.ack_result == "rejected":
        return False
    return message.delivery is None or message.delivery.state not in ("failed", "expired")


# -- replacement --------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Replaced:
    document: Document
    edxml_id: str
    got: tuple[str, ...]
    """The recipients that got the replaced document, in the order it was sent."""


@dataclass(frozen=True)
class _Replacement:
    reason: str
    replaced: tuple[_Replaced, ...]
    first: bool
    """True when this send records the links (the document's first sending)."""

    def bussiness(self, group: Sequence[str]) -> Bussiness:
        """The Bussiness block of the package to ``group``: each replaced document with the
        recipients of this package that got it."""
        return Bussiness(doc_type=REPLACEMENT, reason=self.reason, replacements=tuple(
            ReplacementInfo(r.edxml_id, tuple(o for o in r.got if o in group))
            for r in self.replaced))


def _replacement(session: Session, document: Document, replaces: Any, reason: Any, *,
                 actor: Actor, sent_before: bool) -> _Replacement | None:
    """What ``document`` replaces: given now (first sending) or recorded (None: nothing)."""
    links = list(session.execute(select(DocumentLink).where(
        DocumentLink.document_id == document.id, DocumentLink.kind == "replacement",
        DocumentLink.target_document_id.is_not(None)).order_by(DocumentLink.id)).scalars())
    if replaces is None and not links:
        if reason is not None:
            raise BadRequestError('"reason" chỉ dùng cho văn bản thay thế (cần "replaces").',
                                  '"reason" is for a replacement only (give "replaces").')
        return None
    if replaces is not None:
        if (not isinstance(replaces, list) or not replaces or len(replaces) > REPLACES_MAX
                or not all(isinstance(x, str) and x.strip() for x in replaces)):
            raise BadRequestError(
                f'"replaces" phải là danh sách (1–{REPLACES_MAX}) mã văn bản bị thay thế.',
                f'"replaces" must be a list of 1-{REPLACES_MAX} ids of replaced documents.',
                details={"replaces": replaces})
        wanted = list(dict.fromkeys(x.strip() for x in replaces))
        if document.id in wanted:
            raise BadRequestError("Văn bản không thể thay thế chính nó.",
                                  "A document cannot replace itself.",
                                  details={"replaces": [document.id]})
    else:
        wanted = list(dict.fromkeys(str(link.target_document_id) for link in links))
    if reason is not None and not isinstance(reason, str):
        raise BadRequestError("reason phải là văn bản.", "reason must be text.",
                              details={"reason": reason})
    text = (reason or "").strip()[:500] or (links[0].reason or "" if links else "")
    if not text:
        raise BadRequestError("Văn bản thay thế phải nêu lý do (reason).",
                              "A replacement needs a reason (reason).", details={"reason": reason})
    problems: list[dict[str, Any]] = []
    if links:
        recorded = list(dict.fromkeys(str(link.target_document_id) for link in links))
        if set(wanted) != set(recorded):
            problems.append({"document_id": document.id, "problem": "replaces_differs",
                             "recorded": recorded})
    elif sent_before:
        problems.append({"document_id": document.id, "problem": "sent_as_new"})
    replaced = []
    for target_id in wanted:
        # locked: two documents sent at once cannot both replace it
        target = session.get(Document, target_id, with_for_update=True, populate_existing=True)
        if target is None or target.owner_organ_id != document.owner_organ_id \
                or not can_read(actor, target):
            problems.append({"document_id": target_id, "problem": "not_found"})
            continue
        if target.direction != "outgoing":
            problems.append({"document_id": target_id, "problem": "not_outgoing"})
            continue
        sent = sent_messages_of(session, target)
        if not sent:
            problems.append({"document_id": target_id, "problem": "not_sent"})
            continue
        by = list(session.execute(select(DocumentLink.document_id).where(
            DocumentLink.target_document_id == target.id, DocumentLink.kind == "replacement",
            DocumentLink.document_id != document.id)).scalars())
        if by:
            problems.append({"document_id": target_id, "problem": "already_replaced",
                             "by": sorted(set(by))})
            continue
        got = tuple(dict.fromkeys(m.recipient_organ_id for m in sent if got_it(m)))
        replaced.append(_Replaced(target, sent[0].document_id, got))
    if problems:
        refuse(session, actor, "document.send", document,
                ReplacementRefusedError(details={"problems": problems}),
                reason="replacement_refused", problems=problems)
    return _Replacement(text, tuple(replaced), first=not links)


# -- sending ------------------------------------------------------------------------------------


def send_document(
    session: Session, blobs: BlobStore, cfg: ExchangeConfig, *, document_id: str, to: Any,
    actor: Actor, replaces: Any = None, reason: Any = None, now: dt.datetime | None = None,
) -> SendResult:
    """Send a registered, signed document to each organisation in ``to`` (one message each).

    Recipients served here (hosted or pulling) share one package with the raw files and one
    with each file zipped (directory ``zip_attachments``); each peer instance reached by push
    gets a package addressed only to its own recipients.

    With ``replaces`` (ids of our outgoing documents that were sent) and a ``reason``, the
    document is sent as their replacement (BussinessDocType 3) and the links are recorded; a
    document sent as a replacement stays one on later sendings (``replaces`` may be left out).

    Sending again to a recipient that already has the document creates nothing for it.
    Raises NotFoundError, PermissionDeniedError (not a clerk of its agency), BadRequestError
    (``to``, ``replaces``, no reason), RecipientUnknownError, DocumentNotSendableError,
    ReplacementRefusedError (409, recorded).
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
    sent = sent_messages_of(session, document)
    replacement = _replacement(session, document, replaces, reason, actor=actor,
                               sent_before=bool(sent))
    doc_type = REPLACEMENT if replacement is not None else 0
    replaced = tuple({"id": r.document.id, "document_id": r.edxml_id, "organ_ids": list(r.got)}
                     for r in replacement.replaced) if replacement is not None else ()
    existing: dict[str, Message] = {}
    for m in sent:
        existing.setdefault(m.recipient_organ_id, m)
    new = [r for r in recipients if r not in existing]
    if not new:
        session.commit()  # release the row lock
        return SendResult(tuple(existing[r] for r in recipients), (), None, False,
                          doc_type=doc_type, replaces=replaced)
    try:
        whole = document_package(session, blobs, document, new, now)
    except ValueError as exc:
        raise DocumentNotSendableError(details={"reason": str(exc)}) from None
    built, created = dispatch(
        session, blobs, cfg, document=document, whole=whole, recipients=new, now=now, actor=actor,
        bussiness=replacement.bussiness if replacement is not None else None)
    if replacement is not None and replacement.first:
        for r in replacement.replaced:
            session.add(DocumentLink(document_id=document.id, kind="replacement",
                                     target_edxml_id=r.edxml_id[:200],
                                     target_document_id=r.document.id,
                                     message_id=created[0].id, reason=replacement.reason))
    first = built[0].blob
    details: dict[str, Any] = {
        "to": new, "document_id": built[0].package.header.document_id,
        "signed_xml": cfg.agency_key is not None, "size": first[2],
        "packages": packages_details(built)}
    if replacement is not None:
        details.update(bussiness_doc_type=REPLACEMENT, reason=replacement.reason,
                       replaces=list(replaced))
    audit.record(session, actor, "document.send", object_type="document", object_id=document.id,
                 content_sha256=first[1], organ_id=document.owner_organ_id, details=details)
    session.commit()
    verify_received(session, blobs, cfg, created)
    return SendResult(tuple(existing.get(r) or next(m for m in created if m.recipient_organ_id == r)
                            for r in recipients), tuple(new), first[1], cfg.agency_key is not None,
                      tuple(b.blob[1] for b in built), doc_type=doc_type, replaces=replaced)
