"""The public reference PDFs (pyHanko and EU DSS test vectors): no crash, expected verdicts."""

from __future__ import annotations

import pytest

from docsvc.verify import Indication, TrustStore, validate_pdf
from tests.support.refdata import refdata_dir, refdata_files

ALL = refdata_files("pdf", "*.pdf")
NO_TRUST = TrustStore()


def test_reference_pdfs_are_present():
    """Skip outside CI, fail under .ci/run: the verdict tests below must not vanish silently."""
    folder = refdata_dir("pdf")
    assert len(list(folder.rglob("*.pdf"))) >= 20


def _report(name):
    return validate_pdf((refdata_dir("pdf") / name).read_bytes(), NO_TRUST)


# What each reference file gives without trust anchors: the verdict (with the report's own
# sub-indication, or NO_SIGNATURE) and, per signature, "indication sub-indication
# intact/crypto-valid modification-level". Checked against the expectations of
# ../shared/refdata/pdf/README.md (pyHanko's and DSS's own tests): nothing passes (no signer is
# trusted); intact plugtest signatures are INDETERMINATE/NO_CERTIFICATE_CHAIN_FOUND; attacks on
# the byte range are FORMAT_FAILURE; sneaky form updates are OTHER, legitimate ones FORM_FILLING;
# DE_CRY-2 (DSS-818) has a bad signature value and the other two DSS-818 files verify; the
# files pyHanko cannot read (malformed-pades, pades-5-signatures…, pdf-spoofing-attack) are a
# report-level FORMAT_FAILURE, not a crash.
_VERDICT = {"PASSED": Indication.TOTAL_PASSED, "FAILED": Indication.TOTAL_FAILED,
            "INDET": Indication.INDETERMINATE}
