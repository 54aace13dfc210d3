"""An SDK-compatible client of the national axis: each operation as the Java SDK sends it
(``docsvc.axis.wire``), over one HTTP/1.1 exchange with a deadline and a bounded read, and its
reply judged the way the SDK judges it (VXP-PROTOCOL.md §4).

Every failure is an :class:`AxisError` that says what went wrong for an operator (unreachable,
TLS, timeout, authentication refused, garbage, too large, refused) and whether the axis may
have acted on the request anyway (``maybe_sent``), which decides how sendEdoc is retried.
"""

from __future__ import annotations

import base64
import datetime as dt
import http.client
import json
import select
import socket
import ssl
import threading
import time
import unicodedata
import urllib.parse
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from docsvc.axis.wire import WireRequest, build_request, sdk_timestamp, send_edoc_request
from docsvc.errors import DocsvcError

MAX_REPLY_BYTES = 8 * 1024 * 1024
"""Largest JSON reply read (lists, getEdoc's base64 of a package up to 6 MiB)."""
CONTINUE_WAIT = 1.0
"""Seconds to wait for ``100 Continue`` before sending the body anyway (the SDK waits 3)."""
_CHUNK = 64 * 1024


class AxisError(DocsvcError):
    """The axis could not be used for this call; ``retryable``: trying later may work."""

    code = "axis_error"
    status = 502
    message_vi = "Lỗi khi gọi trục liên thông."
    message_en = "Calling the national axis failed."
    retryable = True
    maybe_sent = False
    """True when the axis may have received and acted on the request (timeout after sending,
    an unreadable reply): a sendEdoc must then be reconciled before it is sent again."""

    def reason(self) -> str:
        """Return the operator-facing one-liner (Vietnamese / English)."""
        return f"{self.code}: {self.text_vi} / {self.text_en}"[:500]


class AxisUnreachableError(AxisError):
    code = "axis_unreachable"
    message_vi = "Không kết nối được tới trục liên thông (địa chỉ, DNS, tường lửa hoặc trục đang dừng)."
    message_en = "Cannot connect to the axis (address, DNS, firewall, or the axis is down)."


class AxisTlsError(AxisError):
    code = "axis_tls"
    message_vi = "Lỗi TLS với trục liên thông (chứng thư không tin cậy, sai tên máy hoặc giao thức)."
    message_en = "TLS error with the axis (untrusted certificate, wrong host name or protocol)."
    retryable = False


class AxisTimeoutError(AxisError):
    code = "axis_timeout"
    message_vi = "Trục liên thông không trả lời kịp thời."
    message_en = "The axis did not answer in time."
    maybe_sent = True


class AxisAuthError(AxisError):
    code = "axis_auth_refused"
    message_vi = "Trục liên thông từ chối xác thực: kiểm tra mã hệ thống (systemid) và khóa bí mật."
    message_en = "The axis refused authentication: check the system id and the secret."
    retryable = False


class AxisGarbageError(AxisError):
    code = "axis_garbage"
    message_vi = "Trục liên thông trả lời không đúng giao thức (không phải JSON hợp lệ hoặc thiếu trường)."
    message_en = "The axis answered outside the protocol (not valid JSON, or fields missing)."
    maybe_sent = True


class AxisTooLargeError(AxisError):
    code = "axis_reply_too_large"
    message_vi = "Trả lời của trục liên thông vượt quá dung lượng cho phép."
    message_en = "The axis's reply is larger than allowed."
    maybe_sent = True


class AxisRefusedError(AxisError):
    """The axis answered ``status:"FAIL"`` (or a non-zero ErrorCode): ``details`` has both."""

    code = "axis_refused"
    message_vi = "Trục liên thông từ chối yêu cầu."
    message_en = "The axis refused the request."
    retryable = False


@dataclass(frozen=True)
class Reply:
    """What came back from one call."""

    status: int
    headers: dict[str, str]
    body: bytes


