"""Push delivery between docsvc instances: the outbox use cases (set a peer's endpoint and
token, deliver what is due, run the worker). HTTP goes through ``docsvc.exchange.peers``.

A message to an organisation with an ``endpoint_url`` waits in ``exchange_deliveries`` (state
``queued``). Workers claim due rows under a row lock and a lease, POST the stored edXML to the
peer's ``/api/v1/exchange/messages`` with ``Idempotency-Key`` = message id (the peer
deduplicates), and record every attempt as a transport event. All state is in the database, so
workers may restart or run side by side.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import hashlib
import json
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from docsvc.errors import BadRequestError, DocsvcError, NotFoundError
from docsvc.exchange.peers import Http, PeerResponse, PeerUnreachableError, requests_http
from docsvc.models import Delivery, Message, Organization, PeerCredential, TransportEvent, utcnow
from docsvc.sealing import PEER_TOKEN, Sealer, sealer_from_settings
from docsvc.security import Actor
from docsvc.services import audit
from docsvc.storage import BlobStore, read_verified

log = logging.getLogger(__name__)

SUBMIT_PATH = "/api/v1/exchange/messages"
RETRYABLE_STATUSES = frozenset({408, 429})


# -- policy -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DeliveryPolicy:
    """How hard and how long the worker tries to reach a peer."""

    base_delay: dt.timedelta = dt.timedelta(seconds=10)
    """Ceiling of the first retry's random delay; doubles with each failed attempt."""
    max_delay: dt.timedelta = dt.timedelta(hours=1)
    """Cap of the retry delay ceiling (full jitter draws between 0 and it)."""
    max_age: dt.timedelta = dt.timedelta(days=3)
    """After this age (from the message's creation) an undelivered message is ``expired``."""
    claim_lease: dt.timedelta = dt.timedelta(minutes=5)
    """How long a claimed delivery is hidden from other workers (longer than one attempt)."""
    timeout_seconds: float = 30.0
    batch: int = 20


def backoff_delay(attempt: int, policy: DeliveryPolicy, rng: random.Random) -> dt.timedelta:
    """Return the wait after failed attempt number ``attempt`` (1-based): full jitter between 0
    and ``min(max_delay, base_delay * 2**(attempt-1))``."""
    ceiling = min(policy.max_delay.total_seconds(),
                  policy.base_delay.total_seconds() * 2 ** max(0, attempt - 1))
    return dt.timedelta(seconds=rng.uniform(0, ceiling))


