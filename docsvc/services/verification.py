"""Verification use cases: verify an uploaded PDF (nothing kept but the audit entry), verify a
stored version (the result and its evidence are kept), show what a signature covers, and
re-verify the whole archive to find verdicts that changed since the last run.

A verdict is an outcome, never an error: invalid and unreadable PDFs give reports (HTTP 200).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from docsvc.config import Settings
from docsvc.errors import BlobCorruptedError, BlobMissingError, UnsupportedMediaTypeError
from docsvc.filenames import safe_filename
from docsvc.models import Document, DocumentVersion, SignatureRecord, VerificationResult
from docsvc.pdf import DEFAULT_MAX_PAGES, PDF_MEDIA_TYPE, PdfTimeLimitError, PdfTooLargeError
from docsvc.security import Actor
from docsvc.services import audit
from docsvc.services.documents import deny, open_version
from docsvc.storage import BlobStore, read_verified
from docsvc.verify import (
    DocumentReport,
    SignatureNotFoundError,
    TrustStore,
    load_trust,
    signed_revision,
    validate_pdf,
)
from docsvc.verify.report import Note, Severity

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Verifier:
    """What every validation in this process runs with: the trust store and revocation policy."""

    trust: TrustStore
    allow_fetching: bool = False
    """Fetch OCSP/CRL online (``DOCSVC_REVOCATION_FETCHING``); off = embedded and trust-folder data."""
    fingerprint: str = ""
    """SHA-256 over the anchors, intermediates and CRLs: a changed trust configuration shows."""
    fetch_timeout: float | None = None
    """Seconds per online fetch (``DOCSVC_NETWORK_TIMEOUT_SECONDS``); None = pyHanko's default."""
    demo_trust: bool = False
    """The data folder's demo PKI is trusted (development default): every report says so."""
    max_pages: int = DEFAULT_MAX_PAGES
    """``DOCSVC_MAX_PDF_PAGES``: more pages are refused (422) rather than validated."""
    time_limit: float | None = None
    """``DOCSVC_PDF_TIME_LIMIT``: seconds one file's validation may take (422 past it)."""

    def validate(self, data: bytes, *, now: datetime | None = None,
                 sha256: str | None = None, etsi_xml: bool = False) -> DocumentReport:
        """Validate ``data`` with this trust store (never raises on bad input).

        ``sha256`` is the file's hash when it is already known (it is then not computed again);
        ``etsi_xml`` also builds the ETSI TS 119 102-2 XML report (``report.etsi_xml``).
        """
        report = validate_pdf(data, self.trust, allow_fetching=self.allow_fetching, now=now,
                              sha256=sha256, timeout=self.fetch_timeout, etsi_xml=etsi_xml,
                              max_pages=self.max_pages, time_limit=self.time_limit)
        if self.demo_trust:
            report = replace(report, notes=(*report.notes, DEMO_TRUST_NOTE))
        return report


DEMO_TRUST_NOTE = Note(
    "demo_trust", Severity.WARNING,
    "Tin cậy chứng thư THỬ NGHIỆM (PKI demo trong thư mục dữ liệu, chỉ dùng khi phát triển): "
    "kết quả này không có giá trị pháp lý.",
    "DEMO trust (the data folder's demo PKI, development only): this result has no legal value.",
)


def make_verifier(settings: Settings) -> Verifier:
    """Load the trust folders of ``settings`` (``DOCSVC_TRUST_DIRS``); raise TrustStoreError.

    Outside production, with no trust folder configured, the data folder's demo PKI (``docsvc
    pki demo``) is trusted, so ``docsvc verify`` agrees with the server started by
    ``scripts/run``; reports then carry a ``demo_trust`` note. Production never does this.
    """
    folders = list(settings.trust_dirs)
    demo = (settings.env != "production" and not folders
            and (settings.pki_dir / "root-ca.pem").is_file())
    if demo:
        folders = [settings.pki_dir]
    trust = load_trust(folders)
    return Verifier(trust=trust, allow_fetching=settings.revocation_fetching,
                    fingerprint=trust_fingerprint(trust),
                    fetch_timeout=settings.network_timeout_seconds, demo_trust=demo,
                    max_pages=settings.max_pdf_pages, time_limit=settings.pdf_time_limit_seconds)


