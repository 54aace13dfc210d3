"""Phụ lục VI fields read from the lines of a notice laid out per Nghị định 30 (Phụ lục IV).

The form puts the parent and issuing bodies top left with "Số: …" under them, the national
motto top right with "<place>, ngày … tháng … năm …" under it, the type title (absent for a
công văn, whose trích yếu follows "V/v" under the number) centred, "Nơi nhận:" bottom left and
the signer's competence lines, position and name bottom right. Each rule returns a ``Field``
with a confidence that says how strict the match was.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from docsvc.extract.layout import Box, Line
from docsvc.metadata import DOCUMENT_TYPES, fold

COMPETENCE_PREFIXES = ("TM.", "KT.", "TL.", "TUQ.", "Q.")
_NUMBER = re.compile(r"^S[ốôoó6][.:]?\s*:?\s*(\d{1,7})\s*/\s*((?:\d{4}\s*/\s*)?[0-9A-Za-zĐđ.\-]{2,30})")
_DATE = re.compile(
    r"^(?P<place>[^,]{2,60}),\s*ng[àa]y\s+(?P<d>\d{1,2})\s+th[áa]ng\s+(?P<m>\d{1,2})\s+n[ăa]m\s+(?P<y>\d{4})",
    re.IGNORECASE)
_VV = re.compile(r"^V\s*[/l|]\s*v\.?\s*:?\s*(.+)$", re.IGNORECASE)
_REFERENCE = re.compile(
    r"(?P<kind>Luật|Bộ luật|Nghị định|Nghị quyết|Quyết định|Thông tư liên tịch|Thông tư|Chỉ thị|"
    r"Thông báo|Công văn|Văn bản|Kế hoạch|Báo cáo|Tờ trình|Hướng dẫn|Công điện)\s+số\s+"
    r"(?P<number>\d{1,7}/(?:\d{4}/)?[0-9A-Za-zĐđ]+(?:-[0-9A-Za-zĐđ]+)*)"
    r"(?:\s+ngày\s+(?P<date>\d{1,2}(?:/|\s+tháng\s+)\d{1,2}(?:/|\s+năm\s+)\d{4}))?"
    r"(?:\s+của\s+(?P<organ>[^;,.()]{3,120}?))?(?=[;,.()]|\s+(?:về|quy định|hướng dẫn|ban hành)\b|$)"
)
_ARRIVAL_NUMBER = re.compile(r"S[ốôoó6]\s*:?\s*(\d{1,10})\b")
_ARRIVAL_DATE = re.compile(r"Ng[àa]y\s*:?\s*(\d{1,2})\s*[/.-]\s*(\d{1,2})\s*[/.-]\s*(\d{2,4})")
_URGENCY = {"hoa toc": 3, "thuong khan": 2, "khan": 1}
_SECRECY = {"tuyet mat": "tuyet_mat", "toi mat": "toi_mat", "mat": "mat"}
_MOTTO = ("cong hoa xa hoi chu nghia viet nam", "doc lap - tu do - hanh phuc")
_STAMP_LINE = re.compile(r"^(den\b|so\s*:|ngay\s*:|chuyen\s*:|luu ho so)")
# First words of the name of a body (Luật Tổ chức chính quyền địa phương and the usual units):
# a header line opening with one starts a new name, any other line continues the one above.
_BODY_WORDS = tuple(w + " " for w in (
    "ubnd", "uy ban", "hdnd", "hoi dong", "so", "van phong", "ban", "phong", "trung tam", "chi cuc",
    "cuc", "tong cuc", "bo", "truong", "benh vien", "cong an", "bo chi huy", "thanh tra", "kho bac",
    "dang uy", "tinh uy", "huyen uy", "thanh uy", "bao", "dai", "vien", "ngan hang", "quy", "cong ty",
    "tong cong ty", "chinh phu", "quoc hoi", "toa an", "vien kiem sat", "mat tran", "doan", "hoi",
    "lien doan", "chi nhanh", "hoc vien", "dai hoc"))
_TYPE_BY_FOLD = {fold(name): name for name, _ in DOCUMENT_TYPES}
_TYPE_BY_ABBR = {abbr: name for name, abbr in DOCUMENT_TYPES if abbr}


@dataclass(frozen=True)
class Field:
    """One extracted value, how sure the rule is (0–1) and where it was read."""

    value: Any
    confidence: float
    page: int | None = None
    box: Box | None = None

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON form."""
        value = self.value.isoformat() if isinstance(self.value, dt.date) else self.value
        return {"value": value, "confidence": round(self.confidence, 2), "page": self.page,
                "box": list(self.box) if self.box else None}


