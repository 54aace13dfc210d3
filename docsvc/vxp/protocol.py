"""The SDK's side of the wire (VXP-PROTOCOL.md §3-§5): operations, bodies, the response
envelope and the item shapes the Java client reads.

Pure functions over bytes and values; the blueprint glues them to Flask and the backend.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from docsvc.errors import BadRequestError, DocsvcError
from docsvc.vxp.backend import Agency, AgencyListKind, AgencyRegistration, MessageType, ReceivedItem, SentItem

# -- error codes (§4) --------------------------------------------------------------------------

OK = "0"
E_BAD_REQUEST = "400"
E_UNAUTHORIZED = "401"
E_FORBIDDEN = "403"
E_NOT_FOUND = "404"
E_METHOD = "405"
E_DUPLICATE = "409"
E_TOO_LARGE = "413"
E_INTERNAL = "500"
_CODE_FOR_STATUS = {400: E_BAD_REQUEST, 401: E_UNAUTHORIZED, 403: E_FORBIDDEN, 404: E_NOT_FOUND,
                    405: E_METHOD, 409: E_DUPLICATE, 413: E_TOO_LARGE, 415: E_BAD_REQUEST,
                    422: E_BAD_REQUEST}
SUCCESS_DESC = "Success"
"""The SDK's own wording for success."""


def error_code_for(status: int) -> str:
    """Return the SDK ``ErrorCode`` for a docsvc error's HTTP status (never ``"0"``)."""
    if status >= 500:
        return E_INTERNAL
    return _CODE_FOR_STATUS.get(status, E_BAD_REQUEST)


def describe(error: DocsvcError) -> str:
    """Return ``ErrorDesc`` for an error: Vietnamese, then English for integrators' logs."""
    vi, en = error.message("vi"), error.message("en")
    return vi if vi == en else f"{vi} / {en}"


# -- operations ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Operation:
    """One SDK call: its HTTP method, what its body is, and the extra fields its reply carries."""

    name: str
    method: str
    body: str
    """``ignored`` ({} or empty), ``package`` (sendEdoc) or ``json`` (registerAgency, unsigned)."""
    extra_on_error: tuple[tuple[str, Any], ...] = ()
    """Fields the client needs even in a failure reply (``DocId:""``, ``data:[]``, ``count:0``)."""
    raw_reply: bool = False
    """downloadEdoc: the reply is the package itself; errors are an empty body."""


OPERATIONS: dict[str, Operation] = {op.name: op for op in (
    Operation("sendEdoc", "POST", "package", (("DocId", ""),)),
    Operation("getReceivedEdocList", "POST", "ignored", (("data", ()),)),
    Operation("getEdoc", "POST", "ignored", (("data", ""),)),
    Operation("downloadEdoc", "GET", "ignored", raw_reply=True),
    Operation("updateStatus", "POST", "ignored"),
    Operation("getSentEdocList", "POST", "ignored", (("data", ()),)),
    Operation("countReceiveEdoc", "POST", "ignored", (("count", 0),)),
    Operation("countReceiveStatus", "POST", "ignored", (("count", 0),)),
    Operation("getAgenciesList", "POST", "ignored", (("data", ()),)),
    Operation("getAgenciesListQD20", "POST", "ignored", (("data", ()),)),
    Operation("getSynchronizeUnit", "POST", "ignored", (("data", ()),)),
    Operation("registerAgency", "POST", "json"),
    Operation("deleteAgency", "POST", "ignored"),
)}
IGNORED_BODY_LIMIT = 1024 * 1024
"""A body the operation ignores may be at most this long (the SDK sends 0 or 2 bytes)."""
AGENCY_BODY_LIMIT = 64 * 1024


# -- envelope -----------------------------------------------------------------------------------


def success(**fields: Any) -> dict[str, Any]:
    """Return a success reply: ``status:"OK"``, ``ErrorCode:"0"``, ``ErrorDesc:"Success"`` + fields."""
    return {"status": "OK", "ErrorCode": OK, "ErrorDesc": SUCCESS_DESC, **fields}


