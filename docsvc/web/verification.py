"""Verification under the web session: the Vietnamese (or English) HTML report of a stored
version, and "verify any PDF" (nothing kept but the audit entry). Same services as the API."""

from __future__ import annotations

from typing import Any

from flask import Response, render_template, request, url_for
from werkzeug.datastructures import FileStorage

from docsvc.errors import BadRequestError, DocsvcError, PermissionDeniedError
from docsvc.services import documents as docsvc_documents
from docsvc.services import verification as svc
from docsvc.verify import DocumentReport
from docsvc.verify.render import render_html
from docsvc.web import actor, db, flash_error, lang, runtime, texts, web
from docsvc.web.story import signature_roles, version_labels


def _report_page(report: DocumentReport, context: dict[str, Any]) -> Response:
    language = lang()
    context["script_url"] = url_for("web.static", filename="app.js")  # its print button
    return Response(render_html(report, language, context=context), mimetype="text/html",
                    headers={"Content-Language": language})


@web.post("/documents/<document_id>/versions/<int:number>/verification")
def version_report(document_id: str, number: int) -> Response:
    """Verify a stored version now (the result and an audit entry are kept, revocation data
    may be fetched online) and show the report. A POST with the CSRF token, so that no link
    on another site can make a reader's browser run verifications."""
    _, report, _ = svc.verify_version(db(), runtime().blobs, runtime().verifier, document_id=document_id,
                                      number=number, actor=actor())
    doc = docsvc_documents.get_document(db(), document_id, actor())
    labels = version_labels(doc)
    words = texts()
    back = url_for("web.document", document_id=doc.id)
    return _report_page(report, {
        "number": doc.number_notation or words["no_number"], "subject": doc.subject,
        "version": f"{number} — {labels.get(number, '')}", "back_url": back,
        "back_label": words["back"], "roles": signature_roles(db(), doc.id),
        "other_lang_url": f"{back}?lang={'en' if lang() == 'vi' else 'vi'}"})


def _read(file: FileStorage) -> bytes:
    file.stream.seek(0)
    return file.stream.read()


@web.route("/verify", methods=["GET", "POST"])
def verify_file():  # type: ignore[no-untyped-def]
    """Show the form; on POST verify the uploaded PDF and show the report."""
    if not svc.may_verify_files(actor()):
        raise PermissionDeniedError()
    if request.method == "GET":
        return render_template("verify.html")
    file = request.files.get("file")
    try:
        if file is None or not file.filename:
            raise BadRequestError("Hãy chọn tệp PDF cần kiểm tra.", "Choose the PDF to verify.")
        hashed = getattr(file.stream, "sha256", None)  # the upload spool hashed it on arrival
        report = svc.verify_upload(db(), runtime().verifier, read=lambda: _read(file), actor=actor(),
                                   filename=file.filename,
                                   sha256=hashed if isinstance(hashed, str) else None)
    except PermissionDeniedError:
        raise
    except DocsvcError as exc:
        db().rollback()
        flash_error(exc)
        return render_template("verify.html"), exc.status
    words = texts()
    return _report_page(report, {"filename": file.filename, "back_url": url_for("web.verify_file"),
                                 "back_label": words["verify_other"]})
