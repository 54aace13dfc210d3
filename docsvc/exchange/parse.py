"""Tolerant parsing of edXML packages: any element order, prefixed or not, empty elements, zipped
or raw attachments; every irregularity that was tolerated comes back as a warning.
"""

from __future__ import annotations

from pathlib import Path
from typing import BinaryIO

from docsvc.exchange.attachments import (
    ZIP_MAGIC,
    StoredContent,
    guess_type,
    is_zip_type,
    unzip_single,
)
from docsvc.exchange.errors import EdxmlSchemaError
from docsvc.exchange.ids import make_document_id
from docsvc.exchange.model import (
    NS,
    STATUS_CODES,
    Attachment,
    Bussiness,
    BussinessDocumentInfo,
    Code,
    DocumentHeader,
    DocumentPackage,
    DocumentType,
    OtherInfo,
    ParseResult,
    PromulgationInfo,
    Receiver,
    ReplacementInfo,
    ResponseFor,
    SignerInfo,
    StatusPackage,
    TraceHeader,
)
from docsvc.exchange.reader import (
    ATTACHMENT,
    BUSSINESS,
    HEADER_ORDER,
    OTHER_INFO,
    STATUS_ORDER,
    TolerantReader,
    discard_spools,
    has_unqualified,
    normalize_content_id,
)
from docsvc.exchange.xmlsafe import Node, ParseLimits, read_tree

MH = "MessageHeader"


def parse_package(
    data: bytes | BinaryIO,
    *,
    limits: ParseLimits | None = None,
    attachment_dir: str | Path | None = None,
    organ_id_allow: frozenset[str] = frozenset(),
) -> ParseResult:
    """Parse a document or status package; raise an EdxmlError for what cannot be used.

    ``data`` is bytes or a binary file. With ``attachment_dir`` each attachment is decoded into
    a file there (``Attachment.path``) instead of memory; the caller owns that folder.
    """
    limits = limits or ParseLimits()
    spool_dir = Path(attachment_dir) if attachment_dir is not None else None
    root = read_tree(data, limits, spool_dir=spool_dir)
    reader = TolerantReader(limits, spool_dir, frozenset(organ_id_allow))
    try:
        package = _read_package(reader, root)
        if reader.violations:
            raise EdxmlSchemaError(details={"violations": reader.violations})
    except BaseException:
        discard_spools(root)
        raise
    return ParseResult(package=package, warnings=tuple(reader.warnings))


def _read_package(reader: TolerantReader, root: Node) -> DocumentPackage | StatusPackage:
    if root.name != "edXML" or not root.is_edxml:
        raise EdxmlSchemaError(
            details={"violations": [f"the root element is {root.name!r}, not edXML in {NS}"]}
        )
    if has_unqualified(root):
        reader.warn(
            "element_without_namespace",
            "some elements have no namespace; read as edXML",
            "một số phần tử không có không gian tên; vẫn đọc như edXML",
        )
    envelope = reader.kid(root, "edXMLEnvelope", "edXML")
    header = reader.kid(envelope, "edXMLHeader", "edXMLEnvelope")
    message = reader.kid(header, MH, "edXMLHeader")
    if envelope is None or header is None or message is None:
        raise EdxmlSchemaError(
            details={"violations": ["edXML/edXMLEnvelope/edXMLHeader/MessageHeader is missing"]}
        )
    if reader.kids(message, "StatusCode"):
        return _read_status(reader, root, envelope, message)
    return _read_document(reader, root, envelope, header, message)


# -- status package -----------------------------------------------------------------------------


