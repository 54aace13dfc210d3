"""The attack corpus of SIGNATURE-ATTACKS.md, generated from validly signed PDFs: every
variant gets a failing (or, where the rules allow the change, a warning) verdict, never a crash.
"""

from __future__ import annotations

import re
from io import BytesIO

import pytest
from asn1crypto import cms
from asn1crypto import crl as asn1_crl
from pyhanko.sign import fields
from pyhanko.sign.validation.dss import DocumentSecurityStore

from docsvc.verify import Indication, signed_revision, validate_pdf

PASSED = Indication.TOTAL_PASSED


def _same_length(data: bytes, pattern: bytes, replacement: bytes) -> bytes:
    m = re.search(pattern, data)
    assert m, pattern
    old = m.group(0)
    assert len(replacement) <= len(old)
    return data[: m.start()] + replacement.ljust(len(old)) + data[m.end():]


def _byte_range(data: bytes) -> tuple[int, int, int, int]:
    m = re.findall(rb"/ByteRange\s*\[\s*(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s*\]", data)[-1]
    return tuple(int(x) for x in m)


USF = {
    "contents-removed": (rb"/Contents\s*<[0-9a-fA-F]+>", b""),
    "contents-empty": (rb"/Contents\s*<[0-9a-fA-F]+>", b"/Contents <>"),
    "contents-null": (rb"/Contents\s*<[0-9a-fA-F]+>", b"/Contents null"),
    "contents-malformed": (rb"/Contents\s*<[0-9a-fA-F]+>", b"/Contents <3082FFFF00>"),
    "byterange-removed": (rb"/ByteRange\s*\[[^\]]*\]", b""),
    "byterange-empty": (rb"/ByteRange\s*\[[^\]]*\]", b"/ByteRange []"),
    "byterange-null": (rb"/ByteRange\s*\[[^\]]*\]", b"/ByteRange null"),
    "byterange-zeros": (rb"/ByteRange\s*\[[^\]]*\]", b"/ByteRange [0 0 0 0]"),
    "filter-removed": (rb"/Filter\s*/Adobe\.PPKLite", b""),
    "filter-invalid": (rb"/Filter\s*/Adobe\.PPKLite", b"/Filter 42"),
    "subfilter-invalid": (rb"/SubFilter\s*/ETSI\.CAdES\.detached", b"/SubFilter /Foo.Bar"),
    "subfilter-removed": (rb"/SubFilter\s*/ETSI\.CAdES\.detached", b""),
}


@pytest.mark.parametrize("variant", sorted(USF))
def test_universal_signature_forgery_never_passes(trust, signed_pdf, variant):
    pattern, replacement = USF[variant]
    report = validate_pdf(_same_length(signed_pdf, pattern, replacement), trust)
    assert report.verdict is not PASSED
    assert all(not s.passed for s in report.signatures)
    # either the signature is reported as failing, or the file is
    assert report.signatures or report.sub_indication == "FORMAT_FAILURE"


def test_usf_byterange_first_part_only(trust, signed_pdf):
    _, b, c, _d = _byte_range(signed_pdf)
    forged = _same_length(signed_pdf, rb"/ByteRange\s*\[[^\]]*\]",
                          b"/ByteRange [0 %d %d 0]" % (b, c))
    sig = validate_pdf(forged, trust).signatures[0]
    assert sig.indication is not PASSED
    assert sig.sub_indication == "FORMAT_FAILURE"


@pytest.mark.parametrize("mode", ["proper", "empty-xref", "trailer-only", "bare"])
def test_incremental_saving_attack_is_not_vouched_for(trust, signed_pdf, pdf_builders, mode):
    evil = b"BT /F1 24 Tf 72 700 Td (Noi dung GIA MAO) Tj ET"
    obj = b"<< /Length %d >>\nstream\n" % len(evil) + evil + b"\nendstream"
    attacked = pdf_builders.append(signed_pdf, {4: obj}, mode=mode)
    report = validate_pdf(attacked, trust)
    assert report.verdict is not PASSED
    if mode == "bare":
        assert report.sub_indication == "FORMAT_FAILURE"
        assert [n.code for n in report.notes] == ["DATA_AFTER_EOF"]


def test_trailing_end_of_line_is_tolerated(trust, signed_pdf):
    assert validate_pdf(signed_pdf + b"\r\n", trust).verdict is PASSED


