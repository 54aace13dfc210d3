"""HTML and PDF reports show what Thông tư 15/2025 lists, in Vietnamese (English available)."""

from __future__ import annotations

import shutil
import subprocess
import unicodedata

import pytest

from docsvc.verify import validate_pdf
from docsvc.verify.render import LABELS, fmt_time, render_html, render_pdf

REQUIRED_VI = ["HỢP LỆ", "Tổ chức cung cấp dịch vụ chứng thực", "Người ký", "Nguyễn Văn An",
               "Dấu thời gian", "Tính toàn vẹn", "Hiệu lực chứng thư tại thời điểm ký",
               "Thời hạn hiệu lực của chứng thư", "+07:00"]


@pytest.fixture(scope="module")
def report(pki, trust, sample_pdf):
    return validate_pdf(pki.sign(sample_pdf, level="B-T"), trust)


def _values(report) -> list[str]:
    """The facts of the report that a reader must find on the page, whatever the language."""
    sig = report.signatures[0]
    return [report.sha256, sig.signer.common_name, sig.signer.organisation, sig.signer.serial_hex,
            sig.signer.issuer_common_name, fmt_time(sig.signer.not_before),
            fmt_time(sig.signer.not_after), fmt_time(sig.timestamp_time), sig.level]


def test_html_in_vietnamese_shows_required_items_in_nfc(report):
    assert report.verdict == "TOTAL_PASSED" and report.signatures[0].intact
    html = render_html(report, "vi")
    assert unicodedata.is_normalized("NFC", html)
    for item in REQUIRED_VI + _values(report):
        assert item and item in html, item
    assert LABELS["vi"]["intact"] in html
    assert LABELS["vi"]["indication"]["TOTAL_FAILED"] not in html
    assert LABELS["vi"]["not_intact"] not in html


def test_html_in_english_has_every_label_of_the_report_and_no_vietnamese_one(report):
    html = render_html(report, "en")
    en, vi = LABELS["en"], LABELS["vi"]
    for key in ("title", "file", "verdict", "signer", "issuer", "serial", "cert_validity",
                "timestamp", "integrity", "valid_at_signing", "level", "revocation"):
        assert en[key] in html, key
        assert vi[key] not in html, key
    assert en["indication"]["TOTAL_PASSED"] in html and en["intact"] in html
    for item in _values(report):
        assert item in html, item


def test_a_changed_file_is_reported_invalid_in_both_languages(trust, signed_pdf):
    pos = signed_pdf.index(b"Van ban thu nghiem")
    report = validate_pdf(signed_pdf[:pos] + b"W" + signed_pdf[pos + 1:], trust)
    assert report.verdict == "TOTAL_FAILED"
    vi, en = render_html(report, "vi"), render_html(report, "en")
    assert LABELS["vi"]["indication"]["TOTAL_FAILED"] in vi and LABELS["vi"]["not_intact"] in vi
    assert LABELS["en"]["indication"]["TOTAL_FAILED"] in en and LABELS["en"]["not_intact"] in en
    assert LABELS["vi"]["intact"] not in vi


def test_html_escapes_hostile_names(pki, trust, sample_pdf, report):
    from dataclasses import replace

    evil = replace(report.signatures[0], field_name="<script>x</script>")
    html = render_html(replace(report, signatures=(evil,)), "vi")
    assert "<script>x</script>" not in html
    assert "&lt;script&gt;x&lt;/script&gt;" in html


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler-utils not installed")
def test_pdf_text_extracts_with_diacritics(report, tmp_path):
    path = tmp_path / "r.pdf"
    path.write_bytes(render_pdf(report, "vi"))
    text = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, check=True,
                          text=True).stdout
    text = unicodedata.normalize("NFC", text)
    for item in REQUIRED_VI:
        assert item in text
    flat = " ".join(text.split())
    sig = report.signatures[0]
    for item in (sig.signer.common_name, fmt_time(sig.timestamp_time), fmt_time(sig.signer.not_after)):
        assert item in flat, item


