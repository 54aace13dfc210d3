"""Values of an edXML exchange (QCVN 102:2016): document and status packages as frozen dataclasses.

Field names follow the edXML element names (``CodeNumber`` -> ``code_number``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

NS = "http://www.mic.gov.vn/TBT/QCVN_102_2016"
"""The edXML namespace; the default namespace of the root, ``edXML:`` inside the envelope."""

DS_NS = "http://www.w3.org/2000/09/xmldsig#"

VN_TZ = timezone(timedelta(hours=7), "ICT")
"""Vietnam local time (no daylight saving): edXML date-times carry no zone and mean this."""

STATUS_CODES: dict[str, tuple[str, str]] = {
    "01": ("Đã đến", "arrived, not yet handled by the clerk"),
    "02": ("Từ chối tiếp nhận", "rejected by the clerk"),
    "03": ("Đã tiếp nhận, vào sổ đến", "accepted and registered"),
    "04": ("Phân công xử lý", "handling assigned"),
    "05": ("Đang xử lý", "being processed"),
    "06": ("Hoàn thành xử lý", "processing finished"),
    "13": ("Yêu cầu lấy lại văn bản", "sender asks to take the document back"),
    "15": ("Đồng ý cập nhật/lấy lại", "receiver agrees to the update or take-back"),
    "16": ("Từ chối cập nhật/lấy lại", "receiver refuses the update or take-back"),
}
"""Status codes documented in DOMAIN.md §4.3: code -> (Vietnamese, English)."""

BUSSINESS_DOC_TYPES: dict[int, tuple[str, str]] = {
    0: ("Văn bản điện tử mới", "new document"),
    1: ("Thu hồi văn bản điện tử", "revocation"),
    2: ("Cập nhật văn bản điện tử", "update"),
    3: ("Văn bản thay thế", "replacement"),
}


@dataclass(frozen=True)
class Organization:
    """A sender (``From``) or recipient (``To``) organisation."""

    organ_id: str
    organization_in_charge: str = ""
    """Cơ quan chủ quản: the body the organisation reports to."""
    organ_name: str = ""
    organ_add: str = ""
    """Postal address."""
    email: str = ""
    telephone: str = ""
    fax: str = ""
    website: str = ""


@dataclass(frozen=True)
class Code:
    """Số and ký hiệu of a document, e.g. ``185`` and ``TB-UBND``."""

    code_number: str
    code_notation: str

    def __str__(self) -> str:
        return f"{self.code_number}/{self.code_notation}"


@dataclass(frozen=True)
class PromulgationInfo:
    """Place and date of issue (``Quảng Ngãi, ngày 19 tháng 6 năm 2018``)."""

    place: str = ""
    promulgation_date: date | None = None


@dataclass(frozen=True)
class DocumentType:
    type: int | None = None
    """Row of DOMAIN.md §2.1 (công văn = 18); peers disagree, so trust ``type_name`` on input."""
    type_detail: int | None = 0
    type_name: str = ""


@dataclass(frozen=True)
class SignerInfo:
    competence: str = ""
    """Signing authority prefix: ``TM.``, ``KT.``, ``TL.``, ``TUQ.``, ``Q.``."""
    position: str = ""
    full_name: str = ""


@dataclass(frozen=True)
class OtherInfo:
    priority: int | None = 0
    """0 thường, 1 khẩn, 2 thượng khẩn, 3 hỏa tốc, 4 hỏa tốc hẹn giờ (legacy)."""
    sphere_of_promulgation: str = ""
    typer_notation: str = ""
    promulgation_amount: int | None = None
    page_amount: int | None = None
    appendixes: tuple[str, ...] = ()


@dataclass(frozen=True)
class ResponseFor:
    """A document this package answers (document package) or reports on (status package)."""

    organ_id: str = ""
    code: str = ""
    """Số/ký hiệu as one string, e.g. ``7816/VPCP-TTĐT``."""
    promulgation_date: date | None = None
    document_id: str = ""


@dataclass(frozen=True)
class DocumentHeader:
    """MessageHeader of a document package, elements 1.1-1.14."""

    sender: Organization
    recipients: tuple[Organization, ...]
    code: Code
    promulgation_info: PromulgationInfo
    document_type: DocumentType
    subject: str
    """Trích yếu."""
    document_id: str
    """``{OrganId},{yyyy/MM/dd},{số}/{ký hiệu}``; see :func:`make_document_id`."""
    content: str = ""
    signer_info: SignerInfo = field(default_factory=SignerInfo)
    due_date: date | None = None
    to_places: tuple[str, ...] = ()
    """Nơi nhận beyond the direct recipients."""
    other_info: OtherInfo = field(default_factory=OtherInfo)
    response_for: tuple[ResponseFor, ...] = ()
    steering_type: int | None = 0
    """0 not a directive, 1 directive, 2 report on a directive (3 accepted on input)."""


@dataclass(frozen=True)
class TraceHeader:
    """One hop: the organisation that sent or forwarded the package, at Vietnam local time."""

    organ_id: str
    timestamp: datetime | None


@dataclass(frozen=True)
class StaffInfo:
    department: str = ""
    staff: str = ""
    mobile: str = ""
    email: str = ""


@dataclass(frozen=True)
class Receiver:
    organ_id: str
    receiver_type: int | None = None


@dataclass(frozen=True)
class BussinessDocumentInfo:
    """What an update (BussinessDocType 2) changes: 1 = the metadata / the receivers changed."""

    document_info: int | None = None
    document_receiver: int | None = None
    receivers: tuple[Receiver, ...] = ()


@dataclass(frozen=True)
class ReplacementInfo:
    document_id: str
    organ_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class Bussiness:
    """The ``Bussiness`` block (spelling of the standard): why this package is sent."""

    doc_type: int = 0
    """0 new, 1 revocation, 2 update, 3 replacement."""
    reason: str = ""
    document_id: str = ""
    """Empty on build means the header's DocumentId."""
    paper: int = 0
    """1 when a paper copy is also sent."""
    document_info: BussinessDocumentInfo | None = None
    replacements: tuple[ReplacementInfo, ...] = ()
    staff_info: StaffInfo | None = None


