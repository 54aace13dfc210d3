"""Routes of the exchange area: the directory, sending documents and reporting statuses (clerks),
and the pull mailbox of linked systems (inbox, fetch, ack, submit).
"""

from __future__ import annotations

from typing import Any, BinaryIO, cast

from flask import Response, jsonify, request, stream_with_context

from docsvc.api import actor, api, db, runtime
from docsvc.api.serialize import document_to_dict
from docsvc.errors import BadRequestError
from docsvc.services import directory as dirsvc
from docsvc.services import exchange as svc
from docsvc.storage.base import CHUNK

EDXML_TYPE = "application/xml"


def exchange_config() -> svc.ExchangeConfig:
    """Return this process's exchange configuration (the runtime's, built once)."""
    return runtime().exchange


def _body() -> dict[str, Any]:
    body = request.get_json(silent=True)
    return body if isinstance(body, dict) else {}


def _limit() -> int:
    value = request.args.get("limit", "50")
    if not value.isdigit() or not 1 <= int(value) <= 500:
        raise BadRequestError("limit phải từ 1 đến 500.", "limit must be 1..500.", details={"limit": value})
    return int(value)


@api.get("/directory")
def directory():  # type: ignore[no-untyped-def]
    """Return the directory of organisations (``?parent_id=``, ``?q=``)."""
    rows = dirsvc.list_organizations(db(), parent_id=request.args.get("parent_id") or None,
                                     q=request.args.get("q") or None)
    return jsonify({"data": [dirsvc.organization_to_dict(o) for o in rows]})


def _with_delivery(messages) -> list[dict[str, Any]]:  # type: ignore[no-untyped-def]
    return [svc.message_to_dict(m) | {"delivery": m.delivery.mode if m.delivery else None,
                                      "bussiness_doc_type": m.bussiness_doc_type}
            for m in messages]


@api.post("/documents/<document_id>/send")
def send_document(document_id: str):  # type: ignore[no-untyped-def]
    """Send a registered, signed document to the organisations in ``to``; with ``replaces`` and
    ``reason``, as the replacement of those documents (BussinessDocType 3)."""
    body = _body()
    result = svc.send_document(db(), runtime().blobs, exchange_config(), document_id=document_id,
                               to=body.get("to"), replaces=body.get("replaces"),
                               reason=body.get("reason"), actor=actor())
    answer = {"document_id": document_id, "package_sha256": result.package_sha256,
              "package_sha256s": list(result.package_sha256s),  # raw and zipped (per recipient)
              "xml_signed": result.signed, "created": list(result.created),
              "bussiness_doc_type": result.doc_type, "replaces": list(result.replaces),
              "messages": _with_delivery(result.messages)}
    return jsonify(answer), 201 if result.created else 200


@api.post("/documents/<document_id>/update")
def update_document(document_id: str):  # type: ignore[no-untyped-def]
    """Send a sent document again as an update (BussinessDocType 2) to its recipients (or ``to``)."""
    body = _body()
    result = svc.update_document(db(), runtime().blobs, exchange_config(), document_id=document_id,
                                 reason=body.get("reason"), to=body.get("to"), actor=actor())
    answer = {"document_id": document_id, "created": list(result.created),
              "unchanged": list(result.unchanged), "content_sha256": result.content_sha256,
              "package_sha256s": list(result.package_sha256s), "xml_signed": result.signed,
              "messages": _with_delivery(result.messages)}
    return jsonify(answer), 201 if result.created else 200


@api.post("/documents/<document_id>/status")
def report_status(document_id: str):  # type: ignore[no-untyped-def]
    """Report the handling of a received document (02 … 06) to its sender."""
    body = _body()
    document, message = svc.report_status(
        db(), runtime().blobs, exchange_config(), document_id=document_id, code=body.get("code"),
        description=body.get("description"), actor=actor())
    return jsonify({"document": document_to_dict(document, with_versions=False, reader=actor()),
                    "message": svc.message_to_dict(message)}), 201


@api.post("/documents/<document_id>/revoke")
def revoke_document(document_id: str):  # type: ignore[no-untyped-def]
    """Revoke a sent document (BussinessDocType 1): one revocation package per recipient."""
    messages = svc.revoke_document(db(), runtime().blobs, exchange_config(),
                                   document_id=document_id, reason=_body().get("reason"),
                                   actor=actor())
    return jsonify({"document_id": document_id, "messages": _with_delivery(messages)}), 201


@api.post("/documents/<document_id>/takeback")
def request_takeback(document_id: str):  # type: ignore[no-untyped-def]
    """Ask the recipients (all, or ``to``) to give a sent document back (status 13)."""
    body = _body()
    messages = svc.request_takeback(db(), runtime().blobs, exchange_config(),
                                    document_id=document_id, reason=body.get("reason"),
                                    to=body.get("to"), actor=actor())
    return jsonify({"document_id": document_id,
                    "messages": [svc.message_to_dict(m) for m in messages]}), 201