def test_signature_wrapping_is_detected(trust, signed_pdf):
    _, b, c, d = _byte_range(signed_pdf)
    p1, hexsig, p2 = signed_pdf[:b], signed_pdf[b + 1 : c - 1], signed_pdf[c:]
    assert p2.lstrip().startswith(b"/ByteRange"), "needs /ByteRange after /Contents"
    short = hexsig.rstrip(b"0")
    short += b"0" * (len(short) % 2)
    evil = b"BT /F1 24 Tf 72 700 Td (WRAPPED) Tj ET"
    malicious = (b"4 0 obj\n<< /Length %d >>\nstream\n" % len(evil) + evil
                 + b"\nendstream\nendobj\n")
    head = p1 + b"<" + short + b">"
    new_c = len(head) + len(b" /ByteRange [0 %d %010d %d] >>\nendobj\n" % (b, 0, d)) + len(
        malicious)
    attacked = (head + b" /ByteRange [0 %d %010d %d] >>\nendobj\n" % (b, new_c, d)
                + malicious + p2)
    assert attacked[new_c:] == p2
    report = validate_pdf(attacked, trust)
    assert report.verdict is not PASSED
    sig_codes = {n.code for s in report.signatures for n in s.notes}
    assert not report.signatures or sig_codes & {
        "BYTERANGE_GAP_NOT_CONTENTS", "BYTERANGE_NOT_SIGNED", "FORMAT_FAILURE_CAUSE"}


def _field_update(value: bytes, appearance: bytes) -> dict[int, bytes]:
    return {
        6: (b"<< /Type /Annot /Subtype /Widget /FT /Tx /T (Note) /V (" + value + b") "
            b"/Rect [72 600 300 630] /P 3 0 R /F 4 /AP << /N 7 0 R >> >>"),
        7: (b"<< /Type /XObject /Subtype /Form /BBox [0 0 228 30] "
            b"/Resources << /Font << /F1 5 0 R >> >> /Length %d >>\nstream\n" % len(appearance)
            + appearance + b"\nendstream"),
    }


def test_shadow_replace_is_shown_as_form_filling_with_signed_revision(pki, trust, pdf_builders):
    signed = pki.sign(pdf_builders.make("Hop dong", with_text_field=True))
    attacked = pdf_builders.append(signed, _field_update(
        b"malicious", b"BT /F1 12 Tf 0 g 2 10 Td (malicious) Tj ET"))
    sig = validate_pdf(attacked, trust).signatures[0]
    assert sig.modification_level == "FORM_FILLING"
    assert sig.changed_fields == ("Note",)
    assert "MODIFICATION_FORM_FILLING" in {n.code for n in sig.notes}
    assert signed_revision(attacked, 0) == signed


def test_shadow_hide_is_shown_as_form_filling_with_signed_revision(pki, trust, pdf_builders):
    # the signed version covers the real (malicious) text with an opaque white field
    signed = pki.sign(pdf_builders.make("Khoan no 1 ty dong", with_text_field=True))
    attacked = pdf_builders.append(signed, _field_update(b"", b""))
    sig = validate_pdf(attacked, trust).signatures[0]
    assert sig.modification_level == "FORM_FILLING"
    assert sig.changed_fields == ("Note",)
    assert signed_revision(attacked, 0) == signed


def test_shadow_hide_and_replace_fails(pki, trust, pdf_builders):
    evil = b"BT /F1 24 Tf 72 700 Td (Noi dung an san) Tj ET"
    hidden = {9: b"<< /Length %d >>\nstream\n" % len(evil) + evil + b"\nendstream"}
    signed = pki.sign(pdf_builders.make("Van ban goc", extra_objects=hidden))
    page = (b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 9 0 R "
            b"/Resources << /Font << /F1 5 0 R >> >> >>")
    report = validate_pdf(pdf_builders.append(signed, {3: page}), trust)
    sig = report.signatures[0]
    assert report.verdict is Indication.TOTAL_FAILED
    assert sig.modification_level == "OTHER"
    assert "MODIFIED_AFTER_SIGNING" in {n.code for n in sig.notes}


def test_evil_annotation_after_p2_certification_fails(pki, trust, pdf_builders):
    signed = pki.sign(pdf_builders.make("Van ban chung thuc"), certify=fields.MDPPerm.FILL_FORMS)
    page = (b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
            b"/Resources << /Font << /F1 5 0 R >> >> /Annots [20 0 R] >>")
    annot = (b"<< /Type /Annot /Subtype /FreeText /Rect [60 680 500 740] /Contents (Da huy) "
             b"/DA (/Helv 24 Tf 1 0 0 rg) /F 4 /P 3 0 R >>")
    report = validate_pdf(pdf_builders.append(signed, {3: page, 20: annot}), trust)
    sig = report.signatures[0]
    assert sig.docmdp_level == 2
    assert sig.docmdp_ok is False
    assert report.verdict is Indication.TOTAL_FAILED


