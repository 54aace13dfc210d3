"""Word boxes of a PDF page, for placing signatures: from the text layer with PDFium
(``pypdfium2``), or from OCR (tesseract) when the text layer does not hold the signer's name.

Why PDFium and not ``pdftotext -bbox`` or pdfminer:

- it runs in process: one page's words cost about 1 ms, against 25 ms for starting pdftotext per
  page, which the 15 ms budget of automatic placement cannot pay; pdfminer is pure Python and
  ten to a hundred times slower on the same page;
- it gives one box per character from the font's own metrics, so names split across text runs
  (``Nguy`` + ``ễn``), in decomposed Unicode (NFD) or kerned letter by letter are found;
- the same library renders the preview (``render_png``), so the boxes drawn are the boxes used.

Every scan is bounded: a caller passes ``ScanLimits`` (pages and seconds) and gets
``ScanLimitError`` past them; nothing here walks the whole page tree.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import subprocess
import tempfile
import threading
import time
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from io import BytesIO

from docsvc.signing.errors import PlacementError

Box = tuple[float, float, float, float]

_ASCENT, _DESCENT = 1.1, 0.3
"""Of the font size: a little more than most fonts' own, so no reader sees a word we miss."""
_PDFIUM_LOCK = threading.Lock()  # PDFium is not thread-safe; pypdfium2 says so too


@dataclass(frozen=True)
class ScanLimits:
    """Bounds of every page scan made for placement (``DOCSVC_PLACEMENT_*`` settings)."""

    max_pages: int = 5000
    """Documents with more pages are not placed automatically (give a box)."""
    scan_pages: int = 50
    """At most this many pages are read, from the last one backwards."""
    seconds: float = 10.0
    """Time budget of one placement, OCR included."""
    ocr: bool = True
    """Read scanned pages with tesseract when their text layer lacks the name."""
    ocr_language: str = "vie"


class ScanLimitError(PlacementError):
    code = "placement_limit"
    message_vi = ("Văn bản quá lớn để tìm tự động vị trí chữ ký; hãy chỉ ra vị trí "
                  "(trang và khung).")
    message_en = "The document is too large to place the signature automatically; give a box."


@dataclass(frozen=True)
class Word:
    text: str
    box: Box
    """``(x1, y1, x2, y2)`` in PDF user space (origin bottom left)."""


@dataclass(frozen=True)
class Line:
    """Words on one baseline that are close enough to read as one line of one column."""

    words: tuple[Word, ...]
    chars: tuple[tuple[str, Box], ...]
    """Every character with its box, spaces between words included as ``" "``."""

    @property
    def box(self) -> Box:
        return union([w.box for w in self.words])

    @property
    def text(self) -> str:
        return " ".join(w.text for w in self.words)


@dataclass(frozen=True)
class PageWords:
    index: int
    """0-based page index."""
    size: Box
    """The page's crop box."""
    lines: tuple[Line, ...]
    source: str
    """``text`` (text layer) or ``ocr``."""

    @property
    def words(self) -> list[Word]:
        return [w for line in self.lines for w in line.words]


def union(boxes: list[Box]) -> Box:
    return (min(b[0] for b in boxes), min(b[1] for b in boxes),
            max(b[2] for b in boxes), max(b[3] for b in boxes))


def fold(text: str) -> str:
    """Return the comparison form: case-folded, decomposed (NFD), without whitespace."""
    return "".join(unicodedata.normalize("NFD", unicodedata.normalize("NFC", text).casefold())
                   .split())


