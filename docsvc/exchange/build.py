"""Building edXML packages in exactly the shape strict peers expect (DOMAIN.md §4): default
namespace on the root, ``edXML:`` inside the envelope, none outside, standard element order.
"""

from __future__ import annotations

import base64
import io
import unicodedata
import zipfile
from collections.abc import Iterable
from datetime import date, datetime
from pathlib import PurePosixPath, PureWindowsPath

from lxml import etree

from docsvc.exchange.attachments import guess_type
from docsvc.exchange.errors import EdxmlBuildError
from docsvc.exchange.model import (
    NS,
    STATUS_CODES,
    VN_TZ,
    Attachment,
    DocumentPackage,
    Organization,
    ResponseFor,
    StaffInfo,
    StatusPackage,
)

# Maxima of DOMAIN.md §2.2, mirrored in schemas/edxml-common.xsd.
MAX_LENGTHS = {
    "OrganId": 13, "OrganName": 200, "CodeNumber": 11, "CodeNotation": 30, "Subject": 500,
    "Position": 100, "FullName": 50, "TypeName": 100,
}  # fmt: skip
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)  # fixed, so the same file always zips to the same bytes


def _q(name: str) -> str:
    return f"{{{NS}}}{name}"


class _Builder:
    """Collects every problem before raising, so the caller sees them all at once."""

    def __init__(self) -> None:
        self.problems: list[dict[str, str]] = []

    def problem(self, field: str, problem: str) -> None:
        self.problems.append({"field": field, "problem": problem})

    def raise_if_problems(self) -> None:
        if self.problems:
            names = ", ".join(p["field"] for p in self.problems)
            raise EdxmlBuildError(
                f"Không tạo được gói tin edXML; kiểm tra: {names}.",
                f"Cannot build the edXML package; check: {names}.",
                details={"fields": self.problems},
            )

    def add(self, parent: etree._Element, name: str, value: object = None,
            **attrib: str) -> etree._Element:
        element = etree.SubElement(parent, _q(name), attrib)
        if value is not None:
            text = _format(value)
            limit = MAX_LENGTHS.get(name)
            if limit is not None and len(text) > limit:
                self.problem(name, f"longer than {limit} characters")
            try:
                element.text = text
            except ValueError:
                self.problem(name, "contains characters not allowed in XML")
        return element

    def add_optional(self, parent: etree._Element, name: str, value: object) -> None:
        if value not in (None, "", ()):
            self.add(parent, name, value)

    def required(self, field: str, value: object) -> None:
        if value in (None, ""):
            self.problem(field, "required")


def _format(value: object) -> str:
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(VN_TZ)
        return f"{value:%Y/%m/%d %H:%M:%S}"
    if isinstance(value, date):
        return f"{value:%Y/%m/%d}"
    if isinstance(value, bool):
        return "1" if value else "0"
    return unicodedata.normalize("NFC", str(value))


def _organization(b: _Builder, parent: etree._Element, tag: str, org: Organization) -> None:
    b.required(f"{tag}.organ_id", org.organ_id)
    b.required(f"{tag}.organ_name", org.organ_name)
    if tag == "From":
        b.required("From.organ_add", org.organ_add)
    node = b.add(parent, tag)
    b.add(node, "OrganId", org.organ_id)
    b.add_optional(node, "OrganizationInCharge", org.organization_in_charge)
    b.add(node, "OrganName", org.organ_name)
    b.add(node, "OrganAdd", org.organ_add)
    for name, value in (
        ("Email", org.email), ("Telephone", org.telephone), ("Fax", org.fax),
        ("Website", org.website),
    ):  # fmt: skip
        b.add_optional(node, name, value)


def _staff(b: _Builder, parent: etree._Element, staff: StaffInfo | None) -> None:
    if staff is None:
        return
    node = b.add(parent, "StaffInfo")
    b.add(node, "Department", staff.department)
    b.add(node, "Staff", staff.staff)
    b.add(node, "Mobile", staff.mobile)
    b.add(node, "Email", staff.email)


def _response_for(b: _Builder, parent: etree._Element, response: ResponseFor) -> None:
    node = b.add(parent, "ResponseFor")
    b.add(node, "OrganId", response.organ_id)
    b.add(node, "Code", response.code)
    b.add_optional(node, "PromulgationDate", response.promulgation_date)
    b.add(node, "DocumentId", response.document_id)


