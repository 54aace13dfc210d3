"""Where a signature goes: an explicit page and box, an existing empty field, or the place read
from the page: the signer block (competence and position lines, then the name) found in the
word boxes of ``signing.words``.

The rules (Nghị định 30, Phụ lục I):

- the signer block is the last one in the document that holds the signer's name on a line of
  its own under a position line; a name mentioned in the body loses against it, and in joint
  documents (liên tịch) each block is a column of its own, so the signer's is the one chosen;
- the person's picture fills the free gap between the position line and the name, keeping its
  aspect ratio; it moves sideways into free space before it shrinks below a legible height, and
  it never covers a word other than the name line;
- the agency seal covers the left third of the person's picture, inside the page and over no
  other word; its text (agency, time) is laid at its left when there is room, else left out of
  the picture (it stays in the signature).

When nothing fits, ``PlacementError`` (422) carries the page size and the candidate area, so
the caller can give a box.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from docsvc.signing.errors import PlacementError
from docsvc.signing.words import Box, Document, Line, PageWords, ScanLimits, fold, union

__all__ = ["Box", "Placement", "ScanLimits", "SignerBlock", "find_signer_block", "person_box",
           "seal_box"]


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


PERSON_MAX_HEIGHT = 65.0
PERSON_MAX_WIDTH = 170.0
PERSON_LEGIBLE_HEIGHT = 30.0
"""Below this height the picture first moves sideways into free space."""
PERSON_MIN_HEIGHT = 16.0
SEAL_MAX = 102.0
"""Seal diameter at actual size: 36 mm."""
SEAL_MIN = 40.0
SEAL_TEXT_WIDTH = 118.0
PAGE_MARGIN = 12.0
_PAD = 2.0
SPARSE_WORDS = 10
"""A page with fewer words in its text layer is taken for a scan and read with OCR."""
_COMPETENCE = re.compile(r"^(tm|kt|tl|tuq|q|thừa lệnh|thay mặt|ký thay)[.\s]", re.IGNORECASE)


@dataclass(frozen=True)
class SignerBlock:
    """The signer block found on a page."""

    page: PageWords
    name: Line
    name_box: Box
    """Box of the name itself (the matched characters)."""
    position: Line | None
    """The line just above the name in its column (the position, e.g. ``PHÓ CHÁNH VĂN PHÒNG``)."""
    score: int

    @property
    def obstacles(self) -> list[Box]:
        """Every word box of the page except the name line's."""
        return [w.box for line in self.page.lines if line is not self.name for w in line.words]

    @property
    def area(self) -> Box:
        """The candidate area: from the name's bottom to the position line, column wide."""
        top = self.position.box[1] if self.position else self.name_box[3] + PERSON_MAX_HEIGHT
        boxes = [self.name.box] + ([self.position.box] if self.position else [])
        x1, _y1, x2, _y2 = union(boxes)
        return (x1, self.name_box[1], x2, top)


def _match(line: Line, wanted: str, *, loose: bool) -> Box | None:
    """Return the box of ``wanted`` (folded) in ``line``, or None."""
    keys: list[str] = []
    owners: list[int] = []
    for i, (ch, _box) in enumerate(line.chars):
        key = fold(ch)
        if loose:
            key = _strip_marks(key)
        keys.append(key)
        owners.extend([i] * len(key))
    text = "".join(keys)
    at = text.rfind(wanted)
    if at < 0:
        return None
    first, last = owners[at], owners[at + len(wanted) - 1]
    boxes = [b for ch, b in line.chars[first:last + 1] if ch.strip()]
    return union(boxes) if boxes else None


def _strip_marks(text: str) -> str:
    import unicodedata

    return "".join(c for c in text if not unicodedata.combining(c)).replace("đ", "d")


def _column_overlap(a: Box, b: Box) -> float:
    return min(a[2], b[2]) - max(a[0], b[0])


def _position_line(page: PageWords, name: Line, name_box: Box) -> Line | None:
    """Return the nearest line above the name in its column (within 250 pt)."""
    centre = (name_box[0] + name_box[2]) / 2
    column = (centre - 50, 0.0, centre + 50, 0.0)
    above = [line for line in page.lines if line is not name
             and line.box[1] >= name_box[3] - 1 and line.box[1] - name_box[3] < 250
             and _column_overlap(line.box, column) > 0]
    return min(above, key=lambda line: line.box[1]) if above else None


