"""Signing use cases: sign a registered document as a new version, or sign plain bytes with a
signer profile's key (``docsvc sign``). Profiles and cached keys live in ``services.signers``.

``sign_document`` reads in one short transaction, signs with no transaction open (the TSA and
OCSP are network calls), stores the bytes, then commits the new version under a row lock,
refusing with 409 when another signature landed on the same version meanwhile.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from io import BytesIO
from pathlib import Path
from typing import Any, cast

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from docsvc.errors import BadRequestError, ConflictError, DocsvcError, NotFoundError
from docsvc.filenames import safe_filename
from docsvc.models import (
    Document,
    DocumentVersion,
    SignatureRecord,
)
from docsvc.security import Actor, can_read
from docsvc.services import audit
from docsvc.services.documents import Warning_, claim_number, deny, enter_in_register
from docsvc.services.issuance import ISSUE_ATTEMPTS, IssuePlan, prepare_bytes
from docsvc.services.signers import (
    LevelUnavailableError,
    ProfileSpec,
    SignerRoleMismatchError,
    SigningTools,
    certificate_sha256,
    get_profile_spec,
    list_signer_profiles,
)
from docsvc.signing import LEVELS, ROLES, Placement, sign_pdf_detailed
from docsvc.signing.errors import (
    AlreadySignedError,
    RevocationUnavailableError,
    TimestampUnavailableError,
)
from docsvc.signing.preview import PlacementPreview, preview_placement
from docsvc.signing.words import ScanLimits
from docsvc.storage import BlobStore, VerifiedBytes

AGENCY_ROLES = frozenset({"agency", "attachment", "copy"})
_LOWER = {"B-LTA": "B-LT", "B-LT": "B-T", "B-T": "B-B"}


class NotRegisteredError(ConflictError):
    code = "not_registered"
    message_vi = "Văn bản chưa được đăng ký (chưa có số); đăng ký trước khi ký số."
    message_en = "The document is not registered yet; register it before signing."


class DocumentRevokedError(ConflictError):
    code = "document_revoked"
    message_vi = "Văn bản đã bị thu hồi; không ký số được nữa."
    message_en = "The document was revoked; it can no longer be signed."


class VersionConflictError(ConflictError):
    code = "version_conflict"
    message_vi = "Văn bản vừa có phiên bản mới; tải lại rồi ký lại."
    message_en = "The document has a newer version; reload it and sign again."


# -- signing ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class SignatureRequest:
    """What a client asks for: ``POST /documents/{id}/signatures``."""

    role: str
    signer: str
    level: str | None = None
    placement: Placement | None = None
    allow_lower_level: bool = False
    based_on: int | None = None
    """Version number the client saw; 409 when the document has moved on."""
    copy_form: str | None = None
    """Text of a copy's stamp (``SAO Y``, ``SAO LỤC``, ``TRÍCH SAO``); role ``copy`` only."""
    dry_run: bool = False
    """Only show where the signature would go (page, boxes, a PNG); nothing is signed."""


def parse_signature_request(body: Any) -> SignatureRequest:
    """Check a JSON body and return the request; raise ``BadRequestError`` listing every problem."""
    problems: list[dict[str, str]] = []
    if not isinstance(body, dict):
        raise BadRequestError("Cần một đối tượng JSON.", "A JSON object is required.")
    role, signer, level = body.get("role"), body.get("signer"), body.get("level")
    if role not in ROLES:
        problems.append({"field": "role", "message": " | ".join(ROLES)})
    if not isinstance(signer, str) or not signer:
        problems.append({"field": "signer", "message": "a signer profile id"})
    if level is not None and level not in LEVELS:
        problems.append({"field": "level", "message": " | ".join(LEVELS)})
    allow = body.get("allow_lower_level", False)
    if not isinstance(allow, bool):
        problems.append({"field": "allow_lower_level", "message": "true or false"})
    dry_run = body.get("dry_run", False)
    if not isinstance(dry_run, bool):
        problems.append({"field": "dry_run", "message": "true or false"})
    based_on = body.get("based_on")
    if based_on is not None and (not isinstance(based_on, int) or isinstance(based_on, bool)
                                 or based_on < 1):
        problems.append({"field": "based_on", "message": "a version number"})
    copy_form = body.get("copy_form")
    if copy_form is not None and (not isinstance(copy_form, str) or len(copy_form) > 100):
        problems.append({"field": "copy_form", "message": "text up to 100 characters"})
    placement = None
    raw = body.get("placement")
    if raw is not None:
        try:
            placement = parse_placement(raw)
        except ValueError as exc:
            problems.append({"field": "placement", "message": str(exc)})
    if problems:
        raise BadRequestError(details={"fields": problems})
    assert isinstance(role, str) and isinstance(signer, str)  # else a problem above
    return SignatureRequest(role=role, signer=signer, level=level, placement=placement,
                            allow_lower_level=allow, based_on=based_on, copy_form=copy_form,
                            dry_run=dry_run)


