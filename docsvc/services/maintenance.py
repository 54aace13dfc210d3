"""Operator use cases: compare the rows with the blob store (``docsvc check``), clear what
interrupted work leaves behind (``docsvc check --repair``) and seal the stored secrets again
with the current key (``docsvc secrets reseal``)."""

from __future__ import annotations

import datetime as dt
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from docsvc.errors import BlobCorruptedError, BlobMissingError
from docsvc.models import Document, DocumentVersion, LinkedSystem, Message, PeerCredential
from docsvc.sealing import PEER_TOKEN, VXP_SECRET, Sealer
from docsvc.security import Actor
from docsvc.services import audit
from docsvc.storage import BlobStore, read_verified


@dataclass
class StorageReport:
    """Rows whose bytes are missing or corrupted (errors) and blobs no row points to (info).

    Revoked versions (content removed on a revocation or an agreed take-back) are not read:
    their bytes are meant to be gone; they are counted in ``revoked``."""

    checked: int = 0
    """Versions read."""
    packages: int = 0
    """Exchange packages read (each distinct package once)."""
    revoked: int = 0
    revoked_packages: int = 0
    missing: list[dict[str, object]] = field(default_factory=list)
    corrupted: list[dict[str, object]] = field(default_factory=list)
    orphans: list[str] = field(default_factory=list)

    @property
    def is_healthy(self) -> bool:
        """Tell whether every row's bytes are present and intact."""
        return not self.missing and not self.corrupted


def check_storage(session: Session, blobs: BlobStore) -> StorageReport:
    """Re-read and re-hash the bytes of every version and every exchange package; list orphan
    blobs."""
    report = StorageReport()
    referenced: set[str] = set()
    rows = session.execute(
        select(DocumentVersion.document_id, DocumentVersion.number, DocumentVersion.blob_key,
               DocumentVersion.revoked_at)
        .order_by(DocumentVersion.id)
    )
    for document_id, number, key, revoked_at in rows:
        if revoked_at is not None:
            report.revoked += 1
            continue
        report.checked += 1
        referenced.add(key)
        _check_bytes(blobs, key, {"document_id": document_id, "version": number, "key": key},
                     report)
    _check_packages(session, blobs, report, referenced)
    report.orphans = sorted(k for k in blobs.keys() if k not in referenced)
    return report


def _check_bytes(blobs: BlobStore, key: str, where: dict[str, object],
                 report: StorageReport) -> None:
    """Re-read and re-hash ``key``; note it as missing or corrupted with ``where`` it belongs."""
    try:
        read_verified(blobs, key).close()
    except BlobMissingError:
        report.missing.append(where)
    except BlobCorruptedError as exc:
        report.corrupted.append({**where, "actual_sha256": exc.details.get("actual_sha256")})


def _check_packages(session: Session, blobs: BlobStore, report: StorageReport,
                    referenced: set[str]) -> None:
    """Check the exchange packages (edXML) too: each is evidence of what was sent or received.
    A received package whose document's content was removed on purpose is not read."""
    rows = session.execute(
        select(Message.id, Message.blob_key, Message.origin, Message.bussiness_doc_type,
               Document.revoked_at)
        .outerjoin(Document, Document.id == Message.delivered_document_id)
        .order_by(Message.created_at, Message.id))
    removed: set[str] = set()
    for message_id, key, origin, doc_type, document_revoked in rows:
        if origin != "local" and document_revoked is not None and doc_type != 1:
            removed.add(key)
            continue
        if key in referenced:
            continue
        referenced.add(key)
        report.packages += 1
        _check_bytes(blobs, key, {"message_id": message_id, "key": key}, report)
    report.revoked_packages = len(removed - referenced)


@dataclass(frozen=True)
class ResealReport:
    """How many stored secrets were sealed again, and how many already used the current key."""

    peer_tokens: int
    vxp_secrets: int
    current: int


