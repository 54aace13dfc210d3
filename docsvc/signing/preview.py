"""Preview of a signature before it is made: the page, the boxes of the person's picture and of
the seal, and a PNG of the page with the boxes drawn, so the signer or clerk can check or move
them (``POST …/signatures`` with ``"dry_run": true``).
"""

from __future__ import annotations

from dataclasses import dataclass
from io import BytesIO
from pathlib import Path

from pyhanko.pdf_utils.reader import PdfFileReader

from docsvc.signing import appearance
from docsvc.signing.errors import DamagedPdfError, PlacementError
from docsvc.signing.placement import Box, Placement, find_signer_block, person_box, seal_box
from docsvc.signing.sign import _target, existing_signatures
from docsvc.signing.words import Document, ScanLimits

PERSON_COLOUR = (30, 60, 220)
SEAL_COLOUR = (220, 30, 30)


@dataclass(frozen=True)
class PlacementPreview:
    page: int
    """1-based page number."""
    page_size: tuple[float, float]
    person: Box | None
    """The person's picture: to be made (role person) or already there (role agency)."""
    seal: Box | None
    """The agency seal widget (with its text area when ``seal_text``); for role person, where
    it would go after this signature."""
    seal_text: bool
    png: bytes
    """The page at 72 dpi with the boxes outlined (person blue, seal red)."""

    def to_dict(self) -> dict[str, object]:
        """Return the JSON form without the picture."""
        def box(value: Box | None) -> list[float] | None:
            return [round(v, 2) for v in value] if value else None

        return {"page": self.page, "page_size": [round(v, 1) for v in self.page_size],
                "boxes": {"person": box(self.person), "seal": box(self.seal)},
                "seal_text": self.seal_text}


def preview_placement(data: bytes, *, role: str, signer_name: str,
                      placement: Placement | None = None, picture: Path | bytes | None = None,
                      limits: ScanLimits | None = None, scale: float = 1.0) -> PlacementPreview:
    """Return where a ``role`` signature by ``signer_name`` would go on ``data``, drawn.

    Raises ``PlacementError`` (422, with the page size and candidate area when nothing fits),
    ``DamagedPdfError``, ``ScanLimitError``.
    """
    limits = limits or ScanLimits()
    try:
        reader = PdfFileReader(BytesIO(data))
    except Exception as exc:  # any parser failure: the file is damaged for the signer
        raise DamagedPdfError(details={"error": type(exc).__name__}) from exc
    existing = existing_signatures(reader, max_pages=limits.max_pages)
    aspect = appearance.picture_aspect(picture or appearance.DEMO_SIGNATURE_PICTURE)
    placement = placement or Placement()
    if role == "person" and placement.box is None and placement.field is None:
        return _person_preview(data, placement.search or signer_name, placement.page, aspect,
                               limits, scale)
    target = _target(role, data, reader, placement, existing, signer_name, limits=limits,
                     aspect=aspect)
    if target.box is None:
        raise PlacementError("Chữ ký vào ô có sẵn: không có khung để xem trước.",
                             "Signing into an existing field: there is no box to preview.",
                             details={"field": target.field_name})
    person: Box | None = None
    seal: Box | None = None
    seal_text = False
    with Document(data, limits) as doc:
        index = target.page_index
        if role == "person":
            person = target.box
            words = doc.text_words(index)
            if not words.lines and limits.ocr:
                words = doc.ocr_words(index)
            try:
                planned = seal_box(words, person)
                seal, seal_text = planned.box, planned.with_text
            except PlacementError:
                seal = None
        elif role == "agency":
            seal = target.box
            seal_text = bool(target.seal and target.seal.with_text)
            person = next((s.box for s in reversed(existing)
                           if s.role == "person" and s.page_index == index), None)
        else:
            seal = target.box
        x1, y1, x2, y2 = doc.page_size(index)
        drawn = [(b, c) for b, c in ((person, PERSON_COLOUR), (seal, SEAL_COLOUR)) if b]
        png = doc.render_png(index, drawn, scale=scale)
    return PlacementPreview(index + 1, (x2 - x1, y2 - y1), person, seal, seal_text, png)


def _person_preview(data: bytes, name: str, page: int | None, aspect: float,
                    limits: ScanLimits, scale: float) -> PlacementPreview:
    """Find, place and draw with one reading of the page (the signing path reads it once too)."""
    with Document(data, limits) as doc:
        index = None
        if page is not None:
            index = page - 1 if page > 0 else doc.page_count + page
            if not 0 <= index < doc.page_count:
                raise PlacementError(details={"page": page, "pages": doc.page_count})
        block = find_signer_block(doc, name, page_index=index)
        person = person_box(block, aspect)
        try:
            planned = seal_box(block.page, person)
            seal, seal_text = planned.box, planned.with_text
        except PlacementError:
            seal, seal_text = None, False
        x1, y1, x2, y2 = block.page.size
        drawn = [(b, c) for b, c in ((person, PERSON_COLOUR), (seal, SEAL_COLOUR)) if b]
        png = doc.render_png(block.page.index, drawn, scale=scale)
    return PlacementPreview(block.page.index + 1, (x2 - x1, y2 - y1), person, seal, seal_text,
                            png)