MAX_COORDINATE = 14400.0
"""The largest page side a PDF allows (200 inches at 72 points): boxes beyond it are refused."""


def parse_placement(raw: Any) -> Placement:
    """Read ``{"page", "box": [x1, y1, x2, y2], "field", "search"}``; raise ``ValueError``."""
    if not isinstance(raw, dict) or set(raw) - {"page", "box", "field", "search"}:
        raise ValueError("an object with page, box, field or search")
    page, box = raw.get("page"), raw.get("box")
    if page is not None and (not isinstance(page, int) or isinstance(page, bool) or page == 0):
        raise ValueError("page: 1-based page number (negative counts from the end)")
    if box is not None:
        if (not isinstance(box, list) or len(box) != 4
                or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in box)
                or not all(math.isfinite(v) and abs(v) <= MAX_COORDINATE for v in box)
                or box[0] >= box[2] or box[1] >= box[3]):
            raise ValueError("box: [x1, y1, x2, y2] in points with x1 < x2 and y1 < y2, "
                             f"each within ±{MAX_COORDINATE:g}")
        box = tuple(float(v) for v in box)
    for name in ("field", "search"):
        if raw.get(name) is not None and not isinstance(raw[name], str):
            raise ValueError(f"{name}: text")
    return Placement(page=page, box=box, field=raw.get("field"), search=raw.get("search"))


@dataclass(frozen=True)
class SignedPdf:
    """The signed bytes and how they were made."""

    data: bytes
    level: str
    requested_level: str
    certificate_sha256: str
    certificate_subject: str
    field_name: str
    """The signature field filled (known from signing: the result is not parsed again)."""
    warnings: list[Warning_] = field(default_factory=list)


def placement_limits(settings: Any) -> ScanLimits:
    """Return the bounds of page scans for placement from the settings."""
    return ScanLimits(max_pages=settings.placement_max_pages,
                      scan_pages=settings.placement_scan_pages,
                      seconds=settings.placement_seconds, ocr=settings.placement_ocr)


def sign_bytes(tools: SigningTools, spec: ProfileSpec, data: bytes, *, role: str,
               level: str | None = None, placement: Placement | None = None,
               allow_lower_level: bool = False, reference: str | None = None,
               signing_time: dt.datetime | None = None) -> SignedPdf:
    """Sign ``data`` with a profile's key, falling back to a lower level only when allowed.

    Raises the signing capability's errors (``CertificateRejectedError``,
    ``TimestampUnavailableError`` …), ``SignerRoleMismatchError``, ``LevelUnavailableError``.
    """
    if (role == "person") != (spec.role == "person"):
        raise SignerRoleMismatchError(details={"role": role, "profile_role": spec.role})
    requested = level or tools.default_level()
    signer = tools.signer(spec)
    if placement is None and role == "person":
        placement = Placement(search=spec.display_name)
    picture: Path | bytes | None = spec.picture_png or (
        Path(spec.picture_path) if spec.picture_path else None)
    warnings: list[Warning_] = []
    current = requested
    while True:
        timestamper = tools.timestamper() if current != "B-B" else None
        context = None
        if current in ("B-LT", "B-LTA") or tools.settings.revocation_fetching:
            context = tools.validation_context()
        problem: DocsvcError | None = None
        if current != "B-B" and timestamper is None:
            problem = LevelUnavailableError(details={"level": current, "missing": "tsa_url"})
        elif current in ("B-LT", "B-LTA") and context is None:
            problem = LevelUnavailableError(details={"level": current, "missing": "trust_dirs"})
        else:
            try:
                signed = sign_pdf_detailed(data, signer=signer, role=role, level=current,
                                  timestamper=timestamper, validation_context=context,
                                  placement=placement, picture=picture,
                                  agency_name=spec.display_name if role != "person" else None,
                                  reference=reference, signing_time=signing_time,
                                  limits=placement_limits(tools.settings))
                assert signed.data is not None
                cert = signer.signing_cert
                assert cert is not None
                return SignedPdf(signed.data, current, requested, certificate_sha256(cert),
                                 cert.subject.human_friendly[:300], signed.field_name, warnings)
            except (TimestampUnavailableError, RevocationUnavailableError) as exc:
                problem = exc
        lower = _LOWER.get(current)
        if isinstance(problem, TimestampUnavailableError | LevelUnavailableError) \
                and problem.details.get("missing") != "trust_dirs":
            lower = "B-B" if current != "B-B" else None
        if not allow_lower_level or lower is None:
            raise problem
        warnings.append(Warning_(
            "level_lowered",
            f"Đã ký ở mức {lower} thay cho {current} ({problem.code}). / "
            f"Signed at {lower} instead of {current} ({problem.code}).",
            {"requested": requested, "tried": current, "signed": lower, "reason": problem.code},
        ))
        current = lower


