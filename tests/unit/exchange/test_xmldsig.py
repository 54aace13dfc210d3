"""XML signatures: roundtrip, tampering, wrapping, pinning, SHA-1, placeholders."""

import copy

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from lxml import etree
from signxml import CanonicalizationMethod, SignatureMethod, XMLSigner, XMLVerifier
from signxml.algorithms import DigestAlgorithm

from docsvc.exchange import (
    NS,
    XmlSigningError,
    build_document_package,
    build_status_package,
    parse_package,
    sign_package,
    validate_package,
    verify_package,
)
from docsvc.exchange.model import DS_NS
from tests.support.pki import make_identity

from .conftest import load_sample

E = f"{{{NS}}}"
DS = f"{{{DS_NS}}}"


@pytest.mark.parametrize("identity", ["rsa_agency", "ec_agency"])
def test_sign_and_verify_roundtrip(notice, schemas, identity, request):
    agency = request.getfixturevalue(identity)
    signed = sign_package(build_document_package(notice), agency.key, [agency.cert])
    validate_package(signed, schemas)
    header = etree.fromstring(signed).find(f"{E}edXMLEnvelope/{E}edXMLHeader")
    assert [etree.QName(c).localname for c in header] == [
        "MessageHeader",
        "TraceHeaderList",
        "Signature",
    ]
    check = verify_package(signed, expected_cert=agency.cert)
    assert check.status == "valid" and check.is_valid and check.warnings == ()
    assert check.algorithm == ("rsa-sha256" if identity == "rsa_agency" else "ecdsa-sha256")
    assert check.digest_algorithm == "sha256"
    assert "UBND" in check.signer_subject
    reference = header.find(f"{DS}Signature/{DS}SignedInfo/{DS}Reference")
    assert reference.get("URI") == ""
    assert header.find(f"{DS}Signature/{DS}KeyInfo/{DS}X509Data/{DS}X509Certificate") is not None
    assert parse_package(signed).package.header == notice.header


def test_status_package_can_be_signed(status, rsa_agency, schemas):
    signed = sign_package(build_status_package(status), rsa_agency.key, [rsa_agency.cert])
    validate_package(signed, schemas)
    assert verify_package(signed, expected_cert=rsa_agency.cert).is_valid


def test_without_pinned_certificate_only_integrity_is_checked(notice, rsa_agency):
    signed = sign_package(build_document_package(notice), rsa_agency.key, [rsa_agency.cert])
    check = verify_package(signed)
    assert check.is_valid and "certificate_not_pinned" in check.warning_codes


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("Kết luận của Chủ tịch".encode(), "Kết luận của Phó Chủ tịch".encode()),
        (b"<edXML:CodeNumber>185<", b"<edXML:CodeNumber>186<"),
        (b"JVBERi0xLjcK", b"JVBERi0xLjgK"),  # one byte of the PDF attachment
    ],
)
def test_tampering_invalidates(notice, rsa_agency, old, new):
    signed = sign_package(build_document_package(notice), rsa_agency.key, [rsa_agency.cert])
    assert old in signed
    check = verify_package(signed.replace(old, new, 1), expected_cert=rsa_agency.cert)
    assert check.status == "invalid" and check.reason == "digest_mismatch"


def test_wrong_pinned_certificate_is_invalid(notice, rsa_agency, ec_agency):
    signed = sign_package(build_document_package(notice), rsa_agency.key, [rsa_agency.cert])
    other = make_identity(rsa.generate_private_key(65537, 2048), "Kẻ mạo danh")
    for pinned in (other.cert, ec_agency.cert):
        check = verify_package(signed, expected_cert=pinned)
        assert check.status == "invalid"
        assert check.reason in {"signature_mismatch", "signature_malformed"}
        assert check.signer_subject == pinned.subject.rfc4514_string()


def test_expired_certificate_is_invalid(notice):
    expired = make_identity(rsa.generate_private_key(65537, 2048), "Hết hạn", days=-1)
    signed = sign_package(build_document_package(notice), expired.key, [expired.cert])
    check = verify_package(signed, expected_cert=expired.cert)
    assert check.status == "invalid" and check.reason == "certificate_not_valid"


