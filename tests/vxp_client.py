"""A test harness that speaks the VXP protocol the way the Government Office's Java SDK does
(VXP-PROTOCOL.md §1-§4), with the standard library only (http.client over a socket).

What it copies from the SDK, on purpose, including the awkward parts:
- one parameter map per service object, never cleared (parameters pile up), iterated in
  ``java.util.HashMap`` order; ``systemid`` and the object's creation ``timestamp``
  (``ddMMyyyy'T'HHmmss+SSSS``, the ``+SSSS`` being milliseconds) are put in at creation;
- each call puts ``Content-Type`` and its JSON header's members (values as text, ``to`` as JSON
  text) and sends every entry as ``XroadVnpt-<name>`` plus the signed compact JSON, its key
  list and HMAC-SHA256 (secret used as text), ``User-Agent`` and ``XroadVnpt-version``;
- header values go out as UTF-8 bytes, or cut to one byte per character (``header_bytes=
  "truncate"``: what the SDK does when the endpoint URL has an explicit port);
- bodies: ``{}`` or empty as each call does; sendEdoc sends the file + CRLF as
  application/octet-stream with the unpadded-hex SHA-256 as ``hash-file``;
- ``Expect: 100-continue`` on calls with a body built by the HTTP library, waiting up to 3 s
  for ``100 Continue`` before sending the body anyway (``Reply.continue_wait`` records it).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import http.client
import json
import select
import time
import urllib.parse
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

USER_AGENT = "JAVASDKAgent/1.0.0 XRoad/VPCP"
VERSION = "3.0.201608"
CONTINUE_TIMEOUT = 3.0
JSON_TYPE = "application/json"
OCTET_TYPE = "application/octet-stream"
JAVA_ACCEPT = "text/html, image/gif, image/jpeg, *; q=.2, */*; q=.2"


# -- java.util.HashMap iteration order -----------------------------------------------------------


def java_string_hash(text: str) -> int:
    """Return ``String.hashCode()`` (over UTF-16 code units, 32-bit wrap-around) as unsigned."""
    units = text.encode("utf-16-be")
    h = 0
    for i in range(0, len(units), 2):
        h = (31 * h + int.from_bytes(units[i:i + 2], "big")) & 0xFFFFFFFF
    return h


class JavaHashMap:
    """A string map that iterates like ``java.util.HashMap<String, String>`` (no tree bins).

    Buckets are ``(h ^ h >>> 16) & (capacity - 1)``; a bucket keeps insertion order; the table
    doubles from 16 when the size passes 3/4 of it (a split keeps the relative order).
    """

    def __init__(self) -> None:
        self._entries: dict[str, str] = {}
        self._capacity = 16

    def put(self, key: str, value: str) -> None:
        """Add or overwrite (an overwritten entry keeps its place)."""
        self._entries[key] = value
        while len(self._entries) > self._capacity * 3 // 4:
            self._capacity *= 2

    def get(self, key: str) -> str | None:
        return self._entries.get(key)

    def items(self) -> list[tuple[str, str]]:
        """Return the entries in HashMap iteration order."""
        order = {key: i for i, key in enumerate(self._entries)}

        def bucket(key: str) -> int:
            h = java_string_hash(key)
            return (h ^ (h >> 16)) & (self._capacity - 1)

        return sorted(self._entries.items(), key=lambda kv: (bucket(kv[0]), order[kv[0]]))

    def __len__(self) -> int:
        return len(self._entries)


# -- values as the SDK writes them ------------------------------------------------------------------


def sdk_timestamp(moment: dt.datetime) -> str:
    """Return ``ddMMyyyy'T'HHmmss+SSSS``: milliseconds padded to 4 digits, not a zone offset."""
    return f"{moment:%d%m%Y}T{moment:%H%M%S}+{moment.microsecond // 1000:04d}"


def unpadded_hex(digest: bytes) -> str:
    """Return the SDK's hash-file text: each byte as 1 or 2 hex digits (``0a 0b 00 ff`` → ``ab0ff``)."""
    return "".join(format(b, "x") for b in digest)


def json_string(value: str) -> str:
    """Return a JSON string literal escaped as the SDK does: ``"``, ``\\`` and controls only."""
    return json.dumps(value, ensure_ascii=False)


