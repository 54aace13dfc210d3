"""The axis client against an axis that misbehaves (a raw socket server on loopback): down, slow,
dripping, 5xx, garbage, oversized, authentication refused. Every call ends within its deadline
with the error that says what is wrong; an outbox message stays queued with the reason, and a
send whose outcome is unknown is reconciled with getSentEdocList instead of being sent twice."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import socket
import threading
import time
from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import create_engine
from sqlalchemy.orm import sessionmaker

from docsvc.axis import (
    AxisAuthError,
    AxisClient,
    AxisGarbageError,
    AxisRefusedError,
    AxisTimeoutError,
    AxisTooLargeError,
    AxisUnreachableError,
)
from docsvc.axis.client import AxisError
from docsvc.models import AxisOutbound, Base, Delivery, Message, TransportEvent, new_id, utcnow
from docsvc.services.axis.outbound import send_due
from docsvc.services.delivery import DeliveryPolicy
from docsvc.storage import MemoryBlobStore

Handler = Callable[[socket.socket, bytes], None]


def _reply(body: bytes, status: str = "200 OK", extra: str = "") -> bytes:
    return (f"HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n"
            f"{extra}Connection: close\r\n\r\n").encode() + body


class RawAxis:
    """A loopback server whose answer to each request is ``handler(conn, request_head)``."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.requests: list[bytes] = []
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.stopped = False
        threading.Thread(target=self._serve, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/vxp"

    def _serve(self) -> None:
        while not self.stopped:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._one, args=(conn,), daemon=True).start()

    def _one(self, conn: socket.socket) -> None:
        with conn:
            conn.settimeout(5)
            data = b""
            try:
                while b"\r\n\r\n" not in data:
                    chunk = conn.recv(65536)
                    if not chunk:
                        return
                    data += chunk
                head = data.split(b"\r\n\r\n", 1)[0]
                self.requests.append(head)
                self.handler(conn, head)
            except OSError:
                pass

    def close(self) -> None:
        self.stopped = True
        self.sock.close()


@pytest.fixture
def serve() -> Iterator[Callable[[Handler], RawAxis]]:
    servers: list[RawAxis] = []

    def start(handler: Handler) -> RawAxis:
        servers.append(RawAxis(handler))
        return servers[-1]

    yield start
    for s in servers:
        s.close()


def _client(url: str, timeout: float = 1.0) -> AxisClient:
    return AxisClient(url, "vxp.test.01", "example-secret", timeout=timeout, max_reply_bytes=4096)


def _timed(call: Callable[[], object], error: type[AxisError], limit: float) -> AxisError:
    started = time.monotonic()
    with pytest.raises(error) as caught:
        call()
    assert time.monotonic() - started < limit
    return caught.value


def test_down_axis_is_unreachable_fast():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    err = _timed(lambda: _client(f"http://127.0.0.1:{port}").agencies(), AxisUnreachableError, 2)
    assert err.retryable and not err.maybe_sent
    assert "Không kết nối" in err.reason() and "Cannot connect" in err.reason()


def test_silent_axis_times_out_within_the_deadline(serve):
    axis = serve(lambda conn, head: time.sleep(3))
    err = _timed(lambda: _client(axis.url).agencies(), AxisTimeoutError, 2.5)
    assert err.maybe_sent  # the request went out: a sendEdoc must be reconciled


def test_dripping_axis_cannot_hold_the_worker(serve):
    def drip(conn, head):  # type: ignore[no-untyped-def]
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n")
        for _ in range(50):
            conn.sendall(b"x")
            time.sleep(0.1)

    axis = serve(drip)
    _timed(lambda: _client(axis.url).agencies(), AxisTooLargeError, 2.5)
    axis2 = serve(lambda conn, head: [conn.sendall(b"HTTP/1.1 200 OK\r\n\r\n")] + [
        (conn.sendall(b"x"), time.sleep(0.1)) for _ in range(30)])  # type: ignore[func-returns-value]
    _timed(lambda: _client(axis2.url).agencies(), AxisTimeoutError, 2.5)


def test_5xx_html_is_garbage_that_may_have_acted(serve):
    axis = serve(lambda conn, head: conn.sendall(_reply(b"<html>502 Bad Gateway</html>", "502 Bad Gateway")))
    err = _timed(lambda: _client(axis.url).agencies(), AxisGarbageError, 2)
    assert err.retryable and err.maybe_sent
    assert err.details["http_status"] == 502


def test_oversized_body_is_refused_without_reading_it(serve):
    axis = serve(lambda conn, head: conn.sendall(_reply(b"{" + b" " * 100000 + b"}")))
    _timed(lambda: _client(axis.url).agencies(), AxisTooLargeError, 2)