def _read_status(
    reader: TolerantReader, root: Node, envelope: Node, message: Node
) -> StatusPackage:
    reader.check_children(message, STATUS_ORDER, MH, ordered=True)
    if reader.kid(envelope, "edXMLBody", "edXMLEnvelope") is not None:
        reader.warn(
            "unexpected_body",
            "a status package carries an edXMLBody; ignored",
            "gói tin trạng thái có edXMLBody; bỏ qua",
        )
    node = reader.kid(message, "ResponseFor", MH)
    response = reader.response_for(node, f"{MH}/ResponseFor") if node is not None else None
    if response is None or not response.document_id:
        reader.violate(f"{MH}/ResponseFor/DocumentId is missing")
    code = reader.text(message, "StatusCode", MH)
    if code.isascii() and code.isdigit() and len(code) == 1:
        reader.warn(
            "status_code_padded",
            f"StatusCode {code!r} read as '0{code}'",
            f"StatusCode {code!r} được hiểu là '0{code}'",
        )
        code = f"0{code}"
    if not (code.isascii() and code.isdigit() and len(code) == 2 and 1 <= int(code) <= 16):
        reader.violate(f"{MH}/StatusCode {code[:20]!r} is not a status code 01..16")
    elif code not in STATUS_CODES:
        reader.warn(
            "status_code_undocumented",
            f"StatusCode {code} is not one of the documented codes",
            f"StatusCode {code} không thuộc các mã trạng thái đã biết",
        )
    timestamp = reader.moment(message, "Timestamp", MH)
    if timestamp is None:
        reader.warn("missing_element", f"{MH}/Timestamp is missing", f"thiếu {MH}/Timestamp")
    return StatusPackage(
        sender=reader.sender(message, MH),
        response_for=response or ResponseFor(),
        status_code=code,
        timestamp=timestamp,
        description=reader.text(message, "Description", MH),
        staff_info=reader.staff(reader.kid(message, "StaffInfo", MH), f"{MH}/StaffInfo"),
    )


# -- document package ---------------------------------------------------------------------------


def _read_document(
    reader: TolerantReader, root: Node, envelope: Node, header: Node, message: Node
) -> DocumentPackage:
    document_header = _read_header(reader, message)
    trace_list = reader.kid(header, "TraceHeaderList", "edXMLHeader")
    if trace_list is None:
        reader.warn(
            "missing_element",
            "edXMLHeader/TraceHeaderList is missing",
            "thiếu edXMLHeader/TraceHeaderList",
        )
    traces = []
    for node in reader.kids(trace_list, "TraceHeader"):
        organ_id = reader.organ_id(reader.text(node, "OrganId", "TraceHeader"), "TraceHeader")
        if not organ_id:
            reader.warn("empty_element", "TraceHeader without OrganId ignored",
                        "bỏ qua TraceHeader không có OrganId")  # fmt: skip
            continue
        traces.append(TraceHeader(organ_id, reader.moment(node, "Timestamp", "TraceHeader")))
    bussiness = _read_bussiness(reader, reader.kid(trace_list, "Bussiness", "TraceHeaderList"))
    return DocumentPackage(
        header=document_header,
        trace_headers=tuple(traces),
        bussiness=bussiness,
        attachments=_read_attachments(reader, root, envelope),
        signature=reader.signature(header, root),
    )


