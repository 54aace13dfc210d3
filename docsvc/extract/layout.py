"""Text lines with their boxes, read from a PDF one page at a time with pypdfium2.

PDFium gives text *segments* (runs of characters on one baseline, with a box); segments on the
same baseline that touch are joined into lines. Boxes are PDF points, origin bottom-left, as in
the signing placement API: ``(x1, y1, x2, y2)``. Only one page is loaded at a time, so memory
does not grow with the page count.
"""

from __future__ import annotations

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


class PdfTextError(Exception):
    """PDFium could not open the file (damaged or encrypted)."""


def page_count(source: bytes | BinaryIO | str) -> int:
    """Return the number of pages, or raise ``PdfTextError``."""
    import pypdfium2 as pdfium

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
            page = pdf[index]
            try:
                yield _page_lines(page, index + 1)
            finally:
                page.close()
    finally:
        pdf.close()


def _page_lines(page, number: int) -> list[Line]:  # type: ignore[no-untyped-def]
    width, height = page.get_size()
    textpage = page.get_textpage()
    try:
        segments = []
        for i in range(textpage.count_rects()):
            left, bottom, right, top = textpage.get_rect(i)
            text = textpage.get_text_bounded(left, bottom, right, top)
            text = unicodedata.normalize("NFC", " ".join(text.split()))
            if text:
                segments.append((text, (left, bottom, right, top)))
    finally:
        textpage.close()
    return _join(segments, number, width, height)


def _join(segments: list[tuple[str, Box]], page: int, width: float, height: float) -> list[Line]:
    # Sort top to bottom, then left to right; join segments that share a baseline and nearly touch.
    segments.sort(key=lambda s: (-round((s[1][1] + s[1][3]) / 2), s[1][0]))
    lines: list[list[tuple[str, Box]]] = []
    for text, box in segments:
        mid = (box[1] + box[3]) / 2
        h = max(box[3] - box[1], 1.0)
        last = lines[-1][-1] if lines else None
        if last is not None:
            lbox = last[1]
            same_row = abs((lbox[1] + lbox[3]) / 2 - mid) < 0.5 * h
            gap = box[0] - lbox[2]
            if same_row and -h < gap < 1.5 * h:
                lines[-1].append((text, box))
                continue
        lines.append([(text, box)])
    result = []
    for parts in lines:
        text = " ".join(t for t, _ in parts)
        box = (min(b[0] for _, b in parts), min(b[1] for _, b in parts),
               max(b[2] for _, b in parts), max(b[3] for _, b in parts))
        result.append(Line(text, page, tuple(round(v, 1) for v in box), width, height))  # type: ignore[arg-type]
    result.sort(key=lambda ln: (-ln.box[3], ln.box[0]))
    return result
