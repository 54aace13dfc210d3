"""The demo PKI: names, extensions, revocation data and key files."""

from __future__ import annotations

import stat

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from docsvc.pki import demo


def _cert(pki, name) -> x509.Certificate:
    return pki[name].certificate()


def test_person_subject_is_utf8_vietnamese(pki):
    subject = _cert(pki, "person-rsa").subject
    assert subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "Nguyễn Quốc Việt"
    assert subject.get_attributes_for_oid(NameOID.TITLE)[0].value == "Phó Chánh Văn phòng"
    assert (subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value
            == "UBND tỉnh Quảng Ngãi")
    assert subject.get_attributes_for_oid(NameOID.COUNTRY_NAME)[0].value == "VN"


def test_agency_carries_its_organ_id(pki):
    subject = _cert(pki, "agency-rsa").subject
    assert (subject.get_attributes_for_oid(NameOID.ORGANIZATION_IDENTIFIER)[0].value
            == "000.00.00.H48")


@pytest.mark.parametrize("name", ["person-rsa", "person-ecdsa", "agency-rsa", "agency-ecdsa"])
def test_signers_have_signing_key_usage_and_revocation_pointers(pki, name):
    cert = _cert(pki, name)
    usage = cert.extensions.get_extension_for_class(x509.KeyUsage)
    assert usage.critical and usage.value.digital_signature and usage.value.content_commitment
    aia = cert.extensions.get_extension_for_class(x509.AuthorityInformationAccess).value
    assert [d.access_location.value for d in aia][0] == "http://127.0.0.1:9/ocsp"
    cdp = cert.extensions.get_extension_for_class(x509.CRLDistributionPoints).value
    assert cdp[0].full_name[0].value == "http://127.0.0.1:9/crl/issuing-ca.crl"


def test_key_algorithms(pki):
    assert _cert(pki, "person-rsa").public_key().key_size == 2048
    assert _cert(pki, "person-ecdsa").public_key().curve.name == "secp256r1"


def test_tsa_and_ocsp_extended_key_usage(pki):
    tsa = _cert(pki, "tsa").extensions.get_extension_for_class(x509.ExtendedKeyUsage)
    assert tsa.critical and list(tsa.value) == [ExtendedKeyUsageOID.TIME_STAMPING]
    ocsp = _cert(pki, "ocsp").extensions
    assert list(ocsp.get_extension_for_class(x509.ExtendedKeyUsage).value) == [
        ExtendedKeyUsageOID.OCSP_SIGNING]
    ocsp.get_extension_for_class(x509.OCSPNoCheck)


def test_revoked_certificate_is_on_the_crl(pki):
    crl = x509.load_der_x509_crl(pki.crl_path("issuing-ca").read_bytes())
    revoked = _cert(pki, "person-revoked").serial_number
    assert crl.get_revoked_certificate_by_serial_number(revoked) is not None
    assert crl.get_revoked_certificate_by_serial_number(
        _cert(pki, "person-rsa").serial_number) is None
    assert crl.is_signature_valid(_cert(pki, "issuing-ca").public_key())


def test_expired_certificate_is_expired(pki):
    import datetime as dt

    assert _cert(pki, "person-expired").not_valid_after_utc < dt.datetime.now(dt.UTC)


def test_passphrases_live_in_private_files_and_open_the_pkcs12(pki):
    cred = pki["person-rsa"]
    assert stat.S_IMODE(cred.passphrase_path.stat().st_mode) == 0o600
    assert cred.private_key().public_key().public_numbers() == (
        cred.certificate().public_key().public_numbers())


def test_load_reopens_what_generate_wrote(pki):
    again = demo.load(pki.directory)
    assert again.base_url == pki.base_url and set(again) == set(pki)
    assert again.revoked == pki.revoked