def test_signature_wrapping_is_refused(notice, rsa_agency):
    """A genuine signature over the envelope only, moved aside, while a forged envelope is read."""
    root = etree.fromstring(build_document_package(notice))
    envelope = root.find(f"{E}edXMLEnvelope")
    envelope.set("Id", "env")
    signed = XMLSigner(
        c14n_algorithm=CanonicalizationMethod.EXCLUSIVE_XML_CANONICALIZATION_1_0
    ).sign(root, key=rsa_agency.key, cert=[rsa_agency.cert], reference_uri="#env")
    signed = etree.fromstring(etree.tostring(signed))
    signature = signed.find(f"{DS}Signature")
    genuine = signed.find(f"{E}edXMLEnvelope")
    # the attacker: keep the signed envelope second, show a forged one first
    forged = copy.deepcopy(genuine)
    del forged.attrib["Id"]
    forged.find(f".//{E}Subject").text = "Giao đất cho công ty X"
    signed.insert(0, forged)
    forged.find(f"{E}edXMLHeader").append(signature)
    wrapped = etree.tostring(signed, xml_declaration=True, encoding="UTF-8")
    # a naive verifier is fooled: the referenced element still verifies
    naive = XMLVerifier().verify(wrapped, x509_cert=rsa_agency.cert, expect_config=_any_location())
    assert naive.signed_xml.find(f".//{E}Subject").text != "Giao đất cho công ty X"
    assert parse_package(wrapped).package.header.subject == "Giao đất cho công ty X"
    check = verify_package(wrapped, expected_cert=rsa_agency.cert)
    assert check.status == "invalid" and check.reason == "reference_not_whole_document"


def _any_location():
    from signxml import SignatureConfiguration

    return SignatureConfiguration(location=".//")


def test_second_signature_or_misplaced_signature_is_refused(notice, rsa_agency):
    signed = sign_package(build_document_package(notice), rsa_agency.key, [rsa_agency.cert])
    root = etree.fromstring(signed)
    signature = root.find(f".//{DS}Signature")
    root.append(copy.deepcopy(signature))
    check = verify_package(etree.tostring(root), expected_cert=rsa_agency.cert)
    assert check.reason == "multiple_signatures"
    root.remove(root[-1])
    root.append(signature)  # moved from edXMLHeader to the root
    check = verify_package(etree.tostring(root), expected_cert=rsa_agency.cert)
    assert check.reason == "signature_misplaced"


class _Sha1Signer(XMLSigner):
    def check_deprecated_methods(self):  # signxml refuses SHA-1 by default; a peer may not
        return None


def test_sha1_signature_is_accepted_with_a_warning(notice, rsa_agency):
    root = etree.fromstring(build_document_package(notice))
    header = root.find(f"{E}edXMLEnvelope/{E}edXMLHeader")
    header.append(etree.Element(f"{DS}Signature", Id="placeholder", nsmap={None: DS_NS}))
    signer = _Sha1Signer(
        signature_algorithm=SignatureMethod.RSA_SHA1,
        digest_algorithm=DigestAlgorithm.SHA1,
        c14n_algorithm=CanonicalizationMethod.CANONICAL_XML_1_0,
    )
    signed = etree.tostring(signer.sign(root, key=rsa_agency.key, cert=[rsa_agency.cert]))
    check = verify_package(signed, expected_cert=rsa_agency.cert)
    assert check.is_valid
    assert check.algorithm == "rsa-sha1" and check.digest_algorithm == "sha1"
    assert "sha1_signature" in check.warning_codes
    tampered = verify_package(signed.replace(b"TB-UBND", b"TB-UBNX"), expected_cert=rsa_agency.cert)
    assert tampered.status == "invalid"


def test_unsigned_and_sdk_placeholder_signatures_are_absent(notice):
    assert verify_package(build_document_package(notice)).status == "absent"
    check = verify_package(load_sample("edoc_update.edxml"))
    assert check.status == "absent" and "signature_not_xmldsig" in check.warning_codes


def test_public_sample_signature_does_not_verify():
    shipped = load_sample("edoc.edxml").replace(
        b'<edXML xmlns="http://www.mic.gov.vn/TBT/QCVN_102_2016">',
        b'<edXML xmlns="http://www.mic.gov.vn/TBT/QCVN_102_2016" '
        b'xmlns:edXML="http://www.mic.gov.vn/TBT/QCVN_102_2016" '
        b'xmlns:xlink="http://www.w3.org/1999/xlink">',
    )
    check = verify_package(shipped)
    assert check.status == "invalid" and check.algorithm == "rsa-sha1"
    assert "sha1_signature" in check.warning_codes
    assert "TR" in check.signer_subject  # the VNPT-CA certificate it carries


def test_sign_refuses_what_it_cannot_sign(notice, rsa_agency):
    data = build_document_package(notice)
    signed = sign_package(data, rsa_agency.key, [rsa_agency.cert])
    with pytest.raises(XmlSigningError) as info:
        sign_package(signed, rsa_agency.key, [rsa_agency.cert])
    assert info.value.details["reason"] == "already_signed"
    with pytest.raises(XmlSigningError):
        sign_package(data, rsa_agency.key, [])
    with pytest.raises(XmlSigningError):
        sign_package(b'<other xmlns="urn:x"/>', rsa_agency.key, [rsa_agency.cert])