def _at(value: Any, confidence: float, *lines: Line) -> Field:
    if not lines:
        return Field(value, confidence)
    box = (min(ln.box[0] for ln in lines), min(ln.box[1] for ln in lines),
           max(ln.box[2] for ln in lines), max(ln.box[3] for ln in lines))
    return Field(value, confidence, lines[0].page, box)


def is_caps(text: str) -> bool:
    """Tell whether ``text`` is written in capitals (ignoring digits and punctuation)."""
    letters = [c for c in text if c.isalpha()]
    return len(letters) >= 2 and all(c.isupper() for c in letters)


def _is_motto(line: Line) -> bool:
    folded = fold(line.text)
    return any(folded.startswith(m[:18]) for m in _MOTTO) or set(line.text) <= set("-_ ")


def _clean_item(text: str) -> str:
    return text.strip().lstrip("-–•+*~_").strip().rstrip(" ;,.-–").strip()


def header_fields(lines: Sequence[Line]) -> dict[str, Field]:
    """Read the header of the first page: bodies, number, place and date, type, abstract."""
    fields: dict[str, Field] = {}
    number_line = date_line = None
    for line in lines:
        if number_line is None and line.is_left and (m := _NUMBER.match(line.text)):
            number_line = line
            fields["code_number"] = _at(m.group(1), 0.97, line)
            fields["code_notation"] = _at(re.sub(r"\s+", "", m.group(2)).rstrip(".-"), 0.95, line)
        if date_line is None and (m := _DATE.match(line.text)):
            date_line = line
            try:
                day = dt.date(int(m["y"]), int(m["m"]), int(m["d"]))
                fields["issued_date"] = _at(day, 0.97, line)
            except ValueError:
                pass
            fields["place"] = _at(m["place"].strip(), 0.95, line)
    top = (number_line or date_line)
    _bodies(lines, top, fields)
    _marks(lines, fields)
    _type_and_subject(lines, number_line, date_line, fields)
    return fields


def _bodies(lines: Sequence[Line], top: Line | None, fields: dict[str, Field]) -> None:
    if top is None:
        return
    # Parent body, then issuing body: the capitalised left-column lines above "Số:".
    block = [ln for ln in lines if ln.page == top.page and ln.is_left and ln.box[1] > top.box[3]
             and is_caps(ln.text) and not _is_motto(ln) and not _mark_of(ln.text)
             and not _STAMP_LINE.match(fold(ln.text))]
    block = [ln for ln in block if top.box[3] + 160 > ln.box[1]]
    if not block:
        return
    groups: list[list[Line]] = []
    for line in block:  # a line that does not open a body's name continues the one above
        if not groups or (fold(line.text) + " ").startswith(_BODY_WORDS):
            groups.append([line])
        else:
            groups[-1].append(line)
    if len(groups) == 1:
        fields["organ_name"] = _at(" ".join(ln.text for ln in groups[0]), 0.9, *groups[0])
        return
    parent, rest = groups[-2], groups[-1]
    parent_text, body_text = " ".join(ln.text for ln in parent), " ".join(ln.text for ln in rest)
    issuer = _issuer_code(fields.get("code_notation"))
    if issuer and _initials(parent_text).startswith(issuer) and not _initials(body_text).startswith(issuer):
        # The notation names the upper line as issuer ("TB-UBND" under "UBND TỈNH … / VĂN PHÒNG"):
        # the lower line is the unit that drafted it on the issuer's behalf.
        fields["organ_name"] = _at(parent_text, 0.85, *parent)
        fields["drafting_unit"] = _at(body_text, 0.75, *rest)
        return
    fields["parent_organ_name"] = _at(parent_text, 0.75, *parent)
    sure = 0.9 if issuer and _initials(body_text).startswith(issuer) else 0.8
    fields["organ_name"] = _at(body_text, sure, *rest)


def _issuer_code(notation: Field | None) -> str | None:
    if notation is None:
        return None
    parts = [p for p in notation.value.split("/")[-1].split("-") if p]
    if parts and parts[0] in _TYPE_BY_ABBR:
        parts = parts[1:]
    return fold(parts[0]).replace(" ", "") if parts else None


def _initials(text: str) -> str:
    words = [w for w in fold(text).replace("-", " ").split() if w not in ("va", "&")]
    return "".join(w if len(w) > 1 and w.upper() in text and w in ("ubnd", "hdnd") else w[:1]
                   for w in words)


