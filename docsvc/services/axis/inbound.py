"""Receiving from the axis: list the inbox (document and status packages), fetch each one
(getEdoc, downloadEdoc for what getEdoc cannot carry), file it through the same arrival path as
REST and VXP submissions, and only then acknowledge it: ``done`` after the commit, ``fail`` with
the reason when the package is refused.

Each listed package has an ``AxisInbound`` row keyed by the axis DocId. A crash after filing and
before acknowledging leaves it ``fetching`` or ``filed``: the next poll files it again, which the
submission's idempotency (same bytes) or the duplicate check (same sender and DocumentId) turns
into the first filing, and acknowledges it. Nothing is lost, nothing is filed twice.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import logging
import random
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from docsvc.axis import AxisClient, AxisError, AxisGarbageError, AxisRefusedError, AxisTooLargeError
from docsvc.errors import DocsvcError
from docsvc.models import AxisInbound, utcnow
from docsvc.security import Actor
from docsvc.services import exchange as svc
from docsvc.services.delivery import DeliveryPolicy, backoff_delay
from docsvc.services.exchange.receiving import DuplicateArrivalError
from docsvc.storage import BlobStore

log = logging.getLogger(__name__)

MESSAGE_TYPES = ("edoc", "status")
_FILING = threading.Lock()
"""One document filing at a time in this process: the duplicate check by DocumentId must see
the last one (status packages need no such check)."""
LIST_LIMIT = 200
"""Packages handled per list call and pass (the rest come on the next poll)."""


@dataclass
class ReceiveReport:
    filed: list[str] = field(default_factory=list)
    """Axis DocIds filed here and acknowledged ``done`` in this pass."""
    duplicates: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    retrying: list[str] = field(default_factory=list)
    acked: list[str] = field(default_factory=list)
    """Acknowledgements sent again (filed in an earlier pass or process)."""
    acknowledged: list[tuple[str, str, list[str] | None, str | None]] = field(default_factory=list)
    """Every acknowledgement the axis took in this pass: DocId, status, message ids, SHA-256."""


def _row(session: Session, doc_id: str, item: dict[str, str] | None = None,
         message_type: str = "edoc") -> AxisInbound:
    """Return the package's row, added to the session (not committed) when new."""
    row = session.get(AxisInbound, doc_id, populate_existing=True)
    if row is None:
        row = AxisInbound(axis_doc_id=doc_id, message_type=message_type,
                          from_code=((item or {}).get("from") or "")[:100] or None, state="fetching",
                          attempts=0, message_ids=[])
        session.add(row)
    return row


def fetch_package(client: AxisClient, doc_id: str, *, max_bytes: int) -> bytes:
    """Fetch one package: getEdoc, or downloadEdoc when getEdoc cannot carry it."""
    try:
        package = client.get_edoc(doc_id)
    except (AxisTooLargeError, AxisGarbageError, AxisRefusedError) as first:
        try:
            package = client.download_edoc(doc_id, limit=max_bytes + 1)
        except AxisError:
            raise first from None
    return package  # the arrival path refuses what is larger than it accepts


def _ack(client: AxisClient, doc_id: str, status: str, reason: str | None, report: ReceiveReport,
         ids: list[str] | None = None, sha256: str | None = None) -> None:
    """Tell the axis ``done``/``fail`` (AxisError propagates); the row is marked acknowledged
    with the others at the end of the pass (if that is lost, the next pass acknowledges again,
    which the axis takes as a repeat)."""
    client.update_status(doc_id, status, reason or "")
    report.acknowledged.append((doc_id, status, ids, sha256))


def _mark_acknowledged(sessions: sessionmaker[Session], report: ReceiveReport) -> None:
    if not report.acknowledged:
        return
    with sessions() as session:
        for doc_id, status, ids, sha256 in report.acknowledged:
            row = session.get(AxisInbound, doc_id)
            if row is None:
                continue
            row.state, row.ack_status, row.next_attempt_at = "acked", status, None
            if ids:
                row.message_ids = ids
            row.sha256 = sha256 or row.sha256
        session.commit()