def _envelope() -> tuple[etree._Element, etree._Element, etree._Element]:
    root = etree.Element(_q("edXML"), nsmap={None: NS})
    envelope = etree.SubElement(root, _q("edXMLEnvelope"), nsmap={"edXML": NS})
    header = etree.SubElement(envelope, _q("edXMLHeader"))
    return root, envelope, header


def _serialize(root: etree._Element) -> bytes:
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def build_document_package(pkg: DocumentPackage, *, zip_attachments: bool = False) -> bytes:
    """Return the edXML bytes of a document package; zip each file first like the official SDK."""
    b = _Builder()
    h = pkg.header
    root, envelope, header = _envelope()
    message = b.add(header, "MessageHeader")
    _organization(b, message, "From", h.sender)
    if not h.recipients:
        b.problem("To", "at least one recipient is required")
    for recipient in h.recipients:
        _organization(b, message, "To", recipient)
    b.required("code.code_number", h.code.code_number)
    b.required("code.code_notation", h.code.code_notation)
    code = b.add(message, "Code")
    b.add(code, "CodeNumber", h.code.code_number)
    b.add(code, "CodeNotation", h.code.code_notation)
    b.required("promulgation_info.promulgation_date", h.promulgation_info.promulgation_date)
    info = b.add(message, "PromulgationInfo")
    b.add(info, "Place", h.promulgation_info.place)
    b.add_optional(info, "PromulgationDate", h.promulgation_info.promulgation_date)
    doc_type = b.add(message, "DocumentType")
    b.add_optional(doc_type, "Type", h.document_type.type)
    b.add_optional(doc_type, "TypeDetail", h.document_type.type_detail)
    b.add(doc_type, "TypeName", h.document_type.type_name)
    b.required("subject", h.subject)
    b.add(message, "Subject", h.subject)
    b.add_optional(message, "Content", h.content)
    signer = b.add(message, "SignerInfo")
    b.add(signer, "Competence", h.signer_info.competence)
    b.add(signer, "Position", h.signer_info.position)
    b.add(signer, "FullName", h.signer_info.full_name)
    b.add_optional(message, "DueDate", h.due_date)
    if h.to_places:
        places = b.add(message, "ToPlaces")
        for place in h.to_places:
            b.add(places, "Place", place)
    other = b.add(message, "OtherInfo")
    o = h.other_info
    if o.priority not in (None, 0, 1, 2, 3, 4):
        b.problem("other_info.priority", "must be 0..4")
    b.add(other, "Priority", o.priority if o.priority is not None else 0)
    b.add_optional(other, "SphereOfPromulgation", o.sphere_of_promulgation)
    b.add_optional(other, "TyperNotation", o.typer_notation)
    b.add_optional(other, "PromulgationAmount", o.promulgation_amount)
    b.add_optional(other, "PageAmount", o.page_amount)
    if o.appendixes:
        appendixes = b.add(other, "Appendixes")
        for appendix in o.appendixes:
            b.add(appendixes, "Appendix", appendix)
    for response in h.response_for:
        _response_for(b, message, response)
    if h.steering_type not in (None, 0, 1, 2, 3):
        b.problem("steering_type", "must be 0..3")
    b.add(message, "SteeringType", h.steering_type if h.steering_type is not None else 0)
    b.required("document_id", h.document_id)
    b.add(message, "DocumentId", h.document_id)

    _trace_list(b, header, pkg)
    _attachments(b, root, envelope, pkg.attachments, zip_attachments)
    b.raise_if_problems()
    return _serialize(root)


