"""Where a signature goes: an explicit page and box, an existing empty field, or the place
found by searching the signer's printed name in the page text (poppler's ``pdftotext -bbox``).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import unicodedata
from dataclasses import dataclass
from xml.etree import ElementTree

from docsvc.signing.errors import PlacementError

Box = tuple[float, float, float, float]


@dataclass(frozen=True)
class Placement:
    """Where to put a visible signature; give one of ``box``, ``field`` or ``search``."""

    page: int | None = None
    """1-based page number (negative counts from the end: -1 is the last page)."""
    box: Box | None = None
    """``(x1, y1, x2, y2)`` in PDF points, origin at the bottom left of the page."""
    field: str | None = None
    """Name of an existing empty signature field to sign into."""
    search: str | None = None
    """Text to find on the page (the signer's name); the picture goes just above it."""


@dataclass(frozen=True)
class TextHit:
    page_index: int
    """0-based page index."""
    box: Box
    """Bounding box in PDF user space."""


def _fold(text: str) -> str:
    return unicodedata.normalize("NFC", text).casefold()


TEMP_PREFIX = "docsvc-pdftotext-"
"""Prefix of the copies handed to pdftotext: a process killed meanwhile leaves one behind,
which ``docsvc check --repair`` removes."""


def find_text(pdf: bytes, text: str, *, page_indices: list[int],
              page_boxes: dict[int, Box]) -> TextHit | None:
    """Find the last occurrence of ``text`` on the given pages (searched in that order)."""
    exe = shutil.which("pdftotext")
    if exe is None:
        raise PlacementError(
            "Thiếu công cụ pdftotext (gói poppler-utils) để tìm vị trí tên người ký.",
            "pdftotext (poppler-utils) is needed to find the signer's name.",
        )
    wanted = _fold(text).split()
    if not wanted:
        return None
    fd, path = tempfile.mkstemp(prefix=TEMP_PREFIX, suffix=".pdf")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(pdf)
        for index in page_indices:
            # pdftotext is fed a file we wrote; its arguments are ours, not the user's.
            out = subprocess.run(
                [exe, "-bbox", "-q", "-f", str(index + 1), "-l", str(index + 1), path, "-"],
                capture_output=True, timeout=30, check=False,
            )
            if out.returncode != 0:
                continue
            hit = _search_words(out.stdout, wanted)
            if hit is not None:
                left, bottom, _right, top = page_boxes[index]
                x1, y_top, x2, y_bottom = hit
                # pdftotext measures from the top left of the crop box.
                return TextHit(index, (left + x1, top - y_bottom, left + x2, top - y_top))
    finally:
        os.unlink(path)
    return None


def _search_words(xhtml: bytes, wanted: list[str]) -> Box | None:
    """Return the box of the last match; one "word" may hold a whole line (ActualText spans)."""
    root = ElementTree.fromstring(xhtml)  # noqa: S314 - poppler's own output
    words = [w for w in root.iter() if w.tag.endswith("word")]
    needle = " ".join(wanted)
    text, owners = "", []  # owners[i]: (word index, offset of char i inside that word)
    for index, word in enumerate(words):
        folded = " ".join(_fold(word.text or "").split())
        if text:
            text += " "
            owners.append((index, -1))
        owners.extend((index, offset) for offset in range(len(folded)))
        text += folded
    at = text.rfind(needle)
    if at < 0:
        return None
    first, last = owners[at], owners[at + len(needle) - 1]
    span = words[first[0]:last[0] + 1]
    x1 = min(float(w.get("xMin", 0)) for w in span)
    x2 = max(float(w.get("xMax", 0)) for w in span)
    if first[0] == last[0]:  # narrow a line-long word to the matched characters
        length = len(" ".join(_fold(span[0].text or "").split())) or 1
        width = x2 - x1
        x1, x2 = x1 + width * first[1] / length, x1 + width * (last[1] + 1) / length
    return (
        x1,
        min(float(w.get("yMin", 0)) for w in span),
        x2,
        max(float(w.get("yMax", 0)) for w in span),
    )