def failure(operation: Operation | None, code: str, desc: str) -> dict[str, Any]:
    """Return a failure reply with the operation's extra fields (``status:"FAIL"``, code ≠ "0")."""
    if code == OK:
        raise ValueError("a failure needs a non-zero ErrorCode")
    extra = dict(operation.extra_on_error) if operation else {}
    return {"status": "FAIL", "ErrorCode": code, "ErrorDesc": desc or "Error", **extra}


def encode_reply(payload: dict[str, Any]) -> bytes:
    """Serialise a reply as compact, ASCII-only JSON (``\\uXXXX`` escapes) with no nulls."""
    return json.dumps(_no_nulls(payload), ensure_ascii=True, separators=(",", ":")).encode("ascii")


def _no_nulls(value: Any) -> Any:
    """Replace ``None`` by ``""`` everywhere: a JSON null makes the SDK drop the whole reply."""
    if value is None:
        return ""
    if isinstance(value, dict):
        return {str(k): _no_nulls(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_no_nulls(v) for v in value]
    return value


# -- request bodies -----------------------------------------------------------------------------


def unpadded_hex(digest: bytes) -> str:
    """Render a digest as the SDK does: each byte as 1 or 2 lower-case hex digits, no padding."""
    return "".join(format(byte, "x") for byte in digest)


class HashFileError(BadRequestError):
    code = "vxp_hash_file_mismatch"
    message_vi = "Tham số hash-file không khớp với nội dung gói tin gửi lên."
    message_en = "The hash-file parameter does not match the uploaded package."


def extract_package(body: bytes, hash_file: str | None) -> tuple[bytes, str]:
    """Return the package of a sendEdoc body and its 64-digit SHA-256, checking ``hash-file``.

    The SDK sends the file followed by one CRLF and signs the unpadded hex SHA-256 of the file
    alone. A body without the CRLF (another client) is accepted when its hash matches as is;
    a full 64-digit hex ``hash-file`` is accepted too. Raises ``HashFileError``.
    """
    claimed = (hash_file or "").strip().lower()
    if not claimed:
        raise HashFileError("Thiếu tham số hash-file.", "The hash-file parameter is missing.")
    candidates = [body[:-2]] if body.endswith(b"\r\n") else []
    candidates.append(body)
    for package in candidates:
        digest = hashlib.sha256(package).digest()
        if hmac.compare_digest(unpadded_hex(digest), claimed) or hmac.compare_digest(digest.hex(), claimed):
            return package, digest.hex()
    raise HashFileError()


def is_ignorable_body(body: bytes) -> bool:
    """Tell whether a body the operation ignores is one the SDK sends (empty or ``{}``)."""
    return body.strip() in (b"", b"{}")


def parse_agency_body(body: bytes) -> AgencyRegistration:
    """Parse registerAgency's unsigned body; ``BadRequestError`` for what is not a unit."""
    try:
        data = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise BadRequestError("Nội dung đăng ký đơn vị không phải JSON hợp lệ.",
                              "The agency body is not valid JSON.") from exc
    if not isinstance(data, dict):
        raise BadRequestError("Nội dung đăng ký đơn vị phải là một đối tượng JSON.",
                              "The agency body must be a JSON object.")

    def text(name: str) -> str:
        value = data.get(name)
        return "" if value is None else str(value).strip()

    if not text("code") or not text("name"):
        raise BadRequestError("Thiếu mã (code) hoặc tên (name) đơn vị.", "Missing unit code or name.")
    return AgencyRegistration(code=text("code"), name=text("name"), parent_code=text("pcode"),
                              id=text("id"), mail=text("mail"), mobile=text("mobile"), fax=text("fax"))


# -- parameters ---------------------------------------------------------------------------------


def parse_message_type(value: str | None, default: MessageType = "edoc") -> MessageType:
    """Return ``edoc`` or ``status`` from ``messagetype`` (any case); ``BadRequestError`` else."""
    if value is None or not value.strip():
        return default
    lowered = value.strip().lower()
    if lowered == "edoc":
        return "edoc"
    if lowered == "status":
        return "status"
    raise BadRequestError(f"messagetype không hợp lệ: {value[:40]!r} (edoc|status).",
                          f"Invalid messagetype {value[:40]!r} (edoc|status).")


ACK_STATUSES = ("done", "fail", "processing")


def parse_ack_status(value: str | None) -> str:
    """Return ``done``, ``fail`` or ``processing`` from updateStatus's ``status`` (any case)."""
    lowered = (value or "").strip().lower()
    if lowered not in ACK_STATUSES:
        raise BadRequestError(f"status không hợp lệ: {(value or '')[:40]!r} (done|fail|processing).",
                              f"Invalid status {(value or '')[:40]!r} (done|fail|processing).")
    return lowered


def parse_to(value: str | None) -> tuple[str, ...] | None:
    """Return the recipients of sendEdoc's ``to`` (JSON array text, a quoted string, or bare).

    ``None`` when absent or empty: the recipients are then read from the package.
    """
    if value is None or not value.strip():
        return None
    try:
        parsed = json.loads(value)
    except ValueError:
        parsed = [part for part in value.split(",")]
    if isinstance(parsed, str):
        parsed = [parsed]
    if not isinstance(parsed, list) or not all(isinstance(item, str | int) for item in parsed):
        raise BadRequestError("Tham số to không hợp lệ.", "Invalid 'to' parameter.")
    codes = tuple(dict.fromkeys(str(item).strip() for item in parsed if str(item).strip()))
    return codes or None


def require(value: str | None, name: str) -> str:
    """Return a non-empty parameter value or raise ``BadRequestError`` naming it."""
    if value is None or not value.strip():
        raise BadRequestError(f"Thiếu tham số {name}.", f"Missing parameter {name}.",
                              details={"parameter": name})
    return value.strip()


# -- reply items --------------------------------------------------------------------------------


def format_time(value: dt.datetime | None, zone: ZoneInfo) -> str:
    """Return ``YYYY-MM-DD HH:MM:SS`` in the agency's zone (``""`` for no time)."""
    if value is None:
        return ""
    if value.tzinfo is not None:
        value = value.astimezone(zone)
    return value.strftime("%Y-%m-%d %H:%M:%S")


def received_items(items: Iterable[ReceivedItem], zone: ZoneInfo) -> list[dict[str, str]]:
    """Return getReceivedEdocList's ``data``: every field a string."""
    return [{
        "docId": item.doc_id, "from": item.from_code, "to": item.to_code,
        "serviceType": item.service_type, "messageType": item.message_type,
        "status": item.status, "status_desc": item.status_desc,
        "created_time": format_time(item.created_at, zone),
        "updated_time": format_time(item.updated_at, zone),
    } for item in items]


def sent_items(items: Iterable[SentItem], zone: ZoneInfo) -> list[dict[str, str]]:
    """Return getSentEdocList's ``data``: every field a string."""
    return [{
        "senderDocId": item.sender_doc_id, "receiverDocId": item.receiver_doc_id,
        "fromCode": item.from_code, "toCode": item.to_code,
        "serviceType": item.service_type, "messageType": item.message_type,
        "title": item.title, "notation": item.notation,
        "sentTime": format_time(item.sent_at, zone), "receivedTime": format_time(item.received_at, zone),
        "sendStatus": item.send_status, "sendStatusDesc": item.send_status_desc,
        "receiveStatus": item.receive_status, "receiveStatusDesc": item.receive_status_desc,
    } for item in items]


def agency_items(items: Iterable[Agency], kind: AgencyListKind, zone: ZoneInfo) -> list[dict[str, Any]]:
    """Return the directory ``data`` in the field set the calling operation reads."""
    out: list[dict[str, Any]] = []
    for a in items:
        if kind == "agencies":
            out.append({"id": a.id, "pid": a.pid, "code": a.code, "name": a.name, "mail": a.mail,
                        "oldCode": a.old_code})
        elif kind == "qd20":
            out.append({"id": a.id, "code": a.code, "name": a.name, "mail": a.mail, "code102": a.code102})
        else:
            out.append({"id": a.id, "pid": a.pid, "code": a.code, "name": a.name, "mail": a.mail,
                        "centerCode": a.center_code, "version": int(a.version), "deleted": bool(a.deleted),
                        "isAgency": bool(a.is_agency), "modifyDate": format_time(a.modified_at, zone)})
    return out


def package_base64(package: bytes) -> str:
    """Return getEdoc's ``data``: standard base64 of the whole package, no line breaks."""
    return base64.b64encode(package).decode("ascii")
