"""The buttons of a document page: register, sign, send (also as a replacement), report a status
(also the answer to a take-back request). Each calls the service the API calls; a refusal is a
403/404 page, any other failure is flashed over the document page with the form as it was
filled. Also the side flows of a sent document: revoke (confirmed), take-back request (13), update."""

from __future__ import annotations

from collections.abc import Callable
from typing import cast

from flask import Response, flash, redirect, request, session, url_for

from docsvc.errors import DocsvcError, NotFoundError, PermissionDeniedError
from docsvc.services import documents as svc
from docsvc.services import exchange, signing
from docsvc.web import actor, db, flash_error, flash_warnings, lang, runtime, texts, web
from docsvc.web.documents import names_of, status_names
from docsvc.web.forms import REFUSES, chosen, field_errors, require_confirmation, text


def act(document_id: str, action: Callable[[], str]):  # type: ignore[no-untyped-def]
    """Run ``action`` (it returns the message of success) and go back to the document."""
    try:
        done = action()
    except (NotFoundError, PermissionDeniedError):
        raise  # the error pages: existence is not revealed, nothing was done
    except DocsvcError as exc:
        db().rollback()  # the services left nothing behind; release any row lock before reading
        flash_error(exc)
        # post/redirect/get: a reload never sends the form again; what was typed and the
        # problems, next to their fields, ride in the session to the document page
        form = [(k, v) for k, v in request.form.items(multi=True)
                if k not in ("csrf_token", "confirm") and len(v) <= 2000]
        session["document_retry"] = {
            "document_id": document_id, "form": form, "status": exc.status,
            "errors": field_errors(list(exc.details.get("fields") or []), lang())}
        return redirect(url_for("web.document", document_id=document_id) + "#h-actions", 303)
    flash(done, "info")
    return redirect(url_for("web.document", document_id=document_id), 303)


@web.post("/documents/<document_id>/register")
def register(document_id: str):  # type: ignore[no-untyped-def]
    """Enter the document in the outgoing or incoming register (idempotent)."""
    def action() -> str:
        doc, warnings = svc.register_document(db(), document_id=document_id, actor=actor(),
                                              zone=runtime().settings.zone)
        flash_warnings(warnings)
        if doc.direction == "incoming":
            return texts()["registered_in"].format(number=doc.arrival_number)
        return texts()["registered_out"].format(number=doc.number_notation)
    return act(document_id, action)


def _signature_body(form=None) -> dict[str, object]:  # type: ignore[no-untyped-def]
    """Return the API's JSON body of a signature from the form (its parser checks it).

    ``page`` and ``box`` ("x1 y1 x2 y2" in points, as the preview shows them) move the
    signature away from the place found automatically."""
    form = form if form is not None else request.form
    based_on = form.get("based_on", "")
    body: dict[str, object] = {
        "role": form.get("role"), "signer": form.get("signer"),
        "level": form.get("level") or None,
        "allow_lower_level": form.get("allow_lower_level") == "1",
        "based_on": int(based_on) if based_on.isascii() and based_on.isdigit()
        and len(based_on) < 10 else based_on or None}
    box = (form.get("box") or "").replace(",", " ").split()
    if box:
        page = form.get("page") or ""
        try:
            body["placement"] = {"page": int(page) if page else -1,
                                 "box": [float(v) for v in box]}
        except ValueError:
            body["placement"] = {"box": box}  # the parser says what is wrong with it
    return body


@web.get("/documents/<document_id>/sign/preview.png")
def sign_preview(document_id: str):  # type: ignore[no-untyped-def]
    """The page with the boxes where the signature would go (nothing is signed)."""
    body = _signature_body(request.args)
    try:
        preview = signing.preview_signature(
            db(), runtime().blobs, runtime().signing, document_id=document_id, actor=actor(),
            request=lambda: signing.parse_signature_request(body))
    except (NotFoundError, PermissionDeniedError):
        raise
    except DocsvcError as exc:
        db().rollback()
        details = exc.details
        extra = ""
        if "page_size" in details:
            extra = (f" (trang {details['page']}, khổ {details['page_size']}, vùng dự kiến "
                     f"{details['candidate_area']})")
        return Response(exc.message() + extra, status=exc.status,
                        mimetype="text/plain; charset=utf-8")
    boxes = cast(dict[str, list[float] | None], preview.to_dict()["boxes"])
    headers = {"X-Docsvc-Page": str(preview.page),
               "X-Docsvc-Person-Box": " ".join(map(str, boxes["person"] or [])),
               "X-Docsvc-Seal-Box": " ".join(map(str, boxes["seal"] or []))}
    return Response(preview.png, mimetype="image/png", headers=headers)


@web.post("/documents/<document_id>/sign")
def sign(document_id: str):  # type: ignore[no-untyped-def]
    """Sign the latest version as the person or as the agency, with the chosen profile and level."""
    def action() -> str:
        body = _signature_body()
        outcome = signing.sign_document(
            db(), runtime().blobs, runtime().signing, document_id=document_id, actor=actor(),
            request=lambda: signing.parse_signature_request(body))
        flash_warnings(outcome.warnings)
        return texts()["signed"].format(number=outcome.version.number, level=outcome.record.level)
    return act(document_id, action)


