"""Tolerant element access for the edXML parser: lookups in any order, typed values, and the
warnings (what was tolerated) and violations (what makes a package unusable) of one parse.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import TypeVar

from docsvc.exchange.ids import is_valid_organ_id
from docsvc.exchange.model import (
    DS_NS,
    VN_TZ,
    Organization,
    ParseWarning,
    ResponseFor,
    SignatureInfo,
    StaffInfo,
)
from docsvc.exchange.xmlsafe import Node, ParseLimits

T = TypeVar("T")

HEADER_ORDER = (
    "From", "To", "Code", "PromulgationInfo", "DocumentType", "Subject", "Content", "SignerInfo",
    "DueDate", "ToPlaces", "OtherInfo", "ResponseFor", "SteeringType", "DocumentId",
)  # fmt: skip
STATUS_ORDER = ("From", "ResponseFor", "StaffInfo", "StatusCode", "Description", "Timestamp")
ORGANIZATION = (
    "OrganId", "OrganizationInCharge", "OrganName", "OrganAdd", "Email", "Telephone", "Fax",
    "Website",
)  # fmt: skip
OTHER_INFO = (
    "Priority", "SphereOfPromulgation", "TyperNotation", "PromulgationAmount", "PageAmount",
    "Appendixes", "Direction",
)  # fmt: skip
BUSSINESS = (
    "DocumentId", "BussinessDocType", "BussinessDocReason", "Paper", "BussinessDocumentInfo",
    "ReplacementInfoList", "StaffInfo",
)  # fmt: skip
STAFF = ("Department", "Staff", "Mobile", "Email")
ATTACHMENT = ("ContentId", "AttachmentName", "Description", "ContentType", "ContentTransferEncoded")


class TolerantReader:
    """One parse: the warnings so far and the violations that make the package unusable."""

    def __init__(self, limits: ParseLimits, spool_dir: Path | None, allow: frozenset[str]) -> None:
        self.limits = limits
        self.spool_dir = spool_dir
        self.allow = allow
        self.warnings: list[ParseWarning] = []
        self.violations: list[str] = []

    # -- reporting -----------------------------------------------------------------------

    def warn(self, code: str, en: str, vi: str) -> None:
        warning = ParseWarning(code, en, vi)
        if warning not in self.warnings:
            self.warnings.append(warning)

    def violate(self, en: str) -> None:
        self.violations.append(en)

    # -- element access ------------------------------------------------------------------

    def kids(self, node: Node | None, name: str) -> list[Node]:
        if node is None:
            return []
        return [c for c in node.children if c.name == name and c.is_edxml]

    def kid(self, node: Node | None, name: str, path: str) -> Node | None:
        found = self.kids(node, name)
        if len(found) > 1:
            self.warn(
                "duplicate_element",
                f"{path}/{name} appears {len(found)} times; the first is used",
                f"{path}/{name} xuất hiện {len(found)} lần; dùng phần tử đầu tiên",
            )
        return found[0] if found else None

    def text(self, node: Node | None, name: str, path: str) -> str:
        child = self.kid(node, name, path)
        return self.clean(child.text, f"{path}/{name}") if child is not None else ""

    def clean(self, value: str, path: str) -> str:
        normal = unicodedata.normalize("NFC", value).strip()
        if unicodedata.normalize("NFC", value) != value:
            self.warn(
                "text_not_nfc",
                f"{path} was not in Unicode NFC; normalised",
                f"{path} chưa chuẩn hóa Unicode NFC; đã chuẩn hóa",
            )
        return normal

    def check_children(self, node: Node, known: tuple[str, ...], path: str, ordered: bool) -> None:
        last = -1
        for child in node.children:
            if not child.is_edxml:
                if not (child.ns == DS_NS and child.name == "Signature"):
                    self.warn(
                        "foreign_element",
                        f"{path}/{{{child.ns}}}{child.name} is not edXML; ignored",
                        f"{path}/{child.name} không thuộc edXML; bỏ qua",
                    )
                continue
            if child.name not in known:
                self.warn(
                    "unknown_element",
                    f"{path}/{child.name} is not a known edXML element; ignored",
                    f"{path}/{child.name} không phải phần tử edXML đã biết; bỏ qua",
                )
                continue
            index = known.index(child.name)
            if ordered and index < last:
                self.warn(
                    "element_order",
                    f"children of {path} are not in the standard order; accepted",
                    f"các phần tử con của {path} không theo thứ tự chuẩn; vẫn chấp nhận",
                )
            last = max(last, index)

    # -- typed values --------------------------------------------------------------------

    def number(self, node: Node | None, name: str, path: str) -> int | None:
        value = self.text(node, name, path)
        if not value:
            return None
        if value.isascii() and value.isdigit():
            return int(value)
        self.warn(
            "value_unreadable",
            f"{path}/{name} is not a number ({value[:40]!r}); ignored",
            f"{path}/{name} không phải số ({value[:40]!r}); bỏ qua",
        )
        return None

    def day(self, node: Node | None, name: str, path: str) -> date | None:
        value = self.text(node, name, path)
        return self._convert(value, f"{path}/{name}", _read_date) if value else None

    def moment(self, node: Node | None, name: str, path: str) -> datetime | None:
        value = self.text(node, name, path)
        return self._convert(value, f"{path}/{name}", _read_datetime) if value else None

    def _convert(self, value: str, path: str, read: Callable[[str], tuple[T, bool]]) -> T | None:
        try:
            result, standard = read(value)
        except ValueError:
            self.warn(
                "value_unreadable",
                f"{path} is not a date ({value[:40]!r}); ignored",
                f"{path} không phải ngày tháng hợp lệ ({value[:40]!r}); bỏ qua",
            )
            return None
        if not standard:
            self.warn(
                "date_format",
                f"{path} is not in yyyy/MM/dd [HH:mm:ss] form ({value!r}); read anyway",
                f"{path} không theo định dạng yyyy/MM/dd [HH:mm:ss] ({value!r}); vẫn đọc được",
            )
        return result

    def organ_id(self, value: str, path: str) -> str:
        if value and not is_valid_organ_id(value, self.allow):
            self.warn(
                "organ_id_nonstandard",
                f"{path} {value[:40]!r} is not a QĐ 20/2020 identifier",
                f"{path} {value[:40]!r} không phải mã định danh theo QĐ 20/2020",
            )
        return value

    # -- blocks ---------------------------------------------------------------------------

    def organization(self, node: Node, path: str) -> Organization | None:
        self.check_children(node, ORGANIZATION, path, ordered=False)
        organ_id = self.organ_id(self.text(node, "OrganId", path), f"{path}/OrganId")
        if not organ_id:
            return None
        return Organization(
            organ_id=organ_id,
            organization_in_charge=self.text(node, "OrganizationInCharge", path),
            organ_name=self.text(node, "OrganName", path),
            organ_add=self.text(node, "OrganAdd", path),
            email=self.text(node, "Email", path),
            telephone=self.text(node, "Telephone", path),
            fax=self.text(node, "Fax", path),
            website=self.text(node, "Website", path),
        )

    def sender(self, header: Node, path: str) -> Organization:
        node = self.kid(header, "From", path)
        sender = self.organization(node, f"{path}/From") if node is not None else None
        if sender is None:
            self.violate(f"{path}/From/OrganId is missing")
            return Organization(organ_id="")
        return sender

    def staff(self, node: Node | None, path: str) -> StaffInfo | None:
        if node is None:
            return None
        self.check_children(node, STAFF, path, ordered=False)
        info = StaffInfo(
            department=self.text(node, "Department", path),
            staff=self.text(node, "Staff", path),
            mobile=self.text(node, "Mobile", path),
            email=self.text(node, "Email", path),
        )
        return info if info != StaffInfo() else None

    def response_for(self, node: Node, path: str) -> ResponseFor | None:
        value = ResponseFor(
            organ_id=self.text(node, "OrganId", path),
            code=self.text(node, "Code", path),
            promulgation_date=self.day(node, "PromulgationDate", path),
            document_id=self.text(node, "DocumentId", path),
        )
        if value == ResponseFor():
            self.warn("empty_element", f"empty {path} ignored", f"bỏ qua {path} rỗng")
            return None
        return value

    def signature(self, header: Node | None, root: Node) -> SignatureInfo | None:
        candidates = [c for c in header.children if c.name == "Signature"] if header else []
        if header is not None and self.kids(header, "DigitalSignature"):
            self.warn(
                "signature_placeholder",
                "empty edXML:DigitalSignature ignored",
                "bỏ qua phần tử edXML:DigitalSignature rỗng",
            )
        if not candidates:
            return None
        node = candidates[0]
        if node.ns != DS_NS:
            self.warn(
                "signature_not_xmldsig",
                "the Signature element is not in the XMLDSig namespace (an SDK placeholder)",
                "phần tử Signature không thuộc không gian tên XMLDSig (giá trị mẫu của SDK)",
            )

        def find(n: Node | None, name: str) -> Node | None:
            return next((c for c in n.children if c.name == name), None) if n else None

        signed_info = find(node, "SignedInfo")
        references = (
            [c for c in signed_info.children if c.name == "Reference"] if signed_info else []
        )
        method = find(signed_info, "SignatureMethod")
        digest = find(references[0], "DigestMethod") if references else None
        return SignatureInfo(
            is_xmldsig=node.ns == DS_NS,
            signature_method=method.attrib.get("Algorithm", "") if method else "",
            digest_method=digest.attrib.get("Algorithm", "") if digest else "",
            reference_uris=tuple(r.attrib.get("URI", "") for r in references),
        )


def _read_date(value: str) -> tuple[date, bool]:
    try:
        return datetime.strptime(value, "%Y/%m/%d").date(), True
    except ValueError:
        pass
    try:
        return date.fromisoformat(value), False
    except ValueError:
        return datetime.strptime(value, "%d/%m/%Y").date(), False


def _read_datetime(value: str) -> tuple[datetime, bool]:
    try:
        return datetime.strptime(value, "%Y/%m/%d %H:%M:%S").replace(tzinfo=VN_TZ), True
    except ValueError:
        pass
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        return moment.replace(tzinfo=VN_TZ), False
    return moment.astimezone(VN_TZ), False


def normalize_content_id(value: str) -> str:
    """Return a ContentId without ``cid:`` and angle brackets."""
    value = value.strip().strip("<>").strip()
    return value[4:].strip() if value[:4].lower() == "cid:" else value


def has_unqualified(root: Node) -> bool:
    stack = [root]
    while stack:
        node = stack.pop()
        if node.ns == "":
            return True
        stack.extend(node.children)
    return False


def discard_spools(root: Node) -> None:
    stack = [root]
    while stack:
        node = stack.pop()
        if node.stored is not None and node.stored.path is not None:
            node.stored.path.unlink(missing_ok=True)
        stack.extend(node.children)