def _trace_list(b: _Builder, header: etree._Element, pkg: DocumentPackage) -> None:
    trace_list = b.add(header, "TraceHeaderList")
    if not pkg.trace_headers:
        b.problem("trace_headers", "the sender's TraceHeader is required")
    for trace in pkg.trace_headers:
        b.required("trace_headers.organ_id", trace.organ_id)
        b.required("trace_headers.timestamp", trace.timestamp)
        node = b.add(trace_list, "TraceHeader")
        b.add(node, "OrganId", trace.organ_id)
        b.add(node, "Timestamp", trace.timestamp)
    bus = pkg.bussiness
    if bus.doc_type not in (0, 1, 2, 3):
        b.problem("bussiness.doc_type", "must be 0 (new), 1, 2 or 3")
    node = b.add(trace_list, "Bussiness")
    b.add(node, "DocumentId", bus.document_id or pkg.header.document_id)
    b.add(node, "BussinessDocType", bus.doc_type)
    b.add(node, "BussinessDocReason", bus.reason)
    b.add(node, "Paper", bus.paper)
    if bus.document_info is not None:
        info = b.add(node, "BussinessDocumentInfo")
        b.add_optional(info, "DocumentInfo", bus.document_info.document_info)
        b.add_optional(info, "DocumentReceiver", bus.document_info.document_receiver)
        if bus.document_info.receivers:
            receivers = b.add(info, "ReceiverList")
            for receiver in bus.document_info.receivers:
                item = b.add(receivers, "Receiver")
                b.add(item, "OrganId", receiver.organ_id)
                b.add_optional(item, "ReceiverType", receiver.receiver_type)
    if bus.replacements:
        replacements = b.add(node, "ReplacementInfoList")
        for replacement in bus.replacements:
            item = b.add(replacements, "ReplacementInfo")
            b.add(item, "DocumentId", replacement.document_id)
            organ_ids = b.add(item, "OrganIdList")
            for organ_id in replacement.organ_ids:
                b.add(organ_ids, "OrganId", organ_id)
    _staff(b, node, bus.staff_info)


def _safe_name(name: str) -> str:
    # keep only the last path component, whatever separator the caller's system used
    return PureWindowsPath(PurePosixPath(name).name).name or "file"


def _zip_one(name: str, data: bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        info = zipfile.ZipInfo(_safe_name(unicodedata.normalize("NFC", name)), _ZIP_DATE)
        info.compress_type = zipfile.ZIP_DEFLATED
        archive.writestr(info, data)
    return buffer.getvalue()


def _attachments(
    b: _Builder,
    root: etree._Element,
    envelope: etree._Element,
    attachments: Iterable[Attachment],
    zip_attachments: bool,
) -> None:
    body = b.add(envelope, "edXMLBody")
    manifest = b.add(body, "edXMLManifest", version="1.0")
    attachments = tuple(attachments)
    if not attachments:
        return
    encoded = etree.SubElement(root, _q("AttachmentEncoded"))
    seen: set[str] = set()
    for index, attachment in enumerate(attachments):
        content_id = attachment.content_id.removeprefix("cid:")
        if not content_id or content_id in seen:
            b.problem(f"attachments[{index}].content_id", "required and unique")
        seen.add(content_id)
        b.required(f"attachments[{index}].name", attachment.name)
        try:
            data = attachment.read_bytes()
        except (ValueError, OSError):
            b.problem(f"attachments[{index}].data", "required")
            data = b""
        content_type = attachment.content_type
        if content_type in ("", "application/octet-stream"):
            content_type = guess_type(attachment.name)
        if zip_attachments:
            data, content_type = _zip_one(attachment.name, data), "application/zip"
        description = attachment.description or attachment.name
        ref = b.add(manifest, "Reference")
        b.add(ref, "ContentId", f"cid:{content_id}")
        b.add(ref, "ContentType", content_type)
        b.add(ref, "Description", description)
        b.add(ref, "AttachmentName", attachment.name)
        node = etree.SubElement(encoded, _q("Attachment"))
        b.add(node, "ContentId", f"cid:{content_id}")
        b.add(node, "AttachmentName", attachment.name)
        b.add(node, "Description", description)
        b.add(node, "ContentType", content_type)
        # the SDK re-declares edXML: here, outside the envelope; strict peers look for it
        content = etree.SubElement(node, _q("ContentTransferEncoded"), nsmap={"edXML": NS})
        content.text = base64.b64encode(data).decode("ascii")


def build_status_package(status: StatusPackage) -> bytes:
    """Return the edXML bytes of a status package (DOMAIN.md §4.3)."""
    b = _Builder()
    root, _envelope_node, header = _envelope()
    message = b.add(header, "MessageHeader")
    _organization(b, message, "From", status.sender)
    b.required("response_for.document_id", status.response_for.document_id)
    _response_for(b, message, status.response_for)
    _staff(b, message, status.staff_info)
    if status.status_code not in STATUS_CODES:
        b.problem("status_code", f"must be one of {', '.join(STATUS_CODES)}")
    b.add(message, "StatusCode", status.status_code)
    b.add(message, "Description", status.description)
    b.required("timestamp", status.timestamp)
    b.add(message, "Timestamp", status.timestamp)
    b.raise_if_problems()
    return _serialize(root)
