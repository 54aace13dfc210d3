"""Sending through the axis: the outbox rows of mode ``axis`` go out as sendEdoc, one call per
stored package and sender (``to`` lists its axis recipients), and the axis's delivery state
comes back from getSentEdocList.

The axis has no idempotency key, so a send whose outcome is unknown (timeout, unreadable reply)
is marked *uncertain*, and the next attempt first looks for it in getSentEdocList; once the
axis gave a DocId it is kept and the package is never sent again.
"""

from __future__ import annotations

import datetime as dt
import logging
import random
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, cast

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from docsvc.axis import AxisClient, AxisError, AxisTimeoutError, AxisUnreachableError
from docsvc.errors import DocsvcError
from docsvc.models import AxisOutbound, Delivery, Document, Message, TransportEvent, utcnow
from docsvc.services.delivery import DeliveryPolicy, backoff_delay
from docsvc.storage import BlobStore, read_verified

log = logging.getLogger(__name__)

DONE_STATES = frozenset({"done", "received", "success", "ok"})
FAIL_STATES = frozenset({"fail", "failed", "error", "rejected", "reject"})
CHECK_FIRST, CHECK_MAX = dt.timedelta(seconds=2), dt.timedelta(minutes=30)
CHECK_FOR = dt.timedelta(days=30)
"""The axis's delivery state of a sent package is asked for this long (the last one stays shown)."""


@dataclass
class SendReport:
    sent: list[str] = field(default_factory=list)
    reconciled: list[str] = field(default_factory=list)
    retrying: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    expired: list[str] = field(default_factory=list)
    state_changes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Claim:
    message_id: str
    kind: str
    sender: str
    recipient: str
    blob_key: str
    sha256: str
    attempt: int
    lease_until: dt.datetime
    uncertain_since: dt.datetime | None
    title: str
    notation: str


def _event(session: Session, message: Message, name: str, *, at: dt.datetime, **details: Any) -> None:
    session.add(TransportEvent(message_id=message.id, at=at, event=name, organ_id=message.sender_organ_id,
                               sha256=message.sha256,
                               details={k: v for k, v in details.items() if v is not None}))


def _describe(session: Session, message: Message) -> tuple[str, str]:
    """Return the title and notation the axis will list for this message (for reconciling)."""
    if message.kind == "status":
        return f"Trạng thái {message.status_code}", ""
    document = session.get(Document, message.local_document_id) if message.local_document_id else None
    if document is None:
        return "", ""
    return document.subject or "", document.number_notation or ""


def _claim(session: Session, policy: DeliveryPolicy, now: dt.datetime, report: SendReport,
           limit: int) -> list[_Claim]:
    stmt = (select(Delivery).where(Delivery.mode == "axis", Delivery.state == "queued",
                                   Delivery.next_attempt_at <= now)
            .order_by(Delivery.next_attempt_at, Delivery.message_id).limit(limit)
            .with_for_update(skip_locked=True))
    claims = []
    for delivery in session.execute(stmt).scalars():
        message = delivery.message
        outbound = session.get(AxisOutbound, message.id)
        if outbound is None:
            outbound = AxisOutbound(message_id=message.id)
            session.add(outbound)
        if now >= message.created_at + policy.max_age:
            delivery.state, delivery.next_attempt_at = "expired", None
            delivery.last_error = f"not sent to the axis within {policy.max_age}"
            _event(session, message, "axis_expired", at=now, attempts=delivery.attempts)
            report.expired.append(message.id)
            continue
        delivery.attempts += 1
        lease_until = now + policy.claim_lease
        delivery.next_attempt_at = lease_until
        title, notation = _describe(session, message)
        claims.append(_Claim(message.id, message.kind, message.sender_organ_id,
                             message.recipient_organ_id, message.blob_key, message.sha256,
                             delivery.attempts, lease_until, outbound.uncertain_since, title, notation))
    session.commit()
    return claims


def _matches(item: dict[str, str], claim: _Claim) -> bool:
    """Tell whether a getSentEdocList item may be an earlier send of ``claim`` (the list carries
    no hash: recipient, kind, title and notation must agree, and its DocId must be unused)."""
    if item.get("toCode") != claim.recipient or not item.get("senderDocId"):
        return False
    if item.get("messageType") and item["messageType"].lower() != claim.kind:
        return False
    if claim.title and item.get("title") and item["title"] != claim.title:
        return False
    return not (claim.notation and item.get("notation") and item["notation"] != claim.notation)


def _reconcile(session_factory: sessionmaker[Session], client: AxisClient,
               group: list[_Claim]) -> str | None:
    """Return the DocId of an earlier, unconfirmed send of this group found in getSentEdocList."""
    items = client.sent_list(group[0].kind)
    with session_factory() as session:
        taken = set(session.execute(select(AxisOutbound.axis_doc_id).join(
            Message, Message.id == AxisOutbound.message_id).where(
            AxisOutbound.axis_doc_id.is_not(None), Message.blob_key != group[0].blob_key)).scalars())
    for claim in group:
        found = [i["senderDocId"] for i in items if _matches(i, claim)
                 and i["senderDocId"] not in taken]
        if found:
            return found[-1]
    return None