def reseal_secrets(session: Session, sealer: Sealer, actor: Actor) -> ResealReport:
    """Seal every stored secret (peer tokens, VXP secrets) with the sealer's current key.

    Opens each with any configured key, first-format values included, so after it the retired
    keys can leave the configuration. Raises SealError (nothing changed) when one does not
    open. Commits once.
    """
    peers = vxp = current = 0
    for credential in session.execute(select(PeerCredential).order_by(PeerCredential.organ_id)).scalars():
        if sealer.is_current(credential.sealed_token):
            current += 1
            continue
        credential.sealed_token = sealer.reseal(credential.sealed_token, purpose=PEER_TOKEN,
                                                subject=credential.organ_id)
        peers += 1
    systems = (select(LinkedSystem).where(LinkedSystem.vxp_secret_sealed.is_not(None))
               .order_by(LinkedSystem.id))
    for system in session.execute(systems).scalars():
        assert system.vxp_secret_sealed is not None and system.vxp_system_id is not None
        if sealer.is_current(system.vxp_secret_sealed):
            current += 1
            continue
        system.vxp_secret_sealed = sealer.reseal(system.vxp_secret_sealed, purpose=VXP_SECRET,
                                                 subject=system.vxp_system_id)
        vxp += 1
    if peers or vxp:
        audit.record(session, actor, "secrets.reseal", object_type="instance", object_id="sealing",
                     details={"peer_tokens": peers, "vxp_secrets": vxp})
    session.commit()
    return ResealReport(peer_tokens=peers, vxp_secrets=vxp, current=current)


REPAIR_GRACE = dt.timedelta(hours=1)
"""Leftovers younger than this may belong to work in progress (bytes stored, row not yet
committed; a signature being computed) and are kept."""
TEMP_PREFIXES = ("docsvc-pdftotext-", "docsvc-edxml-")  # pdftotext copies: older versions


@dataclass
class RepairReport:
    """What ``repair_storage`` removed, and the orphans it kept because they are recent."""

    removed_blobs: list[str] = field(default_factory=list)
    kept_recent: list[str] = field(default_factory=list)
    removed_temporaries: list[str] = field(default_factory=list)


def repair_storage(session: Session, blobs: BlobStore, *, grace: dt.timedelta = REPAIR_GRACE,
                   temp_dirs: tuple[Path, ...] = (), now: dt.datetime | None = None
                   ) -> RepairReport:
    """Delete orphan blobs older than ``grace`` (a losing concurrent signature's bytes, an
    upload whose row never committed) and the temporary files and folders a killed process
    left: the blob store's ``.incoming-*``, pdftotext copies, unpacked packages.

    A blob is an orphan when no version and no exchange package names it (checked again just
    before deleting, so a row committed meanwhile keeps its bytes).
    """
    now = now or dt.datetime.now(dt.UTC)
    cutoff = now - grace
    report = RepairReport()
    for key in check_storage(session, blobs).orphans:
        written = blobs.modified(key)
        if written is None or written > cutoff:
            report.kept_recent.append(key)
            continue
        session.rollback()  # see rows committed since the check
        if _is_referenced(session, key):
            continue
        blobs.delete(key)
        report.removed_blobs.append(key)
    stale = getattr(blobs, "stale_temporaries", None)
    for path in stale(cutoff) if stale is not None else []:
        path.unlink(missing_ok=True)
        report.removed_temporaries.append(str(path))
    for folder in (*temp_dirs, Path(tempfile.gettempdir())):
        if not folder.is_dir():
            continue
        for path in folder.iterdir():
            if not path.name.startswith(TEMP_PREFIXES):
                continue
            try:
                if dt.datetime.fromtimestamp(path.stat().st_mtime, dt.UTC) >= cutoff:
                    continue
                if path.is_dir():
                    shutil.rmtree(path, ignore_errors=True)
                else:
                    path.unlink(missing_ok=True)
            except OSError:
                continue
            report.removed_temporaries.append(str(path))
    return report


def _is_referenced(session: Session, key: str) -> bool:
    return (session.execute(select(DocumentVersion.id).where(DocumentVersion.blob_key == key)
                            .limit(1)).first() is not None
            or session.execute(select(Message.id).where(Message.blob_key == key).limit(1)
                               ).first() is not None)