def _read_header(reader: TolerantReader, message: Node) -> DocumentHeader:
    reader.check_children(message, HEADER_ORDER, MH, ordered=True)
    sender = reader.sender(message, MH)
    recipients = []
    for node in reader.kids(message, "To"):
        recipient = reader.organization(node, f"{MH}/To")
        if recipient is None:
            reader.warn("empty_element", f"{MH}/To without OrganId ignored",
                        f"bỏ qua {MH}/To không có OrganId")  # fmt: skip
        else:
            recipients.append(recipient)
    if not recipients:
        reader.violate(f"{MH}/To (with an OrganId) is missing")

    code_node = reader.kid(message, "Code", MH)
    code = Code(
        code_number=reader.text(code_node, "CodeNumber", f"{MH}/Code"),
        code_notation=reader.text(code_node, "CodeNotation", f"{MH}/Code"),
    )
    promulgation = reader.kid(message, "PromulgationInfo", MH)
    info = PromulgationInfo(
        place=reader.text(promulgation, "Place", f"{MH}/PromulgationInfo"),
        promulgation_date=reader.day(promulgation, "PromulgationDate", f"{MH}/PromulgationInfo"),
    )
    for label, missing in (
        ("Code/CodeNumber", not code.code_number),
        ("Code/CodeNotation", not code.code_notation),
        ("PromulgationInfo/PromulgationDate", info.promulgation_date is None),
        ("Subject", not reader.text(message, "Subject", MH)),
    ):
        if missing:
            reader.warn("missing_element", f"{MH}/{label} is missing or empty",
                        f"thiếu hoặc rỗng {MH}/{label}")  # fmt: skip

    document_id = reader.text(message, "DocumentId", MH)
    if not document_id:
        try:
            if info.promulgation_date is None:
                raise ValueError("no PromulgationDate")
            document_id = make_document_id(
                sender.organ_id, info.promulgation_date, code.code_number, code.code_notation
            )
        except (ValueError, TypeError):
            reader.violate(f"{MH}/DocumentId is missing and cannot be derived")
        else:
            reader.warn(
                "document_id_derived",
                f"{MH}/DocumentId missing; derived as {document_id}",
                f"thiếu {MH}/DocumentId; đã suy ra {document_id}",
            )

    doc_type = reader.kid(message, "DocumentType", MH)
    signer = reader.kid(message, "SignerInfo", MH)
    other = reader.kid(message, "OtherInfo", MH)
    if other is not None:
        reader.check_children(other, OTHER_INFO, f"{MH}/OtherInfo", ordered=False)
    to_places = reader.kid(message, "ToPlaces", MH)
    appendixes = reader.kid(other, "Appendixes", "OtherInfo")
    responses = [
        reader.response_for(n, f"{MH}/ResponseFor") for n in reader.kids(message, "ResponseFor")
    ]
    p = f"{MH}/OtherInfo"
    return DocumentHeader(
        sender=sender,
        recipients=tuple(recipients),
        code=code,
        promulgation_info=info,
        document_type=DocumentType(
            type=reader.number(doc_type, "Type", f"{MH}/DocumentType"),
            type_detail=reader.number(doc_type, "TypeDetail", f"{MH}/DocumentType"),
            type_name=reader.text(doc_type, "TypeName", f"{MH}/DocumentType"),
        ),
        subject=reader.text(message, "Subject", MH),
        document_id=document_id,
        content=reader.text(message, "Content", MH),
        signer_info=SignerInfo(
            competence=reader.text(signer, "Competence", f"{MH}/SignerInfo"),
            position=reader.text(signer, "Position", f"{MH}/SignerInfo"),
            full_name=reader.text(signer, "FullName", f"{MH}/SignerInfo"),
        ),
        due_date=reader.day(message, "DueDate", MH),
        to_places=_texts(reader, to_places, "Place", f"{MH}/ToPlaces"),
        other_info=OtherInfo(
            priority=reader.number(other, "Priority", p),
            sphere_of_promulgation=reader.text(other, "SphereOfPromulgation", p),
            typer_notation=reader.text(other, "TyperNotation", p),
            promulgation_amount=reader.number(other, "PromulgationAmount", p),
            page_amount=reader.number(other, "PageAmount", p),
            appendixes=_texts(reader, appendixes, "Appendix", f"{p}/Appendixes"),
        ),
        response_for=tuple(r for r in responses if r is not None),
        steering_type=reader.number(message, "SteeringType", MH),
    )


def _texts(reader: TolerantReader, node: Node | None, name: str, path: str) -> tuple[str, ...]:
    values = (reader.clean(child.text, f"{path}/{name}") for child in reader.kids(node, name))
    return tuple(v for v in values if v)


