"""The upload form as the metadata object the API takes, and the metadata parser's problems as
messages next to the form's fields. The checks themselves are ``docsvc.metadata``'s."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from werkzeug.datastructures import FileStorage

from docsvc.metadata import COMPETENCES, DOCUMENT_TYPES
from docsvc.models import SECRECY_LEVELS

TEXT_FIELDS = ("direction", "type_name", "code_number", "code_notation", "subject", "organ_id",
               "organ_name", "issued_date", "place", "signer_competence", "signer_position",
               "signer_name", "priority", "secrecy", "due_date", "description")
"""The single-value fields of the form, named as in the metadata (Phụ lục VI)."""
UPLOAD_DEFAULTS = {"direction": "outgoing", "priority": "0", "secrecy": "none"}
TYPE_NAMES = tuple(name for name, _ in DOCUMENT_TYPES)
PRIORITIES = (0, 1, 2, 3)
"""Thường, Khẩn, Thượng khẩn, Hỏa tốc (edXML Priority)."""
CHOICES = {"type_names": TYPE_NAMES, "competences": COMPETENCES, "priorities": PRIORITIES,
           "secrecy_levels": SECRECY_LEVELS}
"""The options of the form's lists."""


def _lines(value: str | None) -> list[str]:
    return [line.strip() for line in (value or "").splitlines() if line.strip()]


def recipient(line: str, name_of: Callable[[str], str | None]) -> dict[str, str]:
    """Read ``000.00.53.H48 Sở Nội vụ`` (or ``… - Sở Nội vụ``; the directory's name when left out)."""
    organ_id, *rest = line.split(None, 1)
    name = rest[0].lstrip("-–|:,").strip() if rest else ""
    return {"organ_id": organ_id, "organ_name": name or name_of(organ_id) or ""}


def metadata_from_form(form: Mapping[str, str], name_of: Callable[[str], str | None]) -> dict[str, Any]:
    """Return the metadata object of the upload form (empty fields left out, as in the API)."""
    raw: dict[str, Any] = {}
    for name in TEXT_FIELDS:
        value = (form.get(name) or "").strip()
        if value:
            raw[name] = value
    places = _lines(form.get("to_places"))
    if places:
        raw["to_places"] = places
    recipients = [recipient(line, name_of) for line in _lines(form.get("recipients"))]
    picked = form.getlist("recipient") if hasattr(form, "getlist") else []
    recipients += [{"organ_id": organ_id, "organ_name": name_of(organ_id) or ""}
                   for organ_id in dict.fromkeys(v.strip() for v in picked if v.strip())]
    if recipients:
        raw["recipients"] = recipients
    return raw


def missing_file(file: FileStorage | None) -> list[dict[str, str]]:
    """Return the problem of an upload without a file (a browser sends an empty, unnamed part)."""
    if file is None or not file.filename:
        return [{"field": "file", "code": "required", "message": "bắt buộc / required"}]
    return []


_ITEM = re.compile(r"^(\w+)\[(\d+)\](?:\.(\w+))?$")


def field_label(name: str, language: str) -> str:
    """Return the words of a field for people: ``recipients[0].organ_id`` is "Cơ quan nhận thứ 1
    (mã định danh)", never the internal name."""
    from docsvc.web.texts import TEXTS

    words = TEXTS[language]
    match = _ITEM.match(name)
    if match:
        field, index, part = match.groups()
        head = words["item_n"].format(what=words.get(field, field) if isinstance(
            words.get(field), str) else field, n=int(index) + 1)
        return f"{head} ({words['sub_fields'].get(part, part)})" if part else head
    label = words.get(name.split(".")[0])
    return label if isinstance(label, str) else name


def field_errors(problems: list[dict[str, Any]], language: str) -> dict[str, list[str]]:
    """Group the problems by form field (``recipients[1].organ_id`` belongs to ``recipients``),
    each said in words: "Cơ quan nhận thứ 2 (tên cơ quan): bắt buộc"."""
    from docsvc.web import pick

    grouped: dict[str, list[str]] = {}
    for problem in problems:
        name = str(problem.get("field", ""))
        field = name.split("[")[0].split(".")[0]
        detail = pick(str(problem.get("message", "")), language)
        grouped.setdefault(field, []).append(
            detail if field == name else f"{field_label(name, language)}: {detail}")
    return grouped


DELETES_CONTENT = ("Hãy đánh dấu ô xác nhận: nội dung văn bản sẽ bị xóa ở nơi nhận.",
                   "Tick the confirmation box: the document's content will be deleted where it "
                   "was received.")
REFUSES = ("Hãy đánh dấu ô xác nhận từ chối tiếp nhận: nơi gửi sẽ được báo và không thể hoàn tác.",
           "Tick the box confirming the refusal: the sender is told and it cannot be undone.")


def require_confirmation(form: Mapping[str, str], why: tuple[str, str] = DELETES_CONTENT) -> None:
    """Refuse a destructive action (revocation, agreeing to give a document back: the content is
    then deleted where it was received; refusing a received document) unless its form's
    confirmation box was ticked."""
    from docsvc.errors import BadRequestError

    if form.get("confirm") != "1":
        raise BadRequestError(*why, details={"fields": [
            {"field": "confirm", "code": "required", "message": "bắt buộc / required"}]})


def chosen(form: Any, name: str) -> list[str] | None:
    """Return the values picked in a multiple choice, or None when none was (= all, or nothing)."""
    values = [v.strip() for v in form.getlist(name) if v.strip()]
    return values or None


def text(form: Mapping[str, str], name: str) -> str | None:
    """Return a text field, None when it was left empty."""
    return (form.get(name) or "").strip() or None