@dataclass(frozen=True)
class SignatureOutcome:
    """The document after signing, its new version and the record of the signature."""

    document: Document
    version: DocumentVersion
    record: SignatureRecord
    warnings: list[Warning_]


def may_sign_for(actor: Actor, document: Document) -> bool:
    """Tell whether the actor may sign anything for the document's agency at all."""
    if actor.kind == "operator":
        return True
    return (actor.kind == "user" and actor.organ_id == document.owner_organ_id
            and bool(actor.roles & {"clerk", "signer"}))


def may_sign_as(actor: Actor, document: Document, role: str, spec: ProfileSpec) -> bool:
    """Tell whether the actor may make a ``role`` signature on the document with ``spec``.

    A person signature needs the user's own bound person profile and the signer role; an
    agency, attachment or copy signature needs a clerk of the owning agency and its agency key.
    """
    if spec.organ_id != document.owner_organ_id:
        return False  # another agency's key never signs here, whoever asks
    if actor.kind == "operator":
        return True
    if actor.kind != "user" or actor.organ_id != document.owner_organ_id:
        return False
    if role == "person":
        return actor.has_role("signer") and spec.username == actor.name
    return actor.has_role("clerk")


def is_sealed(session: Session, document_id: str) -> bool:
    """Tell whether the agency has signed the document (nothing more is signed after that)."""
    return session.execute(select(SignatureRecord.id).where(
        SignatureRecord.document_id == document_id,
        SignatureRecord.role.in_(sorted(AGENCY_ROLES)))).first() is not None


def signing_options(session: Session, *, document: Document, actor: Actor
                    ) -> list[tuple[str, ProfileSpec]]:
    """Return the ``(role, profile)`` pairs the actor may sign the document with now, ``person``
    or ``agency``, by the rules of ``sign_document`` (the pages offer these)."""
    if ((document.status != "registered" and document.direction != "outgoing")
            or document.revoked_at is not None
            or not may_sign_for(actor, document) or is_sealed(session, document.id)):
        return []
    options = []
    for profile in list_signer_profiles(session, organ_ids=[document.owner_organ_id]):
        role = "person" if profile.role == "person" else "agency"
        spec = ProfileSpec.of(profile)
        if profile.active and may_sign_as(actor, document, role, spec):
            options.append((role, spec))
    return options


def is_issuable(document: Document, role: str) -> bool:
    """Tell whether a draft may take this signature: an outgoing draft is signed by the person,
    then issued (numbered, dated and sealed) by the clerk's agency signature."""
    return document.direction == "outgoing" and role in ("person", "agency")


def available_levels(tools: SigningTools) -> tuple[str, ...]:
    """Return the PAdES levels this instance can make: B-T needs a TSA, B-LT and B-LTA trust roots."""
    default = tools.default_level()
    return LEVELS if default == "B-LT" else LEVELS[:LEVELS.index(default) + 1]


def _not_found(document_id: str) -> NotFoundError:
    return NotFoundError("Không tìm thấy văn bản.", "Document not found.",
                         details={"document_id": document_id})