@api.get("/documents/<document_id>/statuses")
def document_statuses(document_id: str):  # type: ignore[no-untyped-def]
    """Return the delivery and latest status per recipient, with the history."""
    return jsonify(svc.document_statuses(db(), document_id=document_id, actor=actor()))


@api.get("/documents/<document_id>/trace")
def document_trace(document_id: str):  # type: ignore[no-untyped-def]
    """Return every hop, transport event and status of the document in order."""
    return jsonify(svc.document_trace(db(), document_id=document_id, actor=actor()))


@api.get("/exchange/inbox")
def inbox():  # type: ignore[no-untyped-def]
    """List (and lease) the messages addressed to the caller's organisation."""
    page, next_after = svc.inbox(db(), exchange_config(), actor=actor(),
                                 after=request.args.get("after") or None, limit=_limit())
    return jsonify({"data": [svc.message_to_dict(m) for m in page], "next_after": next_after})


@api.get("/exchange/messages/<message_id>")
def fetch_message(message_id: str):  # type: ignore[no-untyped-def]
    """Return the edXML bytes of a message (ETag = SHA-256)."""
    message, stream = svc.fetch_message(db(), runtime().blobs, message_id=message_id, actor=actor())
    if request.if_none_match.contains(message.sha256):
        stream.close()
        return Response(status=304, headers={"ETag": f'"{message.sha256}"'})

    def chunks():  # type: ignore[no-untyped-def]
        with stream:
            while chunk := stream.read(CHUNK):
                yield chunk

    return Response(stream_with_context(chunks()), mimetype=EDXML_TYPE, headers={
        "ETag": f'"{message.sha256}"', "X-Content-SHA256": message.sha256,
        "Content-Length": str(message.size), "X-Message-Kind": message.kind,
        "Content-Disposition": f'attachment; filename="{message.id}.edxml"',
    })


@api.post("/exchange/messages/<message_id>/ack")
def ack_message(message_id: str):  # type: ignore[no-untyped-def]
    """Acknowledge transport of a message: ``received`` or ``rejected`` (idempotent)."""
    body = _body()
    receipt = svc.ack_message(db(), exchange_config(), message_id=message_id,
                              result=body.get("result"), reason=body.get("reason"), actor=actor())
    return jsonify(receipt)


@api.post("/exchange/messages")
def submit_message():  # type: ignore[no-untyped-def]
    """Accept an edXML document or status package from a linked system (raw body)."""
    submission = svc.submit_package(
        db(), runtime().blobs, exchange_config(), stream=cast(BinaryIO, request.stream),
        idempotency_key=request.headers.get("Idempotency-Key") or None, actor=actor())
    response = jsonify(submission.receipt)
    response.headers["Idempotent-Replayed"] = "true" if submission.replayed else "false"
    return response, 200 if submission.replayed else 201


# -- OpenAPI ------------------------------------------------------------------------------------

_ERR = {"$ref": "#/components/responses/Error"}
_DOC = {"name": "document_id", "in": "path", "required": True, "schema": {"type": "string"}}
_MSG = {"name": "message_id", "in": "path", "required": True, "schema": {"type": "string"}}


def _ok(description: str, status: str = "200", content: str = "application/json") -> dict[str, Any]:
    return {status: {"description": description, "content": {content: {"schema": {
        "type": "string", "format": "binary"} if content != "application/json" else {"type": "object"}}}}}


def _errs(*codes: int) -> dict[str, Any]:
    return {str(c): _ERR for c in codes}


