"""Read the Phụ lục VI metadata of a notice from its PDF text (capability: bytes in, values out).

``extract_metadata`` reads the first pages (header) and the last ones (signer, Nơi nhận) with
their boxes, page by page, and returns every field it found with a confidence, the page and the
box. A PDF without text yields no fields and a reason, never an error.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from docsvc.extract.layout import Line, PdfTextError, iter_page_lines, page_count
from docsvc.extract.rules import (
    Field,
    arrival_fields,
    header_fields,
    match_directory,
    recipient_fields,
    reference_fields,
    signer_fields,
)

__all__ = ["Extraction", "Field", "PdfTextError", "extract_metadata", "iter_page_texts",
           "suggested_metadata"]

HEAD_PAGES = 2
"""Pages read from the start (header, trích yếu, references in the preamble)."""
TAIL_PAGES = 2
"""Pages read from the end (signer block, Nơi nhận)."""
MIN_TEXT_CHARACTERS = 40
"""Fewer characters on the pages read means "no text layer" (a scan)."""


@dataclass(frozen=True)
class Extraction:
    """What the text of a PDF says about its metadata."""

    fields: dict[str, Field]
    page_count: int
    pages_read: list[int]
    has_text: bool
    reason: str | None = None
    """Why nothing was found (``no_text``, ``unreadable_pdf``), or None."""
    source: str = "text"
    """``text`` (the PDF's own text) or ``ocr`` (a searchable rendition)."""
    elapsed_ms: float = 0.0
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON form: every field with value, confidence, page and box."""
        return {"fields": {k: v.to_dict() for k, v in sorted(self.fields.items())},
                "page_count": self.page_count, "pages_read": self.pages_read,
                "has_text": self.has_text, "reason": self.reason, "source": self.source,
                "elapsed_ms": round(self.elapsed_ms, 1)}


def extract_metadata(source: bytes | BinaryIO | str, *, directory: Sequence[tuple[str, str]] = (),
                     source_kind: str = "text") -> Extraction:
    """Extract the Phụ lục VI fields from a PDF (bytes, file object or path).

    ``directory`` is (OrganId, name) of known organisations, to match the issuing body and the
    Nơi nhận items. Never raises on a PDF without text; ``reason`` says why fields are missing.
    """
    started = time.perf_counter()
    if hasattr(source, "seek"):
        source.seek(0)
    wanted: list[int] = []
    try:
        total = page_count(source)
        wanted = sorted({*range(min(HEAD_PAGES, total)), *range(max(0, total - TAIL_PAGES), total)})
        if hasattr(source, "seek"):
            source.seek(0)
        pages = list(iter_page_lines(source, wanted))
    except PdfTextError:
        return Extraction({}, 0, [], False, "unreadable_pdf", source_kind,
                          (time.perf_counter() - started) * 1000)
    characters = sum(len(ln.text) for lines in pages for ln in lines)
    if characters < MIN_TEXT_CHARACTERS:
        return Extraction({}, total, [p + 1 for p in wanted], False, "no_text", source_kind,
                          (time.perf_counter() - started) * 1000)
    fields = _read(pages, directory)
    if source_kind == "ocr":  # recognised text is less certain than a text layer
        fields = {k: Field(v.value, v.confidence * 0.85, v.page, v.box) for k, v in fields.items()}
    return Extraction(fields, total, [p + 1 for p in wanted], True, None, source_kind,
                      (time.perf_counter() - started) * 1000)


def _read(pages: list[list[Line]], directory: Sequence[tuple[str, str]]) -> dict[str, Field]:
    first = pages[0] if pages else []
    fields = header_fields(first)
    fields.update(arrival_fields(first))
    fields.update(signer_fields(pages))
    fields.update(recipient_fields(pages, directory))
    own = None
    if "code_number" in fields and "code_notation" in fields:
        own = f"{fields['code_number'].value}/{fields['code_notation'].value}"
    text = " ".join(ln.text for lines in pages for ln in lines)
    refs = reference_fields(text, own)
    if refs:
        fields["references"] = refs
    organ = fields.get("organ_name")
    if organ is not None and directory:
        hit = match_directory(organ.value, directory)
        if hit:
            fields["organ_id"] = Field(hit[0], hit[2], organ.page, organ.box)
            fields["organ_name"] = Field(hit[1], organ.confidence, organ.page, organ.box)
    return fields


def iter_page_texts(source: bytes | BinaryIO | str) -> Iterator[str]:
    """Yield the text of every page, one page in memory at a time (for the search index)."""
    for lines in iter_page_lines(source):
        yield "\n".join(ln.text for ln in lines)


_METADATA_FIELDS = ("code_number", "code_notation", "type_name", "issued_date", "place", "subject",
                    "organ_id", "organ_name", "signer_competence", "signer_position", "signer_name",
                    "priority", "secrecy", "references", "arrival_number", "arrival_date")


def suggested_metadata(extraction: Extraction, *, given: dict[str, Any] | None = None
                       ) -> dict[str, Any]:
    """Return the metadata fields (their API names) the extraction suggests and ``given`` lacks.

    Each suggestion keeps its confidence, page and box; recipients are those matched to the
    directory.
    """
    given = given or {}
    out: dict[str, Any] = {}
    for name in _METADATA_FIELDS:
        found = extraction.fields.get(name)
        if found is None or given.get(name) not in (None, "", []):
            continue
        out[name] = found.to_dict()
    recipients = extraction.fields.get("recipients")
    if recipients is not None and recipients.value and not given.get("recipients"):
        out["recipients"] = recipients.to_dict()
    return out
