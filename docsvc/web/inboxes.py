"""The inboxes of a person's day, with their counts in the header: to sign (signers), to seal
and number, to send (clerks), new incoming documents and those past their handling deadline.

"New" incoming means: received by the person's agency and not handled yet (no status reported to
the sender beyond 01 "đã đến", which this instance answers on arrival). The inboxes read the
person's own agency's registry and keep only the documents the person may read (secrecy
clearance)."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from flask import abort, render_template
from sqlalchemy import select
from sqlalchemy.orm import Session

from docsvc.models import Document
from docsvc.models.exchange import StatusEvent
from docsvc.security import Actor, can_read
from docsvc.web import actor, db, web
from docsvc.web.story import VN, sent_documents, signature_records, stage

log = logging.getLogger(__name__)
INBOXES = ("to_sign", "to_seal", "to_send", "new_incoming", "overdue")


def visible(me: Actor | None) -> tuple[str, ...]:
    """Return the inboxes that concern the person (by role)."""
    if me is None or me.kind != "user" or not me.organ_id:
        return ()
    shown: list[str] = []
    if me.has_role("signer"):
        shown.append("to_sign")
    if me.has_role("clerk"):
        shown += ["to_seal", "to_send", "new_incoming"]
    if me.has_role("clerk") or me.has_role("signer"):
        shown.append("overdue")
    return tuple(shown)


def _candidates(session: Session, me: Actor) -> list[Document]:
    rows = session.execute(select(Document).where(
        Document.owner_organ_id == me.organ_id, Document.revoked_at.is_(None))
        .order_by(Document.created_at.desc()).limit(2000)).scalars()
    return [d for d in rows if can_read(me, d)]


def sort_inboxes(session: Session, me: Actor) -> dict[str, list[Document]]:
    """Return each inbox of the person with its documents, newest first."""
    wanted = visible(me)
    boxes: dict[str, list[Document]] = {name: [] for name in wanted}
    if not wanted:
        return boxes
    docs = _candidates(session, me)
    ids = [d.id for d in docs]
    records = signature_records(session, ids)
    sent = sent_documents(session, ids)
    reported: dict[str, str] = {}
    incoming = [d.id for d in docs if d.direction == "incoming"]
    if incoming:
        for event in session.execute(select(StatusEvent).where(
                StatusEvent.local_document_id.in_(incoming), StatusEvent.direction == "out")
                .order_by(StatusEvent.id)).scalars():
            reported[event.local_document_id] = event.code
    today = dt.datetime.now(VN).date()
    for doc in docs:
        roles = {r.role for r in records[doc.id]}
        if doc.direction == "outgoing":
            where = stage(doc, records[doc.id], doc.id in sent)
            if where == "registered" and "to_sign" in boxes:
                boxes["to_sign"].append(doc)
            if "to_seal" in boxes and (where == "draft" or (where == "signed" and "agency" not in roles)):
                boxes["to_seal"].append(doc)
            if "to_send" in boxes and where == "issued" and not doc.is_secret:
                boxes["to_send"].append(doc)
            late = doc.due_date is not None and doc.due_date < today and where not in ("sent", "handled")
        else:
            code = reported.get(doc.id)
            if "new_incoming" in boxes and code in (None, "01"):  # 01: arrived, nothing done
                boxes["new_incoming"].append(doc)
            late = doc.due_date is not None and doc.due_date < today and code not in ("02", "06")
        if late and "overdue" in boxes:
            boxes["overdue"].append(doc)
    return boxes


def inbox_counts() -> dict[str, int]:
    """Return the count of each of the person's inboxes (for the header)."""
    me = actor()
    if not visible(me):
        return {}
    return {name: len(docs) for name, docs in sort_inboxes(db(), me).items()}


@web.get("/inbox/<name>")
def inbox(name: str):  # type: ignore[no-untyped-def]
    """List one inbox of the person."""
    me = actor()
    if name not in INBOXES:
        abort(404)
    boxes = sort_inboxes(db(), me)
    if name not in boxes:
        abort(404)
    docs = boxes[name]
    from docsvc.web.documents import list_marks

    return render_template("inbox.html", name=name, documents=docs, **list_marks(docs))


def page_inboxes() -> dict[str, Any]:
    """Return what the header shows: the person's inboxes and their counts."""
    try:
        return {"inboxes": inbox_counts()}
    except Exception:  # noqa: BLE001  (the header never breaks a page, e.g. an error page)
        log.exception("inbox counts")
        db().rollback()
        return {"inboxes": {}}
