import base64
import io
import unicodedata
import zipfile
from dataclasses import replace
from datetime import UTC, datetime

import pytest
from lxml import etree

from docsvc.exchange import (
    NS,
    EdxmlBuildError,
    EdxmlSchemaError,
    build_document_package,
    build_status_package,
    parse_package,
    validate_package,
)
from docsvc.exchange.parse import HEADER_ORDER

E = f"{{{NS}}}"


def _tree(data: bytes) -> etree._Element:
    return etree.fromstring(data)


def _prefixes(root: etree._Element) -> dict[str, set[str | None]]:
    """Local name -> prefixes used, for elements inside and outside the envelope."""
    envelope = root.find(f"{E}edXMLEnvelope")
    inside = {e.prefix for e in envelope.iter(etree.Element)}
    outside = {
        e.prefix
        for e in root.iter(etree.Element)
        if e is root or (envelope not in e.iterancestors() and e is not envelope)
        if etree.QName(e).localname != "ContentTransferEncoded"
    }
    return {"inside": inside, "outside": outside}


@pytest.mark.parametrize("zipped", [False, True])
def test_document_package_has_the_sdk_shape(notice, schemas, zipped):
    data = build_document_package(notice, zip_attachments=zipped)
    validate_package(data, schemas)
    assert data.startswith(b"<?xml version='1.0' encoding='UTF-8'?>")
    root = _tree(data)
    assert root.tag == f"{E}edXML" and root.prefix is None and root.nsmap == {None: NS}
    prefixes = _prefixes(root)
    assert prefixes == {"inside": {"edXML"}, "outside": {None}}
    for content in root.iter(f"{E}ContentTransferEncoded"):
        assert content.prefix == "edXML"  # re-declared, exactly as the SDK writes it
        assert content.getparent().prefix is None


def test_message_header_is_in_standard_order(notice):
    root = _tree(build_document_package(notice))
    header = root.find(f"{E}edXMLEnvelope/{E}edXMLHeader")
    assert [etree.QName(c).localname for c in header] == ["MessageHeader", "TraceHeaderList"]
    names = [etree.QName(c).localname for c in header.find(f"{E}MessageHeader")]
    positions = [HEADER_ORDER.index(n) for n in names]
    assert positions == sorted(positions)
    assert names[0] == "From" and names[-1] == "DocumentId"
    assert set(names) == set(HEADER_ORDER)  # the notice fills 1.1 to 1.14


def test_dates_and_document_id_formats(notice):
    root = _tree(build_document_package(notice))
    mh = f"{E}edXMLEnvelope/{E}edXMLHeader/{E}MessageHeader"
    assert root.findtext(f"{mh}/{E}PromulgationInfo/{E}PromulgationDate") == "2018/06/19"
    assert root.findtext(f"{mh}/{E}DueDate") == "2018/06/30"
    assert root.findtext(f"{mh}/{E}DocumentId") == "000.00.00.H48,2018/06/19,185/TB-UBND"
    trace = f"{E}edXMLEnvelope/{E}edXMLHeader/{E}TraceHeaderList/{E}TraceHeader/{E}Timestamp"
    assert root.findtext(trace) == "2018/06/19 15:04:05"
    bussiness = f"{E}edXMLEnvelope/{E}edXMLHeader/{E}TraceHeaderList/{E}Bussiness"
    assert root.findtext(f"{bussiness}/{E}DocumentId") == "000.00.00.H48,2018/06/19,185/TB-UBND"


def test_aware_timestamps_are_written_in_vietnam_local_time(notice):
    moment = datetime(2018, 6, 19, 8, 4, 5, tzinfo=UTC)
    pkg = replace(notice, trace_headers=(replace(notice.trace_headers[0], timestamp=moment),))
    root = _tree(build_document_package(pkg))
    assert root.findtext(f".//{E}TraceHeader/{E}Timestamp") == "2018/06/19 15:04:05"


def test_text_is_written_in_nfc(notice, schemas):
    decomposed = unicodedata.normalize("NFD", "Thông báo kết luận")
    pkg = replace(notice, header=replace(notice.header, subject=decomposed))
    data = build_document_package(pkg)
    validate_package(data, schemas)
    assert _tree(data).findtext(f".//{E}Subject") == unicodedata.normalize("NFC", decomposed)
    assert unicodedata.normalize("NFD", "Thông").encode() not in data


def test_raw_attachments_keep_their_type_and_bytes(notice):
    root = _tree(build_document_package(notice))
    attachments = root.findall(f"{E}AttachmentEncoded/{E}Attachment")
    assert [a.findtext(f"{E}ContentId") for a in attachments] == ["cid:185-tb", "cid:phu-luc"]
    assert attachments[0].findtext(f"{E}ContentType") == "application/pdf"
    docx = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    assert attachments[1].findtext(f"{E}ContentType") == docx  # guessed from the name
    decoded = base64.b64decode(attachments[0].findtext(f"{E}ContentTransferEncoded"))
    assert decoded == notice.attachments[0].data
    refs = root.findall(f".//{E}edXMLManifest/{E}Reference")
    assert [etree.QName(c).localname for c in refs[0]] == [
        "ContentId", "ContentType", "Description", "AttachmentName"]  # fmt: skip
    assert [etree.QName(c).localname for c in attachments[0]] == [
        "ContentId", "AttachmentName", "Description", "ContentType",
        "ContentTransferEncoded"]  # fmt: skip


