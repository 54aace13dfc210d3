"""Routes of /api/v1/documents: upload, read, correct, list and search, download, register."""

from __future__ import annotations

import datetime as dt
import json
from typing import BinaryIO, cast

from flask import Response, jsonify, request

from docsvc.api import actor, api, db, runtime
from docsvc.api.serialize import document_to_dict, links_for
from docsvc.downloads import version_response
from docsvc.errors import BadRequestError, InvalidMetadataError
from docsvc.metadata import parse_metadata
from docsvc.models import DIRECTIONS, Job
from docsvc.services import documents as svc
from docsvc.services import reading


def _with_warnings(document, warnings):  # type: ignore[no-untyped-def]
    body = document_to_dict(document, reader=actor())
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
    metadata, given = None, None
    if raw is None:
        problems.append({"field": "metadata", "code": "required", "message": "JSON"})
    else:
        try:
            given = json.loads(raw)
            metadata = parse_metadata(given, allowed_organ_ids=settings.organ_id_allow)
        except json.JSONDecodeError as exc:
            problems.append({"field": "metadata", "code": "json", "message": str(exc)})
        except InvalidMetadataError as exc:
            problems.extend(exc.details["fields"])
    suggestions = None
    if upload is not None and (problems or _left_out(given)):
        suggestions = reading.suggest(db(), cast(BinaryIO, upload.stream), given)
    if problems:
        details = {"fields": problems}
        if suggestions is not None:  # what the PDF's text says, for the fields left out
            details["suggested_metadata"] = suggestions["fields"]
            details["suggestions_reason"] = suggestions["reason"]
        raise InvalidMetadataError(details=details)
    assert metadata is not None and upload is not None
    owner = metadata.owner_organ_id or actor().organ_id or settings.organ_id
    document, warnings = svc.upload_document(
        db(), runtime().blobs, stream=cast(BinaryIO, upload.stream), filename=upload.filename,
        metadata=metadata, owner_organ_id=owner, actor=actor(),
        max_pages=settings.max_pdf_pages,
    )
    from docsvc.queue import dispatch
    from docsvc.services import jobs

    planned = jobs.plan_after_upload(db(), document, settings, actor())
    dispatch(runtime(), [job.id for job in planned])
    if planned:
        db().expire_all()  # an immediate queue ran them in its own session
    body = _with_warnings(document, warnings)
    body["jobs"] = [jobs.job_to_dict(cast(Job, db().get(type(job), job.id))) for job in planned]
    if suggestions is not None:
        body["suggested_metadata"] = suggestions["fields"]
        body["suggestions_reason"] = suggestions["reason"]
    return jsonify(body), 201


_SUGGESTED = ("code_number", "code_notation", "issued_date", "place", "signer_competence",
              "signer_position", "signer_name", "recipients", "references")


def _left_out(given: object) -> bool:
    """Tell whether the clerk left out a field the text of a notice usually holds."""
    return isinstance(given, dict) and any(given.get(name) in (None, "", []) for name in _SUGGESTED)


@api.get("/documents/<document_id>")
def get_document(document_id: str):  # type: ignore[no-untyped-def]
    """Return a document with its versions."""
    return jsonify(document_to_dict(svc.get_document(db(), document_id, actor()),
                                    reader=actor()))


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
    page, next_after = svc.list_documents(db(), query, actor())
    links = links_for(db(), [d.id for d in page], actor())  # one query for the page
    return jsonify({"data": [document_to_dict(d, with_versions=False, links=links[d.id])
                             for d in page], "next_after": next_after})


def _send_version(document_id: str, number: int | None, *, attachment: bool = False) -> Response:
    version, stream = svc.open_version(db(), runtime().blobs, document_id=document_id, number=number,
                                       actor=actor(), attachment=attachment)
    return version_response(version, stream, document_id)


@api.get("/documents/<document_id>/content")
def latest_content(document_id: str):  # type: ignore[no-untyped-def]
    """Download the main file's latest version (never an attachment)."""
    return _send_version(document_id, None)


@api.get("/documents/<document_id>/attachments/<int:number>/content")
def attachment_content(document_id: str, number: int):  # type: ignore[no-untyped-def]
    """Download one of the document's attachments (``attachments[].number``)."""
    return _send_version(document_id, number, attachment=True)


@api.get("/documents/<document_id>/versions/<int:number>/content")
def version_content(document_id: str, number: int):  # type: ignore[no-untyped-def]
    """Download one version's bytes."""
    return _send_version(document_id, number)


@api.post("/documents/<document_id>/register")
def register_document(document_id: str):  # type: ignore[no-untyped-def]
    """Give the document its number in the outgoing or incoming register (idempotent).

    ``{"number": 185, "imported": true}``: enter an already-numbered outgoing document with its
    printed number (409 ``number_taken`` when the register of its year has it).
    """
    body = request.get_json(silent=True)
    if isinstance(body, dict) and body.get("imported") is True:
        document, warnings = svc.import_numbered(
            db(), document_id=document_id, actor=actor(), number=body.get("number"),
            zone=runtime().settings.zone)
        return jsonify(_with_warnings(document, warnings))
    document, warnings = svc.register_document(
        db(), document_id=document_id, actor=actor(), zone=runtime().settings.zone
    )
    return jsonify(_with_warnings(document, warnings))


@api.patch("/documents/<document_id>")
def correct_metadata(document_id: str):  # type: ignore[no-untyped-def]
    """Correct metadata fields (JSON object; null clears); see services.corrections for what
    a registered or a received document keeps."""
    from docsvc.services.corrections import correct_metadata

    body = request.get_json(silent=True)
    document, changed, warnings = correct_metadata(
        db(), document_id=document_id, changes=body, actor=actor(),
        allowed_organ_ids=runtime().settings.organ_id_allow)
    answer = _with_warnings(document, warnings)
    answer["changed"] = changed
    return jsonify(answer)


@api.get("/documents/<document_id>/history")
def document_history(document_id: str):  # type: ignore[no-untyped-def]
    """Return the document's audit entries in order (auditors and the owning clerks)."""
    from docsvc.services.audit import entry_to_dict

    entries = svc.history(db(), document_id=document_id, actor=actor())
    return jsonify({"document_id": document_id, "data": [entry_to_dict(e) for e in entries]})