@dataclass(frozen=True)
class Endpoint:
    """Where the axis is: scheme, host, port, the base path (kept as is, §1) and the Host header."""

    scheme: str
    host: str
    port: int
    base_path: str
    host_header: str

    @classmethod
    def parse(cls, url: str) -> Endpoint:
        """Parse an ``http(s)://host[:port][/path]`` base URL; ``ValueError`` otherwise."""
        parts = urllib.parse.urlsplit(url.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("the axis endpoint must be an http(s) URL")
        if parts.query or parts.fragment:
            raise ValueError("the axis endpoint takes no query or fragment")
        port = parts.port or (443 if parts.scheme == "https" else 80)
        return cls(parts.scheme, parts.hostname, port, parts.path, parts.netloc)


Transport = Callable[[Endpoint, WireRequest, float, int], Reply]


def _ssl_context(cafile: str | None = None) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=cafile)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


class ConnectionPool:
    """Kept-alive connections to the axis, at most one per thread (the SDK's HTTP library keeps
    its connections alive too: ``Connection: Keep-Alive``). ``close`` closes them all."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._idle: dict[int, tuple[Endpoint, socket.socket]] = {}

    def take(self, endpoint: Endpoint) -> socket.socket | None:
        """Return this thread's idle connection to ``endpoint``, or None."""
        with self._lock:
            kept = self._idle.pop(threading.get_ident(), None)
        if kept is None:
            return None
        if kept[0] != endpoint:
            kept[1].close()
            return None
        return kept[1]

    def give(self, endpoint: Endpoint, sock: socket.socket) -> None:
        """Keep ``sock`` for this thread's next call."""
        with self._lock:
            old = self._idle.pop(threading.get_ident(), None)
            self._idle[threading.get_ident()] = (endpoint, sock)
        if old is not None:
            old[1].close()

    def close(self) -> None:
        with self._lock:
            idle, self._idle = list(self._idle.values()), {}
        for _, sock in idle:
            sock.close()


class _StaleConnection(Exception):
    """A kept-alive connection the server had closed: nothing of the request was answered."""


def _connect(endpoint: Endpoint, timeout: float, cafile: str | None) -> socket.socket:
    try:
        sock = socket.create_connection((endpoint.host, endpoint.port), timeout=timeout)
    except TimeoutError as exc:
        raise AxisUnreachableError(details={"error": f"connect timeout after {timeout:g}s"}) from exc
    except OSError as exc:
        raise AxisUnreachableError(details={"error": f"{type(exc).__name__}: {exc}"[:300]}) from exc
    if endpoint.scheme == "https":
        try:
            return _ssl_context(cafile).wrap_socket(sock, server_hostname=endpoint.host)
        except ssl.SSLError as exc:
            sock.close()
            raise AxisTlsError(details={"error": str(exc)[:300]}) from exc
        except OSError as exc:
            sock.close()
            raise AxisUnreachableError(details={"error": f"TLS handshake: {exc}"[:300]}) from exc
    return sock


def socket_transport(endpoint: Endpoint, request: WireRequest, timeout: float, limit: int, *,
                     cafile: str | None = None, pool: ConnectionPool | None = None) -> Reply:
    """Send ``request`` and read the reply within ``timeout`` seconds overall, at most ``limit``
    bytes of body (after gzip/deflate decoding). Raises the AxisError that fits.

    With a ``pool``, a kept-alive connection is reused; one the server closed while idle is
    replaced by a new connection (the request had not been answered)."""
    deadline = time.monotonic() + timeout
    reused = pool.take(endpoint) if pool is not None else None
    if reused is not None:
        try:
            return _exchange(reused, endpoint, request, deadline, timeout, limit, pool, reused=True)
        except _StaleConnection:
            pass
    sock = _connect(endpoint, timeout, cafile)
    return _exchange(sock, endpoint, request, deadline, timeout, limit, pool, reused=False)


