"""Every public sample parses to the right fields; the two broken ones only once repaired."""

import hashlib
from datetime import date, datetime

import pytest

from docsvc.exchange import VN_TZ, XmlMalformedError, parse_package

from .conftest import load_sample

STATUS_SAMPLES = {
    "status.edxml": "01",
    "status_inbox_01.edxml": "01",
    "status_rejection_02.edxml": "02",
    "status_acceptance_03.edxml": "03",
    "status_assignment_04.edxml": "04",
    "status_processing_05.edxml": "05",
    "status_finish_06.edxml": "06",
    "status_cancellation_13.edxml": "13",
    "status_change-acceptance_15.edxml": "15",
    "status_change-rejection_16.edxml": "16",
}
RECEIVED = "received_2019-05_852e179c-8eca-4502-ac38-0b97321f29c3.edxml"


@pytest.mark.parametrize(("name", "code"), STATUS_SAMPLES.items())
def test_status_samples(name, code):
    result = parse_package(load_sample(name))
    assert result.kind == "status"
    status = result.package
    assert status.status_code == code
    assert status.response_for.document_id == "000.00.00.G22,2015/09/30,7816/VPCP-TTĐT"
    assert status.response_for.code == "7816/VPCP-TTĐT"
    sender = "000.00.00.G22" if code == "13" else "000.00.00.H41"
    assert status.sender.organ_id == sender
    assert status.description
    assert status.timestamp.tzinfo is VN_TZ
    assert status.staff_info is not None and status.staff_info.staff
    assert result.warnings == ()


def test_status_sample_values():
    status = parse_package(load_sample("status.edxml")).package
    assert status.timestamp == datetime(2018, 9, 28, 17, 25, 11, tzinfo=VN_TZ)
    assert status.response_for.promulgation_date == date(2018, 9, 28)
    assert status.sender.organ_name == "UBND Tỉnh Nghệ An"
    assert status.staff_info.email == "vanthuvanphong@gov.vn"
    assert status.description.startswith("Văn thư - Phòng Văn thư - Lưu trữ: Đã đến")


@pytest.mark.parametrize(
    ("name", "doc_type"),
    [("edoc_update.edxml", 2), ("edoc_revocation.edxml", 1), ("edoc_replacement.edxml", 3)],
)
def test_sdk_document_samples(name, doc_type):
    result = parse_package(load_sample(name))
    assert result.kind == "edoc"
    pkg = result.package
    header = pkg.header
    assert header.subject == "V/v kết nối, liên thông phần mềm quản lý văn bản"
    assert (header.code.code_number, header.code.code_notation) == ("7816", "VPCP-TTĐT")
    assert header.document_id == "000.00.00.G22,2015/09/30,7816/VPCP-TTĐT"
    assert header.promulgation_info == type(header.promulgation_info)("Hà Nội", date(2018, 9, 28))
    assert header.sender.organ_id == "000.00.00.G22"
    assert header.sender.organ_name == "Văn phòng Chính phủ"
    assert [r.organ_id for r in header.recipients] == [
        "000.00.00.H41", "000.00.00.H14", "000.00.00.G17"]  # fmt: skip
    assert header.signer_info.full_name == "Nguyen Thanh Phuc"
    assert header.signer_info.competence == "TL. BO TRUONG"
    assert header.due_date == date(2018, 9, 28)
    assert header.to_places == ("Cac bo va co quan ngang bo", "Uy ban nhan dan cac tinh, TP")
    assert header.other_info.page_amount == 22 and header.other_info.priority == 0
    assert header.document_type.type_name == "Công văn"
    assert header.steering_type == 1
    assert pkg.bussiness.doc_type == doc_type
    assert pkg.trace_headers[0].organ_id == "000.00.00.G22"
    assert pkg.trace_headers[0].timestamp == datetime(2018, 9, 28, tzinfo=VN_TZ)
    assert pkg.bussiness.staff_info.staff == "Nguyễn Thị Ngọc Trâm"
    # the SDK zips each file: we get the file itself back
    (attachment,) = pkg.attachments
    assert attachment.content_id == "209" and attachment.zipped
    assert attachment.name == "1896_QD-TTg_m_294779.doc"
    assert attachment.content_type == "application/msword"
    assert attachment.size == len(attachment.data) == 388347
    assert attachment.data.startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
    assert attachment.sha256 == hashlib.sha256(attachment.data).hexdigest()
    # the SDK's dummy Signature is in the edXML namespace: structure only
    assert pkg.signature is not None and not pkg.signature.is_xmldsig
    assert {"element_order", "signature_not_xmldsig"} <= result.warning_codes


