"""Routes that need no identity: health and the OpenAPI document."""

from __future__ import annotations

from flask import jsonify
from sqlalchemy import text

from docsvc.api import api, db, runtime
from docsvc.api.openapi import openapi_document
from docsvc.errors import DocsvcError


@api.get("/health")
def health():  # type: ignore[no-untyped-def]
    """Report whether the database and the blob store answer."""
    checks = {}
    try:
        db().execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as exc:  # noqa: BLE001 - any failure means "down" here
        checks["database"] = f"unavailable: {type(exc).__name__}"
    try:
        runtime().blobs.check()
        checks["storage"] = "ok"
    except DocsvcError as exc:
        checks["storage"] = f"unavailable: {exc.code}"
    healthy = all(v == "ok" for v in checks.values())
    return jsonify({"status": "ok" if healthy else "unavailable", **checks}), 200 if healthy else 503


@api.get("/openapi.json")
def openapi():  # type: ignore[no-untyped-def]
    """Return the OpenAPI 3.1 description of this API."""
    return jsonify(openapi_document())