def trust_fingerprint(trust: TrustStore) -> str:
    """Return a SHA-256 that changes when any anchor, intermediate or CRL changes."""
    parts = sorted([b"A" + c.sha256 for c in trust.anchors]
                   + [b"I" + c.sha256 for c in trust.intermediates]
                   + [b"C" + hashlib.sha256(c.dump()).digest() for c in trust.crls])
    return hashlib.sha256(b"".join(parts)).hexdigest()


# -- one file ----------------------------------------------------------------------------------


def require_pdf(head: bytes) -> None:
    """Refuse (415) what does not even start like a PDF; damaged PDFs still get a report."""
    if b"%PDF-" not in head[:1024]:
        raise UnsupportedMediaTypeError(
            "Tệp không phải PDF (thiếu phần đầu %PDF-).",
            "The file is not a PDF (no %PDF- header).",
            details={"expected": PDF_MEDIA_TYPE},
        )


def may_verify_files(actor: Actor) -> bool:
    """Tell whether the actor may have arbitrary files verified: people and the operator.

    Linked systems exchange documents; they verify with their own software, and keeping them
    off this CPU-heavy endpoint keeps it out of machine-to-machine traffic.
    """
    return actor.kind in ("user", "operator")


def verify_upload(session: Session, verifier: Verifier, *, read: Callable[[], bytes], actor: Actor,
                  filename: str | None = None, sha256: str | None = None,
                  now: datetime | None = None, etsi_xml: bool = False) -> DocumentReport:
    """Validate a PDF sent by ``actor``; keep nothing but the audit entry with its SHA-256.

    ``read`` returns the bytes; it is called only after the permission check, so a refused
    caller never learns what the request lacked. ``sha256`` is the hex SHA-256 of exactly
    those bytes when the caller hashed them while receiving them (it must be right: it is
    what the audit entry records). Raises ``PermissionDeniedError`` (linked
    systems), ``UnsupportedMediaTypeError`` (415) when the file is not a PDF at all. A damaged
    PDF is a report with ``FORMAT_FAILURE``, like any other outcome.
    """
    if not may_verify_files(actor):
        deny(session, actor, "verification.run")
    data = read()
    require_pdf(data)
    _end_read_transaction(session)
    report = verifier.validate(data, now=now, sha256=sha256, etsi_xml=etsi_xml)
    audit.record(session, actor, "verification.run", object_type="file",
                 content_sha256=report.sha256,
                 details={"verdict": str(report.verdict), "size": report.size,
                          "signatures": len(report.signatures),
                          "filename": safe_filename(filename, "")})
    session.commit()
    return report


# -- stored versions ---------------------------------------------------------------------------


def _end_read_transaction(session: Session) -> None:
    """End the reads before a long validation: on SQLite every transaction begins IMMEDIATE
    (it holds the write lock), and a 20 MB validation must not make other writers wait."""
    session.commit()  # nothing is pending; loaded objects stay usable (expire_on_commit=False)


def summary_of(report: DocumentReport) -> list[dict[str, Any]]:
    """Return what is compared between runs: each signature's field and indication."""
    return [{"field_name": s.field_name, "indication": str(s.indication),
             "sub_indication": s.sub_indication} for s in report.signatures]


def _result(version: DocumentVersion | _Item, report: DocumentReport, verifier: Verifier, actor: Actor,
            source: str) -> VerificationResult:
    return VerificationResult(
        document_id=version.document_id, version_id=version.id, version_number=version.number,
        sha256=report.sha256, verdict=str(report.verdict), sub_indication=report.sub_indication,
        signatures=summary_of(report), report=report.to_dict(with_evidence=True),
        trust_fingerprint=verifier.fingerprint, source=source, created_by=actor.label,
    )


def verify_version(session: Session, blobs: BlobStore, verifier: Verifier, *, document_id: str,
                   number: int, actor: Actor, source: str = "api",
                   now: datetime | None = None, etsi_xml: bool = False
                   ) -> tuple[DocumentVersion, DocumentReport,
                                                         VerificationResult]:
    """Validate a stored version the actor may read; keep the result with its evidence.

    Raises ``NotFoundError`` (document unreadable or no such version), ``BlobMissingError`` /
    ``BlobCorruptedError`` when the stored bytes are gone or altered.
    """
    version, stream = open_version(session, blobs, document_id=document_id, number=number,
                                   actor=actor)
    with stream:
        data = stream.read()
    owner = version.document.owner_organ_id
    _end_read_transaction(session)
    # open_version checked the bytes against their content address, the SHA-256
    report = verifier.validate(data, now=now, sha256=version.blob_key, etsi_xml=etsi_xml)
    result = _result(version, report, verifier, actor, source)
    session.add(result)
    audit.record(session, actor, "verification.run", object_type="document",
                 object_id=document_id, content_sha256=version.sha256, organ_id=owner,
                 details={"version": version.number, "verdict": str(report.verdict)})
    session.commit()
    return version, report, result


