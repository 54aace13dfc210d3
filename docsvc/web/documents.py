"""Pages of the registry: the list and search, one document with what the person may do with it
(the side flows' part: ``side_flows``), the upload form, the exchange trace and the download of a
version."""

from __future__ import annotations

from typing import Any

from flask import flash, jsonify, redirect, render_template, request, url_for

from docsvc.api.signatures import signing_tools
from docsvc.downloads import version_response
from docsvc.errors import DocsvcError, InvalidMetadataError, PermissionDeniedError
from docsvc.exchange import STATUS_CODES
from docsvc.metadata import parse_metadata
from docsvc.models import DIRECTIONS
from docsvc.security import can_create_in, can_read_history, can_write
from docsvc.services import directory as dirsvc
from docsvc.services import documents as svc
from docsvc.services import exchange, signing
from docsvc.web import actor, db, flash_error, flash_warnings, lang, runtime, texts, web
from docsvc.web.forms import CHOICES, UPLOAD_DEFAULTS, field_errors, metadata_from_form, missing_file
from docsvc.web.side_flows import page_context


def status_names() -> dict[str, str]:
    """Return the meaning of each edXML status code in the reader's language."""
    index = 1 if lang() == "en" else 0
    return {code: names[index] for code, names in STATUS_CODES.items()}


def status_note(event: dict[str, Any]) -> str:
    """Return a status's description unless it only repeats the code's meaning (the default)."""
    description = event.get("description") or ""
    return "" if description == STATUS_CODES.get(event.get("code") or "", ("",))[0] else description


@web.app_template_filter("utc")
def utc_filter(value: str | None) -> str:
    """Show an ISO 8601 UTC time of the services to the second: ``2018-06-19 08:04:05 UTC``."""
    return f"{value[:19].replace('T', ' ')} UTC" if value else ""


@web.get("/")
def index():  # type: ignore[no-untyped-def]
    """List and search the documents the person may read."""
    query = svc.DocumentQuery(q=request.args.get("q") or None, after=request.args.get("after") or None,
                              limit=50)
    try:
        page, next_after = svc.list_documents(db(), query, actor())
    except DocsvcError as exc:
        flash_error(exc)
        page, next_after = [], None
    return render_template("index.html", documents=page, next_after=next_after, q=query.q or "")


@web.get("/search")
def search():  # type: ignore[no-untyped-def]
    """Full-text search of the documents the person may read, with highlighted snippets."""
    from docsvc.services.search import SearchQuery, search_documents

    q = request.args.get("q") or ""
    direction = request.args.get("direction") if request.args.get("direction") in DIRECTIONS else None
    hits = []
    if q.strip():
        try:
            hits = search_documents(db(), SearchQuery(q=q, direction=direction, limit=50), actor())
        except DocsvcError as exc:
            flash_error(exc)
    return render_template("search.html", hits=hits, q=q, direction=direction or "")


def document_page(document_id: str, *, status: int = 200, form: Any = None):  # type: ignore[no-untyped-def]
    """Render a document with the forms of what the person may do now; ``form`` refills the one
    that just failed, so nothing typed is lost."""
    me, session = actor(), db()
    doc = svc.get_document(session, document_id, me)
    history = svc.history(session, document_id=doc.id, actor=me) if can_read_history(me, doc) else []
    statuses = exchange.document_statuses(session, document_id=doc.id, actor=me)
    received = doc.direction == "incoming" and bool(statuses["reported"]["history"])
    writer = can_write(me, doc) and doc.revoked_at is None
    options = signing.signing_options(session, document=doc, actor=me)
    levels = signing.available_levels(signing_tools()) if options else ()
    default_level = signing_tools().default_level() if options else None
    organizations = dirsvc.list_organizations(session)
    from docsvc.services import jobs as jobsvc
    from docsvc.services.reading import renditions_of

    return render_template(
        "document.html", doc=doc, history=history, statuses=statuses, form=form or {},
        jobs=jobsvc.document_jobs(session, doc), renditions=renditions_of(session, doc),
        can_register=writer and doc.status == "draft" and not received,
        sign_options=options, levels=levels, default_level=default_level,
        can_send=writer and doc.direction == "outgoing" and doc.status == "registered",
        can_report=writer and received, clerk_codes=exchange.CLERK_CODES,
        organizations=[o for o in organizations if o.organ_id != doc.owner_organ_id],
        org_names={o.organ_id: o.name for o in organizations}, status_names=status_names(),
        status_note=status_note, **page_context(doc, statuses, writer=writer, received=received),
    ), status


