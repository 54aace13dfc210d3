"""Reading what the registry stores: metadata suggestions from a PDF's text (Phụ lục VI).

The extraction itself is a capability (``docsvc.extract``); this use case adds the directory
(to match the issuing body and the Nơi nhận items to OrganIds) and never stores anything.
"""

from __future__ import annotations

from typing import Any, BinaryIO

from sqlalchemy import select
from sqlalchemy.orm import Session

from docsvc.extract import Extraction, extract_metadata, suggested_metadata
from docsvc.models import Organization


def directory_names(session: Session) -> list[tuple[str, str]]:
    """Return (OrganId, name) of every directory entry."""
    return [(oid, name) for oid, name in session.execute(
        select(Organization.organ_id, Organization.name).order_by(Organization.organ_id))]


def read_pdf(session: Session, stream: BinaryIO | bytes) -> Extraction:
    """Extract the metadata fields of a PDF; a PDF without text gives no fields and a reason."""
    return extract_metadata(stream, directory=directory_names(session))


def suggest(session: Session, stream: BinaryIO | bytes, given: dict[str, Any] | None
            ) -> dict[str, Any]:
    """Return ``{"fields": …, "reason": …}``: suggestions for the fields ``given`` leaves out."""
    extraction = read_pdf(session, stream)
    if hasattr(stream, "seek"):
        stream.seek(0)  # type: ignore[union-attr]
    return {"fields": suggested_metadata(extraction, given=given if isinstance(given, dict) else {}),
            "reason": extraction.reason, "source": extraction.source}