def _finish(session: Session, claim: _Claim, *, now: dt.datetime, doc_id: str | None,
            error: AxisError | DocsvcError | None, policy: DeliveryPolicy, rng: random.Random,
            report: SendReport, reconciled: bool = False) -> None:
    delivery = session.get(Delivery, claim.message_id, with_for_update=True, populate_existing=True)
    outbound = session.get(AxisOutbound, claim.message_id, populate_existing=True)
    assert delivery is not None and outbound is not None
    message = delivery.message
    details: dict[str, Any] = {"attempt": claim.attempt}
    if delivery.state != "queued":
        details["outcome"] = f"ignored: already {delivery.state}"
    elif doc_id is not None:
        delivery.state, delivery.delivered_at = "delivered", now
        delivery.next_attempt_at, delivery.last_error = None, None
        outbound.axis_doc_id, outbound.uncertain_since, outbound.send_status = doc_id, None, "sent"
        outbound.next_check_at = now + CHECK_FIRST
        details.update(outcome="reconciled" if reconciled else "sent", axis_doc_id=doc_id)
        (report.reconciled if reconciled else report.sent).append(claim.message_id)
    elif delivery.next_attempt_at != claim.lease_until:
        details["outcome"] = "ignored: claimed again by another worker"
    else:
        assert error is not None
        reason = error.reason() if isinstance(error, AxisError) else f"{error.code}: {error.message('en')}"
        details.update(error=reason, error_code=error.code)
        if isinstance(error, AxisError) and error.maybe_sent and outbound.uncertain_since is None:
            outbound.uncertain_since = now
            details["uncertain"] = True
        delivery.last_error = reason[:500]
        if not getattr(error, "retryable", False) and error.code in ("axis_refused", "local_package"):
            delivery.state, delivery.next_attempt_at = "failed", None
            details["outcome"] = "failed"
            report.failed.append(claim.message_id)
        else:
            next_at = now + backoff_delay(claim.attempt, policy, rng)
            if next_at >= message.created_at + policy.max_age:
                delivery.state, delivery.next_attempt_at = "expired", None
                details["outcome"] = "expired"
                report.expired.append(claim.message_id)
            else:
                delivery.next_attempt_at = next_at
                details.update(outcome="retry", next_attempt_at=next_at.isoformat())
                report.retrying.append(claim.message_id)
    _event(session, message, "axis_send", at=now, **details)
    session.commit()


class LocalPackageError(DocsvcError):
    code = "local_package"
    message_vi = "Gói tin lưu tại đây bị thiếu hoặc hỏng; không thể gửi."
    message_en = "The stored package is missing or damaged; it cannot be sent."


def send_due(
    sessions: sessionmaker[Session], blobs: BlobStore, client: AxisClient, *, from_code: str | None = None,
    policy: DeliveryPolicy | None = None, rng: random.Random | None = None,
    clock: Callable[[], dt.datetime] = utcnow, limit: int | None = None, concurrency: int = 1,
) -> SendReport:
    """Send every due axis message once (grouped by package, ``concurrency`` packages side by
    side); one commit per step."""
    policy = policy or DeliveryPolicy()
    rng = rng or random.Random()  # noqa: S311 - jitter
    report = SendReport()
    with sessions() as session:
        claims = _claim(session, policy, clock(), report, limit or policy.batch)
    groups: dict[tuple[str, str, str], list[_Claim]] = {}
    for claim in claims:
        groups.setdefault((claim.blob_key, claim.kind, claim.sender), []).append(claim)
    gone: list[AxisError] = []  # once the axis is unreachable, the rest wait without a call

    def send(key: tuple[str, str, str], group: list[_Claim]) -> None:
        _send_group(sessions, blobs, client, key, group, from_code=from_code, policy=policy, rng=rng,
                    clock=clock, report=report, gone=gone)

    if concurrency <= 1 or len(groups) <= 1:
        for key, group in groups.items():
            send(key, group)
    else:
        with ThreadPoolExecutor(max_workers=min(concurrency, len(groups))) as pool:
            for future in [pool.submit(send, key, group) for key, group in groups.items()]:
                future.result()
    return report


