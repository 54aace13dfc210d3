"""The JSON API under /api/v1: one blueprint per resource, one error shape for all.

Views parse the request, call one service and render the result.
"""

from __future__ import annotations

import logging

from flask import Blueprint, current_app, g, jsonify, request
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session
from werkzeug.exceptions import HTTPException

from docsvc.errors import (
    AuthenticationError,
    DatabaseUnavailableError,
    DocsvcError,
    NestingTooDeepError,
)
from docsvc.security import Actor

log = logging.getLogger(__name__)
api = Blueprint("api", __name__, url_prefix="/api/v1")

_HTTP_CODES = {
    400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
    405: "method_not_allowed", 406: "not_acceptable", 409: "conflict",
    413: "payload_too_large", 415: "unsupported_media_type", 429: "too_many_requests",
}
_HTTP_MESSAGES_VI = {
    404: "Không tìm thấy địa chỉ này.", 405: "Phương thức không được hỗ trợ.",
    413: "Tệp hoặc yêu cầu vượt quá dung lượng cho phép.",
}


def runtime():  # type: ignore[no-untyped-def]
    """Return the process's adapters (see ``docsvc.app.Runtime``)."""
    return current_app.extensions["docsvc"]


def db() -> Session:
    """Return the unit of work of this request (opened on first use, closed at teardown)."""
    if "db" not in g:
        g.db = runtime().sessions()
    return g.db


PUBLIC_ENDPOINTS = {"api.health", "api.openapi"}
"""Endpoints that need no token; every other /api/v1 endpoint needs one."""


@api.before_request
def _authenticate() -> None:
    """Resolve ``Authorization: Bearer`` into ``g.actor`` (401 when missing or invalid)."""
    if request.endpoint in PUBLIC_ENDPOINTS:
        return
    from docsvc.services.identity import authenticate_token

    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthenticationError()
    g.actor = authenticate_token(db(), token.strip())
    if g.actor.client_cert_sha256:
        _check_client_certificate(g.actor.client_cert_sha256)


def _check_client_certificate(pinned: str) -> None:
    """Refuse a linked system whose TLS client certificate is not the pinned one."""
    from docsvc.security import presents_pinned_certificate

    if not presents_pinned_certificate(request.environ, request.headers,
                                       runtime().settings.client_cert_header, pinned):
        raise AuthenticationError(
            "Hệ thống liên thông phải xuất trình đúng chứng thư số máy khách đã đăng ký.",
            "The linked system must present its registered TLS client certificate.",
            details={"reason": "client_certificate"})


def actor() -> Actor:
    """Return who is making this request."""
    return g.actor


def lang() -> str:
    """Return ``vi`` or ``en`` for messages: ``?lang=`` first, then Accept-Language; Vietnamese by default."""
    wanted = request.args.get("lang")
    if wanted in ("vi", "en"):
        return wanted
    return request.accept_languages.best_match(["vi", "en"], default="vi") or "vi"


def error_response(error: DocsvcError):  # type: ignore[no-untyped-def]
    """Render an error in the one shape of the API."""
    return jsonify(error.to_dict(lang())), error.status


@api.errorhandler(DocsvcError)
def _docsvc_error(error: DocsvcError):  # type: ignore[no-untyped-def]
    if error.status >= 500:
        log.error("%s: %s %s", error.code, error.text_en, error.details)
    return error_response(error)


@api.errorhandler(RecursionError)
def _too_deep(_error: RecursionError):  # type: ignore[no-untyped-def]
    # json.loads (request.get_json, the metadata part) recurses once per nesting level.
    return error_response(NestingTooDeepError())


@api.errorhandler(OperationalError)
def _database_down(error: OperationalError):  # type: ignore[no-untyped-def]
    log.error("database unavailable: %s", type(error.orig).__name__)
    return error_response(DatabaseUnavailableError(details={"reason": type(error.orig).__name__}))


@api.errorhandler(DBAPIError)
def _database_error(error: DBAPIError):  # type: ignore[no-untyped-def]
    if error.connection_invalidated:
        return error_response(DatabaseUnavailableError(details={"reason": "connection_lost"}))
    log.exception("database error")
    return error_response(DocsvcError())


@api.app_errorhandler(HTTPException)
def _http_error(error: HTTPException):  # type: ignore[no-untyped-def]
    if not request.path.startswith(api.url_prefix or "/api"):
        return error  # pages keep Werkzeug's own error pages
    status = error.code or 500
    generic = DocsvcError(_HTTP_MESSAGES_VI.get(status, error.name), error.name)
    body = {"error": {"code": _HTTP_CODES.get(status, "http_error"),
                      "message": generic.message(lang()), "details": {}}}
    return jsonify(body), status


@api.errorhandler(Exception)
def _unexpected(error: Exception):  # type: ignore[no-untyped-def]
    if isinstance(error, HTTPException):  # Flask finds this handler before the app-level one
        return _http_error(error)
    log.exception("unexpected error")  # the trace goes to the log, never to the client
    return error_response(DocsvcError())


from docsvc.api import (  # noqa: E402,F401  (routes register themselves)
    admin,
    documents,
    exchange,
    meta,
    reading,
    registers,
    search,
    signatures,
    verification,
)
