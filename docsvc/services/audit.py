"""The tamper-evident audit trail: every state change appends one link of a hash chain.

An entry is appended in the same transaction as the change it records, so both commit or
neither does. Refused and failed actions are recorded in a transaction of their own.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from docsvc.models import AuditAnchor, AuditEntry, AuditHead, utcnow
from docsvc.security import Actor

GENESIS = "0" * 64


def _canonical(entry: AuditEntry) -> bytes:
    """Return the bytes an entry's hash covers (every field but the hash itself)."""
    at = entry.at.astimezone(dt.UTC).isoformat(timespec="microseconds")
    fields = {
        "seq": entry.seq, "at": at, "actor": entry.actor, "actor_kind": entry.actor_kind,
        "organ_id": entry.organ_id, "action": entry.action, "object_type": entry.object_type,
        "object_id": entry.object_id, "content_sha256": entry.content_sha256,
        "outcome": entry.outcome, "details": entry.details or {}, "prev_hash": entry.prev_hash,
    }
    return json.dumps(fields, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


def entry_hash(entry: AuditEntry) -> str:
    """Return the hash that chains ``entry`` to its predecessor."""
    return hashlib.sha256(_canonical(entry)).hexdigest()


def record(
    session: Session,
    actor: Actor,
    action: str,
    *,
    object_type: str | None = None,
    object_id: str | None = None,
    content_sha256: str | None = None,
    outcome: str = "success",
    organ_id: str | None = None,
    details: dict[str, Any] | None = None,
) -> AuditEntry:
    """Append an entry in the caller's transaction (the caller commits)."""
    head = session.execute(select(AuditHead).where(AuditHead.id == 1).with_for_update()).scalar_one_or_none()
    if head is None:
        head = AuditHead(id=1, seq=0, entry_hash=GENESIS)
        session.add(head)
        session.flush()
    entry = AuditEntry(
        seq=head.seq + 1, at=utcnow(), actor=actor.label,
        actor_kind=actor.kind, organ_id=organ_id or actor.organ_id, action=action,
        object_type=object_type, object_id=object_id, content_sha256=content_sha256,
        outcome=outcome, details=details or {}, prev_hash=head.entry_hash,
    )
    entry.entry_hash = entry_hash(entry)
    head.seq, head.entry_hash = entry.seq, entry.entry_hash
    session.add(entry)
    return entry


def record_alone(sessions: sessionmaker[Session], actor: Actor, action: str, **kwargs: Any) -> None:
    """Append an entry in a transaction of its own (for refusals and failures)."""
    with sessions() as session:
        record(session, actor, action, **kwargs)
        session.commit()


@dataclass(frozen=True)
class ChainReport:
    """Result of walking the chain: ``broken_at`` is the first bad sequence number, if any."""

    entries: int
    head_hash: str
    broken_at: int | None = None
    problem: str | None = None

    @property
    def is_intact(self) -> bool:
        """Tell whether no entry was altered, removed or reordered."""
        return self.broken_at is None


def verify_chain(session: Session, *, batch: int = 1000,
                 external_anchors: Sequence[dict[str, Any]] = (),
                 check_documents: bool = True) -> ChainReport:
    """Walk the whole chain in order and report the first entry that does not fit.

    Every anchor (stored, and ``external_anchors`` exported earlier and kept elsewhere) must
    name an entry of the chain with the same hash: a chain cut after an anchor, rewound or
    wiped is reported. With ``check_documents``, every document must have entries, and every
    signed version the entry of its signature, so cutting the entries of existing records is
    reported too. What can still go unnoticed is said in docs/THREAT-MODEL.md.
    """
    anchors: dict[int, set[str]] = {}
    for row in session.execute(select(AuditAnchor).order_by(AuditAnchor.seq)).scalars():
        problem = _anchor_token_problem(row.entry_hash, row.token_der_base64)
        if problem:
            return ChainReport(0, GENESIS, row.seq, f"anchor of entry {row.seq}: {problem}")
        anchors.setdefault(row.seq, set()).add(row.entry_hash)
    for item in external_anchors:
        anchors.setdefault(int(item["entries"]), set()).add(str(item["head_hash"]))
    report = _walk(session, batch, anchors)
    if not report.is_intact or not check_documents:
        return report
    problem = _records_without_history(session)
    if problem:
        return ChainReport(report.entries, report.head_hash, report.entries + 1, problem)
    return report


def _anchor_token_problem(entry_hash: str, token_b64: str | None) -> str | None:
    """Return why a stored timestamp token does not cover ``entry_hash``, or None."""
    if not token_b64:
        return None
    import base64

    from asn1crypto import cms

    try:
        token = cms.ContentInfo.load(base64.b64decode(token_b64))
        info = token["content"]["encap_content_info"]["content"].parsed
        imprint = info["message_imprint"]["hashed_message"].native
    except Exception:  # noqa: BLE001 - asn1crypto raises many kinds on damaged input
        return "its timestamp token is unreadable"
    return None if imprint == bytes.fromhex(entry_hash) else "its timestamp covers another hash"


def _records_without_history(session: Session) -> str | None:
    from sqlalchemy import exists

    from docsvc.models import Document, DocumentVersion, SignatureRecord

    orphan = session.execute(select(Document.id).where(~exists().where(
        AuditEntry.object_type == "document", AuditEntry.object_id == Document.id)).limit(1)
    ).scalar_one_or_none()
    if orphan is not None:
        return f"document {orphan} exists but the chain holds no entry about it"
    unsigned = session.execute(
        select(DocumentVersion.document_id, DocumentVersion.number)
        .join(SignatureRecord, SignatureRecord.version_id == DocumentVersion.id)
        .where(~exists().where(AuditEntry.object_id == DocumentVersion.document_id,
                               AuditEntry.content_sha256 == DocumentVersion.sha256)).limit(1)
    ).first()
    if unsigned is not None:
        return (f"signed version {unsigned[1]} of document {unsigned[0]} exists but the chain "
                "holds no entry of its signature")
    return None


def _walk(session: Session, batch: int, anchors: dict[int, set[str]]) -> ChainReport:
    expected_prev, expected_seq, count = GENESIS, 1, 0
    last_seq = 0
    while True:
        rows = session.execute(
            select(AuditEntry).where(AuditEntry.seq > last_seq).order_by(AuditEntry.seq).limit(batch)
        ).scalars().all()
        for entry in rows:
            if entry.seq != expected_seq:
                return ChainReport(count, expected_prev, expected_seq,
                                   f"entry {expected_seq} is missing (next is {entry.seq})")
            if entry.prev_hash != expected_prev:
                return ChainReport(count, expected_prev, entry.seq,
                                   f"entry {entry.seq} does not follow entry {entry.seq - 1}")
            if entry_hash(entry) != entry.entry_hash:
                return ChainReport(count, expected_prev, entry.seq, f"entry {entry.seq} was altered")
            if entry.seq in anchors and anchors[entry.seq] != {entry.entry_hash}:
                return ChainReport(count, expected_prev, entry.seq,
                                   f"entry {entry.seq} differs from the anchor kept of it")
            expected_prev, expected_seq, count = entry.entry_hash, entry.seq + 1, count + 1
            last_seq = entry.seq
        if len(rows) < batch:
            break
        session.expunge_all()
    beyond = [seq for seq in anchors if seq > count]
    if beyond:
        return ChainReport(count, expected_prev, count + 1,
                           f"the chain ends at entry {count} but entry {max(beyond)} was "
                           "anchored: its end was cut")
    head = session.get(AuditHead, 1)
    head_seq, head_hash = (head.seq, head.entry_hash) if head else (0, GENESIS)
    if (head_seq, head_hash) != (count, expected_prev):
        return ChainReport(count, expected_prev, count + 1 if head_seq > count else head_seq,
                           f"the chain ends at entry {count} but its head names entry {head_seq}")
    return ChainReport(count, expected_prev)


def document_history(session: Session, document_id: str) -> Sequence[AuditEntry]:
    """Return the entries about one document, in order."""
    return session.execute(
        select(AuditEntry).where(AuditEntry.object_type == "document",
                                 AuditEntry.object_id == document_id).order_by(AuditEntry.seq)
    ).scalars().all()


def entry_to_dict(entry: AuditEntry) -> dict[str, Any]:
    """Return the JSON form of an entry."""
    return {
        "seq": entry.seq, "at": entry.at.astimezone(dt.UTC).isoformat().replace("+00:00", "Z"),
        "actor": entry.actor, "actor_kind": entry.actor_kind, "organ_id": entry.organ_id,
        "action": entry.action, "object_type": entry.object_type, "object_id": entry.object_id,
        "content_sha256": entry.content_sha256, "outcome": entry.outcome,
        "details": entry.details or {}, "prev_hash": entry.prev_hash, "entry_hash": entry.entry_hash,
    }


def anchor_head(session: Session, *, tsa_url: str | None = None, timeout: float = 10.0,
                store: bool = True) -> dict[str, Any]:
    """Return the verified head of the chain with the time, RFC 3161-timestamped when a TSA is set.

    An outside party that keeps this record can later prove that every entry up to ``entries``
    existed, unchanged, at that time: the chain recomputed from the database must reach the same
    head hash. Raises ``ConflictError`` when the chain is already broken.
    """
    import asyncio
    import base64

    from docsvc.errors import ConflictError

    report = verify_chain(session)
    if not report.is_intact:
        raise ConflictError("Chuỗi nhật ký đã bị thay đổi; không thể neo.",
                            "The audit chain is broken; it cannot be anchored.",
                            details={"broken_at": report.broken_at, "problem": report.problem})
    now = utcnow()
    anchor: dict[str, Any] = {"entries": report.entries, "head_hash": report.head_hash,
                              "at": now.isoformat()}
    if tsa_url:
        from docsvc.signing import make_timestamper

        token = asyncio.run(make_timestamper(tsa_url, timeout=timeout).async_timestamp(
            bytes.fromhex(report.head_hash), "sha256"))
        info = token["content"]["encap_content_info"]["content"].parsed
        anchor["timestamp"] = {
            "tsa": tsa_url, "gen_time": info["gen_time"].native.isoformat(),
            "token_der_base64": base64.b64encode(token.dump()).decode(),
        }
    if store and report.entries:
        session.add(AuditAnchor(seq=report.entries, entry_hash=report.head_hash, at=now,
                                tsa_url=tsa_url,
                                token_der_base64=anchor.get("timestamp", {}).get(
                                    "token_der_base64")))
        session.commit()
    return anchor


def anchor_if_due(session: Session, *, every: dt.timedelta, tsa_url: str | None = None,
                  timeout: float = 10.0, now: dt.datetime | None = None
                  ) -> dict[str, Any] | None:
    """Anchor the head when the last anchor is older than ``every`` and entries came since."""
    now = now or utcnow()
    last = session.execute(select(AuditAnchor).order_by(AuditAnchor.id.desc()).limit(1)
                           ).scalar_one_or_none()
    head = session.get(AuditHead, 1)
    if head is None or not head.seq:
        return None
    if last is not None and (last.seq == head.seq or _aware(last.at) > now - every):
        return None
    return anchor_head(session, tsa_url=tsa_url, timeout=timeout)


def _aware(when: dt.datetime) -> dt.datetime:
    return when if when.tzinfo else when.replace(tzinfo=dt.UTC)


def export_anchors(session: Session) -> list[dict[str, Any]]:
    """Return every stored anchor in the form ``audit verify --anchors`` reads back."""
    return [{"entries": a.seq, "head_hash": a.entry_hash, "at": _aware(a.at).isoformat(),
             "tsa": a.tsa_url, "token_der_base64": a.token_der_base64}
            for a in session.execute(select(AuditAnchor).order_by(AuditAnchor.id)).scalars()]
