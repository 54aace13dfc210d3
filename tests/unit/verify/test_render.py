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
