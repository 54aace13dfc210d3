"""What a document page shows and offers of the exchange's side flows (QCVN 102 §4.2–§4.3): the
update and replacement links, where each take-back stands, and which of revoke, take-back (13),
update (BussinessDocType 2), replacement and the answer to a take-back (15/16) the person may use
now. Who may act is the policy's ``can_write``; the states are the services' own functions, and
the services decide again when the button is pressed (the buttons are in ``actions``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from docsvc.api.serialize import links_of
from docsvc.models import Document, DocumentLink, Message, StatusEvent
from docsvc.security import can_read
from docsvc.services import documents as svc
from docsvc.services.exchange.flows import takeback_events, takeback_state
from docsvc.services.exchange.messages import not_revocation
from docsvc.web import actor, db

REPLACEABLE_MAX = 100
"""How many of the agency's latest outgoing documents the replacement picker looks through."""


@dataclass(frozen=True)
class TakeBack:
    """Where a take-back stands with one recipient (``flows.takeback_state``)."""

    state: str
    """``none``, ``pending``, ``agreed`` or ``refused``."""
    request: StatusEvent | None
    """The latest request (13): its reason and time."""
    answer: StatusEvent | None
    """The answer to it (15 or 16), if any."""


def takeback_of(document: Document, organ_id: str) -> TakeBack:
    """Return the take-back state of ``document`` with ``organ_id`` (the recipient asked: on the
    sender's copy, one of its recipients; on a received copy, its own agency)."""
    events = takeback_events(db(), document, organ_id)
    requests = [e for e in events if e.code == "13"]
    last = requests[-1] if requests else None
    answer = next((e for e in reversed(events) if e.code in ("15", "16")
                   and (last is None or e.id > last.id)), None)
    return TakeBack(takeback_state(events), last, answer)


@dataclass(frozen=True)
class Link:
    """One update or replacement link, seen from this document."""

    kind: str
    """``updates``, ``replaces`` (older documents), ``updated_by``, ``replaced_by`` (newer)."""
    document: Document | None
    """The linked document when the reader may open it."""
    edxml_id: str | None
    """The edXML DocumentId of an older document (also one never received here)."""
    reason: str | None


def _readable(document_id: str | None) -> Document | None:
    """The linked document when the person may read it (showing a link is not a read: no
    audit entry, unlike ``documents.get_document``)."""
    found = db().get(Document, document_id) if document_id is not None else None
    return found if found is not None and can_read(actor(), found) else None


def links(document: Document) -> list[Link]:
    """Return the documents this one updates or replaces, then those updating or replacing it."""
    found = links_of(document)
    out = [Link("updates" if link["kind"] == "update" else "replaces", _readable(link["target"]),
                link["document_id"], link["reason"]) for link in found["links"]]
    for kind in ("updated_by", "replaced_by"):
        for newer_id in dict.fromkeys(found[kind]):
            newer = _readable(newer_id)
            reason = next((link["reason"] for link in links_of(newer)["links"]
                           if link["target"] == document.id), None) if newer else None
            out.append(Link(kind, newer, None, reason))
    return out


def replaceable(document: Document) -> list[Document]:
    """Return the agency's sent outgoing documents ``document`` could replace (the service
    decides; this only leaves out unsent ones and those another document replaces already)."""
    page, _ = svc.list_documents(db(), svc.DocumentQuery(
        direction="outgoing", owner_organ_id=document.owner_organ_id, limit=REPLACEABLE_MAX),
        actor())
    ids = [d.id for d in page if d.id != document.id]
    # two set queries rather than two per candidate document
    sent = set(db().scalars(select(Message.local_document_id).where(
        Message.local_document_id.in_(ids), Message.kind == "edoc", Message.origin == "local",
        not_revocation())))
    replaced = set(db().scalars(select(DocumentLink.target_document_id).where(
        DocumentLink.target_document_id.in_(ids), DocumentLink.kind == "replacement")))
    return [d for d in page if d.id in sent and d.id not in replaced]


def page_context(document: Document, statuses: dict[str, Any], *, writer: bool,
                 received: bool) -> dict[str, Any]:
    """Return what the document page shows and offers of the side flows. ``writer``: the person
    may change the document (``can_write``, not revoked); ``received``: it came by the exchange."""
    recipients = [r["organ_id"] for r in statuses["recipients"]]
    sender_side = writer and document.direction == "outgoing"
    pending = takeback_of(document, document.owner_organ_id) if received else None
    return {
        "links": links(document),
        "takebacks": {r: takeback_of(document, r) for r in recipients},
        "pending_takeback": pending if pending is not None and pending.state == "pending" else None,
        "can_revoke": sender_side and bool(recipients),
        "can_takeback": sender_side and bool(recipients),
        "can_update": sender_side and bool(recipients),
        "can_answer_takeback": writer and pending is not None and pending.state == "pending",
        "replaceable": replaceable(document) if sender_side and document.status == "registered"
        and not recipients else [],
        "sent_to": recipients,
    }