class Document:
    """An open PDF for reading words; use as a context manager."""

    def __init__(self, data: bytes, limits: ScanLimits) -> None:
        import pypdfium2 as pdfium  # type: ignore[import-untyped]  # no stubs or py.typed

        self.limits = limits
        self.started = time.monotonic()
        self._data = data
        with _PDFIUM_LOCK:
            try:
                self._pdf = pdfium.PdfDocument(data)
                self.page_count = len(self._pdf)
            except pdfium.PdfiumError as exc:
                from docsvc.signing.errors import DamagedPdfError

                raise DamagedPdfError(details={"stage": "pdf", "cause": "pdfium"}) from exc
        if self.page_count > limits.max_pages:
            self.close()
            raise ScanLimitError(details={"pages": self.page_count, "max_pages": limits.max_pages})

    def close(self) -> None:
        with _PDFIUM_LOCK:
            self._pdf.close()

    def __enter__(self) -> Document:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def check_time(self) -> None:
        spent = time.monotonic() - self.started
        if spent > self.limits.seconds:
            raise ScanLimitError(details={"seconds": round(spent, 2),
                                          "max_seconds": self.limits.seconds})

    def scan_order(self, page_index: int | None = None) -> Iterator[int]:
        """Yield page indices to read: the given one, or from the last page backwards."""
        if page_index is not None:
            yield page_index
            return
        last = self.page_count - 1
        for n, index in enumerate(range(last, -1, -1)):
            if n >= self.limits.scan_pages:
                return
            yield index

    def page_size(self, index: int) -> Box:
        with _PDFIUM_LOCK:
            page = self._pdf[index]
            try:
                return tuple(page.get_cropbox())
            finally:
                page.close()

    def text_words(self, index: int) -> PageWords:
        """Return the words of the text layer of page ``index``."""
        self.check_time()
        with _PDFIUM_LOCK:
            import pypdfium2.raw as pdfium_c  # type: ignore[import-untyped]  # no stubs or py.typed

            page = self._pdf[index]
            try:
                size = tuple(page.get_cropbox())
                textpage = page.get_textpage()
                try:
                    count = textpage.count_chars()
                    text = textpage.get_text_range(0, count) if count else ""
                    chars = []
                    base_x, base_y = ctypes.c_double(), ctypes.c_double()
                    for i in range(count):
                        # get_text_range may insert generated characters; read per index then
                        ch = textpage.get_text_range(i, 1) if len(text) != count else text[i]
                        left, bottom, right, top = textpage.get_charbox(i)
                        # grow the glyph box to the font's ascent and descent, as poppler and
                        # most readers measure words: clearing these clears every reader's box
                        font_size = pdfium_c.FPDFText_GetFontSize(textpage.raw, i)
                        if font_size > 0 and pdfium_c.FPDFText_GetCharOrigin(
                                textpage.raw, i, ctypes.byref(base_x), ctypes.byref(base_y)):
                            bottom = min(bottom, base_y.value - _DESCENT * font_size)
                            top = max(top, base_y.value + _ASCENT * font_size)
                        chars.append((ch, (left, bottom, right, top)))
                finally:
                    textpage.close()
            finally:
                page.close()
        return PageWords(index, size, tuple(_lines(_words(chars))), "text")

    def ocr_words(self, index: int, *, scale: float = 200 / 72) -> PageWords:
        """Return the words tesseract reads on page ``index`` rendered at 200 dpi."""
        self.check_time()
        exe = shutil.which("tesseract")
        if exe is None:
            raise PlacementError(
                "Thiếu công cụ nhận dạng chữ (tesseract) để tìm tên người ký trên bản quét; "
                "hãy chỉ ra vị trí chữ ký.",
                "tesseract is needed to find the signer's name on a scan; give a box.",
                details={"missing": "tesseract"})
        with _PDFIUM_LOCK:
            page = self._pdf[index]
            try:
                size = tuple(page.get_cropbox())
                image = page.render(scale=scale, grayscale=True).to_pil()
            finally:
                page.close()
        fd, path = tempfile.mkstemp(suffix=".png")
        try:
            with os.fdopen(fd, "wb") as fh:
                image.save(fh, "PNG")
            left_time = max(1.0, self.limits.seconds - (time.monotonic() - self.started))
            try:
                out = subprocess.run(
                    [exe, path, "-", "-l", self.limits.ocr_language, "--psm", "3", "tsv"],
                    capture_output=True, timeout=left_time, check=False,
                    # one thread: OpenMP threads only fight each other on a busy server
                    env={**os.environ, "OMP_THREAD_LIMIT": "1"})
            except subprocess.TimeoutExpired as exc:
                raise ScanLimitError(details={"max_seconds": self.limits.seconds,
                                              "stage": "ocr"}) from exc
        finally:
            os.unlink(path)
        if out.returncode != 0:
            raise PlacementError(
                "Không nhận dạng được chữ trên bản quét; hãy chỉ ra vị trí chữ ký.",
                "OCR of the scan failed; give a box.", details={"stage": "ocr"})
        x0, y0, _x1, y1 = size
        height_px = image.size[1]
        chars: list[tuple[str, Box]] = []
        for row in out.stdout.decode("utf-8", "replace").splitlines()[1:]:
            cols = row.split("\t")
            if len(cols) < 12 or cols[0] != "5" or not cols[11].strip():
                continue
            left, top, width, height = (float(v) for v in cols[6:10])
            box = (x0 + left / scale, y0 + (height_px - top - height) / scale,
                   x0 + (left + width) / scale, y0 + (height_px - top) / scale)
            word = unicodedata.normalize("NFC", cols[11].strip())
            step = (box[2] - box[0]) / len(word)
            if chars:
                chars.append((" ", chars[-1][1]))
            chars.extend((ch, (box[0] + i * step, box[1], box[0] + (i + 1) * step, box[3]))
                         for i, ch in enumerate(word))
        return PageWords(index, size, tuple(_lines(_words(chars))), "ocr")

    def render_png(self, index: int, boxes: list[tuple[Box, tuple[int, int, int]]], *,
                   scale: float = 1.0) -> bytes:
        """Return page ``index`` as PNG with ``boxes`` (PDF points, RGB colour) outlined.

        The page is rendered in grey and written as a palette image (grey levels plus the
        box colours): a third of the bytes of RGB to compress, for the same picture.
        """
        from PIL import ImageDraw

        with _PDFIUM_LOCK:
            page = self._pdf[index]
            try:
                x0, y0, _x1, y1 = page.get_cropbox()
                grey = page.render(scale=scale, grayscale=True).to_pil().convert("L")
            finally:
                page.close()
        colours = [colour for _box, colour in boxes][:8]
        levels = 256 - len(colours)
        image = grey.point(lambda v: v * (levels - 1) // 255)
        image = image.convert("P")
        palette = [c for v in range(levels) for c in (v * 255 // max(levels - 1, 1),) * 3]
        for colour in colours:
            palette.extend(colour)
        image.putpalette(palette)
        draw = ImageDraw.Draw(image)
        for n, ((bx1, by1, bx2, by2), _colour) in enumerate(boxes[:8]):
            draw.rectangle([(bx1 - x0) * scale, (y1 - by2) * scale,
                            (bx2 - x0) * scale, (y1 - by1) * scale], outline=levels + n, width=2)
        out = BytesIO()
        image.save(out, "PNG", compress_level=1)
        return out.getvalue()


def _words(chars: list[tuple[str, Box]]) -> list[list[tuple[str, Box]]]:
    """Split characters into words at whitespace, line changes and wide gaps."""
    words: list[list[tuple[str, Box]]] = []
    current: list[tuple[str, Box]] = []
    for ch, box in chars:
        if not ch.strip():
            if current:
                words.append(current)
            current = []
            continue
        if box[2] - box[0] <= 0 and box[3] - box[1] <= 0:
            if current and unicodedata.combining(ch):  # an NFD mark sits on its base letter
                current.append((ch, current[-1][1]))
            continue
        if current:
            prev = current[-1][1]
            height = max(prev[3] - prev[1], box[3] - box[1], 1.0)
            new_line = abs((prev[1] + prev[3]) / 2 - (box[1] + box[3]) / 2) > height * 0.6
            gap = box[0] - prev[2]
            if new_line or gap > height * 0.9 or gap < -height * 2:
                words.append(current)
                current = []
        current.append((ch, box))
    if current:
        words.append(current)
    return words


def _lines(words: list[list[tuple[str, Box]]]) -> list[Line]:
    """Group words into rows by vertical overlap, then split each row into columns at gaps
    wider than three letter heights (side-by-side blocks stay apart)."""
    items = [("".join(ch for ch, _ in w), union([b for _, b in w]), w) for w in words]
    items.sort(key=lambda it: -(it[1][1] + it[1][3]) / 2)
    rows: list[tuple[float, float, list[tuple[str, Box, list[tuple[str, Box]]]]]] = []
    for item in items:
        box = item[1]
        centre, height = (box[1] + box[3]) / 2, max(box[3] - box[1], 1.0)
        for prev_row in reversed(rows[-4:]):
            if abs(prev_row[0] - centre) < 0.5 * max(height, prev_row[1]):
                prev_row[2].append(item)
                break
        else:
            rows.append((centre, height, [item]))
    result = []
    for _centre, _height, row in rows:
        row.sort(key=lambda it: it[1][0])
        segments = [[row[0]]]
        for item in row[1:]:
            last = segments[-1][-1][1]
            size = max(item[1][3] - item[1][1], last[3] - last[1], 1.0)
            if item[1][0] - last[2] > 3 * size:
                segments.append([item])
            else:
                segments[-1].append(item)
        for segment in segments:
            chars: list[tuple[str, Box]] = []
            for n, (_text, box, wchars) in enumerate(segment):
                if n:
                    chars.append((" ", box))
                chars.extend(wchars)
            result.append(Line(tuple(Word(unicodedata.normalize("NFC", t), b)
                                     for t, b, _ in segment), tuple(chars)))
    result.sort(key=lambda line: (-line.box[3], line.box[0]))
    return result