def _checked(session: Session, document_id: str,
             request: SignatureRequest | Callable[[], SignatureRequest], actor: Actor
             ) -> tuple[Document, SignatureRequest, ProfileSpec]:
    """Check that the actor may make the requested signature now; return what signing needs."""
    document = session.get(Document, document_id)
    if document is None or not can_read(actor, document):
        raise _not_found(document_id)
    if not may_sign_for(actor, document):
        deny(session, actor, "document.sign", document=document)
    if callable(request):
        request = request()
    if document.revoked_at is not None:
        raise DocumentRevokedError(details={"document_id": document_id})
    if document.status != "registered" and not is_issuable(document, request.role):
        raise NotRegisteredError(details={"document_id": document_id, "status": document.status})
    spec = get_profile_spec(session, request.signer)
    if (request.role == "person") != (spec.role == "person"):
        raise SignerRoleMismatchError(details={"role": request.role, "profile_role": spec.role})
    if not may_sign_as(actor, document, request.role, spec):
        deny(session, actor, "document.sign", document=document)
    if is_sealed(session, document_id):
        raise AlreadySignedError(details={"document_id": document_id})
    return document, request, spec


def preview_signature(session: Session, blobs: BlobStore, tools: SigningTools, *,
                      document_id: str,
                      request: SignatureRequest | Callable[[], SignatureRequest],
                      actor: Actor) -> PlacementPreview:
    """Show where the requested signature would go on the latest version, without signing.

    The same checks as ``sign_document`` apply; raises its errors and ``PlacementError``.
    """
    document, request, spec = _checked(session, document_id, request, actor)
    latest = document.latest_version
    data = VerifiedBytes(blobs, latest.blob_key).data
    session.rollback()
    placement = request.placement
    if placement is None and request.role == "person":
        placement = Placement(search=spec.display_name)
    picture = Path(spec.picture_path) if spec.picture_path and request.role == "person" else None
    return preview_placement(data, role=request.role, signer_name=spec.display_name,
                             placement=placement, picture=picture,
                             limits=placement_limits(tools.settings))


def sign_document(session: Session, blobs: BlobStore, tools: SigningTools, *, document_id: str,
                  request: SignatureRequest | Callable[[], SignatureRequest], actor: Actor,
                  signing_time: dt.datetime | None = None) -> SignatureOutcome:
    """Sign the latest version of a registered document and store the result as a new version.

    ``request`` may be a callable that parses the request, so that a caller who may not sign
    here learns only that (403/404), not what was wrong with the body.

    Raises ``NotFoundError``, ``PermissionDeniedError`` (recorded), ``BadRequestError``,
    ``NotRegisteredError``, ``AlreadySignedError``, ``VersionConflictError`` (409),
    ``UnknownSignerError``, ``SignerRoleMismatchError``, ``CertificateRejectedError``,
    ``EncryptedPdfError``, ``DamagedPdfError``, ``PlacementError`` (422),
    ``TimestampUnavailableError``, ``RevocationUnavailableError``, ``SignerUnavailableError`` (503).
    Nothing is stored when it raises.
    """
    document: Document | None
    document, request, spec = _checked(session, document_id, request, actor)
    latest = document.latest_version
    based_on = latest.number
    if request.based_on is not None and request.based_on != based_on:
        raise VersionConflictError(details={"based_on": request.based_on, "latest": based_on})
    reference = document.number_notation
    if request.role == "copy":
        reference = request.copy_form or "SAO Y"
    owner = document.owner_organ_id
    source_sha256, media_type, filename = latest.sha256, latest.media_type, latest.filename
    issue = IssuePlan.of(session, document, request.role, tools.settings.zone, signing_time)
    # the content address is checked while the PDF is being signed; nothing is stored before
    source = VerifiedBytes(blobs, latest.blob_key)
    data = source.data
    session.rollback()  # sign with no transaction open: the TSA and OCSP are network calls
    limits = placement_limits(tools.settings)

    for _attempt in range(ISSUE_ATTEMPTS):
        try:
            try:
                prepared, written = prepare_bytes(data, request.role, issue, limits)
                signed = sign_bytes(tools, spec, prepared, role=request.role,
                                    level=request.level, placement=request.placement,
                                    allow_lower_level=request.allow_lower_level,
                                    reference=reference, signing_time=signing_time)
            except DocsvcError:
                source.digest()  # stored bytes that do not match their address explain it
                raise
            sha256 = source.sha256_of_extension(signed.data)  # raises when the source was corrupted
        except DocsvcError as exc:
            session.rollback()
            audit.record(session, actor, "document.sign", object_type="document",
                         object_id=document_id, organ_id=owner, outcome="failed",
                         content_sha256=source_sha256,
                         details={"code": exc.code, "role": request.role, "signer": spec.id,
                                  **{k: v for k, v in exc.details.items()
                                     if k in ("reason", "level", "subject")}})
            session.commit()
            raise
        info = blobs.put(BytesIO(signed.data), sha256=sha256, size=len(signed.data))  # bytes first

        document = session.get(Document, document_id, with_for_update=True,
                               populate_existing=True)
        assert document is not None
        if document.latest_version.number != based_on:
            session.rollback()  # the stored bytes are an orphan: harmless, ``docsvc check`` lists it
            raise VersionConflictError(details={"based_on": based_on,
                                                "latest": document.latest_version.number})
        if issue is not None and issue.numbering:
            if document.status == "registered":
                session.rollback()
                raise VersionConflictError(details={"based_on": based_on, "reason": "registered"})
            if not claim_number(session, owner, issue.register, issue.today.year, cast(int, issue.number)):
                # another document was issued meanwhile: sign again with the next number
                session.rollback()
                issue = IssuePlan.of(session, document, request.role, tools.settings.zone,
                                  signing_time)
                session.rollback()
                continue
            enter_in_register(session, document, register=issue.register,
                              year=issue.today.year, number=cast(int, issue.number), now=issue.now,
                              today=issue.today, actor=actor)
        warnings = list(signed.warnings)
        if issue is not None and not written:
            warnings.append(Warning_(
                "issue_not_written",
                "Số và ngày ban hành chưa được ghi lên văn bản: không thấy chỗ trống \"Số:\" và "
                "\"ngày … tháng … năm …\" ở trang 1 (hoặc văn bản đã được ký mà chưa có ô). / "
                "The number and date were not written on the PDF: no blanks found on page 1.",
                {"number": issue.number_text}))
        return _record(session, document, actor, request, spec, signed, sha256, info.key,
                       based_on=based_on, source_sha256=source_sha256, media_type=media_type,
                       filename=filename, warnings=warnings, issue=issue, written=written)
    raise VersionConflictError(details={"based_on": based_on, "reason": "number_race"})