def parse_retry_after(value: str | None, now: dt.datetime) -> dt.timedelta | None:
    """Return the wait a ``Retry-After`` header asks for (seconds or an HTTP date), or None."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return dt.timedelta(seconds=int(value))
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return max(dt.timedelta(0), when - now)


# -- peer credentials ---------------------------------------------------------------------------
# Peer tokens are sealed by docsvc.sealing (purpose PEER_TOKEN, bound to the OrganId).


def set_endpoint(
    session: Session, actor: Actor, *, organ_id: str, url: str, token: str | None,
    sealer: Sealer | None,
) -> Organization:
    """Reach ``organ_id`` by push at ``url`` (its docsvc's base URL) with ``token`` (sealed).

    Without ``token`` the stored one, if any, is kept. Raises NotFoundError (not in the
    directory), BadRequestError (URL, token). Commits.
    """
    org = session.get(Organization, organ_id)
    if org is None:
        raise NotFoundError("Cơ quan không có trong danh bạ.", "The organisation is not in the directory.",
                            details={"organ_id": organ_id})
    url = url.strip()
    if not url.startswith(("http://", "https://")) or len(url) > 300 or any(c.isspace() for c in url):
        raise BadRequestError("Địa chỉ phải là URL http(s) (tối đa 300 ký tự).",
                              "The endpoint must be an http(s) URL (up to 300 characters).",
                              details={"url": url[:300]})
    if token is not None:
        token = token.strip()
        if not token or len(token) > 500 or any(c.isspace() for c in token):
            raise BadRequestError("Khóa truy cập không hợp lệ.", "Invalid token.")
        if sealer is None:
            raise BadRequestError("Thiếu khóa mã hóa.", "No key to seal the token.")
        sealed = sealer.seal(token, purpose=PEER_TOKEN, subject=organ_id)
        credential = session.get(PeerCredential, organ_id)
        if credential is None:
            session.add(PeerCredential(organ_id=organ_id, sealed_token=sealed))
        else:
            credential.sealed_token, credential.created_at = sealed, utcnow()
    org.endpoint_url = url
    audit.record(session, actor, "directory.endpoint", object_type="organization", object_id=organ_id,
                 organ_id=organ_id, details={"endpoint_url": url, "token_replaced": token is not None})
    session.commit()
    return org


def submit_url(endpoint_url: str) -> str:
    """Return the submission URL of a peer whose base URL is ``endpoint_url``."""
    base = endpoint_url.rstrip("/")
    return base if base.endswith(SUBMIT_PATH) else base + SUBMIT_PATH


# -- the worker ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Claim:
    message_id: str
    url: str
    recipient: str
    sender: str
    blob_key: str
    size: int
    attempt: int
    lease_until: dt.datetime


@dataclass
class DeliveryReport:
    """What one pass of the worker did, per final outcome of each attempt."""

    delivered: list[str] = field(default_factory=list)
    retrying: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    expired: list[str] = field(default_factory=list)
    released: list[str] = field(default_factory=list)
    """Claimed but handed back untried: the pass ran too long to try them within the lease."""

    @property
    def attempted(self) -> int:
        return len(self.delivered) + len(self.retrying) + len(self.failed)


def _event(session: Session, message: Message, name: str, *, at: dt.datetime, **details: Any) -> None:
    session.add(TransportEvent(message_id=message.id, at=at, event=name,
                               organ_id=message.sender_organ_id, sha256=message.sha256,
                               details={k: v for k, v in details.items() if v is not None}))


def _iso(value: dt.datetime | None) -> str | None:
    return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z") if value else None


def _claim(session: Session, policy: DeliveryPolicy, now: dt.datetime, report: DeliveryReport,
           limit: int) -> list[_Claim]:
    """Take due push deliveries for this worker: lock them (others skip locked rows), expire the
    too old, and push ``next_attempt_at`` a lease ahead so nobody else picks them up meanwhile."""
    stmt = (select(Delivery).where(Delivery.mode == "push", Delivery.state == "queued",
                                   Delivery.next_attempt_at <= now)
            .order_by(Delivery.next_attempt_at, Delivery.message_id).limit(limit)
            .with_for_update(skip_locked=True))
    claims = []
    for delivery in session.execute(stmt).scalars():
        message = delivery.message
        if now >= message.created_at + policy.max_age:
            delivery.state = "expired"
            delivery.next_attempt_at = None
            delivery.last_error = f"not delivered within {policy.max_age}"
            _event(session, message, "push_expired", at=now, attempts=delivery.attempts,
                   last_error=delivery.last_error)
            report.expired.append(message.id)
            continue
        delivery.attempts += 1
        lease_until = now + policy.claim_lease
        delivery.next_attempt_at = lease_until
        claims.append(_Claim(message.id, submit_url(delivery.endpoint_url or ""),
                             message.recipient_organ_id, message.sender_organ_id, message.blob_key,
                             message.size, delivery.attempts, lease_until))
    session.commit()
    return claims


@dataclass(frozen=True)
class _Outcome:
    kind: str
    """``delivered``, ``retry`` or ``failed``."""
    status: int | None = None
    error: str | None = None
    retry_after: dt.timedelta | None = None
    receipt: dict[str, Any] | None = None


def _reason(response: PeerResponse) -> str:
    try:
        error = json.loads(response.body)["error"]
        return f"HTTP {response.status} {error.get('code')}: {error.get('message')}"[:500]
    except (ValueError, KeyError, TypeError, AttributeError):
        text = response.body[:200].decode("utf-8", "replace").strip()
        return f"HTTP {response.status} {text}".strip()[:500]


def _attempt(claim: _Claim, token: str | None, blobs: BlobStore, http: Http, policy: DeliveryPolicy,
             now: dt.datetime) -> _Outcome:
    if token is None:
        return _Outcome("retry", error=f"no token for {claim.recipient}: "
                                       "docsvc directory set-endpoint … --token-stdin")
    headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": claim.message_id,
               "Content-Type": "application/xml", "Content-Length": str(claim.size)}
    try:
        with read_verified(blobs, claim.blob_key) as body:
            response = http(claim.url, body, headers, policy.timeout_seconds)
    except PeerUnreachableError as exc:
        return _Outcome("retry", error=str(exc))
    except DocsvcError as exc:  # the stored package is missing or corrupted: no retry mends it
        return _Outcome("failed", error=f"local package unreadable: {exc.code}")
    if 200 <= response.status < 300:
        try:
            receipt = json.loads(response.body)
        except ValueError:
            receipt = None
        if not isinstance(receipt, dict):
            receipt = {"raw_sha256": hashlib.sha256(response.body).hexdigest()}
        return _Outcome("delivered", status=response.status, receipt=receipt)
    retry_after = parse_retry_after(
        next((v for k, v in response.headers.items() if k.lower() == "retry-after"), None), now)
    if response.status >= 500 or response.status in RETRYABLE_STATUSES:
        return _Outcome("retry", status=response.status, error=_reason(response),
                        retry_after=retry_after)
    return _Outcome("failed", status=response.status, error=_reason(response))


def _record(session: Session, claim: _Claim, outcome: _Outcome, policy: DeliveryPolicy,
            now: dt.datetime, rng: random.Random, report: DeliveryReport) -> None:
    delivery = session.get(Delivery, claim.message_id, with_for_update=True, populate_existing=True)
    assert delivery is not None
    message = delivery.message
    details: dict[str, Any] = {"attempt": claim.attempt, "url": claim.url, "http_status": outcome.status,
                               "error": outcome.error, "outcome": outcome.kind}
    still_ours = delivery.state == "queued" and delivery.next_attempt_at == claim.lease_until
    if delivery.state != "queued":
        details["outcome"] = f"ignored: already {delivery.state}"
    elif outcome.kind == "delivered":  # accepted even if our lease ran out: the peer has it
        delivery.state, delivery.delivered_at = "delivered", now
        delivery.next_attempt_at, delivery.last_error = None, None
        message.acked_at, message.ack_result, message.receipt = now, "received", outcome.receipt
        report.delivered.append(message.id)
    elif not still_ours:
        details["outcome"] = "ignored: claimed again by another worker"
    elif outcome.kind == "failed":
        delivery.state, delivery.next_attempt_at = "failed", None
        delivery.last_error = outcome.error
        report.failed.append(message.id)
    else:
        delay = backoff_delay(claim.attempt, policy, rng)
        if outcome.retry_after is not None:
            delay = max(delay, outcome.retry_after)
            details["retry_after_seconds"] = outcome.retry_after.total_seconds()
        next_at = now + delay
        delivery.last_error = (outcome.error or "")[:500] or None
        if next_at >= message.created_at + policy.max_age:
            delivery.state, delivery.next_attempt_at = "expired", None
            details["outcome"] = "expired"
            report.expired.append(message.id)
        else:
            delivery.next_attempt_at = next_at
            details["next_attempt_at"] = _iso(next_at)
            report.retrying.append(message.id)
    _event(session, message, "push_attempt", at=now, **details)
    session.commit()


def _tokens(session: Session, settings: Any, organ_ids: set[str]) -> dict[str, str]:
    rows = list(session.execute(
        select(PeerCredential).where(PeerCredential.organ_id.in_(organ_ids))).scalars())
    if not rows:
        return {}
    sealer = sealer_from_settings(settings)
    return {row.organ_id: sealer.open(row.sealed_token, purpose=PEER_TOKEN, subject=row.organ_id)
            for row in rows}


def deliver_due(
    sessions: sessionmaker[Session], blobs: BlobStore, settings: Any, *,
    now: dt.datetime | None = None, http: Http = requests_http, policy: DeliveryPolicy | None = None,
    rng: random.Random | None = None, limit: int | None = None,
    clock: Callable[[], dt.datetime] | None = None,
) -> DeliveryReport:
    """Push every due message once: claim, POST, record the outcome (one commit per step).

    Each attempt is timed by the clock when it starts (``now`` fixes it for the whole pass,
    ``clock`` supplies it: tests). A claim whose lease could run out during its attempt (a
    slow pass against a hanging peer) is handed back untried, so that no other worker pushes
    it while we still might. ``http`` sends one request.
    """
    policy = policy or DeliveryPolicy()
    rng = rng or random.Random()  # noqa: S311 - jitter, not secrecy
    clock = clock or ((lambda: now) if now is not None else utcnow)
    timeout = dt.timedelta(seconds=policy.timeout_seconds)
    report = DeliveryReport()
    with sessions() as session:
        claims = _claim(session, policy, clock(), report, limit or policy.batch)
        tokens = _tokens(session, settings, {c.recipient for c in claims}) if claims else {}
    for index, claim in enumerate(claims):
        at = clock()
        if at + timeout >= claim.lease_until:
            with sessions() as session:
                report.released.extend(_release(session, claims[index:], at))
            log.warning("delivery pass too slow: %d claims handed back untried",
                        len(claims) - index)
            break
        outcome = _attempt(claim, tokens.get(claim.recipient), blobs, http, policy, at)
        with sessions() as session:
            _record(session, claim, outcome, policy, clock(), rng, report)
        log.info("push %s to %s: %s %s", claim.message_id, claim.recipient, outcome.kind,
                 outcome.status or outcome.error or "")
    return report


def _release(session: Session, claims: list[_Claim], at: dt.datetime) -> list[str]:
    """Hand untried claims back (due at once, the attempt not counted) while still ours."""
    released = []
    for claim in claims:
        delivery = session.get(Delivery, claim.message_id, with_for_update=True,
                               populate_existing=True)
        if delivery is not None and delivery.state == "queued" \
                and delivery.next_attempt_at == claim.lease_until:
            delivery.next_attempt_at = at
            delivery.attempts -= 1
            released.append(claim.message_id)
    session.commit()
    return released


def _anchor_audit_if_due(sessions: sessionmaker[Session], settings: Any) -> None:
    """Anchor the audit chain head every ``DOCSVC_AUDIT_ANCHOR_SECONDS`` (the worker is the
    service's one long-running loop); a failure is logged, never fatal."""
    every = getattr(settings, "audit_anchor_seconds", 0)
    if not every:
        return
    try:
        with sessions() as session:
            audit.anchor_if_due(session, every=dt.timedelta(seconds=every),
                                tsa_url=settings.tsa_url or None,
                                timeout=settings.network_timeout_seconds)
    except Exception:  # noqa: BLE001 - a TSA or chain problem must not stop deliveries
        log.exception("anchoring the audit chain failed")


def run_worker(
    sessions: sessionmaker[Session], blobs: BlobStore, settings: Any, *, once: bool = False,
    interval: float = 5.0, http: Http = requests_http, policy: DeliveryPolicy | None = None,
    should_stop: Callable[[], bool] = lambda: False,
    wait_for_work: Callable[[float], bool] | None = None,
) -> DeliveryReport:
    """Deliver due messages until ``should_stop()`` (or one pass with ``once``); return the total.

    A full batch is followed at once by the next pass; otherwise the worker sleeps ``interval``,
    or less when ``wait_for_work(seconds)`` returns True: new work was announced
    (``docsvc.services.wakeup``).
    """
    policy = policy or DeliveryPolicy()
    total = DeliveryReport()
    while True:
        try:
            report = deliver_due(sessions, blobs, settings, http=http, policy=policy)
        except Exception:  # a lost database must not end a long-running worker: try again later
            if once:
                raise
            log.exception("delivery pass failed; retrying in %s s", interval)
            report = DeliveryReport()
        for name in ("delivered", "retrying", "failed", "expired"):
            getattr(total, name).extend(getattr(report, name))
        _anchor_audit_if_due(sessions, settings)
        if once or should_stop():
            return total
        if report.attempted + len(report.expired) < policy.batch:
            deadline = time.monotonic() + interval
            while time.monotonic() < deadline and not should_stop():
                step = min(0.2, interval, max(0.0, deadline - time.monotonic()))
                if wait_for_work is None:
                    time.sleep(step)
                elif wait_for_work(step):
                    break  # a push was queued: look now
            if should_stop():
                return total
