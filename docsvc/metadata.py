"""Document metadata as clerks and linked systems send it: parsing, checking every field at
once, the document types of Nghị định 30 (Phụ lục III) and diacritic-blind search text.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

from docsvc.errors import InvalidMetadataError
from docsvc.models import DIRECTIONS, SECRECY_LEVELS

# (full name, abbreviation) in the order of Điều 7; None where the type has no abbreviation.
DOCUMENT_TYPES: tuple[tuple[str, str | None], ...] = (
    ("Nghị quyết", "NQ"), ("Quyết định", "QĐ"), ("Chỉ thị", "CT"), ("Quy chế", "QC"),
    ("Quy định", "QyĐ"), ("Thông cáo", "TC"), ("Thông báo", "TB"), ("Hướng dẫn", "HD"),
    ("Chương trình", "CTr"), ("Kế hoạch", "KH"), ("Phương án", "PA"), ("Đề án", "ĐA"),
    ("Dự án", "DA"), ("Báo cáo", "BC"), ("Biên bản", "BB"), ("Tờ trình", "TTr"),
    ("Hợp đồng", "HĐ"), ("Công văn", None), ("Công điện", "CĐ"), ("Bản ghi nhớ", "BGN"),
    ("Bản thỏa thuận", "BTT"), ("Giấy ủy quyền", "GUQ"), ("Giấy mời", "GM"),
    ("Giấy giới thiệu", "GGT"), ("Giấy nghỉ phép", "GNP"), ("Phiếu gửi", "PG"),
    ("Phiếu chuyển", "PC"), ("Phiếu báo", "PB"), ("Thư công", None),
    ("Bản sao y", "SY"), ("Bản trích sao", "TrS"), ("Bản sao lục", "SL"),
)

COMPETENCES = ("TM.", "KT.", "TL.", "TUQ.", "Q.")
"""The signing-authority prefixes (Nghị định 30): on behalf of, for, by order, by authorisation,
acting. The competence itself is the whole printed text ("TL. CHỦ TỊCH", "TM. ỦY BAN NHÂN DÂN",
or two lines "TL. CHỦ TỊCH" / "KT. CHÁNH VĂN PHÒNG"): kept as printed, its prefix derived."""
COMPETENCE_MAX = 200
_COMPETENCE_PREFIX = re.compile(r"^(TM|KT|TL|TUQ|Q)\s*\.?(?=\s|$)", re.IGNORECASE)
_ORGAN_ID = re.compile(r"^\d{3}\.\d{2}\.\d{2}\.[A-Z]\d{2}$")
_LIMITS = {
    "organ_name": 200, "type_name": 100, "code_number": 11, "code_notation": 30, "place": 100,
    "subject": 500, "language": 30, "signer_position": 100, "signer_name": 50,
    "description": 500, "file_notation": 20,
}


def competence_prefix(competence: str | None) -> str | None:
    """Return the authority prefix of a competence text (``TL. CHỦ TỊCH`` → ``TL.``), or None."""
    if not competence:
        return None
    found = _COMPETENCE_PREFIX.match(competence.strip())
    return f"{found.group(1).upper()}." if found else None


def normalize_competence(text: str) -> str | None:
    """Return the competence as printed, tidied: NFC, one line per authority (a line break or
    `` / `` between them), single spaces, each line's prefix as ``TL.``; None when a line does
    not start with one of :data:`COMPETENCES`."""
    lines = [" ".join(part.split()) for part in re.split(r"\s*(?:\n|\r|/)\s*", nfc(text))]
    lines = [line for line in lines if line]
    tidy = []
    for line in lines:
        prefix = competence_prefix(line)
        if prefix is None:
            return None
        rest = _COMPETENCE_PREFIX.sub("", line, count=1).strip()
        tidy.append(f"{prefix} {rest}".strip())
    return "\n".join(tidy) or None


def nfc(value: str) -> str:
    """Return ``value`` in Unicode NFC, the one form docsvc stores."""
    return unicodedata.normalize("NFC", value)


def fold(text: str) -> str:
    """Fold Vietnamese text to lowercase ASCII: ``Cải cách Đà Nẵng`` → ``cai cach da nang``."""
    decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(stripped.lower().split())


def resolve_type(value: str) -> tuple[str, str | None] | None:
    """Return (full name, abbreviation) for a type given by name or abbreviation, any case."""
    value = nfc(value.strip())
    for name, abbr in DOCUMENT_TYPES:  # exact first: "HD" is Hướng dẫn, "HĐ" is Hợp đồng
        if value in (name, abbr):
            return name, abbr
    wanted = fold(value)
    for name, abbr in DOCUMENT_TYPES:
        if fold(name) == wanted or (abbr and fold(abbr) == wanted):
            return name, abbr
    return None


def is_standard_organ_id(value: str) -> bool:
    """Tell whether ``value`` has the QĐ 20/2020 shape ``NNN.NN.NN.XNN``."""
    return bool(_ORGAN_ID.match(value))


@dataclass(frozen=True)
class Metadata:
    """Checked metadata of a document, snake_case of the edXML names."""

    direction: str
    organ_id: str
    organ_name: str
    type_name: str
    type_abbr: str | None
    subject: str
    code_number: str | None = None
    code_notation: str | None = None
    issued_date: dt.date | None = None
    place: str | None = None
    language: str | None = None
    signer_competence: str | None = None
    signer_position: str | None = None
    signer_name: str | None = None
    recipients: list[dict[str, str]] = field(default_factory=list)
    to_places: list[str] = field(default_factory=list)
    references: list[str] = field(default_factory=list)
    priority: int = 0
    secrecy: str = "none"
    due_date: dt.date | None = None
    page_amount: int | None = None
    issued_amount: int | None = None
    description: str | None = None
    file_catalog: int | None = None
    file_notation: str | None = None
    doc_ordinal: int | None = None
    arrival_date: dt.date | None = None
    arrival_number: int | None = None
    owner_organ_id: str | None = None
    joint_organs: list[dict[str, str]] = field(default_factory=list)
    """Văn bản liên tịch: the other issuing agencies; ``organ_id`` stays the owner."""


class _Checker:
    """Collect every field problem of one payload before failing."""

    def __init__(self, raw: dict[str, Any]) -> None:
        self.raw = raw
        self.problems: list[dict[str, str]] = []

    def fail(self, name: str, code: str, message: str) -> None:
        self.problems.append({"field": name, "code": code, "message": message})

    def text(self, name: str, *, required: bool = False) -> str | None:
        value = self.raw.get(name)
        if value is None or (isinstance(value, str) and not value.strip()):
            if required:
                self.fail(name, "required", "bắt buộc / required")
            return None
        if not isinstance(value, str | int) or isinstance(value, bool):
            self.fail(name, "type", "phải là chuỗi / must be a string")
            return None
        value = nfc(str(value).strip())
        limit = _LIMITS.get(name)
        if limit and len(value) > limit:
            self.fail(name, "too_long", f"tối đa {limit} ký tự / at most {limit} characters")
            return None
        return value

    def integer(self, name: str, low: int, high: int) -> int | None:
        value = self.raw.get(name)
        if value is None or value == "":
            return None
        if isinstance(value, bool) or not isinstance(value, int | str):
            self.fail(name, "type", "phải là số nguyên / must be an integer")
            return None
        try:
            number = int(value)
        except ValueError:
            self.fail(name, "type", "phải là số nguyên / must be an integer")
            return None
        if not low <= number <= high:
            self.fail(name, "range", f"từ {low} đến {high} / between {low} and {high}")
            return None
        return number

    def date(self, name: str) -> dt.date | None:
        value = self.raw.get(name)
        if value is None or value == "":
            return None
        if isinstance(value, str):
            try:
                return dt.date.fromisoformat(value.replace("/", "-"))
            except ValueError:
                pass
        self.fail(name, "format", "ngày dạng YYYY-MM-DD / date as YYYY-MM-DD")
        return None

    def choice(self, name: str, choices: tuple[str, ...], default: str | None = None) -> str | None:
        value = self.raw.get(name, default)
        if value is None:
            self.fail(name, "required", "bắt buộc / required")
            return None
        if value not in choices:
            self.fail(name, "choice", f"một trong / one of: {', '.join(choices)}")
            return None
        return value

    def organ_id(self, name: str, value: Any, allowed: frozenset[str], required: bool) -> str | None:
        if value is None or value == "":
            if required:
                self.fail(name, "required", "bắt buộc / required")
            return None
        if not isinstance(value, str) or not (is_standard_organ_id(value) or value in allowed):
            self.fail(name, "format", "mã định danh dạng NNN.NN.NN.XNN (QĐ 20/2020) / OrganId format")
            return None
        return value

    def string_list(self, name: str, limit: int) -> list[str]:
        value = self.raw.get(name) or []
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.fail(name, "type", "phải là danh sách chuỗi / must be a list of strings")
            return []
        items = [nfc(v.strip()) for v in value if v.strip()]
        if sum(len(v) for v in items) > limit:
            self.fail(name, "too_long", f"tối đa {limit} ký tự / at most {limit} characters")
        return items


def parse_metadata(raw: Any, *, allowed_organ_ids: frozenset[str] = frozenset()) -> Metadata:
    """Check a metadata object and return it; raise ``InvalidMetadataError`` naming every bad field."""
    if not isinstance(raw, dict):
        raise InvalidMetadataError(
            "Siêu dữ liệu phải là một đối tượng JSON.", "Metadata must be a JSON object.",
            details={"fields": [{"field": "metadata", "code": "type", "message": "JSON object"}]},
        )
    c = _Checker(raw)
    known = set(Metadata.__dataclass_fields__) - {"type_abbr"}
    for name in sorted(set(raw) - known):
        c.fail(name, "unknown", "trường không được hỗ trợ / unknown field")

    direction = c.choice("direction", DIRECTIONS)
    organ_id = c.organ_id("organ_id", raw.get("organ_id"), allowed_organ_ids, required=True)
    type_name, type_abbr = None, None
    raw_type = c.text("type_name", required=True)
    if raw_type:
        resolved = resolve_type(raw_type)
        if resolved is None:
            c.fail("type_name", "unknown_type", "không phải loại văn bản theo NĐ 30 / unknown type")
        else:
            type_name, type_abbr = resolved
    competence = c.text("signer_competence")
    if competence:
        tidy = normalize_competence(competence)
        if tidy is None:
            c.fail("signer_competence", "format",
                   "mỗi dòng bắt đầu bằng TM., KT., TL., TUQ. hoặc Q. (ví dụ “TL. CHỦ TỊCH”) / "
                   "each line starts with TM., KT., TL., TUQ. or Q. (e.g. “TL. CHỦ TỊCH”)")
        elif len(tidy) > COMPETENCE_MAX:
            c.fail("signer_competence", "too_long",
                   f"tối đa {COMPETENCE_MAX} ký tự / at most {COMPETENCE_MAX} characters")
        competence = tidy
    code_number = c.text("code_number")
    if code_number and not code_number.isdigit():
        c.fail("code_number", "format", "chỉ gồm chữ số / digits only")

    recipients = _recipients(c, allowed_organ_ids)
    joint_organs = _recipients(c, allowed_organ_ids, "joint_organs")
    if any(j["organ_id"] == organ_id for j in joint_organs):
        c.fail("joint_organs", "duplicate", "không gồm cơ quan ban hành chính / not the issuing body")
    references = c.string_list("references", 30 * 50)
    metadata: dict[str, Any] = dict(
        organ_name=c.text("organ_name", required=True),
        subject=c.text("subject", required=True),
        code_notation=c.text("code_notation"),
        place=c.text("place"),
        language=c.text("language"),
        signer_position=c.text("signer_position"),
        signer_name=c.text("signer_name"),
        description=c.text("description"),
        file_notation=c.text("file_notation"),
        issued_date=c.date("issued_date"),
        due_date=c.date("due_date"),
        arrival_date=c.date("arrival_date"),
        priority=c.integer("priority", 0, 4) or 0,
        page_amount=c.integer("page_amount", 1, 999),
        issued_amount=c.integer("issued_amount", 0, 999),
        file_catalog=c.integer("file_catalog", 1000, 9999),
        doc_ordinal=c.integer("doc_ordinal", 1, 999),
        arrival_number=c.integer("arrival_number", 1, 9_999_999_999),
        secrecy=c.choice("secrecy", SECRECY_LEVELS, default="none"),
        to_places=c.string_list("to_places", 1000),
        owner_organ_id=c.organ_id(
            "owner_organ_id", raw.get("owner_organ_id"), allowed_organ_ids, required=False
        ),
    )
    if direction == "outgoing":
        for name in ("arrival_date", "arrival_number"):
            if raw.get(name) not in (None, ""):
                c.fail(name, "not_allowed", "chỉ cho văn bản đến / incoming documents only")
    if c.problems:
        raise InvalidMetadataError(details={"fields": c.problems})
    assert direction and organ_id and type_name  # required: a missing one is in c.problems
    return Metadata(
        direction=direction, organ_id=organ_id, type_name=type_name, type_abbr=type_abbr,
        signer_competence=competence, code_number=code_number, recipients=recipients,
        joint_organs=joint_organs, references=references, **metadata,
    )


def check_issuing_body(metadata: Metadata, owner_organ_id: str) -> None:
    """Refuse an outgoing document whose issuing body is not its owner agency (a clerk cannot
    issue in another agency's name; co-issuers of a joint document go in ``joint_organs``)."""
    if metadata.direction == "outgoing" and metadata.organ_id != owner_organ_id:
        raise InvalidMetadataError(details={"fields": [{
            "field": "organ_id", "code": "not_owner",
            "message": "cơ quan ban hành của văn bản đi phải là cơ quan sở hữu "
                       f"({owner_organ_id}); cơ quan liên tịch ghi ở joint_organs / an outgoing "
                       f"document's issuing body must be its owner ({owner_organ_id}); list "
                       "co-issuers in joint_organs"}]})


def _recipients(c: _Checker, allowed: frozenset[str], field_name: str = "recipients"
                ) -> list[dict[str, str]]:
    value = c.raw.get(field_name) or []
    if not isinstance(value, list) or len(value) > 1000:
        c.fail(field_name, "type", "danh sách {organ_id, organ_name} / list of {organ_id, organ_name}")
        return []
    result = []
    for index, item in enumerate(value):
        name = f"{field_name}[{index}]"
        if not isinstance(item, dict):
            c.fail(name, "type", "đối tượng {organ_id, organ_name} / object")
            continue
        organ_id = c.organ_id(f"{name}.organ_id", item.get("organ_id"), allowed, required=True)
        organ_name = item.get("organ_name")
        if not isinstance(organ_name, str) or not organ_name.strip() or len(organ_name) > 200:
            c.fail(f"{name}.organ_name", "required", "tên cơ quan, tối đa 200 ký tự / name, ≤ 200")
            continue
        if organ_id:
            result.append({"organ_id": organ_id, "organ_name": nfc(organ_name.strip())})
    return result


def search_text(subject: str, code_number: str | None, code_notation: str | None) -> str:
    """Return the folded text the registry search matches against."""
    number = "/".join(p for p in (code_number, code_notation) if p)
    return fold(f"{subject} {number} {code_notation or ''}")
