"""HTML and PDF reports show what Thông tư 15/2025 lists, in Vietnamese (English available)."""

from __future__ import annotations

import shutil
import subprocess
import unicodedata

import pytest

from docsvc.verify import validate_pdf
from docsvc.verify.render import render_html, render_pdf

REQUIRED_VI = ["HỢP LỆ", "Tổ chức cung cấp dịch vụ chứng thực", "Người ký", "Nguyễn Văn An",
               "Dấu thời gian", "Tính toàn vẹn", "Hiệu lực chứng thư tại thời điểm ký",
               "Thời hạn hiệu lực của chứng thư", "+07:00"]


@pytest.fixture(scope="module")
def report(pki, trust, sample_pdf):
    return validate_pdf(pki.sign(sample_pdf, level="B-T"), trust)


def test_html_in_vietnamese_shows_required_items_in_nfc(report):
    html = render_html(report, "vi")
    assert unicodedata.is_normalized("NFC", html)
    for item in REQUIRED_VI:
        assert item in html


def test_html_in_english(report):
    html = render_html(report, "en")
    assert "Issuing certification authority" in html and "VALID" in html


def test_html_escapes_hostile_names(pki, trust, sample_pdf, report):
    from dataclasses import replace

    evil = replace(report.signatures[0], field_name="<script>x</script>")
    html = render_html(replace(report, signatures=(evil,)), "vi")
    assert "<script>x</script>" not in html


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler-utils not installed")
def test_pdf_text_extracts_with_diacritics(report, tmp_path):
    path = tmp_path / "r.pdf"
    path.write_bytes(render_pdf(report, "vi"))
    text = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, check=True,
                          text=True).stdout
    text = unicodedata.normalize("NFC", text)
    for item in REQUIRED_VI:
        assert item in text