def _mark_of(text: str) -> tuple[str, Any] | None:
    folded = fold(text).strip(" .:")
    if folded in _URGENCY:
        return "priority", _URGENCY[folded]
    if folded in _SECRECY:
        return "secrecy", _SECRECY[folded]
    return None


def _marks(lines: Sequence[Line], fields: dict[str, Field]) -> None:
    for line in lines:
        found = _mark_of(line.text)
        if found and found[0] not in fields and is_caps(line.text):
            fields[found[0]] = _at(found[1], 0.9, line)


def _type_and_subject(lines: Sequence[Line], number_line: Line | None, date_line: Line | None,
                      fields: dict[str, Field]) -> None:
    below = max((ln.box[1] for ln in (number_line, date_line) if ln), default=None)
    title = None
    for line in lines:
        if below is not None and line.box[3] > below:
            continue
        name = _TYPE_BY_FOLD.get(fold(line.text).strip(" ."))
        if name and is_caps(line.text):
            title = line
            fields["type_name"] = _at(name, 0.95, line)
            break
    notation = fields.get("code_notation")
    abbr = notation.value.split("/")[-1].split("-")[0] if notation else None
    if title is None:
        vv = _cong_van_subject(lines, number_line)
        if vv is not None:
            fields["type_name"] = Field("Công văn", 0.9 if abbr not in _TYPE_BY_ABBR else 0.5,
                                        vv.page, vv.box)
            fields["subject"] = vv
        elif abbr in _TYPE_BY_ABBR:
            fields["type_name"] = _at(_TYPE_BY_ABBR[abbr], 0.6, number_line)  # type: ignore[arg-type]
        return
    if abbr in _TYPE_BY_ABBR and _TYPE_BY_ABBR[abbr] == fields["type_name"].value:
        fields["type_name"] = Field(fields["type_name"].value, 0.99, title.page, title.box)
    subject = _subject_after(lines, title)
    if subject is not None:
        fields["subject"] = subject


def _subject_after(lines: Sequence[Line], title: Line) -> Field | None:
    # The trích yếu: centred lines right under the type title, until a gap, an authority line
    # in capitals (Quyết định), "Căn cứ", "Kính gửi" or a body paragraph (a wide line that
    # starts at the left margin).
    picked: list[Line] = []
    previous = title
    page_lines = [ln for ln in lines if ln.page == title.page]
    starts = Counter(round(ln.box[0] / 4) for ln in page_lines)  # the left margin: the most
    margin = starts.most_common(1)[0][0] * 4                      # common start of a line
    text_width = max(ln.box[2] for ln in page_lines) - margin
    for line in lines:
        if line.page != title.page or line.box[3] >= title.box[1] + 1:
            continue
        gap = previous.box[1] - line.box[3]
        if gap > 1.2 * max(previous.height, line.height) + 4:
            break
        text = line.text.strip()
        if (is_caps(text) or set(text) <= set("-_ ") or fold(text).startswith(("can cu", "kinh gui"))
                or (abs(line.box[0] - margin) < 15 and line.box[2] - line.box[0] > 0.75 * text_width)
                or abs(line.centre_x - line.page_width / 2) > line.page_width * 0.12):
            break
        picked.append(line)
        previous = line
    if not picked:
        return None
    text = " ".join(ln.text for ln in picked)
    return _at(text, 0.9 if len(picked) <= 3 else 0.7, *picked)


def _cong_van_subject(lines: Sequence[Line], number_line: Line | None) -> Field | None:
    if number_line is None:
        return None
    picked: list[Line] = []
    for line in lines:
        if line.page != number_line.page or not line.is_left or line.box[3] > number_line.box[1]:
            continue
        if not picked:
            if (m := _VV.match(line.text)) and number_line.box[1] - line.box[3] < 40:
                picked.append(line)
                first = m.group(1)
            continue
        gap = picked[-1].box[1] - line.box[3]
        if gap > 1.2 * line.height + 3 or fold(line.text).startswith("kinh gui") or _mark_of(line.text):
            break
        picked.append(line)
    if not picked:
        return None
    text = " ".join([first, *(ln.text for ln in picked[1:])])
    return _at(text.strip(), 0.9, *picked)