def parameter_text(name: str, value: Any) -> str:
    """Convert one JSON-header member to the text the SDK puts in its map."""
    if name == "to" and not isinstance(value, str | int | float | bool):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    if name == "to" and isinstance(value, str):
        return json_string(value)  # a plain string keeps its quotes: "X"
    if isinstance(value, list | tuple):
        if len(value) != 1:
            raise ValueError(f"the SDK fails on a {len(value)}-element array for {name}")
        value = value[0]
    if isinstance(value, dict):
        raise ValueError(f"the SDK fails on an object for {name}")
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def signed_header(entries: Iterable[tuple[str, str]]) -> str:
    """Return the compact JSON ``{"XroadVnpt-<name>":"<value>",…}`` in map order."""
    return "{" + ",".join(f"{json_string('XroadVnpt-' + k)}:{json_string(v)}" for k, v in entries) + "}"


def hmac_hex(secret: str, message: str) -> str:
    """Return lower-case hex HMAC-SHA256 keyed by the secret's UTF-8 (the secret is not decoded)."""
    return hmac.new(secret.encode("utf-8"), message.encode("utf-8"), hashlib.sha256).hexdigest()


def sign_headers(entries: list[tuple[str, str]], secret: str) -> list[tuple[str, str]]:
    """Return the SDK's header list for map ``entries`` (before the HTTP library's own headers)."""
    headers: list[tuple[str, str]] = []
    for name, value in entries:
        if name == "Content-Type":
            headers.append(("Content-Type", value))
        headers.append((f"XroadVnpt-{name}", value))
    sign = signed_header(entries)
    headers += [
        ("XroadVnpt-sign-header-key", ";".join(name for name, _ in entries)),
        ("XroadVnpt-sign-header", sign),
        ("XroadVnpt-hash-header", hmac_hex(secret, sign)),
        ("User-Agent", USER_AGENT),
        ("XroadVnpt-version", VERSION),
    ]
    return headers


# -- the client ---------------------------------------------------------------------------------------


@dataclass
class Reply:
    """What came back: HTTP status, headers, raw body, the parsed JSON (SDK-style) and timings."""

    status: int
    headers: dict[str, str]
    body: bytes
    continue_wait: float | None = None
    """Seconds until the server answered ``100 Continue`` (3.0 = it never did); None: no Expect."""
    elapsed: float = 0.0

    @property
    def json(self) -> dict[str, Any]:
        """Parse the body as the SDK does: newlines dropped, then JSON."""
        return json.loads(self.body.decode("utf-8").replace("\n", "").replace("\r", ""))