def _defer(sessions: sessionmaker[Session], doc_id: str, reason: str, policy: DeliveryPolicy,
           rng: random.Random, now: dt.datetime, message_type: str = "edoc") -> None:
    with sessions() as session:
        row = _row(session, doc_id, message_type=message_type)
        row.attempts += 1
        row.reason = reason[:500]
        row.next_attempt_at = now + backoff_delay(row.attempts, policy, rng)
        session.commit()


def _file(sessions: sessionmaker[Session], blobs, cfg: svc.ExchangeConfig, doc_id: str,  # type: ignore[no-untyped-def]
          package: bytes, actor: Actor, item: dict[str, str],
          message_type: str) -> tuple[str, str | None, list[str], str | None]:
    """File the package, its row ``filed`` in the same commit; return the outcome (``filed``,
    ``duplicate`` or ``refused``), the reason of a refusal, the message ids and the SHA-256."""
    with (_FILING if message_type == "edoc" else contextlib.nullcontext()), sessions() as session:
        row = _row(session, doc_id, item, message_type)
        row.state, row.ack_status, row.reason = "filed", "done", None
        try:
            result = svc.submit_package(session, blobs, cfg, stream=io.BytesIO(package),
                                        idempotency_key=None, actor=actor, via_axis=True)
        except DuplicateArrivalError:
            session.rollback()
            outcome, reason = "duplicate", None
        except DocsvcError as exc:
            session.rollback()
            if exc.status >= 500:
                raise
            outcome, reason = "refused", f"{exc.code}: {exc.message('vi')} / {exc.message('en')}"
        else:
            if result.replayed:  # filed before (a crash before the acknowledgement): no commit yet
                row = _row(session, doc_id, item, message_type)
                row.state, row.ack_status = "filed", "done"
                session.commit()
            return "filed", None, list(result.receipt.get("message_ids", [])), result.receipt.get("sha256")
    with sessions() as session:
        row = _row(session, doc_id, item, message_type)
        row.state = "refused" if outcome == "refused" else "filed"
        row.ack_status = "fail" if outcome == "refused" else "done"
        row.reason = (reason or "")[:500] or None
        session.commit()
    return outcome, reason, [], None


def _ack_pending(sessions: sessionmaker[Session], client: AxisClient, report: ReceiveReport,
                 now: dt.datetime, policy: DeliveryPolicy, rng: random.Random) -> None:
    """Acknowledge what was filed (or refused) but not acknowledged: a worker stopped in
    between, or the acknowledgement failed. The axis may not list it again (leases)."""
    with sessions() as session:
        pending = session.execute(select(AxisInbound.axis_doc_id, AxisInbound.ack_status,
                                         AxisInbound.reason).where(
            AxisInbound.state.in_(("filed", "refused")),
            (AxisInbound.next_attempt_at.is_(None)) | (AxisInbound.next_attempt_at <= now))
            .order_by(AxisInbound.created_at).limit(LIST_LIMIT)).all()
    for doc_id, status, reason in pending:
        try:
            _ack(client, doc_id, status or "done", reason if status == "fail" else None, report)
        except AxisRefusedError as exc:  # this one only: try it again later
            _defer(sessions, doc_id, exc.reason(), policy, rng, now)
            continue
        report.acked.append(doc_id)


def poll_inbox(
    sessions: sessionmaker[Session], blobs: BlobStore, cfg: svc.ExchangeConfig, client: AxisClient, *,
    policy: DeliveryPolicy | None = None, rng: random.Random | None = None,
    clock: Callable[[], dt.datetime] = utcnow, before_ack: Callable[[str], None] | None = None,
    concurrency: int = 1,
) -> ReceiveReport:
    """List, fetch, file and acknowledge what the axis holds for us (documents, then status
    packages). AxisError of a list call, or one saying the axis is gone, propagates (the worker
    backs off); any other failure on one package leaves it for a later pass.

    ``concurrency``: packages fetched and acknowledged side by side; filing is one at a time in
    this process (so two copies of one document never race past the duplicate check).
    ``before_ack``: called with the axis DocId between filing and acknowledging (crash tests).
    """
    policy = policy or DeliveryPolicy()
    rng = rng or random.Random()  # noqa: S311 - jitter
    report = ReceiveReport()
    actor = Actor(kind="system", name=f"axis:{client.system_id}"[:100], organ_id=None)
    try:
        _ack_pending(sessions, client, report, clock(), policy, rng)
        _poll(sessions, blobs, cfg, client, report, actor, policy, rng, clock, before_ack, concurrency)
    finally:
        _mark_acknowledged(sessions, report)
    return report


