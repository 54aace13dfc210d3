"""Routes that read what a PDF says: ``POST /extract`` (metadata suggestions, nothing stored)."""

from __future__ import annotations

from io import BytesIO

from flask import jsonify, request

from docsvc.api import actor, api, db
from docsvc.errors import BadRequestError, PermissionDeniedError
from docsvc.extract import suggested_metadata
from docsvc.pdf import PDF_MEDIA_TYPE, inspect_pdf
from docsvc.services import reading


@api.post("/extract")
def extract():  # type: ignore[no-untyped-def]
    """Read the Phụ lục VI fields of the PDF sent as ``file`` or as an ``application/pdf`` body;
    every field with its confidence, page and box. Nothing is stored."""
    if actor().kind == "system":
        raise PermissionDeniedError()
    if request.mimetype == PDF_MEDIA_TYPE:
        stream = BytesIO(request.get_data(cache=False))
    else:
        upload = request.files.get("file")
        if upload is None:
            raise BadRequestError("Thiếu tệp PDF (trường file).", "The PDF (form field file) is missing.",
                                  details={"fields": [{"field": "file", "code": "required"}]})
        stream = upload.stream
    inspect_pdf(stream)  # 415 not a PDF, 422 damaged
    extraction = reading.read_pdf(db(), stream)
    body = extraction.to_dict()
    body["suggested_metadata"] = suggested_metadata(extraction)
    return jsonify(body)