# -- the report for auditors who are not experts (issue 14) --------------------------------------

def _verdict(html: str) -> str:
    import re

    return re.search(r'<p class="verdict (\w+)" id="verdict" role="status">([^<]*)</p>', html).groups()


def test_a_valid_file_opens_with_one_plain_sentence_per_signature(pki, trust, sample_pdf):
    signed = pki.sign(pki.sign(sample_pdf, level="B-T", field_name="Sig_person_1"),
                      pki.agency, level="B-T", field_name="Sig_agency_1")
    html = render_html(validate_pdf(signed, trust), "vi", context={
        "number": "01/TB-UBND", "subject": "Về cải cách hành chính", "back_url": "/documents/x",
        "script_url": "/assets/app.js"})
    tone, sentence = _verdict(html)
    assert tone == "ok" and sentence.startswith("Tệp hợp lệ: 2 chữ ký số đều đúng")
    assert ("Chữ ký số cá nhân của Nguyễn Văn An (Chủ tịch, UBND tỉnh Thử Nghiệm), lúc " in html
            and "(giờ Việt Nam, theo dấu thời gian tin cậy): nội dung được ký không bị thay đổi" in html)
    assert "Chữ ký số của cơ quan (con dấu số) của UBND tỉnh Thử Nghiệm" in html
    assert "thuộc tổ chức chứng thực tin cậy và còn hiệu lực tại thời điểm ký" in html
    assert "01/TB-UBND" in html and "Về cải cách hành chính" in html
    assert 'href="/documents/x"' in html and "In báo cáo" in html
    # the technical detail is folded below the sentences, and speaks words, not codes only
    assert html.index("<details>") > html.index('class="sentence"')
    assert "FORM_FILLING" not in html.split("<details>")[0]
    assert "chỉ điền biểu mẫu hoặc thêm chữ ký (được phép) (FORM_FILLING)" in html
    assert "Phiên bản 2/3" not in html and "Đến lần lưu tệp thứ 2/3" in html
    assert "Common Name:" not in html


def test_a_tampered_file_is_blamed_on_the_file_not_the_authority(trust, pki, sample_pdf):
    signed = pki.sign(sample_pdf, field_name="Sig_person_1")
    pos = signed.index(b"Van ban thu nghiem")
    html = render_html(validate_pdf(signed[:pos] + b"W" + signed[pos + 1:], trust), "vi")
    tone, sentence = _verdict(html)
    assert tone == "bad" and "nội dung đã bị thay đổi sau khi ký" in sentence
    assert "không phải ở tổ chức cấp chứng thư" in sentence
    summary = html.split("<details>")[0]
    assert "nội dung ĐÃ BỊ THAY ĐỔI sau khi ký" in summary
    assert "Không tin cậy" not in summary and "KHÔNG thuộc tổ chức chứng thực" not in summary
    assert "HASH_FAILURE" not in summary  # the ETSI code stays in the folded detail


def test_an_unsigned_file_reads_no_digital_signature_once(trust, sample_pdf):
    html = render_html(validate_pdf(sample_pdf, trust), "vi")
    tone, sentence = _verdict(html)
    assert tone == "none" and sentence.startswith("Không có chữ ký số")
    assert html.count("Không có chữ ký số") == 1 and "CHƯA XÁC ĐỊNH" not in html.split("<details>")[0]
    english = render_html(validate_pdf(sample_pdf, trust), "en")
    assert _verdict(english)[1].startswith("No digital signature")


def test_an_untrusted_certificate_is_said_in_words(pki, sample_pdf):
    from docsvc.verify import TrustStore

    html = render_html(validate_pdf(pki.sign(sample_pdf), TrustStore()), "vi")
    assert _verdict(html)[0] == "warn"
    assert "KHÔNG thuộc tổ chức chứng thực nào mà hệ thống tin cậy" in html