def test_gzip_bomb_is_bounded(serve):
    import gzip

    bomb = gzip.compress(b" " * 5_000_000)
    axis = serve(lambda conn, head: conn.sendall(_reply(bomb, extra="Content-Encoding: gzip\r\n")))
    _timed(lambda: _client(axis.url).agencies(), AxisTooLargeError, 3)


def test_auth_refused_and_refusals_are_told_apart(serve):
    axis = serve(lambda conn, head: conn.sendall(_reply(
        b'{"status":"FAIL","ErrorCode":"401","ErrorDesc":"bad signature","data":[]}', "401 Unauthorized")))
    err = _timed(lambda: _client(axis.url).agencies(), AxisAuthError, 2)
    assert "systemid" in err.text_vi and "secret" in err.text_en
    axis2 = serve(lambda conn, head: conn.sendall(_reply(
        b'{"status":"FAIL","ErrorCode":"400","ErrorDesc":"bad hash-file","DocId":""}', "400 Bad Request")))
    refused = _timed(lambda: _client(axis2.url).send_edoc(b"<x/>", from_code="a"), AxisRefusedError, 2)
    assert refused.details["ErrorDesc"] == "bad hash-file" and not refused.retryable


def test_ok_without_docid_is_garbage(serve):
    ok_without_docid = b'{"status":"OK","ErrorCode":"0","ErrorDesc":"Success"}'
    axis = serve(lambda conn, head: conn.sendall(_reply(ok_without_docid)))
    _timed(lambda: _client(axis.url).send_edoc(b"<x/>", from_code="a"), AxisGarbageError, 2)


# -- the outbox ---------------------------------------------------------------------------------


@pytest.fixture
def outbox():  # type: ignore[no-untyped-def]
    engine = create_engine("sqlite://", connect_args={"check_same_thread": False},
                           poolclass=__import__("sqlalchemy.pool", fromlist=["StaticPool"]).StaticPool)
    Base.metadata.create_all(engine)
    sessions = sessionmaker(engine, expire_on_commit=False)
    blobs = MemoryBlobStore()
    package = b"<edXML>notice</edXML>"
    sha = hashlib.sha256(package).hexdigest()
    info = blobs.put(io.BytesIO(package), sha256=sha, size=len(package))
    with sessions() as session:
        message = Message(id=new_id(), kind="edoc", document_id="doc-1", sender_organ_id="000.00.00.H48",
                          recipient_organ_id="000.00.00.G22", origin="local", sha256=sha, size=len(package),
                          blob_key=info.key, trace=[], created_at=utcnow(), fetch_count=0)
        session.add(message)
        session.add(Delivery(message=message, mode="axis", state="queued", next_attempt_at=utcnow(),
                             attempts=0))
        session.commit()
        message_id = message.id
    yield sessions, blobs, message_id
    engine.dispose()


POLICY = DeliveryPolicy(base_delay=dt.timedelta(seconds=1), max_delay=dt.timedelta(seconds=2))


def _later() -> dt.datetime:
    return utcnow() + dt.timedelta(seconds=10)


def test_axis_down_keeps_the_message_queued_with_a_reason_and_backoff(outbox):
    sessions, blobs, message_id = outbox
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    report = send_due(sessions, blobs, _client(f"http://127.0.0.1:{port}"), policy=POLICY)
    assert report.retrying == [message_id]
    with sessions() as session:
        delivery = session.get(Delivery, message_id)
        assert delivery.state == "queued" and delivery.attempts == 1
        assert delivery.last_error.startswith("axis_unreachable")
        assert delivery.next_attempt_at > utcnow() - dt.timedelta(seconds=1)
        assert session.get(AxisOutbound, message_id).uncertain_since is None


def test_unknown_outcome_is_reconciled_not_sent_twice(outbox, serve):
    sessions, blobs, message_id = outbox
    calls: list[str] = []

    def axis_that_loses_the_reply(conn, head):  # type: ignore[no-untyped-def]
        op = head.split(b" ")[1].decode().rsplit("/", 1)[-1]
        calls.append(op)
        if op == "sendEdoc":
            time.sleep(2)  # it took the package, but the reply never comes in time
            return
        conn.sendall(_reply(b'{"status":"OK","ErrorCode":"0","ErrorDesc":"Success","data":[{"senderDocId":'
                            b'"axis-42","receiverDocId":"r-1","fromCode":"000.00.00.H48","toCode":'
                            b'"000.00.00.G22","messageType":"edoc","receiveStatus":"initial"}]}'))

    axis = serve(axis_that_loses_the_reply)
    first = send_due(sessions, blobs, _client(axis.url), policy=POLICY)
    assert first.retrying == [message_id]
    with sessions() as session:
        assert session.get(AxisOutbound, message_id).uncertain_since is not None
        assert session.get(Delivery, message_id).last_error.startswith("axis_timeout")
    second = send_due(sessions, blobs, _client(axis.url), policy=POLICY, clock=_later)
    assert second.reconciled == [message_id]
    assert calls == ["sendEdoc", "getSentEdocList"]  # found, so not sent again
    with sessions() as session:
        assert session.get(AxisOutbound, message_id).axis_doc_id == "axis-42"
        assert session.get(Delivery, message_id).state == "delivered"
        events = [e.details.get("outcome") for e in session.query(TransportEvent).all()]
        assert events == ["retry", "reconciled"]