EXPECTED: dict[str, tuple[str, tuple[str, ...]]] = {
    "dss/BadEncodedCMS.pdf": ("INDET", (
        "INDET FORMAT_FAILURE -/- None",
    )),
    "dss/PAdES-LT.pdf": ("INDET", (
        "INDET NO_CERTIFICATE_CHAIN_FOUND ok/ok FORM_FILLING",
        "INDET NO_CERTIFICATE_CHAIN_FOUND ok/ok FORM_FILLING",
        "INDET NO_CERTIFICATE_CHAIN_FOUND ok/ok FORM_FILLING",
        "INDET NO_CERTIFICATE_CHAIN_FOUND ok/ok OTHER",
    )),
    "dss/Signature-P-BG_BOR-1.pdf": ("INDET", (
        "INDET NO_CERTIFICATE_CHAIN_FOUND ok/ok NONE",
    )),
    "dss/Signature-P-DE_SCI-4.pdf": ("INDET", (
        "INDET NO_CERTIFICATE_CHAIN_FOUND ok/ok OTHER",
        "INDET NO_CERTIFICATE_CHAIN_FOUND ok/ok NONE",
    )),
    "dss/Signature-P-FR_CS-5.pdf": ("INDET", (
        "INDET NO_CERTIFICATE_CHAIN_FOUND ok/ok FORM_FILLING",
        "INDET NO_CERTIFICATE_CHAIN_FOUND ok/ok OTHER",
        "INDET NO_CERTIFICATE_CHAIN_FOUND ok/ok NONE",
    )),
    "dss/Signature-P-HU_MIC-1.pdf": ("INDET", (
        "INDET NO_CERTIFICATE_CHAIN_FOUND ok/ok NONE",
    )),
    "dss/Signature-P-PK7-2.pdf": ("INDET", (
        "INDET NO_CERTIFICATE_CHAIN_FOUND ok/ok NONE",
    )),
    "dss/Signature-P-SK-6.pdf": ("INDET", (
        "INDET NO_CERTIFICATE_CHAIN_FOUND ok/ok FORM_FILLING",
        "INDET FORMAT_FAILURE -/- None",
        "INDET NO_CERTIFICATE_CHAIN_FOUND ok/ok NONE",
    )),
    "dss/Test.signed_Certipost-2048-SHA512.extended-LTA.pdf": ("INDET", (
        "INDET NO_CERTIFICATE_CHAIN_FOUND ok/ok FORM_FILLING",
        "INDET NO_CERTIFICATE_CHAIN_FOUND ok/ok FORM_FILLING",
        "INDET NO_CERTIFICATE_CHAIN_FOUND ok/ok NONE",
    )),
    "dss/doc-firmado-LT.pdf": ("INDET", (
        "INDET NO_CERTIFICATE_CHAIN_FOUND ok/ok LTA_UPDATES",
    )),
    "dss/doc-firmado-T.pdf": ("INDET", (
        "INDET NO_CERTIFICATE_CHAIN_FOUND ok/ok NONE",
    )),
    "dss/doc-firmado.pdf": ("INDET", (
        "INDET NO_CERTIFICATE_CHAIN_FOUND ok/ok FORM_FILLING",
        "INDET NO_CERTIFICATE_CHAIN_FOUND ok/ok NONE",
    )),
    "dss/dss-2236__annotation-and-visible-change.pdf": ("INDET", (
        "INDET NO_CERTIFICATE_CHAIN_FOUND ok/ok OTHER",
        "INDET NO_CERTIFICATE_CHAIN_FOUND ok/ok OTHER",
        "INDET NO_CERTIFICATE_CHAIN_FOUND ok/ok NONE",
    )),
    "dss/dss-2236__hide.pdf": ("INDET", (
        "INDET FORMAT_FAILURE -/- None",
    )),
    "dss/dss-2236__replace.pdf": ("INDET", (
        "INDET CHAIN_CONSTRAINTS_FAILURE ok/ok FORM_FILLING",
    )),
    "dss/dss-2554__certified-changes-permitted.pdf": ("INDET", (
        "INDET NO_CERTIFICATE_CHAIN_FOUND ok/ok NONE",
    )),
    "dss/dss-2554__certified-no-change-permitted.pdf": ("INDET", (
        "INDET NO_CERTIFICATE_CHAIN_FOUND ok/ok NONE",
    )),
    "dss/dss-818__Signature-P-DE_CRY-2_HASH_FAILURE.pdf": ("FAILED", (
        "FAILED SIG_CRYPTO_FAILURE ok/bad NONE",
    )),
    "dss/dss-818__Signature-P-IT_ADO-1_HASH_FAILURE_ECDSA.pdf": ("INDET", (
        "INDET NO_CERTIFICATE_CHAIN_FOUND ok/ok NONE",
    )),
    "dss/dss-818__Signature-P-SK-1_HASH_FAILURE.pdf": ("INDET", (
        "INDET NO_CERTIFICATE_CHAIN_FOUND ok/ok FORM_FILLING",
        "INDET NO_CERTIFICATE_CHAIN_FOUND ok/ok FORM_FILLING",
        "INDET NO_CERTIFICATE_CHAIN_FOUND ok/ok FORM_FILLING",
        "INDET NO_CERTIFICATE_CHAIN_FOUND ok/ok FORM_FILLING",
        "INDET NO_CERTIFICATE_CHAIN_FOUND ok/ok LTA_UPDATES",
        "INDET NO_CERTIFICATE_CHAIN_FOUND ok/ok NONE",
    )),
    "dss/hello_signed_INCSAVE_signed_EDITED.pdf": ("FAILED", (
        "INDET CRYPTO_CONSTRAINTS_FAILURE ok/ok LTA_UPDATES",
        "FAILED FORMAT_FAILURE -/- None",
    )),
    "dss/malformed-pades.pdf": ("INDET/FORMAT_FAILURE", (
    )),
    "dss/modified_after_signature.pdf": ("INDET", (
        "INDET NO_CERTIFICATE_CHAIN_FOUND ok/ok OTHER",
    )),
    "dss/pades-5-signatures-and-1-document-timestamp.pdf": ("INDET/FORMAT_FAILURE", (
    )),
    "dss/pades-signed-annot-added.pdf": ("INDET", (
        "INDET NO_CERTIFICATE_CHAIN_FOUND ok/ok OTHER",
    )),
    "dss/pades-signed-filled-form.pdf": ("INDET", (
        "INDET NO_CERTIFICATE_CHAIN_FOUND ok/ok OTHER",
    )),
    "dss/pades-spoofing-replaced-reason.pdf": ("FAILED", (
        "FAILED FORMAT_FAILURE ok/ok OTHER",
    )),
    "dss/pdf-byterange-overlap.pdf": ("FAILED", (
        "INDET NO_CERTIFICATE_CHAIN_FOUND ok/ok FORM_FILLING",
        "FAILED FORMAT_FAILURE -/- None",
    )),
    "dss/pdf-double-signer-info.pdf": ("INDET", (
        "INDET FORMAT_FAILURE -/- None",
    )),
    "dss/pdf-signed-out-of-byteRange.pdf": ("FAILED", (
        "FAILED FORMAT_FAILURE -/- None",
    )),
    "dss/pdf-spoofing-attack.pdf": ("INDET/FORMAT_FAILURE", (
    )),
    "dss/siwa.pdf": ("FAILED", (
        "FAILED FORMAT_FAILURE -/- None",
    )),
    "pyhanko/coverage-anomalies/one-byterange.pdf": ("INDET", (
        "INDET FORMAT_FAILURE -/- None",
    )),
    "pyhanko/coverage-anomalies/signature-gap-too-big.pdf": ("FAILED", (
        "FAILED FORMAT_FAILURE -/- None",
    )),
    "pyhanko/coverage-anomalies/tail-uncovered.pdf": ("FAILED", (
        "FAILED FORMAT_FAILURE -/- None",
    )),
    "pyhanko/coverage-anomalies/weird-byterange.pdf": ("FAILED", (
        "FAILED FORMAT_FAILURE -/- None",
    )),
    "pyhanko/form-update-ap-indirect-sneaky-trailer.pdf": ("INDET", (
        "INDET NO_CERTIFICATE_CHAIN_FOUND ok/ok OTHER",
        "INDET NO_CERTIFICATE_CHAIN_FOUND ok/ok NONE",
    )),
    "pyhanko/form-update-no-override-appearance-stream-ap-indirect-sneaky.pdf": ("INDET", (
        "INDET NO_CERTIFICATE_CHAIN_FOUND ok/ok OTHER",
        "INDET NO_CERTIFICATE_CHAIN_FOUND ok/ok NONE",
    )),
    "pyhanko/form-update-no-override-appearance-stream-ap-indirect.pdf": ("INDET", (
        "INDET NO_CERTIFICATE_CHAIN_FOUND ok/ok FORM_FILLING",
        "INDET NO_CERTIFICATE_CHAIN_FOUND ok/ok NONE",
    )),
    "pyhanko/form-update-original-ap-type-wrong.pdf": ("INDET", (
        "INDET NO_CERTIFICATE_CHAIN_FOUND ok/ok FORM_FILLING",
        "INDET NO_CERTIFICATE_CHAIN_FOUND ok/ok NONE",
    )),
    "pyhanko/form-update-override-appearance-stream-ap-indirect-sneaky.pdf": ("INDET", (
        "INDET NO_CERTIFICATE_CHAIN_FOUND ok/ok OTHER",
        "INDET NO_CERTIFICATE_CHAIN_FOUND ok/ok NONE",
    )),
    "pyhanko/form-update-override-appearance-stream-ap-indirect.pdf": ("INDET", (
        "INDET NO_CERTIFICATE_CHAIN_FOUND ok/ok FORM_FILLING",
        "INDET NO_CERTIFICATE_CHAIN_FOUND ok/ok NONE",
    )),
    "pyhanko/form-update-override-appearance-stream-sneaky.pdf": ("INDET", (
        "INDET NO_CERTIFICATE_CHAIN_FOUND ok/ok OTHER",
        "INDET NO_CERTIFICATE_CHAIN_FOUND ok/ok NONE",
    )),
    "pyhanko/form-update-override-appearance-stream.pdf": ("INDET", (
        "INDET NO_CERTIFICATE_CHAIN_FOUND ok/ok FORM_FILLING",
        "INDET NO_CERTIFICATE_CHAIN_FOUND ok/ok NONE",
    )),
    "pyhanko/minimal-signed-twice-both-created.pdf": ("INDET", (
        "INDET CHAIN_CONSTRAINTS_FAILURE ok/ok FORM_FILLING",
        "INDET CHAIN_CONSTRAINTS_FAILURE ok/ok NONE",
    )),
    "pyhanko/minimal-signed-twice-second-created.pdf": ("INDET", (
        "INDET CHAIN_CONSTRAINTS_FAILURE ok/ok FORM_FILLING",
        "INDET CHAIN_CONSTRAINTS_FAILURE ok/ok NONE",
    )),
    "pyhanko/minimal-two-fields-signed-twice.pdf": ("INDET", (
        "INDET CHAIN_CONSTRAINTS_FAILURE ok/ok FORM_FILLING",
        "INDET CHAIN_CONSTRAINTS_FAILURE ok/ok NONE",
    )),
    "pyhanko/minimal-two-fields.pdf": ("INDET/NO_SIGNATURE", (
    )),
    "pyhanko/minimal-with-field.pdf": ("INDET/NO_SIGNATURE", (
    )),
}


