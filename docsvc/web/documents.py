"""Pages of the registry: the list and search, one document with what the person may do with it
(the side flows' part: ``side_flows``), the upload form, the exchange trace and the download of a
version."""

from __future__ import annotations

import datetime as dt
import secrets
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any, BinaryIO, cast

from flask import flash, jsonify, redirect, render_template, request, session, url_for
from werkzeug.datastructures import MultiDict

from docsvc.downloads import version_response
from docsvc.errors import DocsvcError, InvalidMetadataError, PermissionDeniedError
from docsvc.exchange import STATUS_CODES
from docsvc.metadata import parse_metadata
from docsvc.models import DIRECTIONS
from docsvc.security import can_create_in, can_read_history, can_write
from docsvc.services import directory as dirsvc
from docsvc.services import documents as svc
from docsvc.services import exchange, signing
from docsvc.web import actor, db, flash_error, flash_warnings, lang, runtime, story, texts, web
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


@web.app_template_filter("local")
def local_filter(value: Any, seconds: bool = False) -> Any:
    """Show a time of the services in Vietnam time: ``19/06/2018 15:04`` in a ``<time>``."""
    return story.local_time(value, seconds)


@web.app_template_filter("day")
def day_filter(value: Any) -> str:
    """Show a date as ``19/06/2018``."""
    return story.local_date(value)


@web.app_template_filter("size")
def size_filter(value: int | None) -> str:
    """Show a size in B, KB or MB."""
    return story.human_size(value, lang())


@web.get("/")
def index():  # type: ignore[no-untyped-def]
    """List and search the documents the person may read."""
    direction = request.args.get("direction")
    type_name = request.args.get("type_name")
    year = request.args.get("year", "")
    year_ok = year.isascii() and year.isdigit() and len(year) == 4
    query = svc.DocumentQuery(
        q=request.args.get("q") or None, after=request.args.get("after") or None, limit=50,
        direction=direction if direction in ("outgoing", "incoming") else None,
        type_name=type_name if type_name in CHOICES["type_names"] else None,
        issued_from=dt.date(int(year), 1, 1) if year_ok else None,
        issued_to=dt.date(int(year), 12, 31) if year_ok else None)
    try:
        page, next_after = svc.list_documents(db(), query, actor())
    except DocsvcError as exc:
        flash_error(exc)
        page, next_after = [], None
    filters = {"direction": query.direction or "", "type_name": query.type_name or "",
               "year": year if year_ok else ""}
    more = "&".join(f"{k}={v}" for k, v in filters.items() if v)
    return render_template("index.html", documents=page, next_after=next_after, q=query.q or "",
                           filters=filters, more=more, type_names=CHOICES["type_names"],
                           years=range(dt.date.today().year, dt.date.today().year - 10, -1),
                           **list_marks(page))


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


def list_marks(documents: Sequence[Any]) -> dict[str, Any]:
    """Return what a list shows beside each document: its stage, new and overdue marks."""
    from docsvc.web.inboxes import sort_inboxes

    ids = [d.id for d in documents]
    records = story.signature_records(db(), ids)
    sent = story.sent_documents(db(), ids)
    boxes = sort_inboxes(db(), actor())
    return {"stages": {d.id: story.stage(d, records[d.id], d.id in sent) for d in documents},
            "new_ids": {d.id for d in boxes.get("new_incoming", [])},
            "overdue_ids": {d.id for d in boxes.get("overdue", [])}}


def org_tree(organizations: Sequence[Any], exclude: str | None = None) -> list[dict[str, Any]]:
    """Return the directory as a tree (province → departments → communes) for the recipient
    picker; ``exclude`` (the sender) is shown but cannot be picked."""
    from docsvc.metadata import fold

    nodes = {o.organ_id: {"organ_id": o.organ_id, "name": o.name, "children": [],
                          "disabled": o.organ_id == exclude,
                          "search": fold(f"{o.name} {o.organ_id}")} for o in organizations}
    roots: list[dict[str, Any]] = []
    for o in organizations:
        parent = nodes.get(o.parent_id or "")
        (parent["children"] if parent else roots).append(nodes[o.organ_id])
    return roots


