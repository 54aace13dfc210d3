"""Routes of the verification area: verify any PDF, verify a stored version (the result is
kept), and "view as signed". The trust store is the runtime's, loaded once per process.

The PDF comes as the multipart part ``file`` or as the whole request body
(``Content-Type: application/pdf``), the cheaper way for large files (no multipart parsing).
Either way it is read into memory once, without a temporary file, and hashed once, on the
pass that hashes the signed byte ranges.

Answers are JSON by default; ``Accept: text/html`` or ``application/pdf`` (or ``?format=``)
gives the human report, in Vietnamese unless ``?lang=en`` / ``Accept-Language: en``;
``Accept: application/xml`` (``?format=xml``) the ETSI TS 119 102-2 validation report.
"""

from __future__ import annotations

import hashlib
import io
from typing import IO, Any, cast

from flask import Response, jsonify, request, url_for
from werkzeug.datastructures import FileStorage
from werkzeug.http import parse_options_header

from docsvc.api import actor, api, db, lang, runtime
from docsvc.errors import BadRequestError
from docsvc.pdf import PDF_MEDIA_TYPE
from docsvc.services import verification as svc
from docsvc.verify import DocumentReport
from docsvc.verify.render import render_html, render_pdf

_FORMATS = {"json": "application/json", "html": "text/html", "pdf": "application/pdf",
            "xml": "application/xml"}  # xml: ETSI TS 119 102-2 validation report


def verifier() -> svc.Verifier:
    """Return this process's verifier (the runtime's: trust folders read once, on first use)."""
    return runtime().verifier


def _wanted_format() -> str:
    wanted = request.args.get("format")
    if wanted in _FORMATS:
        return wanted
    best = request.accept_mimetypes.best_match(list(_FORMATS.values()), default=_FORMATS["json"])
    return next(name for name, mime in _FORMATS.items() if mime == best)


def _report_response(report: DocumentReport, extra: dict[str, Any] | None = None,
                     links: list[str] | None = None) -> Response:
    """Render ``report`` in the format the client asked for."""
    fmt, language = _wanted_format(), lang()
    if fmt == "xml" and report.etsi_xml is not None:
        return Response(report.etsi_xml, mimetype="application/xml",
                        headers={"Vary": "Accept"})
    if fmt == "html":
        return Response(render_html(report, language), mimetype="text/html",
                        headers={"Content-Language": language, "Vary": "Accept, Accept-Language"})
    if fmt == "pdf":
        name = f"bao-cao-xac-thuc-{report.sha256[:12]}.pdf"
        return Response(render_pdf(report, language), mimetype="application/pdf",
                        headers={"Content-Disposition": f'inline; filename="{name}"',
                                 "Content-Language": language,
                                 "Vary": "Accept, Accept-Language"})
    body = report.to_dict(with_evidence=request.args.get("evidence") in ("1", "true"))
    if links:
        for sig, link in zip(body["signatures"], links, strict=False):
            sig["signed_revision_url"] = link
    body.update(extra or {})
    response = jsonify(body)
    response.headers["Vary"] = "Accept, Accept-Language"
    return response


_RAW_READ = 1024 * 1024
"""Bytes per read of a raw body (gunicorn hands over up to 1 MiB per socket read)."""


class _MemoryPart:
    """The sink of an uploaded part: its pieces as received, joined once at the end (a
    growing BytesIO would copy the file again on every resize)."""

    def __init__(self, *_args: object, **_kwargs: object) -> None:
        self._pieces: list[bytes] = []

    def write(self, data: bytes) -> int:
        """Keep ``data``."""
        self._pieces.append(data)
        return len(data)

    def seek(self, offset: int, whence: int = 0) -> int:
        """Accept Werkzeug's rewind once the part is complete."""
        return 0

    def getvalue(self) -> bytes:
        """Return the whole part."""
        return b"".join(self._pieces)


def _memory_part(*_args: object, **_kwargs: object) -> IO[bytes]:
    """Werkzeug's stream factory: a ``_MemoryPart`` (which writes, seeks and joins, all the
    parser asks of the file-like object it types as ``IO[bytes]``)."""
    return cast(IO[bytes], _MemoryPart())


def _form_file() -> FileStorage | None:
    """Parse the multipart body keeping its parts in memory, not in a hashed temporary file:
    the whole PDF is read into memory for validation anyway, and validation hashes the file
    on its byte-range pass, so the spool's write, read-back and extra hash pass are saved."""
    parser = request.form_data_parser_class(
        stream_factory=_memory_part, max_form_memory_size=request.max_form_memory_size,
        max_content_length=request.max_content_length, max_form_parts=request.max_form_parts,
        cls=request.parameter_storage_class)
    _, _, files = parser.parse(request.stream, request.mimetype, request.content_length,
                               request.mimetype_params)
    return files.get("file")


