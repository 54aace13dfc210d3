"""``docsvc extract`` prints the fields read from a PDF; a file that is not a PDF is refused."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from docsvc.cli import main
from docsvc.signing.sample import notice_pdf


@pytest.fixture
def runner(tmp_path, monkeypatch):
    monkeypatch.setenv("DOCSVC_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.delenv("DOCSVC_DATABASE_URL", raising=False)
    monkeypatch.delenv("DOCSVC_BLOB_BACKEND", raising=False)
    return CliRunner()


def test_extract_prints_the_fields_as_json(runner, tmp_path):
    assert runner.invoke(main, ["init"]).exit_code == 0
    pdf = tmp_path / "tb.pdf"
    pdf.write_bytes(notice_pdf())
    result = runner.invoke(main, ["extract", str(pdf)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    body = json.loads(result.output)
    assert body["fields"]["code_notation"]["value"] == "TB-UBND"
    assert body["suggested_metadata"]["place"]["value"] == "Quảng Ngãi"


def test_extract_offline_needs_no_database_and_refuses_non_pdf(runner, tmp_path):
    pdf = tmp_path / "tb.pdf"
    pdf.write_bytes(notice_pdf())
    result = runner.invoke(main, ["extract", "--offline", str(pdf)], catch_exceptions=False)
    assert json.loads(result.output)["fields"]["signer_name"]["value"] == "Nguyễn Quốc Việt"
    bad = tmp_path / "x.pdf"
    bad.write_bytes(b"hello")
    result = runner.invoke(main, ["extract", "--offline", str(bad)])
    assert result.exit_code == 1 and "unsupported_media_type" in result.output