@web.post("/documents/<document_id>/send")
def send(document_id: str):  # type: ignore[no-untyped-def]
    """Send the registered, signed document to the organisations chosen in the directory; with
    documents picked in ``replaces`` (and a reason), as their replacement (BussinessDocType 3)."""
    def action() -> str:
        result = exchange.send_document(db(), runtime().blobs, runtime().exchange,
                                        document_id=document_id, to=request.form.getlist("to"),
                                        replaces=chosen(request.form, "replaces"),
                                        reason=text(request.form, "replace_reason"), actor=actor())
        if not result.created:
            return texts()["already_sent"]
        done = "sent_replacement" if result.replaces else "sent"
        return texts()[done].format(names=names_of(result.created))
    return act(document_id, action)


@web.post("/documents/<document_id>/status")
def report_status(document_id: str):  # type: ignore[no-untyped-def]
    """Report the handling of a received document (02 with a reason, 03 … 06) to its sender, or
    answer its take-back request: 15 (confirmed: the content is deleted here) or 16 (a reason)."""
    def action() -> str:
        code = request.form.get("code")
        if code == "15":
            require_confirmation(request.form)
        elif code == "02":  # refusing a received document is final: never one careless click
            require_confirmation(request.form, REFUSES)
        doc, _ = exchange.report_status(db(), runtime().blobs, runtime().exchange,
                                        document_id=document_id, code=code,
                                        description=request.form.get("description"), actor=actor())
        done = texts()["reported"].format(code=code, meaning=status_names().get(code or "", ""))
        if code == "03":  # accepting registers the document: say its số đến
            done += " " + texts()["registered_in"].format(number=doc.arrival_number)
        elif code == "15":
            done += " " + texts()["content_removed"]
        return done
    return act(document_id, action)


@web.post("/documents/<document_id>/revoke")
def revoke(document_id: str):  # type: ignore[no-untyped-def]
    """Revoke a sent document (confirmed, with a reason): every recipient removes its content."""
    def action() -> str:
        require_confirmation(request.form)
        messages = exchange.revoke_document(db(), runtime().blobs, runtime().exchange,
                                            document_id=document_id,
                                            reason=text(request.form, "revoke_reason"),
                                            actor=actor())
        names = names_of(m.recipient_organ_id for m in messages)
        return texts()["revocation_sent"].format(names=names)
    return act(document_id, action)


@web.post("/documents/<document_id>/takeback")
def takeback(document_id: str):  # type: ignore[no-untyped-def]
    """Ask the recipients (all, or those picked) to give a sent document back: status 13."""
    def action() -> str:
        messages = exchange.request_takeback(db(), runtime().blobs, runtime().exchange,
                                             document_id=document_id,
                                             reason=text(request.form, "takeback_reason"),
                                             to=chosen(request.form, "takeback_to"), actor=actor())
        names = names_of(m.recipient_organ_id for m in messages)
        return texts()["takeback_sent"].format(names=names)
    return act(document_id, action)


@web.post("/documents/<document_id>/update")
def update(document_id: str):  # type: ignore[no-untyped-def]
    """Send a sent document again as an update (BussinessDocType 2) to its recipients or some."""
    def action() -> str:
        result = exchange.update_document(db(), runtime().blobs, runtime().exchange,
                                          document_id=document_id,
                                          reason=text(request.form, "update_reason"),
                                          to=chosen(request.form, "update_to"), actor=actor())
        words = texts()
        done = [words["update_sent"].format(names=names_of(result.created))] \
            if result.created else []
        if result.unchanged:
            done.append(words["update_unchanged"].format(names=names_of(result.unchanged)))
        return " ".join(done)
    return act(document_id, action)


CORRECTABLE = ("subject", "place", "signer_competence", "signer_position", "signer_name",
               "priority", "due_date", "description")
"""The metadata fields the page lets a clerk correct (the service refuses, in words, those the
register or the exchange depend on)."""


@web.post("/documents/<document_id>/metadata")
def correct(document_id: str):  # type: ignore[no-untyped-def]
    """Correct the document's metadata: only the fields whose value changed are sent to the
    service (as the API's partial object; an emptied field is cleared)."""
    def action() -> str:
        from docsvc.services.corrections import correct_metadata

        doc = svc.get_document(db(), document_id, actor())
        changes: dict[str, object] = {}
        for name in CORRECTABLE:
            if name not in request.form:
                continue
            value = request.form.get(name, "").strip()
            now = getattr(doc, name)
            now_text = "" if now is None else str(now)
            if value != now_text:
                changes[name] = (int(value) if name == "priority" and value.isdigit()
                                 else value or None)
        places = [p.strip() for p in request.form.get("to_places", "").splitlines() if p.strip()]
        if "to_places" in request.form and places != list(doc.to_places or []):
            changes["to_places"] = places
        if not changes:
            return texts()["nothing_changed"]
        _, changed, warnings = correct_metadata(
            db(), document_id=document_id, changes=changes, actor=actor(),
            allowed_organ_ids=runtime().settings.organ_id_allow)
        flash_warnings(warnings)
        return texts()["corrected"].format(fields=", ".join(
            texts().get(name, name) if isinstance(texts().get(name), str) else name
            for name in changed))
    return act(document_id, action)