def signed_revision_of(session: Session, blobs: BlobStore, *, document_id: str, number: int,
                       signature: int, actor: Actor) -> tuple[DocumentVersion, bytes]:
    """Return the bytes the ``signature``-th (1-based) signature of a version covers.

    Raises ``SignatureNotFoundError`` (422) when there is no such signature or its byte range
    is not sound; ``NotFoundError`` as ``open_version``.
    """
    version, stream = open_version(session, blobs, document_id=document_id, number=number,
                                   actor=actor)
    if signature < 1:
        stream.close()
        raise SignatureNotFoundError(details={"signature": signature})
    with stream:
        data = stream.read()
    return version, signed_revision(data, signature - 1)


def latest_result(session: Session, version_id: int) -> VerificationResult | None:
    """Return the newest stored result of a version."""
    return session.execute(
        select(VerificationResult).where(VerificationResult.version_id == version_id)
        .order_by(VerificationResult.id.desc()).limit(1)
    ).scalar_one_or_none()


# -- the archive -------------------------------------------------------------------------------


@dataclass(frozen=True)
class VerdictChange:
    """A stored version whose verdict (or a signature's indication) differs from the last run."""

    document_id: str
    version: int
    before: str
    after: str
    signatures_before: list[dict[str, Any]]
    signatures_after: list[dict[str, Any]]
    trust_changed: bool
    """The trust configuration differs from the one the previous verdict was reached with."""

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON form."""
        return {"document_id": self.document_id, "version": self.version, "before": self.before,
                "after": self.after, "signatures_before": self.signatures_before,
                "signatures_after": self.signatures_after, "trust_changed": self.trust_changed}


@dataclass
class ArchiveReport:
    """What one ``audit-archive`` run found."""

    checked: int = 0
    first_time: int = 0
    """Versions verified for the first time (nothing to compare with)."""
    unchanged: int = 0
    verdicts: dict[str, int] = field(default_factory=dict)
    changes: list[VerdictChange] = field(default_factory=list)
    unreadable: list[dict[str, Any]] = field(default_factory=list)
    """Versions whose bytes are missing or do not match their hash."""

    @property
    def is_quiet(self) -> bool:
        """Tell whether nothing changed and every version could be read."""
        return not self.changes and not self.unreadable

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON form."""
        return {"checked": self.checked, "first_time": self.first_time,
                "unchanged": self.unchanged, "verdicts": self.verdicts,
                "changes": [c.to_dict() for c in self.changes], "unreadable": self.unreadable}


@dataclass(frozen=True)
class _Item:
    """The columns of a version the archive run needs (no ORM state kept between batches)."""

    id: int
    document_id: str
    number: int
    kind: str
    sha256: str
    blob_key: str


def _signed_versions(session: Session, *, after_id: int, limit: int,
                     every_version: bool) -> list[_Item]:
    """Return the next batch of versions to re-verify, in id order (keyset pagination)."""
    stmt = select(DocumentVersion.id, DocumentVersion.document_id, DocumentVersion.number,
                  DocumentVersion.kind, DocumentVersion.sha256, DocumentVersion.blob_key
                  ).where(DocumentVersion.id > after_id,
                          DocumentVersion.revoked_at.is_(None))  # content removed on purpose
    if not every_version:
        signed = DocumentVersion.kind == "signed"
        recorded = DocumentVersion.id.in_(select(SignatureRecord.version_id))
        verified = DocumentVersion.id.in_(
            select(VerificationResult.version_id)
            .where(func.json_array_length(VerificationResult.signatures) > 0))
        stmt = stmt.where(or_(signed, recorded, verified))
    rows = session.execute(stmt.order_by(DocumentVersion.id).limit(limit)).all()
    return [_Item(*row) for row in rows]


def _previous(session: Session, version_ids: list[int]) -> dict[int, tuple[str, list, str]]:
    """Return verdict, signature summary and trust fingerprint of each version's latest result."""
    newest = (select(func.max(VerificationResult.id))
              .where(VerificationResult.version_id.in_(version_ids))
              .group_by(VerificationResult.version_id))
    rows = session.execute(
        select(VerificationResult.version_id, VerificationResult.verdict,
               VerificationResult.signatures, VerificationResult.trust_fingerprint)
        .where(VerificationResult.id.in_(newest))).all()
    return {r.version_id: (r.verdict, r.signatures, r.trust_fingerprint) for r in rows}