def _flag(value):
    return {True: "ok", False: "bad", None: "-"}[value]


def test_every_reference_file_has_an_expectation():
    assert sorted(EXPECTED) == ALL


@pytest.mark.parametrize("name", ALL)
def test_each_reference_file_gets_its_expected_verdict(name):
    report = _report(name)
    verdict, signatures = EXPECTED[name]
    word, *qualifiers = verdict.split("/")
    assert report.verdict is _VERDICT[word]
    assert report.verdict is not Indication.TOTAL_PASSED  # nothing is trusted here
    assert report.sub_indication == next((q for q in qualifiers if q != "NO_SIGNATURE"), None)
    assert ("NO_SIGNATURE" in qualifiers) == ("NO_SIGNATURE" in [n.code for n in report.notes])
    got = tuple(f"{next(k for k, v in _VERDICT.items() if v is s.indication)} {s.sub_indication} "
                f"{_flag(s.intact)}/{_flag(s.crypto_valid)} {s.modification_level}"
                for s in report.signatures)
    assert got == signatures
    body = report.to_dict()
    assert len(body["signatures"]) == len(signatures)


ATTACKS = ["dss/siwa.pdf", "dss/pdf-signed-out-of-byteRange.pdf", "dss/pdf-byterange-overlap.pdf",
           "dss/modified_after_signature.pdf", "dss/dss-2236__hide.pdf",
           "dss/pdf-spoofing-attack.pdf",
           "pyhanko/coverage-anomalies/tail-uncovered.pdf",
           "pyhanko/coverage-anomalies/signature-gap-too-big.pdf",
           "pyhanko/coverage-anomalies/one-byterange.pdf",
           "pyhanko/coverage-anomalies/weird-byterange.pdf"]


