"""Refusals and faults: bad certificates, weak digests, encrypted or damaged PDFs, a second
agency signature, TSA or OCSP down.
"""

from __future__ import annotations

import socket
from io import BytesIO

import pytest
from pyhanko.pdf_utils.crypt import StandardSecurityHandler
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.pdf_utils.writer import copy_into_new_writer

from docsvc.signing import make_timestamper, sign_pdf
from docsvc.signing.errors import (
    AlreadySignedError,
    CertificateRejectedError,
    DamagedPdfError,
    EncryptedPdfError,
    TimestampUnavailableError,
    UnsupportedAlgorithmError,
)


@pytest.mark.parametrize(("name", "reason", "needs_ocsp"), [
    ("person-revoked", "revoked", True),
    ("person-expired", "expired", False),
    ("person-not-yet-valid", "not_yet_valid", False),
    ("person-wrong-usage", "wrong_key_usage", False),
])
@pytest.mark.parametrize("level", ["B-B", "B-LT"])
def test_bad_certificates_are_refused_naming_the_reason(name, reason, needs_ocsp, level,
                                                         sample_pdf, signer_of, timestamper,
                                                         validation_context, responders):
    responders.requests.clear()
    with pytest.raises(CertificateRejectedError) as caught:
        sign_pdf(sample_pdf, signer=signer_of(name), role="person", level=level,
                 timestamper=timestamper, validation_context=validation_context)
    error = caught.value
    assert error.details["reason"] == reason
    assert error.code == "certificate_rejected" and error.status == 422
    assert error.details["subject"] == "Nguyễn Quốc Việt"
    assert "Từ chối ký" in error.message("vi")
    if needs_ocsp:
        assert "/ocsp" in responders.requests
    assert "/tsa" not in responders.requests  # refused before any timestamp was spent


def test_revoked_certificate_without_validation_context_is_not_detected_offline(sample_pdf,
                                                                                 signer_of):
    # Without a validation context nothing can know about revocation: the service must pass one.
    signed = sign_pdf(sample_pdf, signer=signer_of("person-revoked"), role="person")
    assert signed.startswith(sample_pdf)


@pytest.mark.parametrize("digest", ["sha1", "SHA-1", "md5"])
def test_weak_digests_are_refused(digest, sample_pdf, signer_of):
    with pytest.raises(UnsupportedAlgorithmError):
        sign_pdf(sample_pdf, signer=signer_of("person-rsa"), role="person", digest=digest)


def test_sha384_is_accepted(sample_pdf, signer_of):
    signed = sign_pdf(sample_pdf, signer=signer_of("person-rsa"), role="person",
                      digest="sha384")
    sig = PdfFileReader(BytesIO(signed)).embedded_regular_signatures[0]
    assert sig.md_algorithm == "sha384"


def test_encrypted_pdf_is_refused(sample_pdf, signer_of):
    writer = copy_into_new_writer(PdfFileReader(BytesIO(sample_pdf)))
    writer._assign_security_handler(StandardSecurityHandler.build_from_pw("secret", "user"))
    out = BytesIO()
    writer.write(out)
    with pytest.raises(EncryptedPdfError) as caught:
        sign_pdf(out.getvalue(), signer=signer_of("person-rsa"), role="person")
    assert caught.value.status == 422


@pytest.mark.parametrize("data", [b"", b"not a pdf at all", b"%PDF-1.7\n1 0 obj\n<<>>\n"])
def test_damaged_pdf_is_refused(data, signer_of):
    with pytest.raises(DamagedPdfError) as caught:
        sign_pdf(data, signer=signer_of("person-rsa"), role="person")
    assert caught.value.code == "invalid_pdf"


def test_truncated_pdf_is_refused(sample_pdf, signer_of):
    with pytest.raises(DamagedPdfError):
        sign_pdf(sample_pdf[: len(sample_pdf) // 2], signer=signer_of("person-rsa"),
                 role="person")


@pytest.mark.parametrize("second", ["agency", "attachment", "copy", "person"])
def test_second_signature_after_the_agency_is_refused(second, sample_pdf, signer_of):
    person = sign_pdf(sample_pdf, signer=signer_of("person-rsa"), role="person")
    both = sign_pdf(person, signer=signer_of("agency-rsa"), role="agency")
    signer = signer_of("agency-ecdsa" if second != "person" else "person-ecdsa")
    with pytest.raises(AlreadySignedError) as caught:
        sign_pdf(both, signer=signer, role=second, reference="x")
    assert caught.value.status == 409
    assert caught.value.details["field"] == "Sig_agency_1"


def test_agency_signature_from_other_software_is_recognised_by_certificate(sample_pdf,
                                                                            signer_of):
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import signers

    out = signers.sign_pdf(
        IncrementalPdfFileWriter(BytesIO(sample_pdf)),
        signers.PdfSignatureMetadata(field_name="Signature1"), signer=signer_of("agency-rsa"),
    )
    with pytest.raises(AlreadySignedError) as caught:
        sign_pdf(out.getvalue(), signer=signer_of("agency-rsa"), role="agency")
    assert caught.value.details["field"] == "Signature1"


def test_tsa_answering_503_is_a_clear_error(sample_pdf, signer_of, timestamper, responders):
    responders.tsa_available = False
    with pytest.raises(TimestampUnavailableError) as caught:
        sign_pdf(sample_pdf, signer=signer_of("person-rsa"), role="person", level="B-T",
                 timestamper=timestamper)
    assert caught.value.status == 503 and caught.value.code == "tsa_unavailable"


def test_tsa_not_listening_is_a_clear_error(sample_pdf, signer_of):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(TimestampUnavailableError):
        sign_pdf(sample_pdf, signer=signer_of("person-rsa"), role="person", level="B-T",
                 timestamper=make_timestamper(f"http://127.0.0.1:{port}/tsa", timeout=2))


def test_ocsp_down_at_b_lt_falls_back_to_the_crl(sample_pdf, signer_of, timestamper,
                                                 validation_context, responders,
                                                 assert_verified):
    responders.ocsp_available = False
    responders.requests.clear()
    signed = sign_pdf(sample_pdf, signer=signer_of("person-rsa"), role="person", level="B-LT",
                      timestamper=timestamper, validation_context=validation_context)
    assert "/crl/issuing-ca.crl" in responders.requests
    responders.ocsp_available = True
    assert_verified(signed, fields=["Sig_person_1"])