def _poll(sessions: sessionmaker[Session], blobs, cfg: svc.ExchangeConfig, client: AxisClient,  # type: ignore[no-untyped-def]
          report: ReceiveReport, actor: Actor, policy: DeliveryPolicy, rng: random.Random,
          clock: Callable[[], dt.datetime], before_ack: Callable[[str], None] | None,
          concurrency: int) -> None:
    for message_type in ("edoc", "status"):
        items = client.received_list(message_type)[:LIST_LIMIT]
        width = max(1, min(concurrency, len(items)))
        batches = [items[i::width] for i in range(width)]

        gone: list[BaseException] = []  # the axis stopped answering: the other batches stop too

        def handle(batch: list[dict[str, str]], message_type: str = message_type,
                   gone: list[BaseException] = gone) -> None:
            for item in batch:
                if gone:
                    return
                try:
                    _handle(sessions, blobs, cfg, client, item, message_type, actor, report, policy,
                            rng, clock, before_ack)
                except AxisError as exc:
                    gone.append(exc)
                    raise

        if width == 1:
            for batch in batches:
                handle(batch)
            continue
        with ThreadPoolExecutor(max_workers=width) as pool:
            for future in [pool.submit(handle, batch) for batch in batches]:
                future.result()  # re-raises an AxisError that stops the pass


def _handle(sessions: sessionmaker[Session], blobs, cfg: svc.ExchangeConfig, client: AxisClient,  # type: ignore[no-untyped-def]
            item: dict[str, str], message_type: str, actor: Actor, report: ReceiveReport,
            policy: DeliveryPolicy, rng: random.Random, clock: Callable[[], dt.datetime],
            before_ack: Callable[[str], None] | None) -> None:
    """Fetch, file and acknowledge one listed package (or acknowledge it again)."""
    doc_id = item["docId"].strip()[:100]
    now = clock()
    with sessions() as session:
        row = session.get(AxisInbound, doc_id)
        state, due = (row.state, row.next_attempt_at) if row else ("fetching", None)
        ack_status, reason = (row.ack_status, row.reason) if row else (None, None)
    if due is not None and due > now:
        return
    ids: list[str] = []
    sha256: str | None = None
    try:
        if state == "fetching":
            package = fetch_package(client, doc_id, max_bytes=cfg.limits.max_bytes)
            outcome, reason, ids, sha256 = _file(sessions, blobs, cfg, doc_id, package, actor, item,
                                                 message_type)
            ack_status = "fail" if outcome == "refused" else "done"
            {"filed": report.filed, "duplicate": report.duplicates,
             "refused": report.refused}[outcome].append(doc_id)
        else:
            report.acked.append(doc_id)
        if before_ack is not None:
            before_ack(doc_id)
        _ack(client, doc_id, ack_status or "done", reason if ack_status == "fail" else None, report,
             ids, sha256)
    except AxisError as exc:
        log.info("axis package %s: %s", doc_id, exc.code)
        _defer(sessions, doc_id, exc.reason(), policy, rng, clock(), message_type)
        report.retrying.append(doc_id)
        if exc.code in ("axis_unreachable", "axis_timeout", "axis_auth_refused", "axis_tls"):
            raise
    except Exception as exc:  # noqa: BLE001 - a database or storage failure: later
        log.exception("axis package %s could not be filed", doc_id)
        _defer(sessions, doc_id, f"{type(exc).__name__}: {exc}", policy, rng, clock(), message_type)
        report.retrying.append(doc_id)