def test_refusal_fails_the_message_with_the_axis_reason(outbox, serve):
    sessions, blobs, message_id = outbox
    axis = serve(lambda conn, head: conn.sendall(_reply(
        b'{"status":"FAIL","ErrorCode":"400","ErrorDesc":"unknown recipient","DocId":""}')))
    report = send_due(sessions, blobs, _client(axis.url), policy=POLICY)
    assert report.failed == [message_id]
    with sessions() as session:
        delivery = session.get(Delivery, message_id)
        assert delivery.state == "failed" and "unknown recipient" in delivery.last_error


def test_kept_alive_connection_closed_by_the_axis_is_replaced(serve):
    ok = b'{"status":"OK","ErrorCode":"0","ErrorDesc":"Success","data":[]}'
    # an HTTP/1.1 reply without "Connection: close", then the server closes anyway
    axis = serve(lambda conn, head: conn.sendall(
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
        + str(len(ok)).encode() + b"\r\n\r\n" + ok))
    with _client(axis.url) as client:
        for _ in range(3):
            assert client.agencies() == []
    assert len(axis.requests) == 3


def test_kept_alive_connection_is_reused():
    ok = b'{"status":"OK","ErrorCode":"0","ErrorDesc":"Success","data":[]}'
    connections: list[int] = []
    server = socket.create_server(("127.0.0.1", 0))

    def serve_keep_alive() -> None:  # answers every request on a connection until it closes
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            connections.append(1)
            with conn:
                reader = conn.makefile("rb")
                while True:
                    head = b""
                    while not head.endswith(b"\r\n\r\n"):
                        line = reader.readline()
                        if not line:
                            break
                        head += line
                    if not head:
                        break
                    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: " + str(len(ok)).encode()
                                 + b"\r\n\r\n" + ok)
                reader.close()

    thread = threading.Thread(target=serve_keep_alive, daemon=True)
    thread.start()
    try:
        with _client(f"http://127.0.0.1:{server.getsockname()[1]}/vxp") as client:
            for _ in range(3):
                assert client.agencies() == []
    finally:
        server.close()
    time.sleep(0.1)
    assert len(connections) == 1


def test_https_endpoint_that_does_not_speak_tls_is_a_tls_error():
    server = socket.create_server(("127.0.0.1", 0))

    def plain_http() -> None:
        try:
            conn, _ = server.accept()
        except OSError:
            return
        with conn:
            conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")

    threading.Thread(target=plain_http, daemon=True).start()
    try:
        err = _timed(lambda: _client(f"https://127.0.0.1:{server.getsockname()[1]}/vxp").agencies(),
                     AxisError, 3)
    finally:
        server.close()
    assert err.code == "axis_tls", err.reason()
    assert "TLS" in err.text_vi and "TLS" in err.text_en


def test_once_the_axis_is_unreachable_the_rest_of_the_pass_waits_without_calling(outbox, serve):
    sessions, blobs, first = outbox
    package = b"<edXML>second</edXML>"
    sha = hashlib.sha256(package).hexdigest()
    info = blobs.put(io.BytesIO(package), sha256=sha, size=len(package))
    with sessions() as session:
        message = Message(id=new_id(), kind="edoc", document_id="doc-2", sender_organ_id="000.00.00.H48",
                          recipient_organ_id="000.00.00.G22", origin="local", sha256=sha, size=len(package),
                          blob_key=info.key, trace=[], created_at=utcnow(), fetch_count=0)
        session.add(message)
        session.add(Delivery(message=message, mode="axis", state="queued", next_attempt_at=utcnow(),
                             attempts=0))
        session.commit()
        second = message.id
    axis = serve(lambda conn, head: time.sleep(3))  # accepts, never answers
    started = time.monotonic()
    report = send_due(sessions, blobs, _client(axis.url, timeout=1.0), policy=POLICY)
    assert time.monotonic() - started < 2.5  # one timeout, not two
    assert sorted(report.retrying) == sorted([first, second])
    assert len(axis.requests) == 1
    with sessions() as session:
        errors = sorted(session.get(Delivery, m).last_error.split(":")[0] for m in (first, second))
    assert errors == ["axis_timeout", "axis_unreachable"]