def _is_name(text: str) -> bool:
    words = text.replace("(", " ").replace(")", " ").split()
    return (2 <= len(words) <= 6 and all(w[0].isupper() and w[0].isalpha() for w in words)
            and not is_caps(text) and not any(ch.isdigit() for ch in text))


def signer_fields(pages: Sequence[Sequence[Line]]) -> dict[str, Field]:
    """Find the signer block (competence lines, position, name), last page first."""
    for lines in reversed(pages):
        right = [ln for ln in lines if ln.is_right]
        for index in range(len(right) - 1, -1, -1):
            name = right[index]
            if not _is_name(name.text):
                continue
            above = [ln for ln in right[:index] if ln.box[1] > name.box[3]]
            if not above:
                continue
            position = above[-1]
            if not is_caps(position.text) or position.box[1] - name.box[3] > 170:
                continue
            block = [position]
            for line in reversed(above[:-1]):
                if line.box[1] - block[0].box[3] > 1.5 * line.height + 3 or not is_caps(line.text):
                    break
                block.insert(0, line)
            if _is_motto(block[0]):
                continue
            competence_lines = block[:-1]
            position_line = block[-1]
            fields = {"signer_name": _at(name.text, 0.9, name),
                      "signer_position": _at(standard_position(_strip_prefix(position_line.text)), 0.9,
                                             position_line)}
            if competence_lines:
                fields["signer_competence_lines"] = _at(
                    [ln.text.lstrip("-–~•*_ ") for ln in competence_lines], 0.85, *competence_lines)
                prefix = _prefix(competence_lines[0].text)
                if prefix:
                    fields["signer_competence"] = _at(prefix, 0.9, competence_lines[0])
            elif (prefix := _prefix(position_line.text)):
                fields["signer_competence"] = _at(prefix, 0.85, position_line)
            return fields
    return {}


# Positions of signers in the forms of Nghị định 30 and the Luật Tổ chức chính quyền địa phương:
# a printed position that folds to one of them (OCR drops tone marks: "CHỦ TICH") is written
# the standard way.
POSITIONS = ("CHỦ TỊCH", "PHÓ CHỦ TỊCH", "GIÁM ĐỐC", "PHÓ GIÁM ĐỐC", "CHÁNH VĂN PHÒNG",
             "PHÓ CHÁNH VĂN PHÒNG", "TRƯỞNG BAN", "PHÓ TRƯỞNG BAN", "TRƯỞNG PHÒNG", "PHÓ TRƯỞNG PHÒNG",
             "CHÁNH THANH TRA", "PHÓ CHÁNH THANH TRA", "CỤC TRƯỞNG", "PHÓ CỤC TRƯỞNG", "BỘ TRƯỞNG",
             "THỨ TRƯỞNG", "VỤ TRƯỞNG", "PHÓ VỤ TRƯỞNG", "BÍ THƯ", "PHÓ BÍ THƯ", "HIỆU TRƯỞNG",
             "CHI CỤC TRƯỞNG", "TỔNG CỤC TRƯỞNG", "THỦ TRƯỞNG", "KẾ TOÁN TRƯỞNG")
_POSITION_BY_FOLD = {fold(p): p for p in POSITIONS}


def standard_position(text: str) -> str:
    """Return the standard spelling of a known position printed with lost or wrong tone marks."""
    import difflib

    folded = fold(text).replace(".", "").strip()
    if folded in _POSITION_BY_FOLD:
        return _POSITION_BY_FOLD[folded] if is_caps(text) else text
    close = difflib.get_close_matches(folded, list(_POSITION_BY_FOLD), n=1, cutoff=0.86)
    return _POSITION_BY_FOLD[close[0]] if close and is_caps(text) else text


def _prefix(text: str) -> str | None:
    text = text.lstrip("-–~•*_ ")
    head = text.split()[0].upper() if text.split() else ""
    head = head if head.endswith(".") else head + "."
    return head if head in COMPETENCE_PREFIXES else None


def _strip_prefix(text: str) -> str:
    text = text.lstrip("-–~•*_ ")
    return text.split(None, 1)[1] if _prefix(text) and len(text.split()) > 1 else text


