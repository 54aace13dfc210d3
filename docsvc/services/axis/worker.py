"""The axis's share of ``docsvc worker``: one pass sends what is due, reads the axis's delivery
state, polls the inbox and, when due, synchronises the directory; failures of the axis back off
with jitter and leave an operator-facing reason in ``docsvc axis status``."""

from __future__ import annotations

import datetime as dt
import logging
import random
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from docsvc.axis import AxisError
from docsvc.models import AxisSettings, utcnow
from docsvc.security import Actor
from docsvc.services import exchange as svc
from docsvc.services.axis.config import ROW_ID, load_axis
from docsvc.services.axis.directory import sync_directory
from docsvc.services.axis.inbound import ReceiveReport, poll_inbox
from docsvc.services.axis.outbound import SendReport, check_states, send_due
from docsvc.services.delivery import DeliveryPolicy, backoff_delay
from docsvc.storage import BlobStore

log = logging.getLogger(__name__)
WORKER = Actor(kind="operator", name="axis-worker", organ_id=None)


@dataclass
class AxisWorkerOptions:
    """How the worker uses the axis."""

    timeout: float = 30.0
    """Seconds for one whole call (connect, send, read)."""
    directory_every: dt.timedelta = dt.timedelta(hours=24)
    policy: DeliveryPolicy = field(default_factory=DeliveryPolicy)
    poll_base_delay: dt.timedelta = dt.timedelta(seconds=5)
    poll_max_delay: dt.timedelta = dt.timedelta(minutes=10)
    concurrency: int = 4
    """Packages sent or received side by side in one pass."""


@dataclass
class AxisPassReport:
    configured: bool = False
    sent: SendReport = field(default_factory=SendReport)
    received: ReceiveReport = field(default_factory=ReceiveReport)
    directory: dict[str, Any] | None = None
    error: str | None = None


def _note(sessions: sessionmaker[Session], *, error: str | None, polled: bool, options: AxisWorkerOptions,
          rng: random.Random, now: dt.datetime) -> None:
    with sessions() as session:
        row = session.get(AxisSettings, ROW_ID, populate_existing=True)
        if row is None:
            return
        if polled:
            row.last_poll_at = now
        if error is None:
            row.last_ok_at, row.last_error, row.poll_failures, row.next_poll_at = now, None, 0, None
        else:
            row.last_error = error[:500]
            row.poll_failures += 1
            policy = DeliveryPolicy(base_delay=options.poll_base_delay, max_delay=options.poll_max_delay)
            row.next_poll_at = now + backoff_delay(row.poll_failures, policy, rng)
        session.commit()


def axis_pass(
    sessions: sessionmaker[Session], blobs: BlobStore, keys: Sequence[str],
    config: Callable[[], svc.ExchangeConfig], *, options: AxisWorkerOptions | None = None,
    rng: random.Random | None = None, clock: Callable[[], dt.datetime] = utcnow,
    before_ack: Callable[[str], None] | None = None, force: bool = False,
) -> AxisPassReport:
    """Do one pass of axis work (nothing when no axis is configured). Never raises AxisError."""
    options = options or AxisWorkerOptions()
    rng = rng or random.Random()  # noqa: S311 - jitter
    report = AxisPassReport()
    with sessions() as session:
        axis = load_axis(session, tuple(keys), timeout=options.timeout)
        row = session.get(AxisSettings, ROW_ID)
        next_poll = row.next_poll_at if row is not None else None
        synced = row.directory_synced_at if row is not None else None
    if axis is None:
        return report
    report.configured = True
    now = clock()
    if not force and next_poll is not None and next_poll > now:
        return report  # backing off after failures
    cfg = config()
    client = axis.client()
    try:
        if synced is None or now - synced >= options.directory_every:
            with sessions() as session:
                report.directory = sync_directory(session, client, actor=WORKER,
                                                  allow=frozenset(cfg.organ_id_allow))
        report.sent = send_due(sessions, blobs, client, from_code=axis.from_code, policy=options.policy,
                               rng=rng, clock=clock, concurrency=options.concurrency)
        check_states(sessions, client, clock=clock, report=report.sent)
        report.received = poll_inbox(sessions, blobs, cfg, client, policy=options.policy, rng=rng,
                                     clock=clock, before_ack=before_ack,
                                     concurrency=options.concurrency)
    except AxisError as exc:
        report.error = exc.reason()
        log.warning("axis pass: %s", report.error)
    finally:
        client.close()
    _note(sessions, error=report.error, polled=True, options=options, rng=rng, now=clock())
    return report


def start_axis_thread(
    sessions: sessionmaker[Session], blobs: BlobStore, keys: Sequence[str],
    config: Callable[[], svc.ExchangeConfig], *, interval: float, should_stop: Callable[[], bool],
    options: AxisWorkerOptions | None = None,
) -> threading.Thread:
    """Run axis passes every ``interval`` seconds in a thread until ``should_stop()``."""

    def loop() -> None:
        while not should_stop():
            try:
                report = axis_pass(sessions, blobs, keys, config, options=options)
                busy = bool(report.sent.sent or report.received.filed or report.sent.reconciled)
            except Exception:  # a lost database must not end the worker: try again later
                log.exception("axis pass failed")
                busy = False
            deadline = time.monotonic() + (0 if busy else interval)
            while time.monotonic() < deadline and not should_stop():
                time.sleep(min(0.2, interval))

    thread = threading.Thread(target=loop, name="axis-worker", daemon=True)
    thread.start()
    return thread