@pytest.mark.parametrize("name", ATTACKS)
def test_attack_samples_have_a_failing_signature(name):
    report = _report(name)
    assert report.sub_indication == "FORMAT_FAILURE" or any(
        s.indication is Indication.TOTAL_FAILED or (
            s.sub_indication == "FORMAT_FAILURE") or s.modification_level == "OTHER"
        for s in report.signatures), [(s.indication, s.sub_indication, s.modification_level)
                                      for s in report.signatures]


LEGIT_MULTI = ["pyhanko/minimal-two-fields-signed-twice.pdf",
               "pyhanko/minimal-signed-twice-second-created.pdf",
               "pyhanko/minimal-signed-twice-both-created.pdf",
               "pyhanko/form-update-override-appearance-stream.pdf",
               "pyhanko/form-update-override-appearance-stream-ap-indirect.pdf",
               "pyhanko/form-update-no-override-appearance-stream-ap-indirect.pdf",
               "pyhanko/form-update-original-ap-type-wrong.pdf"]


@pytest.mark.parametrize("name", LEGIT_MULTI)
def test_legitimate_later_signatures_are_form_filling_and_intact(name):
    sigs = _report(name).signatures
    assert len(sigs) >= 2
    assert all(s.intact and s.crypto_valid for s in sigs)
    assert sigs[0].modification_level == "FORM_FILLING"


def test_shadow_replace_sample_shows_the_later_change():
    sig = _report("dss/dss-2236__replace.pdf").signatures[0]
    assert sig.modification_level in {"FORM_FILLING", "OTHER"}
    assert {n.code for n in sig.notes} & {"MODIFICATION_FORM_FILLING", "MODIFICATION_OTHER"}


SNEAKY = sorted(n for n in ALL if "sneaky" in n)


@pytest.mark.parametrize("name", SNEAKY)
def test_sneaky_form_updates_are_other(name):
    first = _report(name).signatures[0]
    assert first.modification_level == "OTHER"


@pytest.mark.parametrize("name", ["pyhanko/minimal-with-field.pdf",
                                  "pyhanko/minimal-two-fields.pdf"])
def test_empty_fields_are_no_signature(name):
    report = _report(name)
    assert report.signatures == () and [n.code for n in report.notes] == ["NO_SIGNATURE"]


@pytest.mark.parametrize("name", ["dss/Signature-P-BG_BOR-1.pdf", "dss/Signature-P-DE_SCI-4.pdf",
                                  "dss/Signature-P-HU_MIC-1.pdf",
                                  "dss/PAdES-LT.pdf", "dss/doc-firmado-LT.pdf"])
def test_plugtest_signatures_are_intact_but_untrusted(name):
    # Signature-P-FR_CS-5.pdf is left out: asn1crypto cannot parse its CMS (FORMAT_FAILURE)
    sig = _report(name).signatures[0]
    assert sig.intact and sig.crypto_valid
    assert sig.indication is Indication.INDETERMINATE and sig.trust_anchor is None
