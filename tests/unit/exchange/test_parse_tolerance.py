"""Tolerant parsing: order, prefixes, cid:, empty elements, attachment spooling."""

import base64
import io
import re
import zipfile

import pytest

from docsvc.exchange import EdxmlSchemaError, build_document_package, parse_package


def test_elements_in_any_order_and_unprefixed_parse_the_same(notice):
    data = build_document_package(notice).decode()
    # move DocumentId first (as the SDK does) and drop every edXML: prefix
    doc_id = re.search(
        r"<edXML:DocumentId>[^<]*</edXML:DocumentId>(?=</edXML:MessageHeader>)", data
    )[0]
    moved = data.replace(doc_id, "").replace("<edXML:From>", doc_id + "<edXML:From>", 1)
    bare = moved.replace("edXML:", "").replace(
        ' xmlns:edXML="http://www.mic.gov.vn/TBT/QCVN_102_2016"', ""
    )
    result = parse_package(bare.encode())
    assert result.package.header == notice.header
    assert "element_order" in result.warning_codes


def test_elements_without_namespace_are_read_with_a_warning(notice):
    data = build_document_package(notice).decode()
    bare = data.replace("edXML:", "").replace(
        ' xmlns:edXML="http://www.mic.gov.vn/TBT/QCVN_102_2016"', ""
    )
    bare = bare.replace(' xmlns="http://www.mic.gov.vn/TBT/QCVN_102_2016"', "")
    result = parse_package(bare.encode())
    assert result.package.header.subject == notice.header.subject
    assert "element_without_namespace" in result.warning_codes


def test_content_id_without_cid_and_raw_zip_docx_stays_a_docx(notice):
    data = build_document_package(notice).replace(b"<ContentId>cid:phu-luc", b"<ContentId>phu-luc")
    result = parse_package(data)
    docx = result.package.attachments[1]
    assert docx.content_id == "phu-luc"
    assert (
        not docx.zipped and docx.data == notice.attachments[1].data
    )  # PK magic, but not a zip type
    assert "content_id_without_cid" in result.warning_codes
    assert "attachment_not_in_manifest" not in result.warning_codes


def test_empty_and_unknown_elements_are_tolerated(notice):
    data = (
        build_document_package(notice)
        .replace(
            b"<edXML:SteeringType>",
            b"<edXML:ResponseFor/><edXML:Direction>false</edXML:Direction><edXML:SteeringType>",
        )
        .replace(b"<edXML:Place>Qu", b"<edXML:Place/><edXML:X>Qu")
        .replace(b"</edXML:Place><edXML:Prom", b"</edXML:X><edXML:Prom")
    )
    result = parse_package(data)
    assert result.package.header.response_for == notice.header.response_for
    assert {"empty_element", "unknown_element"} <= result.warning_codes


def test_sender_and_recipient_are_required():
    with pytest.raises(EdxmlSchemaError) as info:
        parse_package(
            b'<edXML xmlns="http://www.mic.gov.vn/TBT/QCVN_102_2016"><edXMLEnvelope><edXMLHeader>'
            b"<MessageHeader><From><OrganName>x</OrganName></From></MessageHeader>"
            b"</edXMLHeader></edXMLEnvelope></edXML>"
        )
    violations = " ".join(info.value.details["violations"])
    assert "From/OrganId" in violations and "To" in violations


@pytest.mark.parametrize(
    "data",
    [
        b"<html/>",
        b'<edXML xmlns="urn:other"/>',
        b'<edXML xmlns="http://www.mic.gov.vn/TBT/QCVN_102_2016"/>',
    ],
)
def test_not_an_edxml_package(data):
    with pytest.raises(EdxmlSchemaError):
        parse_package(data)


def test_status_code_out_of_range_is_a_violation(status):
    from docsvc.exchange import build_status_package

    data = build_status_package(status).replace(b">03<", b">42<")
    with pytest.raises(EdxmlSchemaError):
        parse_package(data)
    padded = parse_package(build_status_package(status).replace(b">03<", b">3<"))
    assert padded.package.status_code == "03" and "status_code_padded" in padded.warning_codes


def test_attachments_spool_to_files(notice, tmp_path):
    for zipped in (False, True):
        folder = tmp_path / str(zipped)
        folder.mkdir()
        result = parse_package(
            build_document_package(notice, zip_attachments=zipped), attachment_dir=folder
        )
        files = sorted(p.name for p in folder.iterdir())
        assert files == ["attachment-0000.bin", "attachment-0001.bin"]
        for attachment, original in zip(
            result.package.attachments, notice.attachments, strict=True
        ):
            assert attachment.data is None and attachment.path.parent == folder
            assert attachment.read_bytes() == original.data


def test_stream_input_is_accepted(notice):
    data = build_document_package(notice)
    assert parse_package(io.BytesIO(data)).package.header == notice.header


def _with_zip(notice, archive: bytes) -> bytes:
    data = build_document_package(notice, zip_attachments=True).decode()
    encoded = base64.b64encode(archive).decode()
    return re.sub(
        r"(ContentTransferEncoded[^>]*>)[^<]*", lambda m: m[1] + encoded, data, count=1
    ).encode()


def test_multi_file_zip_is_kept_as_zip_with_warning(notice):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("a.pdf", b"a")
        archive.writestr("b.pdf", b"b")
    result = parse_package(_with_zip(notice, buffer.getvalue()))
    first = result.package.attachments[0]
    assert not first.zipped and first.data == buffer.getvalue()
    assert "attachment_zip_kept" in result.warning_codes


def test_declared_zip_that_is_not_a_zip(notice):
    result = parse_package(_with_zip(notice, b"%PDF not a zip"))
    assert result.package.attachments[0].data == b"%PDF not a zip"
    assert "attachment_not_zip" in result.warning_codes