def document_page(document_id: str, *, status: int = 200, form: Any = None,
                  errors: dict[str, list[str]] | None = None) -> tuple[str, int]:
    """Render a document with the forms of what the person may do now; ``form`` refills the one
    that just failed, so nothing typed is lost."""
    me, session = actor(), db()
    doc = svc.get_document(session, document_id, me)
    history = svc.history(session, document_id=doc.id, actor=me) if can_read_history(me, doc) else []
    statuses = exchange.document_statuses(session, document_id=doc.id, actor=me)
    received = doc.direction == "incoming" and bool(statuses["reported"]["history"])
    writer = can_write(me, doc) and doc.revoked_at is None
    options = signing.signing_options(session, document=doc, actor=me)
    levels = signing.available_levels(runtime().signing) if options else ()
    default_level = runtime().signing.default_level() if options else None
    organizations = dirsvc.list_organizations(session)
    from docsvc.services import jobs as jobsvc
    from docsvc.services.reading import renditions_of

    org_names = {o.organ_id: o.name for o in organizations}
    records = story.signature_records(session, [doc.id])[doc.id]
    sent = bool(statuses["recipients"])
    current = story.stage(doc, records, sent, statuses)
    accepted = sum(1 for r in statuses["recipients"]
                   if (r.get("latest") or {}).get("code") in ("03", "04", "05", "06"))
    return render_template(
        "document.html", doc=doc, statuses=statuses, form=form or {}, errors=errors or {},
        history=story.history_lines(session, history, lang(), texts(), org_names, status_names()),
        stage=current, steps=story.steps(doc, current), accepted=accepted,
        version_labels=story.version_labels(doc, records), records=records,
        jobs=jobsvc.document_jobs(session, doc), renditions=renditions_of(session, doc),
        can_register=writer and doc.status == "draft" and not received,
        can_correct=writer and me.kind == "user",
        sign_options=options, levels=levels, default_level=default_level,
        can_send=writer and doc.direction == "outgoing" and doc.status == "registered",
        can_report=writer and received, clerk_codes=exchange.CLERK_CODES,
        organizations=[o for o in organizations if o.organ_id != doc.owner_organ_id],
        org_names=org_names, status_names=status_names(),
        org_tree=org_tree(organizations, exclude=doc.owner_organ_id),
        status_note=status_note, **page_context(doc, statuses, writer=writer, received=received),
    ), status


@web.get("/documents/<document_id>")
def document(document_id: str):  # type: ignore[no-untyped-def]
    """Show one document: metadata, versions, signatures' reports, exchange, history, actions;
    after a failed action (redirected here), with the form as it was filled and its problems."""
    retry = session.pop("document_retry", None)
    if isinstance(retry, dict) and retry.get("document_id") == document_id:
        return document_page(document_id, form=MultiDict(retry.get("form") or []),
                             errors=retry.get("errors") or {})
    return document_page(document_id)


@web.get("/documents/<document_id>/versions/<int:number>/content")
def version_content(document_id: str, number: int):  # type: ignore[no-untyped-def]
    """Download one version's PDF."""
    version, stream = svc.open_version(db(), runtime().blobs, document_id=document_id,
                                       number=number, actor=actor())
    return version_response(version, stream, document_id)


@web.get("/documents/<document_id>/attachments/<int:number>/content")
def attachment_content(document_id: str, number: int):  # type: ignore[no-untyped-def]
    """Download one of the document's attachments."""
    version, stream = svc.open_version(db(), runtime().blobs, document_id=document_id,
                                       number=number, actor=actor(), attachment=True)
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
    org_names = {o.organ_id: o.name for o in dirsvc.list_organizations(db())}
    return render_template("trace.html", doc=doc, events=events, status_names=status_names(),
                           status_note=status_note, org_names=org_names)


def _upload_form(form: Any, problems: list[dict[str, Any]] | None = None, status: int = 200,
                 kept: dict[str, str] | None = None) -> tuple[str, int]:
    me, settings = actor(), runtime().settings
    return render_template("upload.html", form=form, errors=field_errors(problems or [], lang()),
                           problems=problems or [], kept=kept,
                           org_tree=org_tree(dirsvc.list_organizations(db()),
                                             exclude=me.organ_id or settings.organ_id),
                           **CHOICES), status


KEPT_FILES = "web-kept-uploads"
"""The folder (under the data folder) of the PDFs chosen on an upload form that failed its
checks, kept for the corrected form (one per session, replaced by the next)."""


def _keep_file(file: Any) -> dict[str, str] | None:
    """Keep the chosen PDF while the person corrects the form; return what the session holds."""
    if file is None or not file.filename:
        return None
    folder = runtime().settings.data_dir / KEPT_FILES
    folder.mkdir(parents=True, exist_ok=True)
    _drop_kept_file()
    token = secrets.token_urlsafe(18)
    file.stream.seek(0)
    with open(folder / f"{token}.pdf", "wb") as out:
        shutil.copyfileobj(file.stream, out, 1 << 20)
    kept = {"token": token, "filename": file.filename[:200]}
    session["kept_upload"] = kept
    return kept


