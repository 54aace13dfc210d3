"""Routes of /api/v1/documents: upload, read, list and search, download, register."""

from __future__ import annotations

import datetime as dt
import json

from flask import Response, jsonify, request, stream_with_context

from docsvc.api import api, db, runtime
from docsvc.api.serialize import document_to_dict
from docsvc.errors import BadRequestError, InvalidMetadataError
from docsvc.metadata import parse_metadata
from docsvc.models import DIRECTIONS
from docsvc.services import documents as svc
from docsvc.storage.base import CHUNK


def _with_warnings(document, warnings):  # type: ignore[no-untyped-def]
    body = document_to_dict(document)
    body["warnings"] = [w.to_dict() for w in warnings]
    return body


@api.post("/documents")
def upload_document():  # type: ignore[no-untyped-def]
    """Create a draft document from ``file`` (PDF) and ``metadata`` (JSON) form parts."""
    settings = runtime().settings
    upload = request.files.get("file")
    problems = []
    if upload is None or not upload.filename and upload.content_length == 0:
        problems.append({"field": "file", "code": "required", "message": "tệp PDF / the PDF file"})
    raw = request.form.get("metadata")
    metadata = None
    if raw is None:
        problems.append({"field": "metadata", "code": "required", "message": "JSON"})
    else:
        try:
            metadata = parse_metadata(json.loads(raw), allowed_organ_ids=settings.organ_id_allow)
        except json.JSONDecodeError as exc:
            problems.append({"field": "metadata", "code": "json", "message": str(exc)})
        except InvalidMetadataError as exc:
            problems.extend(exc.details["fields"])
    if problems:
        raise InvalidMetadataError(details={"fields": problems})
    assert metadata is not None and upload is not None
    owner = metadata.owner_organ_id or (
        metadata.organ_id if metadata.direction == "outgoing" else settings.organ_id
    )
    document, warnings = svc.upload_document(
        db(), runtime().blobs, stream=upload.stream, filename=upload.filename,
        metadata=metadata, owner_organ_id=owner, actor=None,
    )
    return jsonify(_with_warnings(document, warnings)), 201


@api.get("/documents/<document_id>")
def get_document(document_id: str):  # type: ignore[no-untyped-def]
    """Return a document with its versions."""
    return jsonify(document_to_dict(svc.get_document(db(), document_id)))


def _date_arg(name: str) -> dt.date | None:
    value = request.args.get(name)
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise BadRequestError(f"Tham số {name} phải là ngày YYYY-MM-DD.",
                              f"Parameter {name} must be a YYYY-MM-DD date.",
                              details={name: value}) from None


def _int_arg(name: str, default: int, low: int, high: int) -> int:
    value = request.args.get(name)
    if value is None or value == "":
        return default
    if not value.isdigit() or not low <= int(value) <= high:
        raise BadRequestError(f"Tham số {name} phải là số từ {low} đến {high}.",
                              f"Parameter {name} must be a number from {low} to {high}.",
                              details={name: value})
    return int(value)


@api.get("/documents")
def list_documents():  # type: ignore[no-untyped-def]
    """List and search the registry, newest first, one page at a time."""
    direction = request.args.get("direction") or None
    if direction and direction not in DIRECTIONS:
        raise BadRequestError("Tham số direction: outgoing hoặc incoming.",
                              "Parameter direction: outgoing or incoming.",
                              details={"direction": direction})
    query = svc.DocumentQuery(
        q=request.args.get("q") or None,
        type_name=request.args.get("type_name") or None,
        direction=direction,
        issued_from=_date_arg("issued_from"),
        issued_to=_date_arg("issued_to"),
        organ_id=request.args.get("organ_id") or None,
        after=request.args.get("after") or None,
        limit=_int_arg("limit", 50, 1, 500),
    )
    page, next_after = svc.list_documents(db(), query)
    return jsonify({"data": [document_to_dict(d, with_versions=False) for d in page],
                    "next_after": next_after})


def _send_version(document_id: str, number: int | None) -> Response:
    version, stream = svc.open_version(db(), runtime().blobs, document_id=document_id, number=number)
    etag = f'"{version.sha256}"'
    if request.if_none_match.contains(version.sha256):
        stream.close()
        return Response(status=304, headers={"ETag": etag})

    def chunks():  # type: ignore[no-untyped-def]
        with stream:
            while chunk := stream.read(CHUNK):
                yield chunk

    filename = version.filename or f"{document_id}-v{version.number}.pdf"
    return Response(
        stream_with_context(chunks()),
        mimetype=version.media_type,
        headers={
            "ETag": etag,
            "Content-Length": str(version.size),
            "Content-Disposition": _attachment(filename),
            "X-Content-SHA256": version.sha256,
        },
    )


def _attachment(filename: str) -> str:
    from urllib.parse import quote

    ascii_name = filename.encode("ascii", "replace").decode().replace('"', "")
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}"


@api.get("/documents/<document_id>/content")
def latest_content(document_id: str):  # type: ignore[no-untyped-def]
    """Download the latest version's bytes."""
    return _send_version(document_id, None)


@api.get("/documents/<document_id>/versions/<int:number>/content")
def version_content(document_id: str, number: int):  # type: ignore[no-untyped-def]
    """Download one version's bytes."""
    return _send_version(document_id, number)


@api.post("/documents/<document_id>/register")
def register_document(document_id: str):  # type: ignore[no-untyped-def]
    """Give the document its number in the outgoing or incoming register (idempotent)."""
    document, warnings = svc.register_document(
        db(), document_id=document_id, actor=None, zone=runtime().settings.zone
    )
    return jsonify(_with_warnings(document, warnings))
