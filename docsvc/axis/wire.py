"""How the Government Office's Java SDK writes a call on the wire (VXP-PROTOCOL.md §1-§3): the
parameter map in ``java.util.HashMap`` order, the signed ``XroadVnpt-`` headers, the HTTP
library's own headers and the body. Pure functions over values and bytes.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

PREFIX = "XroadVnpt-"
USER_AGENT = "JAVASDKAgent/1.0.0 XRoad/VPCP"
VERSION = "3.0.201608"
JSON_TYPE = "application/json"
OCTET_TYPE = "application/octet-stream"
JAVA_ACCEPT = "text/html, image/gif, image/jpeg, *; q=.2, */*; q=.2"
"""What ``HttpURLConnection`` sends as ``Accept`` on sendEdoc (the other calls go through the
HTTP library, which sends none)."""


def java_string_hash(text: str) -> int:
    """Return ``String.hashCode()`` (over UTF-16 code units, 32-bit wrap-around) as unsigned."""
    units = text.encode("utf-16-be")
    h = 0
    for i in range(0, len(units), 2):
        h = (31 * h + int.from_bytes(units[i:i + 2], "big")) & 0xFFFFFFFF
    return h


def hashmap_order(entries: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """Return map entries in ``java.util.HashMap<String, String>`` iteration order.

    Buckets are ``(h ^ h >>> 16) & (capacity - 1)`` with the table doubling from 16 past 3/4
    full; a bucket keeps insertion order (a later put of a known name keeps its place).
    """
    entries_map: dict[str, str] = {}
    for key, value in entries:
        entries_map[key] = value
    capacity = 16
    while len(entries_map) > capacity * 3 // 4:
        capacity *= 2
    order = {key: i for i, key in enumerate(entries_map)}

    def bucket(key: str) -> int:
        h = java_string_hash(key)
        return (h ^ (h >> 16)) & (capacity - 1)

    return sorted(entries_map.items(), key=lambda kv: (bucket(kv[0]), order[kv[0]]))


def sdk_timestamp(moment: dt.datetime) -> str:
    """Return ``ddMMyyyy'T'HHmmss+SSSS``: milliseconds padded to 4 digits, not a zone offset."""
    return f"{moment:%d%m%Y}T{moment:%H%M%S}+{moment.microsecond // 1000:04d}"


def unpadded_hex(digest: bytes) -> str:
    """Return the SDK's ``hash-file`` text: each byte as 1 or 2 hex digits (``0a 0b 00 ff`` → ``ab0ff``)."""
    return "".join(format(b, "x") for b in digest)


def hash_file(package: bytes) -> str:
    """Return the ``hash-file`` parameter of a package (unpadded hex SHA-256 of the file alone)."""
    return unpadded_hex(hashlib.sha256(package).digest())


def json_string(value: str) -> str:
    """Return a JSON string literal escaped as the SDK does: ``"``, ``\\`` and controls only."""
    return json.dumps(value, ensure_ascii=False)


def parameter_text(name: str, value: Any) -> str:
    """Convert one JSON-header member to the text the SDK puts in its map (§1).

    Raises ``ValueError`` where the SDK fails (an object, an array of several elements),
    except ``to``, which travels as its JSON text (a plain string keeps its quotes).
    """
    if name == "to" and isinstance(value, list | tuple):
        return json.dumps(list(value), ensure_ascii=False, separators=(",", ":"))
    if name == "to" and isinstance(value, str):
        return json_string(value)
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
    return "{" + ",".join(f"{json_string(PREFIX + k)}:{json_string(v)}" for k, v in entries) + "}"


def hmac_hex(secret: str, message: str) -> str:
    """Return lower-case hex HMAC-SHA256 keyed by the secret's UTF-8 (the secret is not decoded)."""
    return hmac.new(secret.encode("utf-8"), message.encode("utf-8"), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class WireRequest:
    """One request exactly as it goes out: method, path, ordered headers and body."""

    method: str
    path: str
    headers: tuple[tuple[str, str], ...]
    body: bytes
    expect_continue: bool

    def head_bytes(self) -> bytes:
        """Return the request line and headers (UTF-8 values, as the SDK sends without a port)."""
        lines = [f"{self.method} {self.path} HTTP/1.1".encode("ascii")]
        lines += [name.encode("ascii") + b": " + value.encode("utf-8") for name, value in self.headers]
        return b"\r\n".join(lines) + b"\r\n\r\n"

    def to_bytes(self) -> bytes:
        """Return the whole request as it is written to the socket."""
        return self.head_bytes() + self.body


def build_request(
    operation: str, header: Mapping[str, Any], *, system_id: str, secret: str, timestamp: str,
    host: str, base_path: str = "", body: bytes = b"", content_type: str = JSON_TYPE,
    method: str = "POST", library_headers: Iterable[tuple[str, str]] = (),
) -> WireRequest:
    """Return the SDK's request for ``operation`` with the JSON header ``header``.

    The map holds ``systemid`` and ``timestamp`` (put when the service object is made), then
    ``Content-Type`` and the header's members; every entry goes out as ``XroadVnpt-<name>``
    (``Content-Type`` also plain), then the key list, the signed JSON, its HMAC, ``User-Agent``
    and ``XroadVnpt-version``; then the HTTP library's headers. Calls whose body the HTTP
    library builds (non-empty, not sendEdoc) ask ``Expect: 100-continue``.
    """
    entries: list[tuple[str, str]] = [("systemid", system_id), ("timestamp", timestamp),
                                      ("Content-Type", content_type)]
    entries += [(name, parameter_text(name, value)) for name, value in header.items()]
    ordered = hashmap_order(entries)
    headers: list[tuple[str, str]] = []
    for name, value in ordered:
        if name == "Content-Type":
            headers.append(("Content-Type", value))
        headers.append((PREFIX + name, value))
    sign = signed_header(ordered)
    headers += [
        (PREFIX + "sign-header-key", ";".join(name for name, _ in ordered)),
        (PREFIX + "sign-header", sign),
        (PREFIX + "hash-header", hmac_hex(secret, sign)),
        ("User-Agent", USER_AGENT),
        (PREFIX + "version", VERSION),
    ]
    expect = bool(body) and operation != "sendEdoc"
    library = list(library_headers)
    if not (method == "GET" and not body):
        library.append(("Content-Length", str(len(body))))
    library += [("Host", host), ("Connection", "Keep-Alive")]
    if expect:
        library.append(("Expect", "100-continue"))
    library.append(("Accept-Encoding", "gzip,deflate"))
    path = base_path + "/" + operation
    return WireRequest(method, path, tuple(headers + library), body, expect)


def send_edoc_request(package: bytes, *, from_code: str, message_type: str, to: list[str] | None,
                      system_id: str, secret: str, timestamp: str, host: str,
                      base_path: str = "") -> WireRequest:
    """Return sendEdoc as the SDK writes it: the file + CRLF as octet-stream, ``hash-file`` signed."""
    header: dict[str, Any] = {"from": from_code, "servicetype": "eDoc", "messagetype": message_type,
                              "hash-file": hash_file(package)}
    if to:
        header["to"] = list(to)
    return build_request(
        "sendEdoc", header, system_id=system_id, secret=secret, timestamp=timestamp, host=host,
        base_path=base_path, body=package + b"\r\n", content_type=OCTET_TYPE,
        library_headers=(("Cache-Control", "no-cache"), ("Pragma", "no-cache"), ("Accept", JAVA_ACCEPT)))
