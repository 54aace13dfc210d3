"""Number and date of issuance on the PDF (Nghị định 30: the system gives the number and the
time of issuance of an electronic document).

The places are read on the first page: the blank after ``Số:`` (before ``/ký hiệu``) and the
blanks of ``…, ngày … tháng … năm …``. Empty text fields are added there before the person
signs, so the person's signature covers them empty; at issuance they are filled just before the
agency signature. pyHanko (and so our verifier) classifies filling them as form filling, which
a non-certifying signature allows: the person's signature stays valid, and the report names the
fields that changed after it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from io import BytesIO

from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.generic import pdf_name, pdf_string
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

from docsvc.signing.words import Box, Document, Line, ScanLimits, fold

FIELD_NUMBER = "docsvc_so"
FIELD_DAY = "docsvc_ngay"
FIELD_MONTH = "docsvc_thang"
FIELD_YEAR = "docsvc_nam"
ISSUE_FIELDS = (FIELD_NUMBER, FIELD_DAY, FIELD_MONTH, FIELD_YEAR)
"""Names of the text fields that hold the number and the date of issuance."""


@dataclass(frozen=True)
class IssuePlaces:
    """Blanks found on page 1; ``None`` where the value is printed already or not found."""

    boxes: dict[str, Box]
    """Field name → box (PDF points)."""
    font_size: float
    number_has_notation: bool
    """The ``/ký hiệu`` is printed after the blank: the field holds the number only."""


def _keys(line: Line) -> tuple[str, list[int]]:
    text, owners = "", []
    for i, (ch, _box) in enumerate(line.chars):
        key = fold(ch) if ch.strip() else " "
        text += key
        owners.extend([i] * len(key))
    return text, owners


def _blank(line: Line, after: int, before: int | None, default_width: float) -> Box | None:
    """Return the blank between char ``after`` and char ``before`` when it holds no digit."""
    chars = line.chars
    between = chars[after + 1:before] if before is not None else chars[after + 1:]
    if any(ch.isdigit() for ch, _ in between):
        return None
    x1 = chars[after][1][2] + 1
    x2 = chars[before][1][0] - 1 if before is not None else x1 + default_width
    if x2 - x1 < 8:
        return None
    bottom = min(b[1] for ch, b in chars if ch.strip())
    top = max(b[3] for ch, b in chars if ch.strip())
    return (x1, bottom, x2, top)


def find_issue_places(data: bytes, limits: ScanLimits | None = None) -> IssuePlaces | None:
    """Find the blanks of the number and the date on page 1, or None when there are none."""
    with Document(data, limits or ScanLimits(ocr=False)) as doc:
        page = doc.text_words(0)
    height = page.size[3] - page.size[1]
    top_part = [line for line in page.lines if line.box[1] > page.size[1] + height * 0.55]
    boxes: dict[str, Box] = {}
    size = 12.0
    has_notation = False
    for line in top_part:
        text, owners = _keys(line)
        squeezed = text.replace(" ", "")
        if FIELD_NUMBER not in boxes and squeezed.startswith(fold("Số:")):
            colon = text.index(":")
            end = owners[colon]
            slash = next((i for i in range(end + 1, len(line.chars))
                          if line.chars[i][0] == "/"), None)
            box = _blank(line, end, slash, 40.0)
            if box is not None:
                boxes[FIELD_NUMBER] = box
                has_notation = slash is not None
                size = (line.box[3] - line.box[1]) / 1.4
        words = [fold(w) for w in ("ngày", "tháng", "năm")]
        if FIELD_DAY not in boxes and all(w in text for w in words):
            at = [text.find(words[0])]
            at.append(text.find(words[1], at[0]))
            at.append(text.find(words[2], at[1]))
            if min(at) < 0:
                continue
            ends = [owners[a + len(w) - 1] for a, w in zip(at, words, strict=True)]
            starts = [owners[a] for a in at]
            for name, after, before, width in (
                    (FIELD_DAY, ends[0], starts[1], 24.0), (FIELD_MONTH, ends[1], starts[2], 24.0),
                    (FIELD_YEAR, ends[2], None, 36.0)):
                box = _blank(line, after, before, width)
                if box is not None:
                    boxes[name] = box
    if not boxes:
        return None
    return IssuePlaces(boxes, max(8.0, min(size, 16.0)), has_notation)


def _helvetica(writer: IncrementalPdfFileWriter) -> generic.IndirectObject:
    return writer.add_object(generic.DictionaryObject({
        pdf_name("/Type"): pdf_name("/Font"), pdf_name("/Subtype"): pdf_name("/Type1"),
        pdf_name("/BaseFont"): pdf_name("/Helvetica"),
        pdf_name("/Encoding"): pdf_name("/WinAnsiEncoding")}))


def add_issue_fields(data: bytes, places: IssuePlaces) -> bytes:
    """Return ``data`` with empty text fields at ``places`` (an incremental update)."""
    writer = IncrementalPdfFileWriter(BytesIO(data))
    _add_fields(writer, places)
    out = BytesIO()
    writer.write(out)
    return out.getvalue()


def _add_fields(writer: IncrementalPdfFileWriter, places: IssuePlaces) -> None:
    page_ref = writer.root["/Pages"]["/Kids"].raw_get(0)
    page = page_ref.get_object()
    while "/Kids" in page:  # the first leaf of the page tree
        page_ref = page["/Kids"].raw_get(0)
        page = page_ref.get_object()
    font = _helvetica(writer)
    resources = generic.DictionaryObject({pdf_name("/Font"): generic.DictionaryObject(
        {pdf_name("/Helv"): font})})
    if "/AcroForm" not in writer.root:
        writer.root[pdf_name("/AcroForm")] = generic.DictionaryObject(
            {pdf_name("/Fields"): generic.ArrayObject()})
    form = writer.root["/AcroForm"]
    if "/Annots" in page:
        annots = page["/Annots"]
    else:
        annots = generic.ArrayObject()
        page[pdf_name("/Annots")] = annots
    for name, box in places.boxes.items():
        ref = writer.add_object(generic.DictionaryObject({
            pdf_name("/FT"): pdf_name("/Tx"), pdf_name("/T"): pdf_string(name),
            pdf_name("/Type"): pdf_name("/Annot"), pdf_name("/Subtype"): pdf_name("/Widget"),
            pdf_name("/Rect"): generic.ArrayObject([generic.FloatObject(round(v, 2))
                                                    for v in box]),
            pdf_name("/F"): generic.NumberObject(4), pdf_name("/P"): page_ref,
            pdf_name("/Q"): generic.NumberObject(1),
            pdf_name("/DA"): pdf_string(f"/Helv {places.font_size:.1f} Tf 0 g"),
            pdf_name("/DR"): resources,
        }))
        annots.append(ref)
        form["/Fields"].append(ref)
    writer.update_container(page)
    writer.update_container(form)
    writer.update_root()


def issue_texts(number: str, notation: str | None, date: dt.date, *,
                number_has_notation: bool) -> dict[str, str]:
    """Return the text of each field: the number (with ``/notation`` when not printed) and the
    date as Nghị định 30 writes it (day below 10 and months 1 and 2 with a leading zero)."""
    shown = number if number_has_notation or not notation else f"{number}/{notation}"
    month = f"{date.month:02d}" if date.month < 3 else str(date.month)
    return {FIELD_NUMBER: shown, FIELD_DAY: f"{date.day:02d}", FIELD_MONTH: month,
            FIELD_YEAR: str(date.year)}


@dataclass(frozen=True)
class FilledIssue:
    data: bytes
    filled: tuple[str, ...]
    """The fields written (empty when the document has no place for them)."""


def fill_issue_fields(data: bytes, number: str, notation: str | None, date: dt.date, *,
                      limits: ScanLimits | None = None) -> FilledIssue:
    """Write the number and the date into their fields (an incremental update).

    When the fields are missing and nothing is signed yet, they are added and filled in the
    same update; when a signature already covers the document without them, nothing is
    written (adding content would break it) and ``filled`` is empty.
    """
    writer = IncrementalPdfFileWriter(BytesIO(data))
    fields = _issue_fields(writer)
    places = None
    if not fields:
        if _has_signatures(writer):
            return FilledIssue(data, ())
        places = find_issue_places(data, limits)
        if places is None:
            return FilledIssue(data, ())
        _add_fields(writer, places)
        fields = _issue_fields(writer)
    has_notation = places.number_has_notation if places else _number_has_notation(data)
    texts = issue_texts(number, notation, date, number_has_notation=has_notation)
    for name, field in fields.items():
        _fill(writer, field, texts[name])
    out = BytesIO()
    writer.write(out)
    return FilledIssue(out.getvalue(), tuple(sorted(fields)))


def _number_has_notation(data: bytes) -> bool:
    places = find_issue_places(data)
    return bool(places and places.number_has_notation)


def _issue_fields(writer: IncrementalPdfFileWriter) -> dict[str, generic.DictionaryObject]:
    found = {}
    for field in _fields(writer):
        name = str(field["/T"]) if "/T" in field else ""
        if name in ISSUE_FIELDS and "/FT" in field and field["/FT"] == "/Tx" \
                and "/V" not in field:
            found[name] = field
    return found


def _fields(writer: IncrementalPdfFileWriter) -> list[generic.DictionaryObject]:
    if "/AcroForm" not in writer.root:
        return []
    form = writer.root["/AcroForm"]
    return [ref.get_object() for ref in form["/Fields"]] if "/Fields" in form else []


def _has_signatures(writer: IncrementalPdfFileWriter) -> bool:
    return any("/FT" in f and f["/FT"] == "/Sig" and "/V" in f for f in _fields(writer))


def _fill(writer: IncrementalPdfFileWriter, field: generic.DictionaryObject, text: str) -> None:
    x1, y1, x2, y2 = (float(v) for v in field["/Rect"])
    width, height = x2 - x1, y2 - y1
    da = str(field["/DA"]) if "/DA" in field else "/Helv 12 Tf 0 g"
    size = float(da.split()[1]) if len(da.split()) > 1 else 12.0
    advance = 0.556 * size * len(text)  # Helvetica digits and '/' are 556/1000 wide
    size = min(size, size * (width - 2) / advance) if advance > width - 2 else size
    advance = 0.556 * size * len(text)
    left = max(1.0, (width - advance) / 2)
    baseline = (height - size * 0.72) / 2
    font = field["/DR"]["/Font"].raw_get("/Helv")
    escaped = text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
    stream = generic.StreamObject({
        pdf_name("/Type"): pdf_name("/XObject"), pdf_name("/Subtype"): pdf_name("/Form"),
        pdf_name("/BBox"): generic.ArrayObject([generic.FloatObject(0), generic.FloatObject(0),
                                                generic.FloatObject(round(width, 2)),
                                                generic.FloatObject(round(height, 2))]),
        pdf_name("/Resources"): generic.DictionaryObject({pdf_name("/Font"):
                                                          generic.DictionaryObject(
                                                              {pdf_name("/Helv"): font})}),
    }, stream_data=(f"/Tx BMC BT /Helv {size:.2f} Tf 0 g {left:.2f} {baseline:.2f} Td "
                    f"({escaped}) Tj ET EMC").encode("latin-1"))
    field[pdf_name("/V")] = pdf_string(text)
    field[pdf_name("/AP")] = generic.DictionaryObject({pdf_name("/N"): writer.add_object(stream)})
    writer.update_container(field)
