"""Identifiers of the exchange: organisation ids (QĐ 20/2020/QĐ-TTg) and edXML DocumentIds."""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime

# [0-9] rather than \d: \d also matches non-ASCII digits such as "٣".
_ORGAN_ID = re.compile(r"[0-9]{3}\.[0-9]{2}\.[0-9]{2}\.[A-Z][0-9]{2}")
_DOCUMENT_ID = re.compile(r"(?P<organ>[^,]+),(?P<date>[0-9]{4}/[0-9]{2}/[0-9]{2}),(?P<code>[^,]+)")


def is_valid_organ_id(value: str, allow: frozenset[str] | set[str] = frozenset()) -> bool:
    """Return whether ``value`` is a QĐ 20/2020 id ``NNN.NN.NN.XNN`` or in the ``allow`` list."""
    if not isinstance(value, str):
        return False
    return value in allow or _ORGAN_ID.fullmatch(value) is not None


def make_document_id(
    organ_id: str, issued: date | datetime, code_number: str | int, code_notation: str
) -> str:
    """Return the edXML DocumentId ``{OrganId},{yyyy/MM/dd},{số}/{ký hiệu}``."""
    for part, label in ((organ_id, "organ_id"), (str(code_number), "code_number")):
        if not part or "," in part or "/" in part:
            raise ValueError(f"{label} must be non-empty without ',' or '/': {part!r}")
    if not code_notation or "," in code_notation:
        raise ValueError(f"code_notation must be non-empty without ',': {code_notation!r}")
    day = issued.date() if isinstance(issued, datetime) else issued
    text = f"{organ_id},{day:%Y/%m/%d},{code_number}/{code_notation}"
    return unicodedata.normalize("NFC", text)


def split_document_id(document_id: str) -> tuple[str, date, str, str] | None:
    """Return (organ_id, date, code_number, code_notation) of a DocumentId, or None if foreign."""
    match = _DOCUMENT_ID.fullmatch(document_id.strip())
    if match is None or "/" not in match["code"]:
        return None
    try:
        day = datetime.strptime(match["date"], "%Y/%m/%d").date()
    except ValueError:
        return None
    number, notation = match["code"].split("/", 1)
    return match["organ"], day, number, notation