def _send_group(sessions: sessionmaker[Session], blobs: BlobStore, client: AxisClient,
                key: tuple[str, str, str], group: list[_Claim], *, from_code: str | None,
                policy: DeliveryPolicy, rng: random.Random, clock: Callable[[], dt.datetime],
                report: SendReport, gone: list[AxisError]) -> None:
    """Send one package to its axis recipients (after reconciling an unknown earlier outcome)."""
    blob_key, kind, sender = key
    doc_id: str | None = None
    error: AxisError | DocsvcError | None = None
    reconciled = False
    try:
        if gone:
            raise AxisUnreachableError(details={"not_tried": True, "after": gone[0].code})
        if any(c.uncertain_since is not None for c in group):
            doc_id = _reconcile(sessions, client, group)
            reconciled = doc_id is not None
        if doc_id is None:
            try:
                with read_verified(blobs, blob_key) as stream:
                    package = stream.read()
            except DocsvcError as exc:
                raise LocalPackageError(details={"error": exc.code}) from exc
            recipients = sorted({c.recipient for c in group})
            doc_id = client.send_edoc(package, from_code=from_code or sender, message_type=kind,
                                      to=recipients)
    except (AxisError, LocalPackageError) as exc:
        error = exc
        if isinstance(exc, AxisUnreachableError | AxisTimeoutError) and not exc.details.get("not_tried"):
            gone.append(exc)
    now = clock()
    with sessions() as session:
        for claim in group:
            _finish(session, claim, now=now, doc_id=doc_id, error=error, policy=policy, rng=rng,
                    report=report, reconciled=reconciled)
    log.info("axis send %s to %s: %s", [c.message_id for c in group], [c.recipient for c in group],
             doc_id or (error.code if error else ""))


def check_states(sessions: sessionmaker[Session], client: AxisClient, *,
                 clock: Callable[[], dt.datetime] = utcnow, limit: int = 20,
                 report: SendReport | None = None) -> SendReport:
    """Ask getSentEdocList for the delivery state of sent, unacknowledged messages (one call
    per axis DocId); done/fail become the message's acknowledgement."""
    report = report or SendReport()
    now = clock()
    with sessions() as session:
        rows = session.execute(select(AxisOutbound.axis_doc_id, Message.kind).join(
            Message, Message.id == AxisOutbound.message_id).where(
            AxisOutbound.axis_doc_id.is_not(None), Message.ack_result.is_(None),
            Message.created_at >= now - CHECK_FOR,
            (AxisOutbound.next_check_at.is_(None)) | (AxisOutbound.next_check_at <= now))
            .group_by(AxisOutbound.axis_doc_id, Message.kind).limit(limit)).all()
    for doc_id, kind in rows:
        try:
            items = client.sent_list(kind, doc_id)
        except AxisError as exc:
            log.info("axis state of %s: %s", doc_id, exc.code)
            _postpone(sessions, cast(str, doc_id), clock())  # axis_doc_id IS NOT NULL
            if not exc.retryable or exc.code in ("axis_unreachable", "axis_timeout"):
                break  # the axis is not answering: the next pass tries again
            continue
        _apply_states(sessions, cast(str, doc_id), items, clock(), report)
    return report


def _postpone(sessions: sessionmaker[Session], doc_id: str, now: dt.datetime) -> None:
    with sessions() as session:
        for outbound in session.execute(select(AxisOutbound).where(
                AxisOutbound.axis_doc_id == doc_id)).scalars():
            waited = (now - outbound.checked_at) if outbound.checked_at else CHECK_FIRST
            outbound.next_check_at = now + min(CHECK_MAX, max(CHECK_FIRST, waited * 2))
            outbound.checked_at = outbound.checked_at or now
        session.commit()


def _apply_states(sessions: sessionmaker[Session], doc_id: str, items: list[dict[str, str]],
                  now: dt.datetime, report: SendReport) -> None:
    with sessions() as session:
        rows = session.execute(select(AxisOutbound, Message).join(
            Message, Message.id == AxisOutbound.message_id).where(
            AxisOutbound.axis_doc_id == doc_id)).all()
        for outbound, message in rows:
            mine = [i for i in items if i.get("toCode") == message.recipient_organ_id] or (
                items if len(items) == 1 and len(rows) == 1 else [])
            waited = (now - outbound.checked_at) if outbound.checked_at else CHECK_FIRST
            outbound.checked_at = now
            outbound.next_check_at = now + min(CHECK_MAX, max(CHECK_FIRST, waited * 2))
            if not mine:
                continue
            item = mine[0]
            state = (item.get("receiveStatus") or "").strip()[:40]
            desc = (item.get("receiveStatusDesc") or "").strip()[:500]
            changed = (state, desc) != (outbound.receive_status or "", outbound.receive_status_desc or "")
            outbound.receive_status, outbound.receive_status_desc = state or None, desc or None
            outbound.send_status = (item.get("sendStatus") or outbound.send_status or "")[:40] or None
            if state.lower() in DONE_STATES and message.ack_result is None:
                message.acked_at, message.ack_result = now, "received"
            elif state.lower() in FAIL_STATES and message.ack_result is None:
                message.acked_at, message.ack_result = now, "rejected"
                message.ack_reason = (desc or "fail (axis)")[:500]
            if changed:
                _event(session, message, "axis_state", at=now, axis_doc_id=doc_id,
                       receive_status=state, receive_status_desc=desc or None,
                       send_status=item.get("sendStatus") or None,
                       receiver_doc_id=item.get("receiverDocId") or None)
                report.state_changes.append(message.id)
        session.commit()