def _upload_bytes(upload: FileStorage | None) -> bytes:
    if upload is None:
        raise BadRequestError("Thiếu tệp PDF (trường file).", "The PDF (form field file) is missing.",
                              details={"fields": [{"field": "file", "code": "required"}]})
    stream = upload.stream
    assert isinstance(stream, _MemoryPart)  # made by _memory_part
    return stream.getvalue()


def _body_bytes() -> bytes:
    """Read a raw ``application/pdf`` body, refusing (415) what does not start like a PDF
    before reading the rest; Werkzeug's stream enforces ``MAX_CONTENT_LENGTH`` (413)."""
    stream = cast(io.RawIOBase, request.stream)  # Werkzeug's LimitedStream
    length = request.content_length
    if length is not None:  # read straight into one buffer of the announced size
        buffer = bytearray(length)
        with memoryview(buffer) as view:
            got = 0
            while got < length:
                n = stream.readinto(view[got:got + _RAW_READ])
                if not n:
                    break
                if got < 1024 <= got + n:
                    svc.require_pdf(view[:1024].tobytes())
                got += n
        del buffer[got:]
    else:  # chunked: no size known in advance
        buffer = bytearray()
        while chunk := stream.read(_RAW_READ):
            if len(buffer) < 1024 <= len(buffer) + len(chunk):
                svc.require_pdf(bytes(buffer) + chunk[:1024])
            buffer += chunk
    return bytes(buffer)


def _body_filename() -> str | None:
    _, options = parse_options_header(request.headers.get("Content-Disposition", ""))
    return options.get("filename")


@api.post("/verify")
def verify_file():  # type: ignore[no-untyped-def]
    """Validate the PDF sent as the ``file`` form part or as an ``application/pdf`` body;
    nothing is kept but the audit entry."""
    if request.mimetype == PDF_MEDIA_TYPE:
        # unhashed on purpose: validation hashes the file on its byte-range pass
        report = svc.verify_upload(db(), verifier(), read=_body_bytes, actor=actor(),
                                   filename=_body_filename(), etsi_xml=_wanted_format() == "xml")
        return _report_response(report)
    upload = _form_file()
    report = svc.verify_upload(db(), verifier(), read=lambda: _upload_bytes(upload), actor=actor(),
                               filename=upload.filename if upload else None,
                               etsi_xml=_wanted_format() == "xml")
    return _report_response(report)


@api.get("/documents/<document_id>/versions/<int:number>/verification")
def verify_version(document_id: str, number: int):  # type: ignore[no-untyped-def]
    """Validate a stored version now; the result and its evidence are kept."""
    version, report, result = svc.verify_version(
        db(), runtime().blobs, verifier(), document_id=document_id, number=number, actor=actor(),
        etsi_xml=_wanted_format() == "xml")
    links = [url_for("api.signed_revision", document_id=document_id, number=number,
                     signature=sig.index + 1) for sig in report.signatures]
    return _report_response(report, {"document_id": document_id, "version": version.number,
                                     "result_id": result.id}, links)


@api.get("/documents/<document_id>/versions/<int:number>/signatures/<int:signature>/signed-revision")
def signed_revision(document_id: str, number: int, signature: int):  # type: ignore[no-untyped-def]
    """Download the bytes the ``signature``-th (1-based) signature covers ("view as signed")."""
    _, data = svc.signed_revision_of(db(), runtime().blobs, document_id=document_id, number=number,
                                     signature=signature, actor=actor())
    name = f"{document_id}-v{number}-chu-ky-{signature}.pdf"
    return Response(data, mimetype="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="{name}"',
                             "X-Content-SHA256": hashlib.sha256(data).hexdigest(),
                             "Cache-Control": "private, no-cache"})


