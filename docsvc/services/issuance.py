"""Issuance (cấp số, ban hành): the number and date an outgoing document receives when the
agency signature issues it, and the bytes each signature is made on — empty number/date
fields before the person signs, filled ones before the agency signs (``signing.issuance``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from pyhanko.pdf_utils.misc import PdfError
from sqlalchemy.orm import Session

from docsvc.errors import DocsvcError
from docsvc.models import Document, format_code_number, register_for
from docsvc.services.documents import peek_number
from docsvc.signing import existing_signatures
from docsvc.signing.issuance import add_issue_fields, fill_issue_fields, find_issue_places
from docsvc.signing.words import ScanLimits

ISSUE_ATTEMPTS = 3
"""Signatures tried when other documents take the number meanwhile."""


@dataclass(frozen=True)
class IssuePlan:
    """The number and date an agency signature writes on the document (issuance)."""

    numbering: bool
    """True when this signature issues a draft: the number is claimed at commit."""
    number: int | None
    number_text: str
    notation: str | None
    register: str
    now: dt.datetime
    today: dt.date

    @classmethod
    def of(cls, session: Session, document: Document, role: str, zone: Any,
           signing_time: dt.datetime | None) -> IssuePlan | None:
        """Return the plan of an agency signature on an outgoing document (None otherwise): the
        register's number and date, or for a draft the number it would take next."""
        if role != "agency" or document.direction != "outgoing":
            return None
        now = signing_time or dt.datetime.now(dt.UTC)
        today = now.astimezone(zone).date()
        register = register_for(document.direction, document.secrecy)
        if document.status == "registered":
            return cls(False, None, document.code_number or "", document.code_notation, register,
                       now, document.issued_date or today)
        number = peek_number(session, document.owner_organ_id, register, today.year)
        return cls(True, number, format_code_number(number), document.code_notation, register,
                   now, today)


def prepare_bytes(data: bytes, role: str, issue: IssuePlan | None, limits: ScanLimits
                  ) -> tuple[bytes, tuple[str, ...]]:
    """Return the bytes to sign: with empty number/date fields before the person signs, with
    them filled before the agency signs (issuance); and the fields written."""
    try:
        if role == "person":
            if existing_signatures(data, max_pages=limits.max_pages):
                return data, ()
            places = find_issue_places(data, ScanLimits(max_pages=limits.max_pages, ocr=False))
            return (add_issue_fields(data, places), ()) if places else (data, ())
        if issue is None or not issue.number_text:
            return data, ()
        filled = fill_issue_fields(data, issue.number_text, issue.notation, issue.today,
                                   limits=ScanLimits(max_pages=limits.max_pages, ocr=False))
        return filled.data, filled.filled
    except (DocsvcError, PdfError, ValueError, KeyError, TypeError, AttributeError, IndexError):
        # the fields are a convenience: signing itself says what is wrong with the file
        return data, ()