def _exchange(sock: socket.socket, endpoint: Endpoint, request: WireRequest, deadline: float,
              timeout: float, limit: int, pool: ConnectionPool | None, *, reused: bool) -> Reply:
    sent = answered = keep = False
    response: http.client.HTTPResponse | None = None
    try:
        sock.settimeout(max(0.05, deadline - time.monotonic()))
        sock.sendall(request.head_bytes())
        sent = True
        if request.body:
            if request.expect_continue:  # the server's "100 Continue" is skipped by HTTPResponse
                select.select([sock], [], [], min(CONTINUE_WAIT, max(0.0, deadline - time.monotonic())))
            sock.sendall(request.body)
        response = http.client.HTTPResponse(sock, method=request.method)
        sock.settimeout(max(0.05, deadline - time.monotonic()))
        response.begin()
        answered = True
        headers = {k.lower(): v for k, v in response.getheaders()}
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            raise AxisTooLargeError(details={"content_length": int(declared), "limit": limit})
        body = _read_bounded(response, sock, deadline, limit, headers.get("content-encoding", ""))
        keep = pool is not None and not response.will_close
        return Reply(response.status, headers, body)
    except AxisError:
        raise
    except TimeoutError as exc:
        raise AxisTimeoutError(details={"timeout_seconds": timeout}) from exc
    except ssl.SSLError as exc:
        raise AxisTlsError(details={"error": str(exc)[:300]}) from exc
    except (OSError, http.client.HTTPException) as exc:
        if reused and not answered and isinstance(exc, ConnectionError | http.client.RemoteDisconnected
                                                  | http.client.BadStatusLine):
            raise _StaleConnection() from exc
        error = AxisGarbageError if isinstance(exc, http.client.HTTPException) and sent else \
            AxisUnreachableError
        failure = error(details={"error": f"{type(exc).__name__}: {exc}"[:300]})
        failure.maybe_sent = sent  # a connection lost after the request may still have acted
        raise failure from exc
    finally:
        if response is not None:
            response.close()  # the reply's file; the socket stays open when kept
        if keep and pool is not None:
            pool.give(endpoint, sock)
        else:
            sock.close()


def _read_bounded(response: http.client.HTTPResponse, sock: socket.socket, deadline: float,
                  limit: int, encoding: str) -> bytes:
    decoder = None
    if encoding.strip().lower() in ("gzip", "deflate"):
        decoder = zlib.decompressobj(16 + zlib.MAX_WBITS if "gzip" in encoding.lower() else zlib.MAX_WBITS)
    out = bytearray()
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise AxisTimeoutError(details={"while": "reading the reply"})
        sock.settimeout(remaining)
        chunk = response.read1(_CHUNK) if hasattr(response, "read1") else response.read(_CHUNK)
        if not chunk:
            break
        if decoder is not None:
            chunk = decoder.decompress(chunk, limit + 1 - len(out))
        out += chunk
        if len(out) > limit:
            raise AxisTooLargeError(details={"limit": limit})
    return bytes(out)


# -- judging replies (§4) -------------------------------------------------------------------------


def envelope(reply: Reply, *, operation: str) -> dict[str, Any]:
    """Return the JSON reply of a successful call; raise the AxisError that fits otherwise."""
    text = reply.body.decode("utf-8", "replace").replace("\r", "").replace("\n", "")
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    if not isinstance(data, dict) or not all(isinstance(data.get(k), str)
                                             for k in ("status", "ErrorCode", "ErrorDesc")):
        if reply.status in (401, 403):
            raise AxisAuthError(details={"operation": operation, "http_status": reply.status})
        sample = reply.body[:120].decode("utf-8", "replace")
        raise AxisGarbageError(details={"operation": operation, "http_status": reply.status,
                                        "body_start": sample})
    code, status = data["ErrorCode"], data["status"]
    if code == "0" and status != "FAIL":
        return data
    details = {"operation": operation, "http_status": reply.status, "ErrorCode": code[:20],
               "ErrorDesc": data["ErrorDesc"][:300]}
    if code == "401" or reply.status == 401:
        raise AxisAuthError(details=details)
    if code.startswith("5") or reply.status >= 500:
        failure: AxisError = AxisError(f"Trục liên thông gặp lỗi nội bộ: {data['ErrorDesc'][:200]}",
                                       f"The axis failed internally: {data['ErrorDesc'][:200]}",
                                       details=details)
        failure.maybe_sent = True
        return_error = failure
    else:
        return_error = AxisRefusedError(f"Trục liên thông từ chối ({code}): {data['ErrorDesc'][:200]}",
                                        f"The axis refused ({code}): {data['ErrorDesc'][:200]}",
                                        details=details)
    raise return_error