def _kept_file() -> tuple[dict[str, str], Path] | None:
    kept = session.get("kept_upload")
    if not isinstance(kept, dict) or not str(kept.get("token", "")).replace("-", "").replace(
            "_", "").isalnum():
        return None
    path = runtime().settings.data_dir / KEPT_FILES / f"{kept['token']}.pdf"
    return (kept, path) if path.is_file() else None


def _drop_kept_file() -> None:
    found = _kept_file()
    session.pop("kept_upload", None)
    if found:
        found[1].unlink(missing_ok=True)


@web.route("/upload", methods=["GET", "POST"])
def upload():  # type: ignore[no-untyped-def]
    """Show the upload form (clerks); on POST store the PDF as a new draft document. A form that
    fails its checks comes back by a redirect (post/redirect/get) with what was typed, the
    problems next to their fields and the chosen PDF kept (it need not be chosen again)."""
    me, settings = actor(), runtime().settings
    owner = me.organ_id or settings.organ_id
    if request.method == "GET":
        if not can_create_in(me, owner):
            raise PermissionDeniedError()
        retry = session.pop("upload_retry", None)
        found = _kept_file()
        if isinstance(retry, dict):
            return _upload_form(MultiDict(retry.get("form") or []), retry.get("problems") or [],
                                kept=found[0] if found else None)
        if found:
            _drop_kept_file()
        org = dirsvc.find(db(), owner)
        return _upload_form({**UPLOAD_DEFAULTS, "organ_id": owner, "organ_name": org.name if org else ""})
    if not can_create_in(me, owner):
        svc.deny(db(), me, "document.upload", organ_id=owner)  # recorded, then 403
    file = request.files.get("file")
    kept = _kept_file() if request.form.get("kept_file") else None
    problems = [] if kept else missing_file(file)
    if file is not None and file.filename:
        kept = None  # a newly chosen file wins
    try:
        metadata = parse_metadata(metadata_from_form(request.form, lambda organ_id: _org_name(organ_id)),
                                  allowed_organ_ids=settings.organ_id_allow)
    except InvalidMetadataError as exc:
        problems.extend(exc.details["fields"])
    if problems:
        flash_error(InvalidMetadataError())
        return _retry_upload(file, problems)
    annexes = [(cast(BinaryIO, f.stream), f.filename)
               for f in request.files.getlist("annexes") if f.filename][:20]
    try:
        if kept:
            with open(kept[1], "rb") as stream:
                doc, warnings = svc.upload_document(db(), runtime().blobs, stream=stream,
                                                    filename=kept[0]["filename"], metadata=metadata,
                                                    owner_organ_id=owner, actor=me,
                                                    attachments=annexes,
                                                    max_pages=runtime().settings.max_pdf_pages)
        else:
            assert file is not None
            doc, warnings = svc.upload_document(db(), runtime().blobs,
                                                stream=cast(BinaryIO, file.stream),
                                                filename=file.filename, metadata=metadata,
                                                owner_organ_id=owner, actor=me,
                                                attachments=annexes,
                                                max_pages=runtime().settings.max_pdf_pages)
    except PermissionDeniedError:
        raise
    except DocsvcError as exc:
        db().rollback()
        flash_error(exc)
        _drop_kept_file()  # a file the service refused (not a PDF, damaged) is not kept
        return _retry_upload(None, [])
    _drop_kept_file()
    from docsvc.queue import dispatch
    from docsvc.services.jobs import plan_after_upload

    dispatch(runtime(), [job.id for job in plan_after_upload(db(), doc, settings, me)])
    flash(texts()["uploaded"], "info")
    flash_warnings(warnings)
    return redirect(url_for("web.document", document_id=doc.id), 303)


def _retry_upload(file: Any, problems: list[dict[str, Any]]):  # type: ignore[no-untyped-def]
    """Go back to the form (303): what was typed and the problems ride in the session."""
    if file is not None and file.filename:
        _keep_file(file)
    form = [(k, v) for k, v in request.form.items(multi=True)
            if k not in ("csrf_token", "kept_file") and len(v) <= 2000]
    session["upload_retry"] = {"form": form, "problems": problems[:40]}
    return redirect(url_for("web.upload"), 303)


def names_of(organ_ids: Any) -> str:
    """Return the directory's names of organisations, comma separated (the code when unknown)."""
    return ", ".join((_org_name(organ_id) or organ_id) for organ_id in organ_ids)


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
        inspect_pdf(cast(BinaryIO, file.stream))
    except DocsvcError as exc:
        return jsonify({"fields": {}, "reason": exc.code}), exc.status
    return jsonify(suggest(db(), cast(BinaryIO, file.stream), {}))


def _org_name(organ_id: str) -> str | None:
    org = dirsvc.find(db(), organ_id)
    return org.name if org else None
