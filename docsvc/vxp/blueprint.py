"""The VXP face: a Flask blueprint that answers the national axis SDK's calls over a backend.

Every view: verify the signature (auth), read the body as the operation defines it (protocol),
call one backend method, reply in the SDK's envelope. Failures never leave this module as
HTML: they become ``status:"FAIL"`` replies (or an empty body for downloadEdoc).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Mapping
from typing import Any, cast
from zoneinfo import ZoneInfo

from flask import Blueprint, Response, request
from werkzeug.exceptions import HTTPException

from docsvc.errors import (
    BadRequestError,
    DocsvcError,
    PayloadTooLargeError,
    PermissionDeniedError,
    UnprocessableError,
)
from docsvc.vxp import protocol as p
from docsvc.vxp.auth import VerifiedRequest, verify_request
from docsvc.vxp.backend import Submission, VxpBackend

log = logging.getLogger(__name__)
_DRAIN_CHUNK = 1024 * 1024

Handler = Callable[[VxpBackend, VerifiedRequest, bytes, ZoneInfo], "dict[str, Any] | bytes"]


def make_vxp_blueprint(
    prefix: str,
    backend: VxpBackend,
    *,
    name: str = "vxp",
    zone: ZoneInfo | None = None,
    clock: Callable[[], dt.datetime] | None = None,
) -> Blueprint:
    """Return a blueprint serving every SDK operation under ``prefix`` (``/vxp`` or ``""``).

    Both ``{prefix}/op`` and ``{prefix}//op`` are answered (a base URL ending in ``/``), with
    case-sensitive operation names. ``zone`` renders list times (default Asia/Ho_Chi_Minh);
    ``clock`` returns the local time the timestamp skew is logged against.
    The app must exempt this blueprint from CSRF protection (it authenticates by HMAC).
    """
    zone = zone or ZoneInfo("Asia/Ho_Chi_Minh")
    prefix = "/" + prefix.strip("/") if prefix.strip("/") else ""
    # The prefix is written into the rules (Flask's url_prefix would fold the double slash), so
    # register this blueprint without a url_prefix of its own.
    blueprint = Blueprint(name, __name__)

    def view(op: str) -> Response:
        operation = p.OPERATIONS.get(op)
        if operation is None:
            _drain()
            return _reply(None, p.failure(None, p.E_NOT_FOUND, f"Unknown operation {op[:60]!r}"), 404)
        if request.method != operation.method:
            _drain()
            desc = f"{op} dùng phương thức {operation.method} / {op} takes {operation.method}"
            return _reply(operation, p.failure(operation, p.E_METHOD, desc), 405)
        try:
            now = clock() if clock else None
            # Headers is not a typing Mapping, but items() is all verify_request reads
            verified = verify_request(cast(Mapping[str, str], request.headers),
                                      backend.authenticate_system, now=now)
            body = _read_body(operation)
            result = HANDLERS[op](backend, verified, body, zone)
        except DocsvcError as err:
            _drain()
            if err.status >= 500:
                log.error("VXP %s failed: %s", op, err, exc_info=err)
            else:
                log.info("VXP %s refused: %s (%s)", op, err.code, err.text_en)
            return _reply(operation, p.failure(operation, p.error_code_for(err.status), p.describe(err)),
                          err.status)
        except HTTPException as err:  # 413 from MAX_CONTENT_LENGTH, a client disconnect …
            _drain()
            status = err.code or 400
            return _reply(operation, p.failure(operation, p.error_code_for(status), err.name), status)
        except Exception:
            log.exception("VXP %s crashed", op)
            return _reply(operation, p.failure(operation, p.E_INTERNAL, "Lỗi hệ thống / Internal error"), 500)
        if isinstance(result, bytes):
            return Response(result, 200, content_type="application/octet-stream")
        return _reply(operation, result, 200)

    view.__name__ = "vxp_operation"
    options: dict[str, Any] = {"methods": ["GET", "POST"], "merge_slashes": False,
                               "strict_slashes": False}
    blueprint.add_url_rule(f"{prefix}/<op>", view_func=view, **options)
    blueprint.add_url_rule(f"{prefix}//<op>", endpoint="vxp_operation_double_slash", view_func=view,
                           **options)
    return blueprint


def _reply(operation: p.Operation | None, payload: dict[str, Any], status: int) -> Response:
    if operation is not None and operation.raw_reply and status != 200:
        return Response(b"", status, content_type="application/octet-stream")
    return Response(p.encode_reply(payload), status, content_type="application/json; charset=utf-8")


def _read_body(operation: p.Operation) -> bytes:
    """Read the body the way the operation defines it (never ``get_json``: bodies lie)."""
    length = request.content_length
    if operation.body == "package":
        return request.get_data(cache=False)
    limit = p.AGENCY_BODY_LIMIT if operation.body == "json" else p.IGNORED_BODY_LIMIT
    if length is not None and length > limit:
        raise PayloadTooLargeError(details={"limit": limit})
    body = request.stream.read(limit + 1)
    if len(body) > limit:
        raise PayloadTooLargeError(details={"limit": limit})
    if operation.body == "ignored" and not p.is_ignorable_body(body):
        log.debug("VXP %s: ignoring a %d-byte body", operation.name, len(body))
    return body


def _drain() -> None:
    """Read and drop what is left of the body, so a kept-alive connection stays in step."""
    try:
        while request.stream.read(_DRAIN_CHUNK):
            pass
    except Exception:  # noqa: BLE001, S110 - the reply matters more than the leftovers
        pass


# -- one handler per operation ------------------------------------------------------------------


def _send_edoc(backend: VxpBackend, v: VerifiedRequest, body: bytes, zone: ZoneInfo) -> dict[str, Any]:
    params = v.params
    package, sha256 = p.extract_package(body, params.get("hash-file"))
    if not package:
        raise BadRequestError("Gói tin rỗng.", "Empty package.")
    from_code = (params.get("from") or "").strip()
    if not from_code or from_code.lower() == v.system.system_id.lower():
        from_code = v.system.organ_id
    submission = Submission(
        package=package, sha256=sha256,
        message_type=p.parse_message_type(params.get("messagetype")),
        service_type=(params.get("servicetype") or "eDoc").strip(),
        from_code=from_code, to=p.parse_to(params.get("to")),
    )
    doc_id = backend.submit(v.system, submission)
    return p.success(DocId=doc_id)


def _received_list(backend: VxpBackend, v: VerifiedRequest, body: bytes, zone: ZoneInfo) -> dict[str, Any]:
    message_type = p.parse_message_type(v.params.get("messagetype"))
    items = backend.received_list(v.system, message_type=message_type)
    return p.success(data=p.received_items(items, zone))


def _get_edoc(backend: VxpBackend, v: VerifiedRequest, body: bytes, zone: ZoneInfo) -> dict[str, Any]:
    package = backend.fetch(v.system, p.require(v.params.get("docId"), "docId"))
    try:
        package.decode("utf-8")
    except UnicodeDecodeError as exc:  # the SDK would decode it as UTF-8 text and corrupt it
        raise UnprocessableError("Gói tin không phải văn bản UTF-8; hãy dùng downloadEdoc.",
                                 "The package is not UTF-8 text; use downloadEdoc.") from exc
    return p.success(data=p.package_base64(package))


def _download_edoc(backend: VxpBackend, v: VerifiedRequest, body: bytes, zone: ZoneInfo) -> bytes:
    package = backend.fetch(v.system, p.require(v.params.get("docId"), "docId"))
    if not package:
        raise UnprocessableError()
    return package


def _update_status(backend: VxpBackend, v: VerifiedRequest, body: bytes, zone: ZoneInfo) -> dict[str, Any]:
    doc_id = p.require(v.params.get("docId"), "docId")
    status = p.parse_ack_status(v.params.get("status"))
    description = (v.params.get("description") or "").strip()
    backend.acknowledge(v.system, doc_id, status, description)  # type: ignore[arg-type]
    return p.success()


def _sent_list(backend: VxpBackend, v: VerifiedRequest, body: bytes, zone: ZoneInfo) -> dict[str, Any]:
    doc_id = (v.params.get("docId") or "").strip() or None
    items = backend.sent_list(v.system, message_type=p.parse_message_type(v.params.get("messagetype")),
                              doc_id=doc_id)
    return p.success(data=p.sent_items(items, zone))


def _counter(message_type: p.MessageType) -> Handler:
    def count(backend: VxpBackend, v: VerifiedRequest, body: bytes, zone: ZoneInfo) -> dict[str, Any]:
        return p.success(count=int(backend.count_received(v.system, message_type=message_type)))

    return count


def _agency_list(kind: p.AgencyListKind) -> Handler:
    def agencies(backend: VxpBackend, v: VerifiedRequest, body: bytes, zone: ZoneInfo) -> dict[str, Any]:
        level = None
        if kind == "qd20":
            level = (v.params.get("level") or "").strip() or None
        items = backend.agencies(v.system, kind=kind, level=level)
        return p.success(data=p.agency_items(items, kind, zone))

    return agencies


def _register_agency(backend: VxpBackend, v: VerifiedRequest, body: bytes, zone: ZoneInfo) -> dict[str, Any]:
    _may_manage_agencies(v)
    backend.register_agency(v.system, p.parse_agency_body(body))
    return p.success()


def _delete_agency(backend: VxpBackend, v: VerifiedRequest, body: bytes, zone: ZoneInfo) -> dict[str, Any]:
    _may_manage_agencies(v)
    backend.delete_agency(v.system, p.require(v.params.get("AgencyCode"), "AgencyCode"))
    return p.success()


def _may_manage_agencies(v: VerifiedRequest) -> None:
    """Refuse directory changes to every system not marked as a directory administrator."""
    if not v.system.may_manage_agencies:
        raise PermissionDeniedError("Hệ thống này không được đăng ký hoặc xóa đơn vị trên docsvc.",
                                    "This system may not register or delete units on docsvc.")


HANDLERS: dict[str, Handler] = {
    "sendEdoc": _send_edoc,
    "getReceivedEdocList": _received_list,
    "getEdoc": _get_edoc,
    "downloadEdoc": _download_edoc,
    "updateStatus": _update_status,
    "getSentEdocList": _sent_list,
    "countReceiveEdoc": _counter("edoc"),
    "countReceiveStatus": _counter("status"),
    "getAgenciesList": _agency_list("agencies"),
    "getAgenciesListQD20": _agency_list("qd20"),
    "getSynchronizeUnit": _agency_list("sync"),
    "registerAgency": _register_agency,
    "deleteAgency": _delete_agency,
}