def _score(page: PageWords, name: Line, name_box: Box, wanted: str,
           position: Line | None) -> int:
    """Rank a name hit: 3 a signer block, 2 a name line under a title, 1 a name alone, 0 body."""
    alone = len(fold(name.text)) <= len(wanted) + 4
    if not alone:
        return 0
    if position is None:
        return 1
    centre = (name_box[0] + name_box[2]) / 2
    stack = [line for line in page.lines if line.box[1] >= position.box[1]
             and line.box[1] - name_box[3] < 300
             and _column_overlap(line.box, (centre - 50, 0, centre + 50, 0)) > 0]
    if any(_COMPETENCE.match(line.text.strip()) for line in stack):
        return 3
    letters = [c for c in position.text if c.isalpha()]
    if letters and sum(c.isupper() for c in letters) / len(letters) > 0.7:
        return 3
    return 2


def _candidates(page: PageWords, wanted: str, *, loose: bool) -> list[SignerBlock]:
    found = []
    for line in page.lines:
        box = _match(line, wanted, loose=loose)
        if box is None:
            continue
        position = _position_line(page, line, box)
        found.append(SignerBlock(page, line, box, position,
                                 _score(page, line, box, wanted, position)))
    return found


def find_signer_block(doc: Document, name: str, *, page_index: int | None = None) -> SignerBlock:
    """Find the signer block of ``name``: the best-ranked hit, the last in the document on ties.

    Reads the text layer of the pages (last first, within ``doc.limits``); when no page holds
    the name, reads the last pages again with OCR. Raises ``PlacementError``.
    """
    wanted = fold(name)
    if not wanted:
        raise PlacementError(details={"search": name})
    found: list[SignerBlock] = []
    order = list(doc.scan_order(page_index))
    empty_pages = []
    for index in order:
        page = doc.text_words(index)
        if len(page.words) < SPARSE_WORDS:
            empty_pages.append(index)
        found += _candidates(page, wanted, loose=False)
        if any(b.score == 3 for b in found):
            break  # pages are read from the end: no earlier block can rank higher
    if not found and doc.limits.ocr:
        # scans: pages with (almost) no text layer are read with OCR, the last three at most
        for index in empty_pages[:3]:
            page = doc.ocr_words(index)
            found += _candidates(page, wanted, loose=False) or _candidates(
                page, _strip_marks(wanted), loose=True)
            if any(b.score == 3 for b in found):
                break
    # the best rank wins; on ties the last in the document (later page, lower on the page)
    best = max(found, key=lambda b: (b.score, b.page.index, -b.name_box[1]), default=None)
    if best is None:
        raise PlacementError(
            f"Không tìm thấy tên '{name}' trên văn bản để đặt chữ ký; hãy chỉ ra vị trí "
            "(trang và khung).",
            f"Cannot find '{name}' in the document to place the signature; give a box.",
            details={"search": name, "pages_read": [i + 1 for i in order],
                     "pages_without_text": [i + 1 for i in empty_pages]},
        )
    return best


# -- geometry ----------------------------------------------------------------------------------


def _inside(page: Box) -> Box:
    x1, y1, x2, y2 = page
    return (x1 + PAGE_MARGIN, y1 + PAGE_MARGIN, x2 - PAGE_MARGIN, y2 - PAGE_MARGIN)


def free_intervals(obstacles: list[Box], page: Box, y1: float, y2: float) -> list[tuple[float, float]]:
    """Return the horizontal intervals of the band ``y1..y2`` that no obstacle touches."""
    left, bottom, right, top = _inside(page)
    if y1 < bottom or y2 > top:
        return []
    blocked = sorted((b[0] - _PAD, b[2] + _PAD) for b in obstacles
                     if b[1] - _PAD < y2 and b[3] + _PAD > y1)
    result, x = [], left
    for lo, hi in blocked:
        if lo > x:
            result.append((x, min(lo, right)))
        x = max(x, hi)
        if x >= right:
            break
    if x < right:
        result.append((x, right))
    return [(a, b) for a, b in result if b > a]


def is_free(box: Box, obstacles: list[Box], page: Box) -> bool:
    """Tell whether ``box`` lies inside the page and touches no obstacle."""
    left, bottom, right, top = _inside(page)
    if box[0] < left - 0.01 or box[1] < bottom - 0.01 or box[2] > right + 0.01 \
            or box[3] > top + 0.01:
        return False
    return not any(b[0] < box[2] and b[2] > box[0] and b[1] < box[3] and b[3] > box[1]
                   for b in obstacles)


def _place_at(intervals: list[tuple[float, float]], width: float, centre: float
              ) -> float | None:
    """Return the left edge closest to ``centre - width/2`` inside one of ``intervals``."""
    best = None
    for lo, hi in intervals:
        if hi - lo < width:
            continue
        x = min(max(centre - width / 2, lo), hi - width)
        if best is None or abs(x + width / 2 - centre) < abs(best + width / 2 - centre):
            best = x
    return best


