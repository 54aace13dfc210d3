"""Routes that read what a PDF says: ``POST /extract`` (metadata suggestions, nothing stored)."""

from __future__ import annotations

from io import BytesIO
from typing import BinaryIO, cast

from flask import jsonify, request

from docsvc.api import actor, api, db, runtime
from docsvc.downloads import version_response
from docsvc.errors import BadRequestError, PermissionDeniedError
from docsvc.extract import suggested_metadata
from docsvc.models import Job
from docsvc.pdf import PDF_MEDIA_TYPE, inspect_pdf
from docsvc.services import reading


@api.post("/extract")
def extract():  # type: ignore[no-untyped-def]
    """Read the Phụ lục VI fields of the PDF sent as ``file`` or as an ``application/pdf`` body;
    every field with its confidence, page and box. Nothing is stored."""
    if actor().kind == "system":
        raise PermissionDeniedError()
    if request.mimetype == PDF_MEDIA_TYPE:
        stream: BinaryIO = BytesIO(request.get_data(cache=False))
    else:
        upload = request.files.get("file")
        if upload is None:
            raise BadRequestError("Thiếu tệp PDF (trường file).", "The PDF (form field file) is missing.",
                                  details={"fields": [{"field": "file", "code": "required"}]})
        stream = cast(BinaryIO, upload.stream)
    inspect_pdf(stream)  # 415 not a PDF, 422 damaged
    extraction = reading.read_pdf(db(), stream)
    body = extraction.to_dict()
    body["suggested_metadata"] = suggested_metadata(extraction)
    return jsonify(body)


@api.get("/jobs/<job_id>")
def get_job(job_id: str):  # type: ignore[no-untyped-def]
    """Return a background job with its state and progress."""
    from docsvc.services import jobs

    return jsonify(jobs.job_to_dict(jobs.get_job(db(), job_id, actor())))


@api.get("/documents/<document_id>/jobs")
def document_jobs(document_id: str):  # type: ignore[no-untyped-def]
    """Return the background jobs of a document, newest first."""
    from docsvc.services import documents, jobs

    document = documents.get_document(db(), document_id, actor())
    return jsonify({"data": [jobs.job_to_dict(j) for j in jobs.document_jobs(db(), document)]})


@api.post("/documents/<document_id>/jobs")
def request_job(document_id: str):  # type: ignore[no-untyped-def]
    """Queue OCR (``{"kind": "ocr"}``) or re-indexing (``"index"``) of a version (``"version"``)."""
    from docsvc.queue import dispatch
    from docsvc.services import documents, jobs

    body = request.get_json(silent=True) or {}
    if not isinstance(body, dict) or not isinstance(body.get("version", 0), int):
        raise BadRequestError("Thân yêu cầu: {\"kind\", \"version\"}.", "Body: {\"kind\", \"version\"}.")
    document = documents.lock_for_write(db(), document_id, actor(), "document.job")
    job = jobs.request_job(db(), document, str(body.get("kind", "ocr")), body.get("version"), actor())
    dispatch(runtime(), [job.id])
    db().expire_all()
    return jsonify(jobs.job_to_dict(cast(Job, db().get(type(job), job.id)))), 202


@api.get("/documents/<document_id>/versions/<int:number>/searchable")
def searchable_rendition(document_id: str, number: int):  # type: ignore[no-untyped-def]
    """Download the searchable (OCR'd) rendition of a version; the original stays the record."""
    from docsvc.services import reading as svc

    rendition, stream = svc.open_rendition(db(), runtime().blobs, document_id=document_id,
                                           number=number, actor=actor())
    return version_response(svc.as_download(rendition), stream, document_id)
