"""What a document page tells a person: where the document stands (draft → registered → signed
→ issued → sent → each recipient's handling), what each version is, and its history in words,
with times in Vietnam time (+07:00) and sizes in KB/MB. Read-only views over the services'
models; nothing here changes a document."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any, cast

from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.orm import Session

from docsvc.errors import DocsvcError
from docsvc.models import Document, User
from docsvc.models.exchange import Message
from docsvc.models.signing import SignatureRecord

VN = dt.timezone(dt.timedelta(hours=7))


def to_local(value: dt.datetime | dt.date | str | None) -> dt.datetime | None:
    """Return a time of the services (naive UTC, aware, or ISO 8601) in Vietnam time."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    if not isinstance(value, dt.datetime):
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(VN)


def local_time(value: Any, seconds: bool = False) -> Markup:
    """Render a time as ``<time datetime="…+07:00">19/06/2018 15:04</time>`` (Vietnam time)."""
    local = to_local(value)
    if local is None:
        return Markup("")
    shown = local.strftime("%d/%m/%Y %H:%M:%S" if seconds else "%d/%m/%Y %H:%M")
    return Markup('<time datetime="{}">{}</time>').format(
        local.replace(microsecond=0).isoformat(), shown)


def local_date(value: dt.date | str | None) -> str:
    """Render a date as ``19/06/2018``."""
    if not value:
        return ""
    if isinstance(value, str):
        value = dt.date.fromisoformat(value[:10])
    return value.strftime("%d/%m/%Y")


def human_size(size: int | None, lang: str = "vi") -> str:
    """Return ``812 B``, ``34,5 KB`` or ``2,1 MB`` (a decimal point in English)."""
    if size is None:
        return ""
    if size < 1024:
        text = f"{size} B"
    elif size < 1024 * 1024:
        text = f"{size / 1024:.1f} KB"
    else:
        text = f"{size / 1024 / 1024:.1f} MB"
    return text if lang == "en" else text.replace(".", ",")


def signature_records(session: Session, document_ids: Iterable[str]) -> dict[str, list[SignatureRecord]]:
    """Return the signatures docsvc applied, per document, oldest first."""
    ids = list(document_ids)
    out: dict[str, list[SignatureRecord]] = {i: [] for i in ids}
    if not ids:
        return out
    rows = session.execute(select(SignatureRecord).where(SignatureRecord.document_id.in_(ids))
                           .order_by(SignatureRecord.id)).scalars()
    for row in rows:
        out[row.document_id].append(row)
    return out


def signature_roles(session: Session, document_id: str) -> dict[str, str]:
    """Return the role of each signature field docsvc filled in the document (person, agency …)."""
    return {r.field_name: r.role for r in signature_records(session, [document_id])[document_id]
            if r.field_name}


def sent_documents(session: Session, document_ids: Iterable[str]) -> set[str]:
    """Return which of the documents went out to at least one recipient."""
    ids = list(document_ids)
    if not ids:
        return set()
    rows = session.execute(select(Message.local_document_id).where(
        Message.local_document_id.in_(ids), Message.kind == "edoc", Message.origin == "local"))
    return {cast(str, r[0]) for r in rows}  # in_(ids): never NULL


def version_labels(doc: Document, records: list[SignatureRecord] | None = None,
                   words: dict[str, Any] | None = None) -> dict[int, str]:
    """Name each version of the main file by what it is: the original, the person's signature,
    the agency's seal (issued), a received signed file."""
    from docsvc.web import texts

    words = words or texts()
    kinds = words["version_kinds"]
    by_version = {r.version_id: r for r in records or ()}
    labels: dict[int, str] = {}
    for version in doc.file_versions:
        record = by_version.get(version.id)
        if record is not None:
            labels[version.number] = kinds.get(record.role, kinds["signed"])
        elif version.kind == "original":
            labels[version.number] = kinds["received"] if doc.direction == "incoming" \
                else kinds["original"]
        else:
            labels[version.number] = kinds["signed"]
    if records is None:  # the report page: the records were not read, name signed ones by kind
        from docsvc.web import db

        recs = signature_records(db(), [doc.id])[doc.id]
        if recs:
            return version_labels(doc, recs, words)
    return labels


STEPS_OUT = ("draft", "registered", "signed", "issued", "sent", "handled")
STEPS_IN = ("received", "registered_in", "handling", "handled")


