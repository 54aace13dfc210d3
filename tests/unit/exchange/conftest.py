"""Fixtures for the edXML tests: the public samples, a province notice, keys and certificates."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from docsvc.exchange import (
    Attachment,
    Bussiness,
    Code,
    DocumentHeader,
    DocumentPackage,
    DocumentType,
    Organization,
    PromulgationInfo,
    ResponseFor,
    SignerInfo,
    StaffInfo,
    StatusPackage,
    TraceHeader,
    load_schemas,
    make_document_id,
)
from tests.support.pki import Identity, make_identity
from tests.support.refdata import refdata_dir

# The real packages live in the shared reference data beside the checkout (not copied here:
# the SDK repository they come from states no licence); refdata_dir() skips or fails (CI).
PROVINCE = Organization(
    organ_id="000.00.00.H48",
    organization_in_charge="Ủy ban nhân dân tỉnh Quảng Ngãi",
    organ_name="UBND tỉnh Quảng Ngãi",
    organ_add="52 Hùng Vương, thành phố Quảng Ngãi",
    email="ubnd@quangngai.gov.vn",
    telephone="0255 3822 001",
)
COMMUNE = Organization(
    organ_id="000.00.53.H48", organ_name="UBND xã Tịnh Ấn", organ_add="Tịnh Ấn, Quảng Ngãi"
)
DOCUMENT_ID = make_document_id("000.00.00.H48", date(2018, 6, 19), "185", "TB-UBND")


def load_sample(name: str) -> bytes:
    """Return the bytes of a refdata sample, wherever in refdata/edxml/ it sits."""
    [path] = list(refdata_dir("edxml").rglob(name))
    return path.read_bytes()


@pytest.fixture
def notice() -> DocumentPackage:
    """Thông báo số 185/TB-UBND of DOMAIN.md §2, with one PDF and one Word file."""
    return DocumentPackage(
        header=DocumentHeader(
            sender=PROVINCE,
            recipients=(COMMUNE, Organization("000.00.12.H48", organ_name="Sở Nội vụ")),
            code=Code("185", "TB-UBND"),
            promulgation_info=PromulgationInfo("Quảng Ngãi", date(2018, 6, 19)),
            document_type=DocumentType(type=7, type_detail=0, type_name="Thông báo"),
            subject="Kết luận của Chủ tịch UBND tỉnh tại cuộc họp ngày 15/6/2018",
            document_id=DOCUMENT_ID,
            content="Thông báo kết luận",
            signer_info=SignerInfo("TL.", "Phó Chánh Văn phòng", "Nguyễn Quốc Việt"),
            due_date=date(2018, 6, 30),
            to_places=("Như trên", "Lưu: VT"),
            response_for=(
                ResponseFor(
                    "000.00.53.H48",
                    "12/BC-UBND",
                    date(2018, 6, 1),
                    "000.00.53.H48,2018/06/01,12/BC-UBND",
                ),
            ),  # fmt: skip
            steering_type=0,
        ),
        trace_headers=(TraceHeader("000.00.00.H48", datetime(2018, 6, 19, 15, 4, 5)),),
        bussiness=Bussiness(
            doc_type=0,
            reason="Văn bản điện tử mới",
            staff_info=StaffInfo(
                "Văn thư", "Trần Thị Hoa", "0905000111", "vanthu@quangngai.gov.vn"
            ),
        ),
        attachments=(
            Attachment(
                "185-tb",
                "185-TB-UBND.pdf",
                "Thông báo",
                "application/pdf",
                data=b"%PDF-1.7\n" + bytes(range(256)) * 40,
            ),
            Attachment("phu-luc", "Phụ lục.docx", "", data=b"PK\x03\x04 a docx is a zip too"),
        ),  # fmt: skip
    )


@pytest.fixture
def status() -> StatusPackage:
    return StatusPackage(
        sender=COMMUNE,
        response_for=ResponseFor("000.00.00.H48", "185/TB-UBND", date(2018, 6, 19), DOCUMENT_ID),
        status_code="03",
        timestamp=datetime(2018, 6, 20, 8, 30, 0),
        description="Đã tiếp nhận, vào sổ đến số 6079",
        staff_info=StaffInfo("Văn phòng", "Lê Văn Nam", "0905111222", "vp@tinhan.gov.vn"),
    )


@pytest.fixture(scope="session")
def schemas():
    return load_schemas()


@pytest.fixture(scope="session")
def rsa_agency() -> Identity:
    return make_identity(rsa.generate_private_key(65537, 2048), "Văn thư UBND tỉnh Quảng Ngãi")


@pytest.fixture(scope="session")
def ec_agency() -> Identity:
    return make_identity(ec.generate_private_key(ec.SECP256R1()), "UBND xã Tịnh Ấn")