@web.get("/documents/<document_id>")
def document(document_id: str):  # type: ignore[no-untyped-def]
    """Show one document: metadata, versions, signatures' reports, exchange, history, actions."""
    return document_page(document_id)


@web.get("/documents/<document_id>/versions/<int:number>/content")
def version_content(document_id: str, number: int):  # type: ignore[no-untyped-def]
    """Download one version's PDF."""
    version, stream = svc.open_version(db(), runtime().blobs, document_id=document_id,
                                       number=number, actor=actor())
    return version_response(version, stream, document_id)


@web.get("/documents/<document_id>/versions/<int:number>/searchable")
def searchable_content(document_id: str, number: int):  # type: ignore[no-untyped-def]
    """Download the searchable (OCR'd) rendition of a version."""
    from docsvc.services.reading import as_download, open_rendition

    rendition, stream = open_rendition(db(), runtime().blobs, document_id=document_id,
                                       number=number, actor=actor())
    return version_response(as_download(rendition), stream, document_id)


@web.get("/documents/<document_id>/trace")
def trace(document_id: str):  # type: ignore[no-untyped-def]
    """Show every hop, transport event and status of the document in order."""
    doc = svc.get_document(db(), document_id, actor())
    events = exchange.document_trace(db(), document_id=doc.id, actor=actor())["events"]
    return render_template("trace.html", doc=doc, events=events, status_names=status_names(),
                           status_note=status_note)


def _upload_form(form: Any, problems: list[dict[str, Any]] | None = None, status: int = 200):  # type: ignore[no-untyped-def]
    return render_template("upload.html", form=form, errors=field_errors(problems or [], lang()),
                           problems=problems or [], **CHOICES), status


@web.route("/upload", methods=["GET", "POST"])
def upload():  # type: ignore[no-untyped-def]
    """Show the upload form (clerks); on POST store the PDF as a new draft document."""
    me, settings = actor(), runtime().settings
    owner = me.organ_id or settings.organ_id
    if request.method == "GET":
        if not can_create_in(me, owner):
            raise PermissionDeniedError()
        org = dirsvc.find(db(), owner)
        return _upload_form({**UPLOAD_DEFAULTS, "organ_id": owner, "organ_name": org.name if org else ""})
    if not can_create_in(me, owner):
        svc.deny(db(), me, "document.upload", organ_id=owner)  # recorded, then 403
    file = request.files.get("file")
    problems = missing_file(file)
    try:
        metadata = parse_metadata(metadata_from_form(request.form, lambda organ_id: _org_name(organ_id)),
                                  allowed_organ_ids=settings.organ_id_allow)
    except InvalidMetadataError as exc:
        problems.extend(exc.details["fields"])
    if problems:
        flash_error(InvalidMetadataError())
        return _upload_form(request.form, problems, 400)
    assert file is not None
    try:
        doc, warnings = svc.upload_document(db(), runtime().blobs, stream=file.stream,
                                            filename=file.filename, metadata=metadata,
                                            owner_organ_id=owner, actor=me)
    except PermissionDeniedError:
        raise
    except DocsvcError as exc:
        db().rollback()
        flash_error(exc)
        return _upload_form(request.form, None, exc.status)
    from docsvc.queue import dispatch
    from docsvc.services.jobs import plan_after_upload

    dispatch(runtime(), [job.id for job in plan_after_upload(db(), doc, settings, me)])
    flash(texts()["uploaded"], "info")
    flash_warnings(warnings)
    return redirect(url_for("web.document", document_id=doc.id), 303)


@web.post("/upload/extract")
def upload_extract():  # type: ignore[no-untyped-def]
    """Read the metadata of the chosen PDF for the upload form's pre-fill (JSON; nothing stored)."""
    from docsvc.pdf import inspect_pdf
    from docsvc.services.reading import suggest

    me = actor()
    if not can_create_in(me, me.organ_id or runtime().settings.organ_id):
        raise PermissionDeniedError()
    file = request.files.get("file")
    if file is None or not file.filename:
        return jsonify({"fields": {}, "reason": "no_file"}), 400
    try:
        inspect_pdf(file.stream)
    except DocsvcError as exc:
        return jsonify({"fields": {}, "reason": exc.code}), exc.status
    return jsonify(suggest(db(), file.stream, {}))


def _org_name(organ_id: str) -> str | None:
    org = dirsvc.find(db(), organ_id)
    return org.name if org else None
