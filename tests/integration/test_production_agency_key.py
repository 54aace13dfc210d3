"""Production signs edXML packages and receipts with the agency's own key (DOCSVC_AGENCY_KEY_FILE),
never with the demo PKI, and refuses to start without one unless the operator says so."""

from __future__ import annotations

import datetime as dt

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import BestAvailableEncryption, pkcs12
from cryptography.x509.oid import NameOID

from docsvc.app import build_runtime
from docsvc.config import Settings
from docsvc.db import upgrade
from docsvc.errors import ConfigError
from docsvc.exchange import (
    VN_TZ,
    Attachment,
    Code,
    DocumentHeader,
    DocumentPackage,
    DocumentType,
    Organization,
    PromulgationInfo,
    TraceHeader,
    build_document_package,
    verify_package,
)
from docsvc.samples import notice_pdf
from docsvc.services.exchange.config import make_receipt, verify_receipt
from docsvc.services.exchange.messages import sign

SECRET = "s" * 40


def _agency_p12(path, passphrase: bytes) -> x509.Certificate:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "UBND tỉnh Quảng Ngãi"),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "UBND tỉnh Quảng Ngãi")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=365)).sign(key, hashes.SHA256()))
    path.write_bytes(pkcs12.serialize_key_and_certificates(
        b"agency", key, cert, None, BestAvailableEncryption(passphrase)))
    return cert


def _notice() -> bytes:
    province = Organization("000.00.00.H48", organ_name="UBND tỉnh Quảng Ngãi", organ_add="Quảng Ngãi")
    return build_document_package(DocumentPackage(
        header=DocumentHeader(
            sender=province,
            recipients=(Organization("000.00.53.H48", organ_name="UBND xã Tịnh Ấn", organ_add="Tịnh Ấn"),),
            code=Code("185", "TB-UBND"),
            promulgation_info=PromulgationInfo("Quảng Ngãi", dt.date(2018, 6, 19)),
            document_type=DocumentType(type=7, type_detail=0, type_name="Thông báo"),
            subject="Thông báo kết luận", document_id="000.00.00.H48,2018/06/19,185/TB-UBND"),
        trace_headers=(TraceHeader("000.00.00.H48", dt.datetime(2018, 6, 19, 9, 0, tzinfo=VN_TZ)),),
        attachments=(Attachment("1", "185.pdf", content_type="application/pdf", data=notice_pdf()),)))


def _production_env(tmp_path, database_url: str, **extra: str) -> dict[str, str]:
    return {"DOCSVC_ENV": "production", "DOCSVC_SECRET_KEY": SECRET,
            "DOCSVC_DATABASE_URL": database_url, "DOCSVC_DATA_DIR": str(tmp_path / "data"),
            "DOCSVC_BLOB_BACKEND": "local", **extra}


def test_production_refuses_to_start_without_an_agency_key(tmp_path):
    with pytest.raises(ConfigError) as caught:
        Settings.from_env(_production_env(tmp_path, "postgresql+psycopg://x@127.0.0.1/x"))
    assert any("DOCSVC_AGENCY_KEY_FILE" in p for p in caught.value.details["problems"])
    explicit = Settings.from_env(_production_env(tmp_path, "postgresql+psycopg://x@127.0.0.1/x",
                                                 DOCSVC_ALLOW_UNSIGNED_PACKAGES="true"))
    assert explicit.allow_unsigned_packages and explicit.agency_key_file is None


def test_wrong_passphrase_is_a_clear_configuration_error(tmp_path):
    p12 = tmp_path / "agency.p12"
    _agency_p12(p12, b"right")
    settings = Settings.from_env(_production_env(
        tmp_path, "postgresql+psycopg://x@127.0.0.1/x", DOCSVC_AGENCY_KEY_FILE=str(p12),
        DOCSVC_AGENCY_KEY_PASSPHRASE="wrong"))
    from docsvc.services.exchange import load_agency_key

    with pytest.raises(ConfigError) as caught:
        load_agency_key(settings)
    assert caught.value.details["setting"] == "DOCSVC_AGENCY_KEY_FILE"


@pytest.mark.postgres
def test_production_signs_packages_and_receipts_with_the_agency_key(tmp_path, postgres_url):
    p12 = tmp_path / "agency.p12"
    cert = _agency_p12(p12, b"mat-khau-co-quan")
    (tmp_path / "passphrase").write_text("mat-khau-co-quan\n")
    settings = Settings.from_env(_production_env(
        tmp_path, postgres_url, DOCSVC_AGENCY_KEY_FILE=str(p12),
        DOCSVC_AGENCY_KEY_PASSPHRASE_FILE=str(tmp_path / "passphrase")))
    runtime = build_runtime(settings)
    try:
        upgrade(runtime.engine)
        config = runtime.exchange
        assert config.agency_key is not None and config.agency_key.chain[0] == cert
        signed = sign(config, _notice())
        # the peer: checks the XML signature against the agency certificate it knows
        check = verify_package(signed, expected_cert=cert)
        assert check.status == "valid", check
        receipt = make_receipt(config, {"message": "m1", "sha256": "ab" * 32})
        assert receipt["signature"]["algorithm"] == "RS256"
        assert verify_receipt(receipt, cert)
    finally:
        runtime.engine.dispose()
