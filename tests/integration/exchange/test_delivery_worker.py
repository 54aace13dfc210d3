"""The push worker against a scripted peer on loopback (a real HTTP server in a thread): the
backoff schedule, Retry-After, maximum age, permanent 4xx failures, sealed peer tokens, and two
workers racing over the same outbox (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import random
import threading
import time
from collections.abc import Iterator

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from docsvc.config import Settings
from docsvc.models import Delivery, Message, PeerCredential, TransportEvent
from docsvc.sealing import PEER_TOKEN, sealer_from_settings
from docsvc.security import OPERATOR
from docsvc.services import delivery as push
from docsvc.services import wakeup
from docsvc.services.exchange import document_trace, send_document
from tests.support.worlds import PULLING, signed_notice

PEER = PULLING  # reached by push in these tests: it gets an endpoint
TOKEN = "peer-token-" + "x" * 30
T0 = dt.datetime(2026, 1, 5, 8, 0, tzinfo=dt.UTC)
POLICY = push.DeliveryPolicy(base_delay=dt.timedelta(seconds=10), max_delay=dt.timedelta(minutes=5),
                             max_age=dt.timedelta(hours=2))


class Peer:
    """A docsvc-like receiver whose answers the test scripts; it records every request."""

    def __init__(self) -> None:
        self.script: list[tuple[int, dict[str, str]]] = []
        self.default = (201, {})
        self.requests: list[dict] = []
        self.delay = 0.0
        self.lock = threading.Lock()

    def __call__(self, environ, start_response):  # type: ignore[no-untyped-def]
        request = Request(environ)
        body = request.get_data()
        time.sleep(self.delay)
        with self.lock:
            self.requests.append({"path": request.path, "headers": dict(request.headers), "body": body})
            status, headers = self.script.pop(0) if self.script else self.default
        if 200 <= status < 300:
            payload = {"type": "submission", "sha256": hashlib.sha256(body).hexdigest(),
                       "message_ids": ["remote-1"]}
        else:
            payload = {"error": {"code": "package_invalid", "message": f"scripted {status}"}}
        return Response(json.dumps(payload), status=status, headers=headers,
                        mimetype="application/json")(environ, start_response)

    def keys(self) -> list[str]:
        return [r["headers"].get("Idempotency-Key") for r in self.requests]


@pytest.fixture
def peer() -> Iterator[tuple[Peer, str]]:
    app = Peer()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield app, f"http://127.0.0.1:{server.port}/"
    finally:
        server.shutdown()
        thread.join(10)
        server.server_close()


@pytest.fixture
def settings(tmp_path) -> Settings:
    return Settings(env="test", data_dir=tmp_path / "var", secret_key="s" * 40)


def _point_at(session, settings, url: str, token: str | None = TOKEN) -> None:
    push.set_endpoint(session, OPERATOR, organ_id=PEER, url=url, token=token,
                      sealer=sealer_from_settings(settings))


def _queue(session, blobs, config, world, count: int = 1) -> list[str]:
    """Send ``count`` signed notices to the push peer; return the message ids."""
    ids = []
    for _ in range(count):
        document_id = signed_notice(session, blobs, world["vanthu"])
        result = send_document(session, blobs, config, document_id=document_id, to=[PEER],
                               actor=world["vanthu"], now=T0)
        assert result.messages[0].delivery.mode == "push"
        ids.append(result.messages[0].id)
    return ids


def _delivery(sessions, message_id: str) -> Delivery:
    with sessions() as session:
        return session.get(Delivery, message_id)


def _attempts(sessions, message_id: str) -> list[dict]:
    with sessions() as session:
        return [e.details for e in session.execute(select(TransportEvent).where(
            TransportEvent.message_id == message_id, TransportEvent.event == "push_attempt")
            .order_by(TransportEvent.id)).scalars()]


class _Top(random.Random):
    """Jitter that always draws the ceiling: makes the schedule visible."""

    def uniform(self, a: float, b: float) -> float:
        return b


# -- the worker against a real server -----------------------------------------------------------


def test_set_endpoint_stores_the_token_sealed(session, world, settings):
    _point_at(session, settings, "https://xa.example")
    row = session.get(PeerCredential, PEER)
    assert TOKEN not in row.sealed_token
    assert sealer_from_settings(settings).open(row.sealed_token, purpose=PEER_TOKEN, subject=PEER) == TOKEN


def test_a_2xx_delivers_with_the_token_and_the_message_id_as_idempotency_key(
        session, sessions, blobs, config, world, settings, peer):
    server, url = peer
    _point_at(session, settings, url)
    [message_id] = _queue(session, blobs, config, world)
    report = push.deliver_due(sessions, blobs, settings, now=T0, policy=POLICY)
    assert report.delivered == [message_id]
    [request] = server.requests
    with sessions() as s:
        message = s.get(Message, message_id)
        assert request["path"] == "/api/v1/exchange/messages"
        assert request["headers"]["Authorization"] == f"Bearer {TOKEN}"
        assert request["headers"]["Idempotency-Key"] == message_id
        assert hashlib.sha256(request["body"]).hexdigest() == message.sha256
        assert message.delivery.state == "delivered" and message.delivery.delivered_at == T0
        assert message.receipt["sha256"] == message.sha256
        trace = document_trace(s, document_id=message.local_document_id, actor=world["vanthu"])
    attempts = [e for e in trace["events"] if e.get("event") == "push_attempt"]
    assert [(e["details"]["outcome"], e["details"]["http_status"]) for e in attempts] == [("delivered", 201)]
    assert push.deliver_due(sessions, blobs, settings, now=T0 + dt.timedelta(days=1)).attempted == 0


def test_5xx_retries_on_the_backoff_schedule_then_delivers(
        session, sessions, blobs, config, world, settings, peer):
    server, url = peer
    server.script = [(503, {}), (502, {})]
    _point_at(session, settings, url)
    [message_id] = _queue(session, blobs, config, world)
    first = push.deliver_due(sessions, blobs, settings, now=T0, policy=POLICY, rng=_Top())
    assert first.retrying == [message_id]
    delivery = _delivery(sessions, message_id)
    assert delivery.state == "queued" and delivery.next_attempt_at == T0 + dt.timedelta(seconds=10)
    assert "HTTP 503 package_invalid" in delivery.last_error
    # not due yet: nothing is sent
    early = push.deliver_due(sessions, blobs, settings, now=T0 + dt.timedelta(seconds=9), policy=POLICY)
    assert early.attempted == 0 and len(server.requests) == 1
    t1 = T0 + dt.timedelta(seconds=10)
    push.deliver_due(sessions, blobs, settings, now=t1, policy=POLICY, rng=_Top())
    assert _delivery(sessions, message_id).next_attempt_at == t1 + dt.timedelta(seconds=20)
    t2 = t1 + dt.timedelta(seconds=20)
    assert push.deliver_due(sessions, blobs, settings, now=t2, policy=POLICY).delivered == [message_id]
    assert server.keys() == [message_id] * 3
    assert [a["outcome"] for a in _attempts(sessions, message_id)] == ["retry", "retry", "delivered"]
    assert _delivery(sessions, message_id).attempts == 3


@pytest.mark.parametrize("status", [429, 503])
def test_retry_after_is_honoured(session, sessions, blobs, config, world, settings, peer, status):
    server, url = peer
    server.script = [(status, {"Retry-After": "600"})]
    _point_at(session, settings, url)
    [message_id] = _queue(session, blobs, config, world)
    push.deliver_due(sessions, blobs, settings, now=T0, policy=POLICY, rng=_Top())
    assert _delivery(sessions, message_id).next_attempt_at == T0 + dt.timedelta(seconds=600)
    assert _attempts(sessions, message_id)[0]["retry_after_seconds"] == 600


def test_an_unreachable_peer_is_retried(session, sessions, blobs, config, world, settings):
    closed = make_server("127.0.0.1", 0, Peer())
    url = f"http://127.0.0.1:{closed.port}"
    closed.server_close()  # nobody listens there now
    _point_at(session, settings, url)
    [message_id] = _queue(session, blobs, config, world)
    report = push.deliver_due(sessions, blobs, settings, now=T0, policy=POLICY)
    assert report.retrying == [message_id]
    delivery = _delivery(sessions, message_id)
    assert delivery.state == "queued" and "Connection" in delivery.last_error


@pytest.mark.parametrize("status", [400, 401, 403, 409, 413, 422])
def test_a_4xx_fails_at_once_with_the_reason(session, sessions, blobs, config, world, settings, peer,
                                             status):
    server, url = peer
    server.default = (status, {})
    _point_at(session, settings, url)
    [message_id] = _queue(session, blobs, config, world)
    assert push.deliver_due(sessions, blobs, settings, now=T0, policy=POLICY).failed == [message_id]
    delivery = _delivery(sessions, message_id)
    assert delivery.state == "failed" and delivery.next_attempt_at is None
    assert delivery.last_error == f"HTTP {status} package_invalid: scripted {status}"
    assert push.deliver_due(sessions, blobs, settings, now=T0 + dt.timedelta(hours=1)).attempted == 0
    assert len(server.requests) == 1


def test_retries_stop_at_the_maximum_age(session, sessions, blobs, config, world, settings, peer):
    server, url = peer
    server.default = (500, {})
    _point_at(session, settings, url)
    [message_id] = _queue(session, blobs, config, world)
    now = T0
    for _ in range(100):
        report = push.deliver_due(sessions, blobs, settings, now=now, policy=POLICY, rng=_Top())
        if report.expired:
            break
        now = _delivery(sessions, message_id).next_attempt_at
    delivery = _delivery(sessions, message_id)
    assert delivery.state == "expired" and delivery.next_attempt_at is None
    assert now < T0 + POLICY.max_age
    assert all(a["outcome"] == "retry" for a in _attempts(sessions, message_id)[:-1])
    assert _attempts(sessions, message_id)[-1]["outcome"] == "expired"


def test_a_message_older_than_the_maximum_age_expires_without_an_attempt(
        session, sessions, blobs, config, world, settings, peer):
    server, url = peer
    _point_at(session, settings, url)
    [message_id] = _queue(session, blobs, config, world)
    report = push.deliver_due(sessions, blobs, settings, now=T0 + POLICY.max_age, policy=POLICY)
    assert report.expired == [message_id] and server.requests == []
    assert _delivery(sessions, message_id).state == "expired"


def test_without_a_token_nothing_is_sent_and_the_message_waits(
        session, sessions, blobs, config, world, settings, peer):
    server, url = peer
    _point_at(session, settings, url, token=None)
    [message_id] = _queue(session, blobs, config, world)
    assert push.deliver_due(sessions, blobs, settings, now=T0, policy=POLICY).retrying == [message_id]
    assert server.requests == [] and "no token" in _delivery(sessions, message_id).last_error


def test_a_claim_whose_worker_died_is_taken_again_after_the_lease(
        session, sessions, blobs, config, world, settings, peer):
    server, url = peer
    _point_at(session, settings, url)
    [message_id] = _queue(session, blobs, config, world)
    with sessions() as s:  # a worker claims, then dies before sending
        assert [c.message_id for c in push._claim(s, POLICY, T0, push.DeliveryReport(), 10)] == [message_id]
    assert push.deliver_due(sessions, blobs, settings, now=T0 + dt.timedelta(seconds=1),
                            policy=POLICY).attempted == 0
    later = T0 + POLICY.claim_lease
    assert push.deliver_due(sessions, blobs, settings, now=later, policy=POLICY).delivered == [message_id]
    assert server.keys() == [message_id]
    assert _delivery(sessions, message_id).attempts == 2


def test_two_workers_racing_deliver_each_message_exactly_once(
        session, sessions, blobs, config, world, settings, peer):
    server, url = peer
    server.delay = 0.05  # keep each claim in flight while the other worker looks
    _point_at(session, settings, url)
    ids = _queue(session, blobs, config, world, count=6)
    errors: list[BaseException] = []
    start = threading.Barrier(2)

    def work() -> None:
        try:
            start.wait(10)
            while push.deliver_due(sessions, blobs, settings, now=T0, policy=POLICY, limit=1).attempted:
                pass
        except BaseException as exc:  # noqa: BLE001 - surfaced below
            errors.append(exc)

    workers = [threading.Thread(target=work) for _ in range(2)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(60)
    assert errors == []
    assert sorted(server.keys()) == sorted(ids)  # each message POSTed once, none twice
    assert {_delivery(sessions, i).state for i in ids} == {"delivered"}
    assert all(len(_attempts(sessions, i)) == 1 for i in ids)


def test_a_slow_pass_hands_back_claims_it_could_not_try_within_the_lease(
        session, sessions, blobs, config, world, settings, peer):
    server, url = peer
    _point_at(session, settings, url)
    ids = _queue(session, blobs, config, world, count=3)
    policy = push.DeliveryPolicy(claim_lease=dt.timedelta(seconds=60), timeout_seconds=30)
    ticks = iter([T0, T0, T0, T0 + dt.timedelta(seconds=20), T0 + dt.timedelta(seconds=25),
                  T0 + dt.timedelta(seconds=40)])

    def clock() -> dt.datetime:  # each push takes 20 s by this clock
        return next(ticks)

    report = push.deliver_due(sessions, blobs, settings, clock=clock, policy=policy)
    # the third could not finish before the lease ends: handed back untried, due at once
    assert report.delivered == server.keys() and len(report.delivered) == 2
    [left] = report.released
    assert sorted([*report.delivered, left]) == sorted(ids)
    second = _delivery(sessions, report.delivered[1])
    assert second.delivered_at == T0 + dt.timedelta(seconds=25)  # the clock of its own attempt
    assert _attempts(sessions, report.delivered[1])[0]["outcome"] == "delivered"
    third = _delivery(sessions, left)
    assert (third.state, third.attempts, third.next_attempt_at) == (
        "queued", 0, T0 + dt.timedelta(seconds=40))
    # another worker takes it at once, and it is pushed exactly once
    later = T0 + dt.timedelta(seconds=41)
    assert push.deliver_due(sessions, blobs, settings, now=later, policy=policy).delivered == [left]
    assert sorted(server.keys()) == sorted(ids)




def test_queuing_a_push_wakes_a_listening_worker_when_it_commits(
        session, engine, blobs, config, world, settings, peer):
    listener = wakeup.Listener.for_engine(engine)
    if listener is None:
        assert engine.dialect.name == "sqlite"  # no notifications: the worker polls
        return
    try:
        assert listener.wait(0.05) is False  # listening now; nothing announced yet
        _point_at(session, settings, peer[1])
        session.commit()
        with Session(engine) as other:
            wakeup.announce(other)
            other.rollback()  # a push that was not committed wakes nobody
        assert listener.wait(0.3) is False
        _queue(session, blobs, config, world)  # send_document commits
        assert listener.wait(5.0) is True
    finally:
        listener.close()


def test_an_announced_push_ends_the_worker_s_wait_at_once(sessions, blobs, settings):
    waits: list[float] = []

    def wait_for_work(seconds: float) -> bool:
        waits.append(seconds)
        return True  # "a push was queued"

    started = time.monotonic()
    push.run_worker(sessions, blobs, settings, interval=60, wait_for_work=wait_for_work,
                    should_stop=lambda: len(waits) >= 2)
    assert len(waits) == 2 and all(0 < w <= 0.2 for w in waits)
    assert time.monotonic() - started < 10  # not the 60 s interval