def _read_bussiness(reader: TolerantReader, node: Node | None) -> Bussiness:
    path = "TraceHeaderList/Bussiness"
    if node is None:
        reader.warn(
            "missing_element",
            f"{path} is missing; read as a new document (BussinessDocType 0)",
            f"thiếu {path}; coi là văn bản mới (BussinessDocType 0)",
        )
        return Bussiness()
    reader.check_children(node, BUSSINESS, path, ordered=False)
    doc_type = reader.number(node, "BussinessDocType", path)
    if doc_type is None or doc_type > 3:
        reader.violate(f"{path}/BussinessDocType must be 0, 1, 2 or 3")
    info_node = reader.kid(node, "BussinessDocumentInfo", path)
    info = None
    if info_node is not None:
        ipath = f"{path}/BussinessDocumentInfo"
        receivers = reader.kids(reader.kid(info_node, "ReceiverList", ipath), "Receiver")
        info = BussinessDocumentInfo(
            document_info=reader.number(info_node, "DocumentInfo", ipath),
            document_receiver=reader.number(info_node, "DocumentReceiver", ipath),
            receivers=tuple(
                Receiver(
                    reader.text(r, "OrganId", f"{ipath}/Receiver"),
                    reader.number(r, "ReceiverType", f"{ipath}/Receiver"),
                )
                for r in receivers
            ),
        )
    replacements = []
    for item in reader.kids(reader.kid(node, "ReplacementInfoList", path), "ReplacementInfo"):
        rpath = f"{path}/ReplacementInfoList/ReplacementInfo"
        organ_ids = _texts(reader, reader.kid(item, "OrganIdList", rpath), "OrganId", rpath)
        replacements.append(ReplacementInfo(reader.text(item, "DocumentId", rpath), organ_ids))
    return Bussiness(
        doc_type=doc_type if doc_type is not None and doc_type <= 3 else 0,
        reason=reader.text(node, "BussinessDocReason", path),
        document_id=reader.text(node, "DocumentId", path),
        paper=reader.number(node, "Paper", path) or 0,
        document_info=info,
        replacements=tuple(replacements),
        staff_info=reader.staff(reader.kid(node, "StaffInfo", path), f"{path}/StaffInfo"),
    )


# -- attachments --------------------------------------------------------------------------------


def _read_attachments(reader: TolerantReader, root: Node, envelope: Node) -> tuple[Attachment, ...]:
    body = reader.kid(envelope, "edXMLBody", "edXMLEnvelope")
    manifest = reader.kid(body, "edXMLManifest", "edXMLBody")
    references: dict[str, Node] = {}
    for ref in reader.kids(manifest, "Reference"):
        references[normalize_content_id(reader.text(ref, "ContentId", "Reference"))] = ref
    containers = reader.kids(root, "AttachmentEncoded")
    misplaced = reader.kids(envelope, "AttachmentEncoded") + reader.kids(body, "AttachmentEncoded")
    if misplaced:
        reader.warn(
            "attachments_misplaced",
            "AttachmentEncoded found inside the envelope; read anyway",
            "AttachmentEncoded nằm trong edXMLEnvelope; vẫn đọc",
        )
    for extra in (c.name for c in root.children if c.is_edxml):
        if extra not in ("edXMLEnvelope", "AttachmentEncoded"):
            reader.warn(
                "unknown_element",
                f"edXML/{extra} is not a known edXML element; ignored",
                f"edXML/{extra} không phải phần tử edXML đã biết; bỏ qua",
            )
    result = []
    seen: set[str] = set()
    nodes = [a for c in containers + misplaced for a in reader.kids(c, "Attachment")]
    for index, node in enumerate(nodes):
        attachment = _read_attachment(reader, node, index, references)
        seen.add(attachment.content_id)
        result.append(attachment)
    for content_id in references.keys() - seen:
        reader.warn(
            "attachment_missing",
            f"manifest Reference {content_id!r} has no attachment",
            f"tệp đính kèm {content_id!r} có trong danh mục nhưng không có nội dung",
        )
    return tuple(result)