def _record(session: Session, document: Document, actor: Actor, request: SignatureRequest,
            spec: ProfileSpec, signed: SignedPdf, sha256: str, blob_key: str, *, based_on: int,
            source_sha256: str, media_type: str, filename: str | None,
            warnings: list[Warning_], issue: IssuePlan | None, written: tuple[str, ...]
            ) -> SignatureOutcome:
    """Add the new version, the signature record and the audit entry; commit."""
    document_id = document.id
    number = max(v.number for v in document.versions) + 1  # annexes (attachments) take numbers too
    version = DocumentVersion(
        document=document, number=number, kind="signed", sha256=sha256,
        size=len(signed.data), media_type=media_type,
        filename=_signed_filename(filename, request.role), blob_key=blob_key,
        created_by=actor.label,
    )
    session.add(version)
    field_name = signed.field_name
    record = SignatureRecord(
        document_id=document_id, version=version, based_on=based_on, role=request.role,
        profile_id=spec.id, level=signed.level, requested_level=signed.requested_level,
        field_name=field_name, certificate_subject=signed.certificate_subject,
        certificate_sha256=signed.certificate_sha256, signed_by=actor.label,
    )
    session.add(record)
    details: dict[str, Any] = {
        "role": request.role, "signer": spec.id, "level": signed.level,
        "version": number, "based_on": based_on, "based_on_sha256": source_sha256,
        "field": field_name, "certificate_sha256": signed.certificate_sha256,
        "warnings": [w.code for w in warnings]}
    if issue is not None:
        details["issued"] = {"number": issue.number_text, "date": issue.today.isoformat(),
                             "numbered_now": issue.numbering, "fields": list(written)}
    audit.record(session, actor, "document.sign", object_type="document", object_id=document_id,
                 content_sha256=sha256, organ_id=document.owner_organ_id, details=details)
    try:
        session.commit()
    except IntegrityError as exc:
        session.rollback()
        raise VersionConflictError(details={"based_on": based_on}) from exc
    return SignatureOutcome(document, version, record, warnings)


def _signed_filename(filename: str | None, role: str) -> str:
    stem = safe_filename(filename).rsplit(".", 1)[0]
    return f"{stem}.signed-{role}.pdf"


def signature_to_dict(record: SignatureRecord) -> dict[str, Any]:
    """Return the JSON form of a signature record."""
    return {
        "role": record.role, "signer": record.profile_id, "level": record.level,
        "requested_level": record.requested_level, "field_name": record.field_name,
        "version": record.version.number, "based_on": record.based_on,
        "certificate_subject": record.certificate_subject,
        "certificate_sha256": record.certificate_sha256,
        "signed_at": record.signed_at.isoformat(), "signed_by": record.signed_by,
    }