def test_update_and_replacement_details():
    update = parse_package(load_sample("edoc_update.edxml")).package.bussiness
    assert update.document_info.document_info == 1
    assert [(r.organ_id, r.receiver_type) for r in update.document_info.receivers] == [
        ("000.00.00.H41", 0), ("000.00.00.H14", 1)]  # fmt: skip
    replacement = parse_package(load_sample("edoc_replacement.edxml")).package.bussiness
    assert [r.organ_ids for r in replacement.replacements] == [
        ("000.00.00.H41", "000.00.00.H14")] * 2  # fmt: skip
    assert replacement.replacements[0].document_id == "000.00.00.G22,2014/01/30,7806/VPCP-TTĐT"
    revocation = parse_package(load_sample("edoc_revocation.edxml")).package.header
    assert revocation.response_for[0].document_id == "000.00.04.G14,2012/08/06,267/VPCP-TTĐT"


def test_received_package_with_two_trace_headers():
    result = parse_package(load_sample(RECEIVED))
    pkg = result.package
    assert [t.organ_id for t in pkg.trace_headers] == ["01.02.G22", "001.00.20.TT2"]
    assert pkg.trace_headers[1].timestamp == datetime(2019, 5, 17, 18, 16, 33, tzinfo=VN_TZ)
    assert pkg.header.subject == "Văn bản liên thông chỉ đạo - 190701"
    assert pkg.header.signer_info.full_name == "Trương Minh Tuấn"  # NFC, though shipped NFD
    assert pkg.header.response_for == ()  # <edXML:ResponseFor /> tolerated
    (attachment,) = pkg.attachments
    assert attachment.zipped and attachment.size == 17
    assert attachment.content_type == "application/pdf"  # from the manifest, not "zip"
    assert {"empty_element", "text_not_nfc", "organ_id_nonstandard"} <= result.warning_codes
    assert "missing_element" in result.warning_codes  # no Bussiness: read as a new document
    assert pkg.bussiness.doc_type == 0


def test_lgsp_template_parses_with_warnings():
    result = parse_package(load_sample("form.edxml"))
    pkg = result.package
    assert pkg.header.document_id == "000.00.14.H56,2020/06/02,808/VNPTTEST"
    assert pkg.header.promulgation_info.promulgation_date is None  # "2020/06/02(Ngày...)"
    assert pkg.header.other_info.priority is None
    assert pkg.bussiness.doc_type == 2
    assert pkg.bussiness.staff_info.mobile == ""  # <edXML:Mobile />
    (attachment,) = pkg.attachments
    assert attachment.content_id == "abf52b38-78f5-4008-b7cd-93ce4002ba45"
    assert attachment.error == "not_base64" and attachment.data is None
    assert attachment.description == "Mô tả file đính kèm"
    assert {
        "content_id_without_cid", "attachment_unreadable", "unknown_element",
        "signature_placeholder", "value_unreadable",
    } <= result.warning_codes  # fmt: skip


def test_edoc_new_as_shipped_is_rejected_and_parses_once_repaired():
    shipped = load_sample("edoc_new.edxml")
    with pytest.raises(XmlMalformedError) as info:
        parse_package(shipped)
    assert info.value.code == "xml_malformed" and info.value.details["line"] == 1
    assert shipped[:4] == b"1212"
    pkg = parse_package(shipped[4:]).package  # the README's repair: strip "1212"
    assert pkg.header.code.code_number == "74fass22"
    assert pkg.header.recipients[0].organization_in_charge.startswith("UBND xã Hòa Sơn")
    assert pkg.bussiness.doc_type == 0
    assert pkg.attachments[0].zipped and pkg.attachments[0].size == 388347


def test_edoc_as_shipped_is_rejected_and_parses_once_repaired():
    shipped = load_sample("edoc.edxml")
    with pytest.raises(XmlMalformedError) as info:
        parse_package(shipped)
    assert "undefined_namespace" in info.value.details["reason"]
    repaired = shipped.replace(
        b'<edXML xmlns="http://www.mic.gov.vn/TBT/QCVN_102_2016">',
        b'<edXML xmlns="http://www.mic.gov.vn/TBT/QCVN_102_2016" '
        b'xmlns:edXML="http://www.mic.gov.vn/TBT/QCVN_102_2016" '
        b'xmlns:xlink="http://www.w3.org/1999/xlink">',
    )
    result = parse_package(repaired)
    pkg = result.package
    assert pkg.header.code.code_number == "12234555512"
    assert pkg.header.sender.organ_name == "Văn phòng Chính phủ"
    assert pkg.header.recipients[0].organ_id == "000.00.15.H51"
    assert pkg.header.other_info.appendixes == ("Phụ lục",)
    assert pkg.signature.is_xmldsig and pkg.signature.reference_uris == ("",)
    (attachment,) = pkg.attachments
    assert attachment.name == "GUIDE_INSTALL OPENVPN.SIGNED.PDF"
    assert attachment.error == "not_base64"  # the JMeter placeholder
    assert "attachment_unreadable" in result.warning_codes