def audit_archive(session: Session, blobs: BlobStore, verifier: Verifier, *, actor: Actor,
                  batch_size: int = 100, every_version: bool = False,
                  now: datetime | None = None,
                  on_change: Callable[[VerdictChange], None] | None = None) -> ArchiveReport:
    """Re-verify every stored signed version; store the new results; report changed verdicts.

    Signed versions are those of kind ``signed``, those docsvc signed (a signature record), and
    those an earlier verification found signatures in; ``every_version`` also takes every other
    version whose bytes hold a ``/ByteRange`` (PDFs signed elsewhere and uploaded as originals).
    Versions go by in batches of ``batch_size``: read the batch, validate it outside any
    transaction, then write its results in one short commit. Memory stays bounded by a batch
    of reports and the largest file, and an interrupted run keeps the batches it finished.
    """
    report = ArchiveReport()
    last_id = 0
    while True:
        batch = _signed_versions(session, after_id=last_id, limit=batch_size,
                                 every_version=every_version)
        if not batch:
            break
        last_id = batch[-1].id
        previous = _previous(session, [v.id for v in batch])
        owners = dict(session.execute(
            select(Document.id, Document.owner_organ_id)
            .where(Document.id.in_({v.document_id for v in batch}))).all())
        _end_read_transaction(session)
        outcomes = list(_validate_batch(blobs, verifier, batch, previous, report,
                                        every_version=every_version, now=now))
        for change in _record_batch(session, verifier, outcomes, previous, owners, report,
                                    actor=actor):
            if on_change is not None:
                on_change(change)
        session.commit()
        session.expunge_all()
    audit.record(session, actor, "verification.archive", object_type="archive",
                 details={"checked": report.checked, "changed": len(report.changes),
                          "unreadable": len(report.unreadable), "verdicts": report.verdicts})
    session.commit()
    return report


def _validate_batch(blobs: BlobStore, verifier: Verifier, batch: list[_Item],
                    previous: dict[int, tuple[str, list, str]], report: ArchiveReport, *,
                    every_version: bool, now: datetime | None
                    ) -> Iterator[tuple[_Item, DocumentReport]]:
    for item in batch:
        try:
            with read_verified(blobs, item.blob_key) as stream:
                data = stream.read()
        except (BlobMissingError, BlobCorruptedError) as exc:
            report.unreadable.append({"document_id": item.document_id, "version": item.number,
                                      "error": exc.code})
            continue
        if every_version and item.id not in previous and item.kind != "signed" \
                and b"/ByteRange" not in data:
            continue
        # read_verified checked the bytes against their content address, the SHA-256
        try:
            outcome = verifier.validate(data, now=now, sha256=item.blob_key)
        except (PdfTooLargeError, PdfTimeLimitError) as exc:  # a bound, not a verdict
            report.unreadable.append({"document_id": item.document_id, "version": item.number,
                                      "error": exc.code})
            continue
        yield item, outcome


def _record_batch(session: Session, verifier: Verifier,
                  outcomes: list[tuple[_Item, DocumentReport]],
                  previous: dict[int, tuple[str, list, str]], owners: dict[str, str],
                  report: ArchiveReport, *, actor: Actor) -> Iterator[VerdictChange]:
    for item, outcome in outcomes:
        result = _result(item, outcome, verifier, actor, "archive")
        session.add(result)
        report.checked += 1
        report.verdicts[result.verdict] = report.verdicts.get(result.verdict, 0) + 1
        before = previous.get(item.id)
        if before is None:
            report.first_time += 1
            continue
        verdict, signatures, fingerprint = before
        if verdict == result.verdict and signatures == result.signatures:
            report.unchanged += 1
            continue
        change = VerdictChange(item.document_id, item.number, verdict, result.verdict,
                               signatures, result.signatures,
                               trust_changed=fingerprint != verifier.fingerprint)
        report.changes.append(change)
        audit.record(session, actor, "verification.changed", object_type="document",
                     object_id=item.document_id, content_sha256=item.sha256,
                     organ_id=owners.get(item.document_id),
                     details={"version": item.number, "before": verdict, "after": result.verdict})
        yield change