def _items(data: dict[str, Any], operation: str) -> list[dict[str, Any]]:
    items = data.get("data")
    if not isinstance(items, list):
        raise AxisGarbageError(details={"operation": operation, "problem": "data is not a list"})
    return [item for item in items if isinstance(item, dict)]


def ascii_text(text: str) -> str:
    """Return ``text`` without diacritics or other non-ASCII characters, on one line: header
    values above 0x7F do not survive every SDK-era stack (VXP-PROTOCOL.md §2.3 step 7)."""
    folded = unicodedata.normalize("NFKD", text.replace("đ", "d").replace("Đ", "D"))
    return " ".join("".join(c for c in folded if 32 <= ord(c) < 127).split())


def _text(item: dict[str, Any], name: str) -> str:
    value = item.get(name)
    return "" if value is None else str(value)


@dataclass
class AxisClient:
    """One SDK-style service object for the axis at ``endpoint`` (system id + secret).

    ``created`` is the service object's creation time, sent as ``timestamp`` on every call.
    ``transport`` sends one request (the socket one; tests swap in a recorder).
    """

    endpoint: str
    system_id: str
    secret: str
    timeout: float = 30.0
    max_reply_bytes: int = MAX_REPLY_BYTES
    created: dt.datetime | None = None
    cafile: str | None = None
    transport: Transport | None = None

    def __post_init__(self) -> None:
        self._where = Endpoint.parse(self.endpoint)
        self._pool = ConnectionPool()
        self._timestamp = sdk_timestamp(self.created or dt.datetime.now())  # noqa: DTZ005 - as the SDK

    def __repr__(self) -> str:  # never show the secret
        return f"AxisClient({self.endpoint!r}, {self.system_id!r})"

    # -- the wire

    def request(self, operation: str, header: dict[str, Any], *, body: bytes = b"",
                method: str = "POST") -> WireRequest:
        """Return the request the SDK would send for ``operation``."""
        return build_request(operation, header, system_id=self.system_id, secret=self.secret,
                             timestamp=self._timestamp, host=self._where.host_header,
                             base_path=self._where.base_path, body=body, method=method)

    def _send(self, request: WireRequest, limit: int | None = None) -> Reply:
        limit = limit or self.max_reply_bytes
        if self.transport is not None:
            return self.transport(self._where, request, self.timeout, limit)
        return socket_transport(self._where, request, self.timeout, limit, cafile=self.cafile,
                                pool=self._pool)

    def close(self) -> None:
        """Close the kept-alive connections."""
        self._pool.close()

    def __enter__(self) -> AxisClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def call(self, operation: str, header: dict[str, Any], *, body: bytes = b"") -> dict[str, Any]:
        """Make one JSON call and return its successful envelope."""
        return envelope(self._send(self.request(operation, header, body=body)), operation=operation)

    # -- operations

    def send_edoc(self, package: bytes, *, from_code: str, message_type: str = "edoc",
                  to: list[str] | None = None) -> str:
        """Send a package; return the axis's ``DocId``."""
        request = send_edoc_request(package, from_code=from_code, message_type=message_type, to=to,
                                    system_id=self.system_id, secret=self.secret,
                                    timestamp=self._timestamp, host=self._where.host_header,
                                    base_path=self._where.base_path)
        data = envelope(self._send(request), operation="sendEdoc")
        doc_id = data.get("DocId")
        if not isinstance(doc_id, str) or not doc_id.strip() or len(doc_id) > 100:
            raise AxisGarbageError(details={"operation": "sendEdoc", "problem": "no DocId"})
        return doc_id.strip()

    def received_list(self, message_type: str = "edoc") -> list[dict[str, str]]:
        """Return the inbox (``docId``, ``from``, ``to``, ``messageType``, ``status`` …)."""
        data = self.call("getReceivedEdocList", {"servicetype": "eDoc", "messagetype": message_type})
        names = ("docId", "from", "to", "serviceType", "messageType", "status", "status_desc",
                 "created_time", "updated_time")
        return [{n: _text(i, n) for n in names} for i in _items(data, "getReceivedEdocList")
                if _text(i, "docId").strip()]

    def get_edoc(self, doc_id: str) -> bytes:
        """Fetch one package inline (base64); ``AxisGarbageError`` when ``data`` is not a package."""
        data = self.call("getEdoc", {"filePath": "xml", "docId": doc_id}, body=b"{}")
        text = data.get("data")
        if not isinstance(text, str) or not text.strip():
            raise AxisGarbageError(details={"operation": "getEdoc", "problem": "no data"})
        cleaned = "".join(text.split()).replace("-", "+").replace("_", "/")
        try:
            return base64.b64decode(cleaned + "=" * (-len(cleaned) % 4), validate=True)
        except ValueError as exc:
            raise AxisGarbageError(details={"operation": "getEdoc", "problem": "data is not base64"}) from exc

    def download_edoc(self, doc_id: str, *, limit: int) -> bytes:
        """Fetch one package as raw bytes (an empty or JSON-error body is a failure)."""
        reply = self._send(self.request("downloadEdoc", {"filePath": "xml", "docId": doc_id},
                                        method="GET"), limit)
        if reply.status != 200 or not reply.body:
            raise AxisRefusedError(details={"operation": "downloadEdoc", "http_status": reply.status})
        if reply.body.lstrip()[:1] == b"{":
            envelope(reply, operation="downloadEdoc")  # a JSON error saved as a package by the SDK
            raise AxisGarbageError(details={"operation": "downloadEdoc", "problem": "JSON, not a package"})
        return reply.body

    def update_status(self, doc_id: str, status: str, description: str = "") -> None:
        """Acknowledge a received package: ``done``, ``fail`` (with a reason) or ``processing``."""
        header: dict[str, Any] = {"status": status, "docId": doc_id}
        if description:
            header["description"] = ascii_text(description)[:300]
        self.call("updateStatus", header, body=b"{}")

    def sent_list(self, message_type: str = "edoc", doc_id: str | None = None) -> list[dict[str, str]]:
        """Return the delivery state of sent packages (one item per recipient)."""
        header: dict[str, Any] = {"servicetype": "eDoc", "messagetype": message_type}
        if doc_id:
            header["docId"] = doc_id
        data = self.call("getSentEdocList", header)
        names = ("senderDocId", "receiverDocId", "fromCode", "toCode", "serviceType", "messageType",
                 "title", "notation", "sentTime", "receivedTime", "sendStatus", "sendStatusDesc",
                 "receiveStatus", "receiveStatusDesc")
        return [{n: _text(i, n) for n in names} for i in _items(data, "getSentEdocList")]

    def agencies(self, operation: str = "getAgenciesList", level: str = "1") -> list[dict[str, Any]]:
        """Return a directory list: getAgenciesList, getAgenciesListQD20 (``level``) or getSynchronizeUnit."""
        header = {"level": level} if operation == "getAgenciesListQD20" else {}
        return _items(self.call(operation, header), operation)