def person_box(block: SignerBlock, aspect: float) -> Box:
    """Return the box of the person's picture (width/height ``aspect``) above the name.

    Raises ``PlacementError`` with the page size and the candidate area when nothing fits.
    """
    page = block.page.size
    nx1, ny1, nx2, ny2 = block.name_box
    # only words near the block can be in the way: fewer boxes for every band tried
    low, high = ny1 - 0.5 * (ny2 - ny1) - 2 * _PAD, ny2 + PERSON_MAX_HEIGHT + 2 * _PAD
    obstacles = [b for b in block.obstacles if b[3] > low and b[1] < high]
    centre = (nx1 + nx2) / 2
    tolerance = max((nx2 - nx1) / 2, 20.0)
    bottoms = (ny2 + _PAD, ny2 - 0.4 * (ny2 - ny1))

    def search(heights: list[float], max_shift: float) -> Box | None:
        for height in heights:
            width = min(height * aspect, PERSON_MAX_WIDTH)
            height = width / aspect
            best: Box | None = None
            for bottom in bottoms:
                x = _place_at(free_intervals(obstacles, page, bottom, bottom + height), width,
                              centre)
                if x is None or abs(x + width / 2 - centre) > max_shift:
                    continue
                box = (x, bottom, x + width, bottom + height)
                if best is None or abs(x + width / 2 - centre) < abs(
                        (best[0] + best[2]) / 2 - centre) - 0.5:
                    best = box
            if best is not None:
                return best
        return None

    def steps(high: float, low: float) -> list[float]:
        out, h = [], high
        while h >= low - 1e-6:
            out.append(h)
            h -= 1.5
        return out

    legible = steps(PERSON_MAX_HEIGHT, PERSON_LEGIBLE_HEIGHT)
    small = steps(PERSON_LEGIBLE_HEIGHT - 1.5, PERSON_MIN_HEIGHT)
    for heights, shift in ((legible, tolerance), (legible, 250.0), (small, tolerance),
                           (small, 250.0)):
        box = search(heights, shift)
        if box is not None:
            return box
    raise _no_room(block.page, block.area, "person")


def _no_room(page: PageWords, area: Box, role: str) -> PlacementError:
    x1, y1, x2, y2 = page.size
    return PlacementError(
        "Không còn chỗ trống để đặt chữ ký mà không che chữ của văn bản; hãy chỉ ra khung "
        f"chữ ký (trang {page.index + 1}, khổ {x2 - x1:.0f} × {y2 - y1:.0f} pt).",
        f"No free room for the {role} signature without covering text; give a box "
        f"(page {page.index + 1}, {x2 - x1:.0f} × {y2 - y1:.0f} pt).",
        details={"page": page.index + 1, "page_size": [round(x2 - x1, 1), round(y2 - y1, 1)],
                 "candidate_area": [round(v, 1) for v in area], "role": role},
    )


@dataclass(frozen=True)
class SealBox:
    box: Box
    """The widget: the seal, with the text area at its left when ``with_text``."""
    seal: Box
    with_text: bool


def seal_box(page: PageWords, person: Box) -> SealBox:
    """Return the seal box over the left third of ``person`` on ``page``.

    Words under the person's picture (its name line) are not obstacles. Raises
    ``PlacementError`` when even the smallest seal does not fit.
    """
    px1, py1, px2, py2 = person
    reach = max(SEAL_MAX, py2 - py1) + 2 * _PAD  # the seal's band never leaves this window
    obstacles = [w.box for w in page.words
                 if not (w.box[0] < person[2] and w.box[2] > person[0]
                         and w.box[1] < person[3] and w.box[3] > person[1])
                 and w.box[3] > py1 - reach and w.box[1] < py2 + reach]
    third = (px2 - px1) / 3
    centre_y = (py1 + py2) / 2
    diameter = SEAL_MAX
    while diameter >= SEAL_MIN - 1e-6:
        overlap = min(third, diameter) / 2
        offsets = [0.0]
        step = 4.0
        while step <= max((py2 - py1) / 2, diameter / 2):
            offsets += [step, -step]
            step += 4.0
        for offset in offsets:
            cy = centre_y + offset
            y1, y2 = cy - diameter / 2, cy + diameter / 2
            ideal = px1 + third - diameter
            for lo, hi in free_intervals(obstacles, page.size, y1, y2):
                low = max(lo, px1 + overlap - diameter)
                high = min(hi - diameter, px1 + third - overlap)
                if low > high + 1e-6:
                    continue
                x = min(max(ideal, low), high)
                seal = (x, y1, x + diameter, y2)
                text = (x - SEAL_TEXT_WIDTH - 2, y1, x + diameter, y2)
                if is_free(text, obstacles, page.size):
                    return SealBox(text, seal, True)
                return SealBox(seal, seal, False)
        diameter -= 2.0
    return _raise(_no_room(page, person, "agency"))


def _raise(error: PlacementError) -> SealBox:
    raise error