@dataclass
class VxpClient:
    """One SDK service object: endpoint, system id, secret and its never-cleared parameter map."""

    endpoint: str
    system_id: str
    secret: str
    created: dt.datetime = field(default_factory=dt.datetime.now)
    header_bytes: str = "utf-8"
    """``utf-8`` or ``truncate`` (one byte per character, as with an explicit port)."""
    host_header: str | None = None
    timeout: float = 60.0
    params: JavaHashMap = field(default_factory=JavaHashMap)
    tamper: Any = None
    """Optional ``f(headers: list[(name, value)]) -> list`` applied before sending (attack tests)."""

    def __post_init__(self) -> None:
        self.params.put("systemid", self.system_id)
        self.params.put("timestamp", sdk_timestamp(self.created))

    # -- the SDK's operations

    def send_edoc(self, package: bytes, *, from_: str, messagetype: str = "edoc",
                  servicetype: str = "eDoc", to: Any = None) -> Reply:
        """sendEdoc: the file + CRLF, octet-stream, signed unpadded-hex ``hash-file``."""
        header: dict[str, Any] = {"from": from_, "servicetype": servicetype, "messagetype": messagetype}
        if to is not None:
            header["to"] = to
        self.params.put("hash-file", unpadded_hex(hashlib.sha256(package).digest()))
        return self.call("sendEdoc", header, body=package + b"\r\n", content_type=OCTET_TYPE,
                         expect=False, extra=[("Cache-Control", "no-cache"), ("Pragma", "no-cache"),
                                              ("Accept", JAVA_ACCEPT)])

    def get_received_edoc_list(self, messagetype: str = "edoc", **extra: Any) -> Reply:
        return self.call("getReceivedEdocList", {"servicetype": "eDoc", "messagetype": messagetype, **extra})

    def get_edoc(self, doc_id: str, *, file_path: str = "xml", spelling: str = "docId") -> Reply:
        return self.call("getEdoc", {"filePath": file_path, spelling: doc_id}, body=b"{}")

    def download_edoc(self, doc_id: str, *, file_path: str = "xml") -> Reply:
        return self.call("downloadEdoc", {"filePath": file_path, "docId": doc_id}, method="GET")

    def update_status(self, doc_id: str, status: str = "done", *, spelling: str = "docId",
                      **extra: Any) -> Reply:
        return self.call("updateStatus", {"status": status, spelling: doc_id, **extra}, body=b"{}")

    def get_sent_edoc_list(self, doc_id: str | None = None, messagetype: str = "edoc") -> Reply:
        header: dict[str, Any] = {"servicetype": "eDoc", "messagetype": messagetype}
        if doc_id is not None:
            header["docId"] = doc_id
        return self.call("getSentEdocList", header)

    def count_receive_edoc(self) -> Reply:
        return self.call("countReceiveEdoc", {}, body=b"{}")

    def count_receive_status(self) -> Reply:
        return self.call("countReceiveStatus", {}, body=b"{}")

    def get_agencies_list(self) -> Reply:
        return self.call("getAgenciesList", {})

    def get_agencies_list_qd20(self, level: str = "1") -> Reply:
        return self.call("getAgenciesListQD20", {"level": level})

    def get_synchronize_unit(self) -> Reply:
        return self.call("getSynchronizeUnit", {})

    def register_agency(self, body: str) -> Reply:
        return self.call("registerAgency", {}, body=body.encode("utf-8"))

    def delete_agency(self, code: str) -> Reply:
        return self.call("deleteAgency", {"AgencyCode": code}, body=b"{}")

    # -- the wire

    def request_headers(self, header: dict[str, Any], content_type: str) -> list[tuple[str, str]]:
        """Put the call's parameters into the map and return the signed header list."""
        self.params.put("Content-Type", content_type)
        for name, value in header.items():
            self.params.put(name, parameter_text(name, value))
        return sign_headers(self.params.items(), self.secret)

    def call(self, op: str, header: dict[str, Any], *, body: bytes = b"", content_type: str = JSON_TYPE,
             method: str = "POST", expect: bool | None = None,
             extra: list[tuple[str, str]] | None = None) -> Reply:
        """Make one call: signed headers, then the HTTP library's headers, then the body."""
        headers = self.request_headers(header, content_type)
        url = urllib.parse.urlsplit(self.endpoint)
        if expect is None:
            expect = bool(body)
        library = list(extra or []) + [
            ("Content-Length", str(len(body))),
            ("Host", self.host_header or url.netloc),
            ("Connection", "Keep-Alive"),
        ]
        if expect:
            library.append(("Expect", "100-continue"))
        library.append(("Accept-Encoding", "gzip,deflate"))
        if method == "GET" and not body:
            library = [h for h in library if h[0] != "Content-Length"]
        headers = headers + library
        if self.tamper is not None:
            headers = self.tamper(headers)
        return send_raw(url.hostname or "127.0.0.1", url.port or 80, method, url.path + "/" + op,
                        headers, body, expect=expect, header_bytes=self.header_bytes, timeout=self.timeout)


def encode_header_value(value: str, header_bytes: str) -> bytes:
    """Return the wire bytes of a header value (UTF-8, or each character cut to one byte)."""
    if header_bytes == "truncate":
        return bytes(ord(ch) & 0xFF for ch in value)
    return value.encode("utf-8")


def send_raw(host: str, port: int, method: str, path: str, headers: list[tuple[str, str]], body: bytes,
             *, expect: bool, header_bytes: str = "utf-8", timeout: float = 60.0) -> Reply:
    """Send one request with http.client, honouring ``Expect: 100-continue`` like the SDK."""
    started = time.monotonic()
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
        for name, value in headers:
            conn.putheader(name, encode_header_value(value, header_bytes))
        conn.endheaders()
        waited: float | None = None
        if expect and body:
            sock = conn.sock
            assert sock is not None
            readable, _, _ = select.select([sock], [], [], CONTINUE_TIMEOUT)
            waited = time.monotonic() - started if readable else CONTINUE_TIMEOUT
        if body:
            conn.send(body)
        response = conn.getresponse()  # skips the interim "100 Continue"
        data = response.read()
        return Reply(response.status, {k: v for k, v in response.getheaders()}, data, waited,
                     time.monotonic() - started)
    finally:
        conn.close()


def decode_package(reply: Reply) -> bytes:
    """Decode getEdoc's ``data`` leniently (standard or URL-safe alphabet, line breaks)."""
    text = reply.json["data"].replace("\n", "").replace("\r", "").replace("-", "+").replace("_", "/")
    return base64.b64decode(text + "=" * (-len(text) % 4))