def _read_attachment(
    reader: TolerantReader, node: Node, index: int, references: dict[str, Node]
) -> Attachment:
    path = "AttachmentEncoded/Attachment"
    reader.check_children(node, ATTACHMENT, path, ordered=False)
    raw_id = reader.text(node, "ContentId", path)
    content_id = normalize_content_id(raw_id) or f"attachment-{index}"
    if not raw_id:
        reader.warn("missing_element", f"{path} #{index} has no ContentId",
                    f"{path} thứ {index} không có ContentId")  # fmt: skip
    elif not raw_id.lower().startswith("cid:"):
        reader.warn(
            "content_id_without_cid",
            f"ContentId {raw_id!r} has no 'cid:' prefix; accepted",
            f"ContentId {raw_id!r} không có tiền tố 'cid:'; vẫn chấp nhận",
        )
    ref = references.get(content_id)
    if ref is None:
        reader.warn(
            "attachment_not_in_manifest",
            f"attachment {content_id!r} is not listed in the manifest",
            f"tệp đính kèm {content_id!r} không có trong danh mục (manifest)",
        )
    name = reader.text(node, "AttachmentName", path) or reader.text(
        ref, "AttachmentName", "Reference"
    )
    declared = reader.text(node, "ContentType", path)
    listed = reader.text(ref, "ContentType", "Reference")
    content = reader.kid(node, "ContentTransferEncoded", path)
    stored = content.stored if content is not None else None
    error = content.content_error if content is not None else "missing_content"
    if error:
        reader.warn(
            "attachment_unreadable",
            f"attachment {content_id!r}: {error}",
            f"không đọc được nội dung tệp đính kèm {content_id!r} ({error})",
        )
    zipped = False
    if stored is not None:
        stored, zipped = _maybe_unzip(reader, stored, index, name, declared, listed, content_id)
    if zipped:
        content_type = next((t for t in (listed, declared) if t and not is_zip_type(t)), "")
        content_type = content_type or guess_type(name)
    else:
        content_type = declared or listed or guess_type(name)
    return Attachment(
        content_id=content_id,
        name=name or content_id,
        description=reader.text(node, "Description", path)
        or reader.text(ref, "Description", "Reference"),
        content_type=content_type,
        data=stored.data if stored else None,
        path=stored.path if stored else None,
        size=stored.size if stored else 0,
        sha256=stored.sha256 if stored else "",
        zipped=zipped,
        error=error,
    )


def _maybe_unzip(
    reader: TolerantReader,
    stored: StoredContent,
    index: int,
    name: str,
    declared: str,
    listed: str,
    content_id: str,
) -> tuple[StoredContent, bool]:
    says_zip = is_zip_type(declared) or is_zip_type(listed)
    looks_zip = stored.head.startswith(ZIP_MAGIC)
    final_name = f"attachment-{index:04d}.bin"
    # A .docx is a ZIP too: unzip only what the sender declared as a zip of a non-zip file.
    if says_zip and looks_zip and not name.lower().endswith(".zip"):
        limit = reader.limits.max_attachment_bytes
        unzipped, reason = unzip_single(stored, reader.spool_dir, final_name, limit)
        if unzipped is not None:
            if stored.path is not None:
                stored.path.unlink(missing_ok=True)
            return unzipped, True
        reader.warn(
            "attachment_zip_kept",
            f"attachment {content_id!r} declared as ZIP was kept as is ({reason})",
            f"tệp đính kèm {content_id!r} khai báo là ZIP nhưng được giữ nguyên ({reason})",
        )
    elif says_zip and not looks_zip:
        reader.warn(
            "attachment_not_zip",
            f"attachment {content_id!r} is declared as ZIP but is not one; kept as is",
            f"tệp đính kèm {content_id!r} khai báo là ZIP nhưng không phải; giữ nguyên",
        )
    if stored.path is not None:
        target = stored.path.with_name(final_name)
        stored.path.rename(target)
        stored = StoredContent(None, target, stored.size, stored.sha256, stored.head)
    return stored, False