@dataclass(frozen=True)
class Attachment:
    """One attached file.

    On build give ``data``. On parse the decoded (and unzipped) bytes are in ``data``, or in the
    file ``path`` when the parser was given an attachment folder; ``error`` names a content that
    could not be decoded (then both are ``None``).
    """

    content_id: str
    """Without the ``cid:`` prefix."""
    name: str
    description: str = ""
    content_type: str = "application/octet-stream"
    """The real type of the file (after unzipping)."""
    data: bytes | None = None
    path: Path | None = None
    size: int = 0
    sha256: str = ""
    zipped: bool = False
    """The sender zipped the file before base64, like the official SDK."""
    error: str | None = None

    def read_bytes(self) -> bytes:
        """Return the file's bytes from memory or from its spool file."""
        if self.data is not None:
            return self.data
        if self.path is not None:
            return self.path.read_bytes()
        raise ValueError(f"attachment {self.content_id!r} has no content ({self.error})")


@dataclass(frozen=True)
class SignatureInfo:
    """What the parser saw of a ``Signature`` element; says nothing about validity."""

    is_xmldsig: bool
    """False for the SDK's placeholder ``Signature`` in the edXML namespace."""
    signature_method: str = ""
    digest_method: str = ""
    reference_uris: tuple[str, ...] = ()


@dataclass(frozen=True)
class DocumentPackage:
    header: DocumentHeader
    trace_headers: tuple[TraceHeader, ...]
    bussiness: Bussiness = field(default_factory=Bussiness)
    attachments: tuple[Attachment, ...] = ()
    signature: SignatureInfo | None = None


@dataclass(frozen=True)
class StatusPackage:
    """A business status report on a document (DOMAIN.md §4.3)."""

    sender: Organization
    response_for: ResponseFor
    status_code: str
    """Two digits, ``01``..``16``; see :data:`STATUS_CODES`."""
    timestamp: datetime | None
    description: str = ""
    staff_info: StaffInfo | None = None


class ParseWarning(str):
    """A tolerated irregularity: a ``str`` ("code: English text") with ``code`` and Vietnamese."""

    code: str
    message_en: str
    message_vi: str

    def __new__(cls, code: str, message_en: str, message_vi: str) -> ParseWarning:
        obj = super().__new__(cls, f"{code}: {message_en}")
        obj.code = code
        obj.message_en = message_en
        obj.message_vi = message_vi
        return obj

    def message(self, lang: str = "vi") -> str:
        """Return the message in ``lang`` (``vi`` or ``en``)."""
        return self.message_en if lang == "en" else self.message_vi


@dataclass(frozen=True)
class ParseResult:
    package: DocumentPackage | StatusPackage
    warnings: tuple[ParseWarning, ...] = ()

    @property
    def kind(self) -> str:
        """``edoc`` or ``status``, the names the exchange API uses."""
        return "status" if isinstance(self.package, StatusPackage) else "edoc"

    @property
    def warning_codes(self) -> frozenset[str]:
        return frozenset(w.code for w in self.warnings)