def test_zipped_attachments_are_one_file_zips_like_the_sdk(notice):
    data = build_document_package(notice, zip_attachments=True)
    root = _tree(data)
    for attachment, original in zip(
        root.findall(f"{E}AttachmentEncoded/{E}Attachment"), notice.attachments, strict=True
    ):
        assert attachment.findtext(f"{E}ContentType") == "application/zip"
        assert attachment.findtext(f"{E}AttachmentName") == original.name
        raw = base64.b64decode(attachment.findtext(f"{E}ContentTransferEncoded"))
        with zipfile.ZipFile(io.BytesIO(raw)) as archive:
            assert archive.namelist() == [original.name]
            assert archive.read(original.name) == original.data
    assert build_document_package(notice, zip_attachments=True) == data  # deterministic


def test_build_parse_roundtrip_keeps_every_field(notice):
    for zipped in (False, True):
        result = parse_package(build_document_package(notice, zip_attachments=zipped))
        assert result.warnings == ()
        pkg = result.package
        assert pkg.header == notice.header
        assert pkg.bussiness.staff_info == notice.bussiness.staff_info
        assert pkg.bussiness.document_id == notice.header.document_id
        assert [t.organ_id for t in pkg.trace_headers] == ["000.00.00.H48"]
        assert pkg.trace_headers[0].timestamp.replace(tzinfo=None) == datetime(
            2018, 6, 19, 15, 4, 5
        )
        assert [a.read_bytes() for a in pkg.attachments] == [a.data for a in notice.attachments]
        assert [a.zipped for a in pkg.attachments] == [zipped, zipped]
        assert pkg.attachments[0].content_type == "application/pdf"


def test_build_reports_every_missing_field_at_once(notice):
    header = replace(
        notice.header,
        recipients=(),
        subject="",
        code=replace(notice.header.code, code_number=""),
        document_id="",
    )
    with pytest.raises(EdxmlBuildError) as info:
        build_document_package(replace(notice, header=header, trace_headers=()))
    fields = {f["field"] for f in info.value.details["fields"]}
    assert {"To", "subject", "code.code_number", "document_id", "trace_headers"} <= fields
    assert info.value.code == "edxml_build_invalid" and info.value.status == 400
    assert "Không tạo được" in info.value.message("vi")


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda p: replace(p, header=replace(p.header, subject="x" * 501)), "Subject"),
        (lambda p: replace(p, header=replace(p.header, subject="bad \x01 char")), "Subject"),
        (lambda p: replace(p, bussiness=replace(p.bussiness, doc_type=7)), "bussiness.doc_type"),
        (lambda p: replace(p, attachments=p.attachments[:1] * 2), "attachments[1].content_id"),
        (lambda p: replace(p, header=replace(p.header, steering_type=9)), "steering_type"),
    ],
)
def test_build_refuses_values_peers_would_reject(notice, change, field):
    with pytest.raises(EdxmlBuildError) as info:
        build_document_package(change(notice))
    assert field in {f["field"] for f in info.value.details["fields"]}


def test_status_package_shape(status, schemas):
    data = build_status_package(status)
    validate_package(data, schemas)
    root = _tree(data)
    header = root.find(f"{E}edXMLEnvelope/{E}edXMLHeader")
    assert [etree.QName(c).localname for c in header] == ["MessageHeader"]
    assert [etree.QName(c).localname for c in header[0]] == [
        "From", "ResponseFor", "StaffInfo", "StatusCode", "Description", "Timestamp"]  # fmt: skip
    assert root.find(f"{E}edXMLEnvelope/{E}edXMLBody") is None
    assert header.findtext(f".//{E}StatusCode") == "03"
    assert header.findtext(f".//{E}Timestamp") == "2018/06/20 08:30:00"
    parsed = parse_package(data)
    assert parsed.kind == "status" and parsed.warnings == ()
    assert parsed.package.response_for == status.response_for
    assert parsed.package.staff_info == status.staff_info


@pytest.mark.parametrize("code", ["00", "07", "1", "17", ""])
def test_status_build_refuses_unknown_codes(status, code):
    with pytest.raises(EdxmlBuildError):
        build_status_package(replace(status, status_code=code))


def test_xsd_rejects_what_a_strict_peer_would(notice, schemas):
    data = build_document_package(notice)
    swapped = data.replace(b"<edXML:Subject>", b"<edXML:Subjekt>").replace(
        b"</edXML:Subject>", b"</edXML:Subjekt>"
    )
    bad_date = data.replace(b"2018/06/30", b"30/06/2018")
    for broken in (swapped, bad_date):
        with pytest.raises(EdxmlSchemaError) as info:
            validate_package(broken, schemas)
        assert info.value.details["violations"]
        assert info.value.code == "edxml_schema_invalid"