def stage(doc: Document, records: list[SignatureRecord], sent: bool,
          statuses: dict[str, Any] | None = None) -> str:
    """Return where the document stands: one of ``STEPS_OUT`` or ``STEPS_IN``, or ``revoked``."""
    if doc.revoked_at is not None:
        return "revoked"
    if doc.direction == "incoming":
        reported = (statuses or {}).get("reported", {}).get("latest") if statuses else None
        if reported in ("02",):
            return "refused"
        if reported == "06":
            return "handled"
        if reported in ("04", "05"):
            return "handling"
        return "registered_in" if doc.status == "registered" else "received"
    roles = {r.role for r in records}
    if doc.status == "draft" and not roles:  # (signatures first: a signed draft is signed)
        return "draft"
    if sent:
        recipients = (statuses or {}).get("recipients") or []
        if recipients and all((r.get("latest") or {}).get("code") == "06" for r in recipients):
            return "handled"
        return "sent"
    if "agency" in roles:
        return "issued"
    if "person" in roles:
        return "signed"
    return "registered"


def steps(doc: Document, current: str) -> list[dict[str, Any]]:
    """Return the steps of the document's road with the ones done, the current one and the rest."""
    road = STEPS_IN if doc.direction == "incoming" else STEPS_OUT
    where = road.index(current) if current in road else -1
    return [{"key": key, "done": i < where, "current": i == where} for i, key in enumerate(road)]


def person_names(session: Session, labels: Iterable[str]) -> dict[str, str]:
    """Return the full name of each ``user:…`` audit label (systems keep a readable label)."""
    users = {label.split(":", 1)[1] for label in labels if label.startswith("user:")}
    names: dict[str, str] = {}
    if users:
        for user in session.execute(select(User).where(User.username.in_(users))).scalars():
            names[f"user:{user.username}"] = user.full_name or user.username
    return names


def _error_messages() -> dict[str, tuple[str, str]]:
    found: dict[str, tuple[str, str]] = {}
    todo: list[type[DocsvcError]] = [DocsvcError]
    while todo:
        cls = todo.pop()
        found.setdefault(cls.code, (cls.message_vi, cls.message_en))
        todo.extend(cls.__subclasses__())
    return found


def history_lines(session: Session, entries: Iterable[Any], lang: str, words: dict[str, Any],
                  org_names: dict[str, str], status_names: dict[str, str]) -> list[dict[str, Any]]:
    """Return the history in words: when, who (name and role), what, and why it failed."""
    entries = list(entries)
    names = person_names(session, (e.actor for e in entries))
    errors = _error_messages()
    actions, actors = words["history_actions"], words["history_actors"]
    lines = []
    for entry in entries:
        details = entry.details or {}
        who = names.get(entry.actor) or actors.get(entry.actor.split(":", 1)[0], entry.actor)
        if entry.actor.startswith("user:") and entry.actor not in names:
            who = entry.actor.split(":", 1)[1]
        what = actions.get(entry.action, entry.action)
        extra = []
        role = details.get("role")
        if role in words["version_kinds"] and entry.action == "document.sign":
            what = words["history_sign_roles"].get(role, what)
        code = details.get("status") or (details.get("code") if entry.action in (
            "document.status", "exchange.status") else None)
        if isinstance(code, str) and code in status_names:
            extra.append(f"{code} — {status_names[code]}")
        for key in ("to", "recipients"):
            value = details.get(key)
            if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
                extra.append(", ".join(cast(str, org_names.get(v, v)) for v in value))
        if details.get("number"):
            extra.append(f"{words['number_short']} {details['number']}")
        failed = entry.outcome != "success"
        reason = ""
        if failed:
            error = details.get("code")
            if isinstance(error, str) and error in errors:
                vi, en = errors[error]
                reason = en if lang == "en" else vi
            elif isinstance(error, str):
                reason = error
            if details.get("reason"):
                reason = f"{reason} {details['reason']}".strip()
        for key in ("description", "reason"):
            if not failed and isinstance(details.get(key), str) and details[key]:
                extra.append(f"{words['reason_label']}: {details[key]}")
                break
        lines.append({"at": entry.at, "who": who, "what": what, "extra": "; ".join(extra),
                      "failed": failed, "outcome": words["outcomes"].get(entry.outcome, entry.outcome),
                      "reason": reason})
    return lines
