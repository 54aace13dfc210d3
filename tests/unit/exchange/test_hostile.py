"""Hostile XML is refused with a distinct code, never expanded, fetched or crashed on."""

import base64
import io
import re
import zipfile

import pytest

from docsvc.exchange import (
    AttachmentTooLargeError,
    ParseLimits,
    XmlForbiddenConstructError,
    XmlMalformedError,
    XmlTextTooLongError,
    XmlTooDeepError,
    XmlTooLargeError,
    XmlTooManyElementsError,
    build_document_package,
    parse_package,
    validate_package,
    verify_package,
)

ROOT = b'<edXML xmlns="http://www.mic.gov.vn/TBT/QCVN_102_2016">'
BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE edXML [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol9 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<edXML xmlns="http://www.mic.gov.vn/TBT/QCVN_102_2016">&lol9;</edXML>"""
XXE = b"""<?xml version="1.0"?>
<!DOCTYPE edXML [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<edXML xmlns="http://www.mic.gov.vn/TBT/QCVN_102_2016"><Subject>&xxe;</Subject></edXML>"""
EXTERNAL_DTD = b"""<?xml version="1.0"?>
<!DOCTYPE edXML SYSTEM "http://127.0.0.1:9/evil.dtd">
<edXML xmlns="http://www.mic.gov.vn/TBT/QCVN_102_2016"/>"""
PARAMETER_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE edXML [<!ENTITY % remote SYSTEM "http://127.0.0.1:9/x.dtd"> %remote;]>
<edXML xmlns="http://www.mic.gov.vn/TBT/QCVN_102_2016"/>"""


@pytest.mark.parametrize(
    ("data", "construct"),
    [
        (BILLION_LAUGHS, "entity_declaration"),
        (XXE, "external_entity"),
        (EXTERNAL_DTD, "external_dtd"),
        (PARAMETER_ENTITY, "external_entity"),
        (b"<!DOCTYPE edXML><edXML/>", "doctype"),
    ],
)
@pytest.mark.parametrize("reader", [parse_package, validate_package, verify_package])
def test_dtd_and_entities_are_refused(data, construct, reader):
    with pytest.raises(XmlForbiddenConstructError) as info:
        reader(data)
    assert info.value.code == "xml_forbidden_construct"
    assert info.value.details["construct"] == construct
    assert "DTD" in info.value.message("en") and "DTD" in info.value.message("vi")


def test_undeclared_entity_is_malformed_not_expanded():
    with pytest.raises(XmlMalformedError):
        parse_package(ROOT + b"&xxe;</edXML>")


def test_huge_text_node_is_refused_before_it_is_held():
    data = (
        ROOT
        + b"<edXMLEnvelope><Subject>"
        + b"A" * (300 * 1024)
        + b"</Subject></edXMLEnvelope></edXML>"
    )
    with pytest.raises(XmlTextTooLongError) as info:
        parse_package(data)
    assert info.value.code == "xml_text_too_long" and info.value.details["element"] == "Subject"


def test_huge_attribute_is_refused():
    data = ROOT.replace(b">", b' a="' + b"x" * (300 * 1024) + b'">') + b"</edXML>"
    with pytest.raises(XmlTextTooLongError):
        parse_package(data)


def test_deep_nesting_is_refused():
    data = ROOT + b"<a>" * 5000 + b"</a>" * 5000 + b"</edXML>"
    with pytest.raises(XmlTooDeepError) as info:
        parse_package(data)
    assert info.value.code == "xml_too_deep"


def test_too_many_elements_are_refused():
    data = ROOT + b"<To/>" * 25_000 + b"</edXML>"
    with pytest.raises(XmlTooManyElementsError) as info:
        parse_package(data)
    assert info.value.code == "xml_too_many_elements"


def test_oversized_package_is_refused_for_bytes_and_streams():
    limits = ParseLimits(max_bytes=1000)
    data = ROOT + b" " * 2000 + b"</edXML>"
    for source in (data, io.BytesIO(data)):
        with pytest.raises(XmlTooLargeError) as info:
            parse_package(source, limits=limits)
        assert info.value.code == "xml_too_large" and info.value.status == 413


def test_codes_are_distinct():
    codes = {
        XmlForbiddenConstructError.code, XmlMalformedError.code, XmlTextTooLongError.code,
        XmlTooDeepError.code, XmlTooManyElementsError.code, XmlTooLargeError.code,
        AttachmentTooLargeError.code,
    }  # fmt: skip
    assert len(codes) == 7


@pytest.mark.parametrize(
    "data",
    [b"", b"not xml", b"<edXML>", b"\xff\xfe\x00<", b"<a></b>", ROOT + b"<x:y/></edXML>"],
)
def test_garbage_is_malformed(data):
    with pytest.raises(XmlMalformedError):
        parse_package(data)


def test_zip_bomb_is_cut_at_the_attachment_limit(notice, tmp_path):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("bomb.pdf", b"\0" * (20 * 1024 * 1024))
    assert len(buffer.getvalue()) < 100_000
    data = build_document_package(notice, zip_attachments=True).decode()
    encoded = base64.b64encode(buffer.getvalue()).decode()
    data = re.sub(r"(ContentTransferEncoded[^>]*>)[^<]*", lambda m: m[1] + encoded, data, count=1)
    with pytest.raises(AttachmentTooLargeError) as info:
        parse_package(
            data.encode(),
            limits=ParseLimits(max_attachment_bytes=1024 * 1024),
            attachment_dir=tmp_path,
        )
    assert info.value.code == "attachment_too_large"
    assert list(tmp_path.iterdir()) == []  # nothing left behind


def test_failed_parse_leaves_no_spool_files(notice, tmp_path):
    data = build_document_package(notice) + b"<trailing/>"
    with pytest.raises(XmlMalformedError):
        parse_package(data, attachment_dir=tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_planted_spool_file_is_not_overwritten(notice, tmp_path):
    planted = tmp_path / "attachment-0000.raw"
    planted.write_bytes(b"keep me")
    with pytest.raises(FileExistsError):
        parse_package(build_document_package(notice), attachment_dir=tmp_path)
    assert planted.read_bytes() == b"keep me"
