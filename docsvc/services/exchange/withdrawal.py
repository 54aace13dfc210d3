"""Removing the content of a received document (on a revocation or an agreed take-back): its
versions are marked ``revoked`` and their bytes deleted once the transaction commits, when no live
row still uses them; the metadata, hashes, verification results and trail stay."""

from __future__ import annotations

import datetime as dt
import logging

from sqlalchemy import event, select
from sqlalchemy.orm import Session

from docsvc.models import Document, DocumentVersion, Message
from docsvc.security import Actor
from docsvc.services import audit
from docsvc.services.exchange.messages import not_revocation
from docsvc.storage import BlobStore

log = logging.getLogger(__name__)

_PENDING_DELETES = "docsvc.pending_blob_deletes"


def _purge_after_commit(session: Session) -> None:
    pending = session.info.pop(_PENDING_DELETES, None)
    if not pending:
        return
    blobs, keys = pending
    for key in sorted(keys):
        try:
            blobs.delete(key)
        except Exception:  # noqa: BLE001 - the rows are committed; an orphan is only reported
            log.exception("could not delete the revoked blob %s", key)


def _forget_after_rollback(session: Session) -> None:
    session.info.pop(_PENDING_DELETES, None)


def _delete_on_commit(session: Session, blobs: BlobStore, keys: set[str]) -> None:
    """Delete ``keys`` from the store once the transaction commits (never on a rollback)."""
    if not session.info.get("docsvc.purge_listeners"):
        event.listen(session, "after_commit", _purge_after_commit)
        event.listen(session, "after_rollback", _forget_after_rollback)
        session.info["docsvc.purge_listeners"] = True
    _, pending = session.info.setdefault(_PENDING_DELETES, (blobs, set()))
    pending |= keys


def _still_used(session: Session, key: str) -> bool:
    """Tell whether a live row needs ``key``: a version not revoked, or a message that is not a
    received package of a document whose content was removed."""
    version = session.execute(select(DocumentVersion.id).where(
        DocumentVersion.blob_key == key, DocumentVersion.revoked_at.is_(None)).limit(1)).first()
    if version is not None:
        return True
    for message in session.execute(select(Message).where(Message.blob_key == key)).scalars():
        if message.origin == "local" or message.delivered_document_id is None \
                or message.bussiness_doc_type == 1:  # a revocation is the record of itself
            return True
        target = session.get(Document, message.delivered_document_id)
        if target is None or target.revoked_at is None:
            return True
    return False


def withdraw(session: Session, blobs: BlobStore, document: Document, *, reason: str, cause: str,
             actor: Actor, now: dt.datetime) -> bool:
    """Remove a received document's content: mark it and its versions revoked, schedule the
    deletion of bytes no live row uses. The rows, hashes and verification results stay.
    Returns False when it was already withdrawn (the row is locked first, so a revocation and
    an agreed take-back arriving together withdraw once)."""
    session.get(Document, document.id, with_for_update=True, populate_existing=True)
    if document.revoked_at is not None:
        return False
    document.revoked_at, document.revoked_reason = now, reason[:500] or None
    keys = set()
    for version in document.versions:
        version.revoked_at = now
        keys.add(version.blob_key)
    # the received package carries the content too (base64): drop it when it came from elsewhere
    for message in session.execute(select(Message).where(
            Message.delivered_document_id == document.id, Message.kind == "edoc",
            Message.origin != "local", not_revocation())).scalars():
        keys.add(message.blob_key)
    session.flush()
    deleted = sorted(k for k in keys if not _still_used(session, k))
    _delete_on_commit(session, blobs, set(deleted))
    audit.record(session, actor, "document.content_removed", object_type="document",
                 object_id=document.id, organ_id=document.owner_organ_id,
                 details={"cause": cause, "reason": reason[:500],
                          "versions": [{"number": v.number, "sha256": v.sha256, "size": v.size}
                                       for v in document.versions],
                          "blobs_deleted": len(deleted), "blobs_kept": len(keys) - len(deleted)})
    return True