OPENAPI_PATHS: dict[str, Any] = {
    "/directory": {"get": {
        "summary": "Directory of organisations (OrganId, name, parent, address, reach pull|push, "
                   "zip_attachments: packages to it carry SDK-style zipped attachments)",
        "parameters": [{"name": "parent_id", "in": "query", "schema": {"type": "string"}},
                       {"name": "q", "in": "query", "schema": {"type": "string"}}],
        "responses": {**_ok("Organisations"), **_errs(401)}}},
    "/documents/{document_id}/send": {"post": {
        "summary": "Send a registered, signed document: one edXML message per recipient. With "
                   "replaces (ids of our outgoing documents that were sent) and reason, it is "
                   "their replacement (BussinessDocType 3, ReplacementInfoList naming each one "
                   "and the recipients of the package that got it); a document sent as a "
                   "replacement stays one on later sendings",
        "parameters": [_DOC],
        "requestBody": {"required": True, "content": {"application/json": {"schema": {
            "type": "object", "required": ["to"],
            "properties": {"to": {"type": "array", "items": {"type": "string"}},
                           "replaces": {"type": "array", "items": {"type": "string"},
                                        "minItems": 1, "maxItems": 20},
                           "reason": {"type": "string",
                                      "description": "BussinessDocReason; required with replaces"}}}}}},
        "responses": {**_ok("Messages created", "201"), **_ok("Already sent to every recipient"),
                      **_errs(400, 401, 403, 404, 409, 422)}}},
    "/documents/{document_id}/update": {"post": {
        "summary": "Send a sent document again as an update (BussinessDocType 2, same edXML "
                   "DocumentId, current metadata and latest signed version) to its recipients "
                   "or those in to. A recipient whose last package says the same (same "
                   "metadata, files by SHA-256, reason) gets nothing: listed in unchanged",
        "parameters": [_DOC],
        "requestBody": {"required": True, "content": {"application/json": {"schema": {
            "type": "object", "required": ["reason"],
            "properties": {"reason": {"type": "string"},
                           "to": {"type": "array", "items": {"type": "string"}}}}}}},
        "responses": {**_ok("Update messages created", "201"),
                      **_ok("Nothing changed for any recipient asked"),
                      **_errs(400, 401, 403, 404, 409)}}},
    "/documents/{document_id}/status": {"post": {
        "summary": "Report the handling of a received document (02 reject, 03 accept and "
                   "register, 04, 05, 06) to its sender, or answer a take-back request (13) "
                   "with 15 (agree: the content is removed) or 16 (refuse, reason required)",
        "parameters": [_DOC],
        "requestBody": {"required": True, "content": {"application/json": {"schema": {
            "type": "object", "required": ["code"],
            "properties": {"code": {"enum": [*svc.CLERK_CODES, "15", "16"]},
                           "description": {"type": "string"}}}}}},
        "responses": {**_ok("Status sent", "201"), **_errs(400, 401, 403, 404, 409)}}},
    "/documents/{document_id}/revoke": {"post": {
        "summary": "Revoke a sent document (BussinessDocType 1): one revocation package per "
                   "recipient; receivers remove the content, keep the metadata and answer 15",
        "parameters": [_DOC],
        "requestBody": {"required": True, "content": {"application/json": {"schema": {
            "type": "object", "required": ["reason"],
            "properties": {"reason": {"type": "string"}}}}}},
        "responses": {**_ok("Revocation messages", "201"), **_errs(400, 401, 403, 404, 409)}}},
    "/documents/{document_id}/takeback": {"post": {
        "summary": "Ask the recipients (all, or those in to) to give a sent document back "
                   "(status 13); they answer 15 or 16",
        "parameters": [_DOC],
        "requestBody": {"required": True, "content": {"application/json": {"schema": {
            "type": "object", "required": ["reason"],
            "properties": {"reason": {"type": "string"},
                           "to": {"type": "array", "items": {"type": "string"}}}}}}},
        "responses": {**_ok("Status 13 messages", "201"), **_errs(400, 401, 403, 404, 409)}}},
    "/documents/{document_id}/statuses": {"get": {
        "summary": "Delivery state and latest status per recipient, with the history",
        "parameters": [_DOC], "responses": {**_ok("Statuses"), **_errs(401, 403, 404)}}},
    "/documents/{document_id}/trace": {"get": {
        "summary": "Hops, transport events and statuses in time order",
        "parameters": [_DOC], "responses": {**_ok("Trace"), **_errs(401, 403, 404)}}},
    "/exchange/inbox": {"get": {
        "summary": "Messages addressed to the caller's organisation (linked systems); listing "
                   "leases them, unacknowledged ones come back when the lease expires",
        "parameters": [{"name": "after", "in": "query", "schema": {"type": "string"}},
                       {"name": "limit", "in": "query", "schema": {"type": "integer"}}],
        "responses": {**_ok("id, kind edoc|status, document_id, sender, sha256, size, created_at"),
                      **_errs(400, 401, 403)}}},
    "/exchange/messages": {"post": {
        "summary": "Submit an edXML document or status package (idempotent by Idempotency-Key)",
        "parameters": [{"name": "Idempotency-Key", "in": "header", "schema": {"type": "string"}}],
        "requestBody": {"required": True, "content": {EDXML_TYPE: {"schema": {
            "type": "string", "format": "binary"}}}},
        "responses": {**_ok("Receipt (names the SHA-256 received; signed by the agency key)", "201"),
                      **_ok("The first receipt of this key and bytes"),
                      **_errs(400, 401, 403, 409, 413, 422)}}},
    "/exchange/messages/{message_id}": {"get": {
        "summary": "The edXML bytes of a message (ETag = SHA-256)", "parameters": [_MSG],
        "responses": {**_ok("edXML", content=EDXML_TYPE), **_errs(401, 403, 404)}}},
    "/exchange/messages/{message_id}/ack": {"post": {
        "summary": "Transport acknowledgement: received or rejected (idempotent receipt)",
        "parameters": [_MSG],
        "requestBody": {"required": True, "content": {"application/json": {"schema": {
            "type": "object", "required": ["result"],
            "properties": {"result": {"enum": ["received", "rejected"]},
                           "reason": {"type": "string"}}}}}},
        "responses": {**_ok("Receipt"), **_errs(400, 401, 403, 404, 409)}}},
}
