"""Our own signatures (all PAdES levels, RSA and ECDSA, person then agency) pass."""

from __future__ import annotations

import pytest

from docsvc.verify import Indication, signed_revision, validate_pdf


@pytest.mark.parametrize("level", ["B-B", "B-T", "B-LT", "B-LTA"])
def test_each_level_passes_and_is_recognised(pki, trust, sample_pdf, level):
    report = validate_pdf(pki.sign(sample_pdf, level=level), trust)
    sig = report.signatures[0]
    assert report.verdict is Indication.TOTAL_PASSED
    assert (sig.indication, sig.sub_indication, sig.level) == (
        Indication.TOTAL_PASSED, None, level)
    assert sig.signer.common_name == "Nguyễn Văn An"
    assert sig.signer.title == "Chủ tịch"
    assert sig.trust_set == "test-root"
    assert (sig.timestamp_time is not None) == (level != "B-B")
    if level in ("B-LT", "B-LTA"):
        assert (sig.revocation.status, sig.revocation.source) == ("good", "CRL")
        assert {e.kind for e in sig.evidence} >= {"certificate", "crl"}
    else:
        assert "REVOCATION_UNKNOWN" in {n.code for n in sig.notes}


def test_lta_document_timestamp_is_reported(pki, trust, sample_pdf):
    report = validate_pdf(pki.sign(sample_pdf, level="B-LTA"), trust)
    assert [s.kind for s in report.signatures] == ["signature", "document_timestamp"]
    assert report.signatures[1].indication is Indication.TOTAL_PASSED
    assert report.signatures[1].timestamp_authority.endswith("Country: VN")


def test_ecdsa_agency_signature_passes(pki, trust, sample_pdf):
    sig = validate_pdf(pki.sign(sample_pdf, pki.agency), trust).signatures[0]
    assert sig.passed
    assert (sig.signer.key_type, sig.signer.key_bits) == ("ec", 256)
    assert sig.signature_algorithm.startswith("sha256_ecdsa")


def test_person_then_agency_both_pass_and_first_shows_later_signature(pki, trust, sample_pdf):
    first = pki.sign(sample_pdf, pki.person, field_name="NguoiKy")
    both = pki.sign(first, pki.agency, field_name="CoQuan", level="B-T")
    report = validate_pdf(both, trust)
    assert report.verdict is Indication.TOTAL_PASSED
    person, agency = report.signatures
    assert person.modification_level == "FORM_FILLING"
    assert person.changed_fields == ("CoQuan",)
    assert person.coverage == "ENTIRE_REVISION"
    assert agency.coverage == "ENTIRE_FILE"
    assert signed_revision(both, 0) == first


def test_pkcs7_detached_is_flagged_not_baseline(pki, trust, sample_pdf):
    sig = validate_pdf(pki.sign(sample_pdf, pades=False), trust).signatures[0]
    assert sig.passed and sig.level is None
    assert "NOT_PADES_BASELINE" in {n.code for n in sig.notes}


def test_sha1_digest_is_accepted_but_flagged(pki, trust, sample_pdf):
    report = validate_pdf(pki.sign(sample_pdf, md="sha1"), trust)
    sig = report.signatures[0]
    assert "WEAK_DIGEST_SHA1" in {n.code for n in sig.notes}


def test_unsigned_pdf_is_indeterminate_with_note(trust, sample_pdf):
    report = validate_pdf(sample_pdf, trust)
    assert report.verdict is Indication.INDETERMINATE and report.signatures == ()
    assert [n.code for n in report.notes] == ["NO_SIGNATURE"]


def test_json_shape_keeps_api_keys(pki, trust, signed_pdf):
    data = validate_pdf(signed_pdf, trust).to_dict()
    assert data["verdict"] == "TOTAL_PASSED"
    keys = {"indication", "sub_indication", "signer", "signing_time", "timestamp_time", "level",
            "modification_level", "coverage", "evidence"}
    assert keys <= set(data["signatures"][0])
    assert data["signatures"][0]["evidence"][0]["der_base64"]