def test_sneaky_visible_signature_after_certification_is_warned(pki, trust, pdf_builders):
    certified = pki.sign(pdf_builders.make("Van ban chung thuc"),
                         certify=fields.MDPPerm.FILL_FORMS)
    spec = fields.SigFieldSpec("Sneaky", on_page=0, box=(60, 680, 500, 740))
    attacked = pki.sign(certified, pki.impostor, field_name="Sneaky", new_field=spec)
    report = validate_pdf(attacked, trust)
    cert_sig, sneaky = report.signatures
    # pyHanko rejects the new field outright (OTHER); if it ever allows it, we must still warn
    assert not cert_sig.passed or "VISIBLE_SIGNATURE_AFTER_CERTIFICATION" in {
        n.code for n in cert_sig.notes}
    assert sneaky.sub_indication in {"NO_CERTIFICATE_CHAIN_FOUND",
                                     "CERTIFICATE_CHAIN_GENERAL_FAILURE"}
    assert report.verdict is not PASSED


def test_tampered_signed_byte_is_hash_failure(trust, signed_pdf):
    pos = signed_pdf.index(b"Van ban thu nghiem")
    tampered = signed_pdf[:pos] + b"W" + signed_pdf[pos + 1 :]
    sig = validate_pdf(tampered, trust).signatures[0]
    assert (sig.indication, sig.sub_indication) == (Indication.TOTAL_FAILED, "HASH_FAILURE")


def test_corrupted_signature_value_is_crypto_failure(trust, signed_pdf):
    _, b, c, _ = _byte_range(signed_pdf)
    der = bytes.fromhex(signed_pdf[b + 1 : c - 1].decode())
    value = cms.ContentInfo.load(der.rstrip(b"\0"))["content"]["signer_infos"][0][
        "signature"].native
    at = der.index(value) + len(value) // 2
    hex_at = b + 1 + 2 * at
    flipped = b"0" if signed_pdf[hex_at : hex_at + 1] != b"0" else b"1"
    corrupted = signed_pdf[:hex_at] + flipped + signed_pdf[hex_at + 1 :]
    sig = validate_pdf(corrupted, trust).signatures[0]
    assert (sig.indication, sig.sub_indication) == (Indication.TOTAL_FAILED,
                                                    "SIG_CRYPTO_FAILURE")


def test_revoked_signer_with_embedded_crl_is_not_passed(pki, trust, sample_pdf):
    signed = pki.sign(sample_pdf, pki.revoked)
    out = BytesIO(signed)
    _, b, c, _ = _byte_range(signed)
    contents = bytes.fromhex(signed[b + 1 : c - 1].decode()).rstrip(b"\0")
    DocumentSecurityStore.add_dss(out, contents,
                                  crls=[asn1_crl.CertificateList.load(pki.crl_der)])
    sig = validate_pdf(out.getvalue(), trust).signatures[0]
    assert sig.indication is not PASSED
    assert sig.sub_indication in {"REVOKED", "REVOKED_NO_POE"}
    assert sig.revocation.status == "revoked" and sig.revocation.source == "CRL"
    assert sig.revocation.origin == "embedded"


def test_impostor_with_trusted_names_is_not_trusted(pki, trust, sample_pdf):
    sig = validate_pdf(pki.sign(sample_pdf, pki.impostor), trust).signatures[0]
    assert sig.signer.common_name == "Nguyễn Văn An"
    assert sig.signer.issuer_common_name == "Test Root CA"
    assert sig.indication is Indication.INDETERMINATE
    assert sig.sub_indication in {"NO_CERTIFICATE_CHAIN_FOUND",
                                  "CERTIFICATE_CHAIN_GENERAL_FAILURE"}
    assert sig.trust_anchor is None and sig.trust_set is None


@pytest.mark.parametrize("garbage", [b"", b"%PDF-1.7\n", b"not a pdf at all",
                                     b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n"])
def test_unreadable_file_is_a_format_failure_report(trust, garbage):
    report = validate_pdf(garbage, trust)
    assert report.verdict is not PASSED
    assert report.sub_indication == "FORMAT_FAILURE"


def test_truncated_signed_pdf_does_not_crash(trust, signed_pdf):
    for cut in (len(signed_pdf) // 3, len(signed_pdf) // 2, len(signed_pdf) - 40):
        assert validate_pdf(signed_pdf[:cut], trust).verdict is not PASSED
