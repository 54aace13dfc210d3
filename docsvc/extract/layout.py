"""Text lines with their boxes, read from a PDF one page at a time with pypdfium2.

PDFium gives text *segments* (runs of characters on one baseline, with a box); segments on the
same baseline that touch are joined into lines. Boxes are PDF points, origin bottom-left, as in
the signing placement API: ``(x1, y1, x2, y2)``. Only one page is loaded at a time, so memory
does not grow with the page count.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

Box = tuple[float, float, float, float]


@dataclass(frozen=True)
class Line:
    """One line of text on a page: NFC text, its page (1-based), box and page width."""

    text: str
    page: int
    box: Box
    page_width: float
    page_height: float

    @property
    def centre_x(self) -> float:
        """Return the horizontal centre of the line."""
        return (self.box[0] + self.box[2]) / 2

    @property
    def height(self) -> float:
        """Return the height of the line's box."""
        return self.box[3] - self.box[1]

    @property
    def is_left(self) -> bool:
        """Tell whether the line sits in the left half of the page (header and Nơi nhận)."""
        return self.centre_x < self.page_width / 2

    @property
    def is_right(self) -> bool:
        """Tell whether the line sits in the right half of the page (motto, date, signer)."""
        return self.box[0] > self.page_width * 0.42


# OCR doubles a letter as a word of its own before the word it starts ("T TRÌNH", "V VIỆT").
_STUTTER = re.compile(r"(?<!\w)(\w) (?=\1\w)")


class PdfTextError(Exception):
    """PDFium could not open the file (damaged or encrypted)."""


def page_count(source: bytes | BinaryIO | str) -> int:
    """Return the number of pages, or raise ``PdfTextError``."""
    import pypdfium2 as pdfium  # type: ignore[import-untyped]  # no stubs or py.typed

    try:
        pdf = pdfium.PdfDocument(source)
    except pdfium.PdfiumError as exc:
        raise PdfTextError(str(exc)) from exc
    try:
        return len(pdf)
    finally:
        pdf.close()


def iter_page_lines(source: bytes | BinaryIO | str, pages: list[int] | None = None
                    ) -> Iterator[list[Line]]:
    """Yield the lines of each page in ``pages`` (0-based; all by default), top to bottom."""
    import pypdfium2 as pdfium

    try:
        pdf = pdfium.PdfDocument(source)
    except pdfium.PdfiumError as exc:
        raise PdfTextError(str(exc)) from exc
    try:
        wanted = range(len(pdf)) if pages is None else [p for p in pages if 0 <= p < len(pdf)]
        for index in wanted:
            try:
                page = pdf[index]
            except pdfium.PdfiumError as exc:  # a damaged page object
                raise PdfTextError(f"page {index + 1}: {exc}") from exc
            try:
                lines = _page_lines(page, index + 1)
            except pdfium.PdfiumError as exc:
                raise PdfTextError(f"page {index + 1}: {exc}") from exc
            finally:
                page.close()
            yield lines
    finally:
        pdf.close()


def _page_lines(page, number: int) -> list[Line]:  # type: ignore[no-untyped-def]
    width, height = page.get_size()
    textpage = page.get_textpage()
    try:
        segments = []
        for i in range(textpage.count_rects()):
            left, bottom, right, top = textpage.get_rect(i)
            text = _one_line(textpage.get_text_bounded(left, bottom, right, top))
            text = unicodedata.normalize("NFC", " ".join(text.split()))
            if text:
                segments.append((text, (left, bottom, right, top)))
    finally:
        textpage.close()
    return _join(segments, number, width, height)


def _one_line(text: str) -> str:
    # A segment is one line; characters PDFium puts on other lines inside its box are OCR'd dust
    # (tiny glyphs such as "ỉ" or "ề" inside a word's box): keep the real word.
    parts = [p.strip() for p in text.replace("\r", "\n").split("\n") if p.strip()]
    if len(parts) <= 1:
        return parts[0] if parts else ""
    longer = [p for p in parts if len(p) > 2]
    return " ".join(longer) if longer else parts[0]


def _join(segments: list[tuple[str, Box]], page: int, width: float, height: float) -> list[Line]:
    # Left to right, each segment joins the line whose last segment ends just before it and
    # shares its height: comparing with the neighbour only (not the whole line) follows the
    # slant of a skewed scan, whose OCR layer has one segment per word.
    segments.sort(key=lambda s: s[1][0])
    lines: list[list[tuple[str, Box]]] = []
    for text, box in segments:
        h = max(box[3] - box[1], 1.0)
        best, best_distance = None, 0.0
        for parts in lines:
            lbox = parts[-1][1]
            gap = box[0] - lbox[2]
            lh = max(lbox[3] - lbox[1], 1.0)
            if not -0.5 * min(h, lh) < gap < max(1.2 * min(h, lh), 6.0):
                continue
            # the nearest centre line wins: OCR boxes are tall, so two close lines overlap
            distance = abs((box[1] + box[3]) / 2 - (lbox[1] + lbox[3]) / 2)
            if distance < 0.35 * max(h, lh) and (best is None or distance < best_distance):
                best, best_distance = parts, distance
        if best is None:
            lines.append([(text, box)])
        else:
            best.append((text, box))
    result = []
    for parts in lines:
        text = _STUTTER.sub("", " ".join(t for t, _ in parts))
        if sum(c.isalnum() for c in text) < 2:
            continue  # OCR'd dust, a rule or a lone mark
        box = (min(b[0] for _, b in parts), min(b[1] for _, b in parts),
               max(b[2] for _, b in parts), max(b[3] for _, b in parts))
        first = parts[0][1]
        result.append((-(first[1] + first[3]) / 2, box[0],
                       Line(text, page, tuple(round(v, 1) for v in box), width, height)))  # type: ignore[arg-type]
    result.sort(key=lambda item: (round(item[0]), item[1]))
    return [line for _, _, line in result]