_ERROR = {"$ref": "#/components/responses/Error"}
_DOC_ID = {"name": "document_id", "in": "path", "required": True, "schema": {"type": "string"}}
_NUMBER = {"name": "number", "in": "path", "required": True, "schema": {"type": "integer"}}
_NEGOTIATION = [
    {"name": "format", "in": "query", "required": False, "schema": {"enum": list(_FORMATS)},
     "description": "overrides Accept"},
    {"name": "lang", "in": "query", "required": False, "schema": {"enum": ["vi", "en"]},
     "description": "language of the HTML/PDF report (default vi; or Accept-Language)"},
    {"name": "evidence", "in": "query", "required": False, "schema": {"type": "boolean"},
     "description": "include the certificates and revocation data (base64 DER) in the JSON"},
]
_SIGNATURE = {"type": "object", "properties": {
    "index": {"type": "integer", "description": "0-based"},
    "field_name": {"type": "string"},
    "kind": {"enum": ["signature", "document_timestamp"]},
    "indication": {"enum": ["TOTAL_PASSED", "TOTAL_FAILED", "INDETERMINATE"]},
    "sub_indication": {"type": ["string", "null"],
                       "description": "ETSI EN 319 102-1, e.g. HASH_FAILURE, REVOKED, "
                                      "NO_CERTIFICATE_CHAIN_FOUND, FORMAT_FAILURE"},
    "signer": {"type": ["object", "null"]}, "signing_time": {"type": ["string", "null"]},
    "timestamp_time": {"type": ["string", "null"]},
    "level": {"type": ["string", "null"], "description": "B-B, B-T, B-LT, B-LTA"},
    "modification_level": {"type": ["string", "null"]},
    "coverage": {"type": ["string", "null"], "description": "ENTIRE_FILE or ENTIRE_REVISION"},
    "changed_fields": {"type": "array", "items": {"type": "string"}},
    "revocation": {"type": ["object", "null"]},
    "notes": {"type": "array", "items": {"type": "object"}},
    "signed_revision_url": {"type": "string", "description": "stored versions only"},
}}
_REPORT = {"type": "object", "required": ["verdict", "signatures"], "properties": {
    "verdict": {"enum": ["TOTAL_PASSED", "TOTAL_FAILED", "INDETERMINATE"]},
    "sub_indication": {"type": ["string", "null"]},
    "signatures": {"type": "array", "items": _SIGNATURE},
    "sha256": {"type": "string"}, "size": {"type": "integer"},
    "validated_at": {"type": "string"}, "notes": {"type": "array", "items": {"type": "object"}},
}}
_REPORT_CONTENT = {"application/json": {"schema": _REPORT},
                   "text/html": {"schema": {"type": "string"}},
                   "application/pdf": {"schema": {"type": "string", "format": "binary"}},
                   "application/xml": {"schema": {"type": "string"},
                                       "description": "ETSI TS 119 102-2 validation report"}}
_OUTCOMES = ("An invalid signature or a damaged PDF is a report, not an error: 200 with verdict "
             "TOTAL_FAILED or INDETERMINATE (sub_indication FORMAT_FAILURE for a file pyHanko "
             "cannot read). Only a file that is not a PDF at all (no %PDF- header) is refused "
             "with 415.")

OPENAPI_PATHS: dict[str, Any] = {
    "/verify": {"post": {
        "summary": "Verify the signatures of any PDF (ETSI EN 319 102-1 report)",
        "description": "Any authenticated person (not linked systems). Nothing is stored except "
                       "the audit entry verification.run with the file's SHA-256. " + _OUTCOMES,
        "parameters": _NEGOTIATION,
        "requestBody": {
            "required": True,
            "description": "The PDF, either as the multipart part file or as the whole body "
                           "with Content-Type: application/pdf (no multipart parsing: the "
                           "cheaper way for large files; an optional Content-Disposition "
                           "filename goes to the audit entry). Both give the same report.",
            "content": {
                "multipart/form-data": {"schema": {
                    "type": "object", "required": ["file"],
                    "properties": {"file": {"type": "string", "format": "binary"}}}},
                PDF_MEDIA_TYPE: {"schema": {"type": "string", "format": "binary"}},
            }},
        "responses": {"200": {"description": "The report", "content": _REPORT_CONTENT},
                      **{str(s): _ERROR for s in (400, 401, 403, 413, 415)}},
    }},
    "/documents/{document_id}/versions/{number}/verification": {"get": {
        "summary": "Verify a stored version now; the result and its evidence are kept",
        "description": "Readers of the document. Each call validates again (revocation may have "
                       "changed) and stores the result; the JSON adds document_id, version, "
                       "result_id and each signature's signed_revision_url. " + _OUTCOMES,
        "parameters": [_DOC_ID, _NUMBER, *_NEGOTIATION],
        "responses": {"200": {"description": "The report", "content": _REPORT_CONTENT},
                      **{str(s): _ERROR for s in (401, 404, 503)}},
    }},
    "/documents/{document_id}/versions/{number}/signatures/{signature}/signed-revision": {"get": {
        "summary": "View as signed: the bytes the signature covers",
        "description": "signature is 1-based (the report's index + 1). Readers of the document. "
                       "422 signature_not_found when there is no such signature or its byte "
                       "range is not sound.",
        "parameters": [_DOC_ID, _NUMBER, {"name": "signature", "in": "path", "required": True,
                                          "schema": {"type": "integer", "minimum": 1}}],
        "responses": {"200": {"description": "The signed revision",
                              "content": {"application/pdf": {"schema": {
                                  "type": "string", "format": "binary"}}}},
                      **{str(s): _ERROR for s in (401, 404, 422)}},
    }},
}