def recipient_fields(pages: Sequence[Sequence[Line]],
                     directory: Sequence[tuple[str, str]] = ()) -> dict[str, Field]:
    """Read the "Nơi nhận" list and match its items to the directory (OrganId, name)."""
    for lines in reversed(pages):
        left = [ln for ln in lines if ln.is_left]
        start = next((i for i, ln in enumerate(left) if fold(ln.text).startswith("noi nhan")), None)
        if start is None:
            continue
        head = left[start]
        items: list[tuple[str, list[Line]]] = []
        rest = head.text.split(":", 1)[1].strip() if ":" in head.text else ""
        if rest:
            items.append((rest, [head]))
        previous = head
        for line in left[start + 1:]:
            if previous.box[1] - line.box[3] > 2.2 * line.height + 4:
                break
            if (line.text.lstrip().startswith(("-", "–", "•", "+", "~")) or not items
                    or fold(line.text).startswith("luu")):
                items.append((line.text, [line]))
            else:
                items[-1] = (items[-1][0] + " " + line.text, items[-1][1] + [line])
            previous = line
        names = [(_clean_item(text), group) for text, group in items]
        names = [(n, g) for n, g in names if n]
        archive = [(n, g) for n, g in names if fold(n).startswith("luu")]
        listed = [(n, g) for n, g in names if not fold(n).startswith("luu")]
        fields = {"recipient_lines": _at([n for n, _ in listed], 0.85, head, *(g[-1] for _, g in listed))}
        if archive:  # "Lưu: VT, …": the copies kept, not a recipient
            fields["archive"] = _at(archive[0][0], 0.9, *archive[0][1])
        matched = []
        for name, group in listed:
            hit = match_directory(name, directory)
            if hit:
                matched.append(_at({"organ_id": hit[0], "organ_name": hit[1], "text": name},
                                   hit[2], *group).to_dict())
        fields["recipients"] = Field(matched, 0.85 if matched else 0.3, head.page, head.box)
        return fields
    return {}


def match_directory(name: str, directory: Sequence[tuple[str, str]]) -> tuple[str, str, float] | None:
    """Return (OrganId, name, confidence) of the directory entry ``name`` designates, if any."""
    wanted = fold(name).strip(" ;,.")
    if not wanted:
        return None
    for organ_id, organ_name in directory:
        if fold(organ_name) == wanted:
            return organ_id, organ_name, 0.95
    expanded = _expand(wanted)
    for organ_id, organ_name in directory:
        if _expand(fold(organ_name)) == expanded:
            return organ_id, organ_name, 0.85
    # OCR dust reads as stray one-letter words ("Sở T Tài chính"): match without them.
    words = [w for w in expanded.replace(",", " ").split() if len(w) > 1]
    for organ_id, organ_name in directory:
        if [w for w in _expand(fold(organ_name)).split() if len(w) > 1] == words:
            return organ_id, organ_name, 0.7
    return None


_ABBREVIATIONS = (("uy ban nhan dan", "ubnd"), ("hoi dong nhan dan", "hdnd"), ("van phong", "vp"))


def _expand(text: str) -> str:
    for long, short in _ABBREVIATIONS:
        text = text.replace(long, short)
    return text


def reference_fields(text: str, own: str | None) -> Field | None:
    """Find references to other documents ("Quyết định số 415/QĐ-UBND ngày 09/6/2017 của …")."""
    found: list[str] = []
    seen: set[str] = set()
    for m in _REFERENCE.finditer(" ".join(text.split())):
        number = m["number"]
        if number in seen or (own and number == own):
            continue
        seen.add(number)
        found.append(" ".join(m.group(0).split()).rstrip(" ;,."))
    return Field(found, 0.85) if found else None


def arrival_fields(lines: Sequence[Line]) -> dict[str, Field]:
    """Read the arrival stamp of a received paper document: "ĐẾN Số: 6079 Ngày: 20/6/18"."""
    for index, line in enumerate(lines):
        folded = fold(line.text)
        if not (folded.startswith("den") and (folded in ("den", "den:") or "so" in folded.split()[:3]
                                               or folded.startswith("den so"))):
            continue
        near = [ln for ln in lines[index:index + 8]
                if abs(ln.centre_x - line.centre_x) < 160 and line.box[3] - ln.box[3] < 80]
        joined = " ".join(ln.text for ln in near)
        number = _ARRIVAL_NUMBER.search(joined)
        day = _ARRIVAL_DATE.search(joined)
        fields: dict[str, Field] = {}
        if number:
            fields["arrival_number"] = _at(int(number.group(1)), 0.85, *near)
        if day:
            d, m, y = int(day.group(1)), int(day.group(2)), int(day.group(3))
            y = y + 2000 if y < 100 else y
            try:
                fields["arrival_date"] = _at(dt.date(y, m, d), 0.85, *near)
            except ValueError:
                pass
        if fields:
            return fields
    return {}
