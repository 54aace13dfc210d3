"""Verification through HTTP (JSON, Vietnamese HTML and PDF reports, view as signed, errors)
and through the CLI (exit codes 0/1/2, audit-archive finding a revoked signer).
"""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import subprocess
import unicodedata
from pathlib import Path

import pytest
from click.testing import CliRunner
from lxml import etree
from sqlalchemy import select
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.test import encode_multipart

from docsvc.cli import main
from docsvc.config import Settings
from docsvc.models import AuditEntry, Document, VerificationResult
from tests.support.data import NOTICE_METADATA, make_user
from tests.support.pdf import make_pdf
from tests.support.pki import build_pki, revoke


@pytest.fixture(scope="module")
def test_pki(tmp_path_factory):
    return build_pki(tmp_path_factory.mktemp("api-pki"))


@pytest.fixture(scope="module")
def original() -> bytes:
    return make_pdf("Thong bao")


@pytest.fixture(scope="module")
def signed(test_pki, original) -> bytes:
    return test_pki.sign(original, level="B-T")


@pytest.fixture
def trust_dir(test_pki, tmp_path) -> Path:
    folder = tmp_path / "trust" / "test-root"
    folder.mkdir(parents=True)
    shutil.copy(test_pki.trust_dir() / "root.pem", folder / "root.pem")
    return folder


@pytest.fixture
def settings(tmp_path, trust_dir) -> Settings:
    """The test settings with the test root trusted and a 1 MB upload limit."""
    return Settings(env="test", data_dir=tmp_path / "var", max_upload_bytes=1024 * 1024,
                    trust_dirs=(trust_dir,))


def _multipart(data: bytes, name: str = "file", filename: str = "tb.pdf", extra=None):
    parts = MultiDict({name: FileStorage(io.BytesIO(data), filename,
                                         content_type="application/pdf"), **(extra or {})})
    boundary, body = encode_multipart(parts)
    return {"data": body, "content_type": f"multipart/form-data; boundary={boundary}"}


def verify(client, data: bytes, **headers):
    return client.post("/api/v1/verify", headers=headers, **_multipart(data))


def upload(client, data: bytes) -> str:
    response = client.post("/api/v1/documents", **_multipart(
        data, extra={"metadata": json.dumps(NOTICE_METADATA)}))
    assert response.status_code == 201, response.json
    return response.json["id"]


def _audit(runtime, action):
    with runtime.sessions() as session:
        return session.execute(select(AuditEntry).where(AuditEntry.action == action)).scalars().all()


# -- POST /verify ------------------------------------------------------------------------------


def test_verify_file_returns_the_json_report_and_stores_nothing(client, runtime, signed):
    response = verify(client, signed)
    assert response.status_code == 200 and response.mimetype == "application/json"
    body = response.json
    assert body["verdict"] == "TOTAL_PASSED"
    [sig] = body["signatures"]
    assert {"indication", "sub_indication", "signer", "signing_time", "timestamp_time", "level",
            "modification_level", "coverage"} <= set(sig)
    assert (sig["indication"], sig["level"], sig["coverage"]) == ("TOTAL_PASSED", "B-T",
                                                                  "ENTIRE_FILE")
    assert sig["signer"]["name"] == "Nguyễn Văn An" and sig["timestamp_time"]
    assert "evidence" not in sig
    assert "evidence" in client.post("/api/v1/verify?evidence=1",
                                     **_multipart(signed)).json["signatures"][0]
    entries = _audit(runtime, "verification.run")
    assert [e.content_sha256 for e in entries] == [body["sha256"]] * 2
    with runtime.sessions() as session:
        assert session.execute(select(Document)).first() is None
        assert session.execute(select(VerificationResult)).first() is None


def test_tampered_file_is_a_failed_report_not_an_error(client, signed):
    tampered = signed.replace(b"Thong bao", b"Xhong bao", 1)  # same length: the byte range holds
    body = verify(client, tampered).json
    assert body["verdict"] == "TOTAL_FAILED"
    assert body["signatures"][0]["sub_indication"] == "HASH_FAILURE"


def test_damaged_pdf_is_a_format_failure_report(client, signed):
    response = verify(client, signed[: len(signed) // 2])
    assert response.status_code == 200
    body = response.json
    assert body["verdict"] != "TOTAL_PASSED"
    assert "FORMAT_FAILURE" in {body["sub_indication"]} | {
        s["sub_indication"] for s in body["signatures"]}


def test_not_a_pdf_is_415_and_missing_file_is_400(client):
    response = verify(client, b"\x89PNG\r\n\x1a\n not a pdf")
    assert response.status_code == 415
    assert response.json["error"]["code"] == "unsupported_media_type"
    missing = client.post("/api/v1/verify", **_multipart(b"%PDF-1.7", name="other"))
    assert missing.status_code == 400 and missing.json["error"]["code"] == "bad_request"


def test_too_large_is_413(client):
    response = verify(client, b"%PDF-1.7\n" + b"0" * (1024 * 1024 + 1))
    assert response.status_code == 413
    assert response.json["error"]["code"] == "payload_too_large"


def test_html_report_in_vietnamese_then_english(client, signed):
    html = verify(client, signed, Accept="text/html")
    assert html.status_code == 200 and html.mimetype == "text/html"
    text = html.get_data(as_text=True)
    assert unicodedata.is_normalized("NFC", text)
    for label in ("HỢP LỆ", "Người ký", "Nguyễn Văn An", "Dấu thời gian", "Tính toàn vẹn"):
        assert label in text
    english = verify(client, signed, Accept="text/html", **{"Accept-Language": "en"})
    assert "VALID" in english.get_data(as_text=True) and english.headers["Content-Language"] == "en"
    by_query = client.post("/api/v1/verify?lang=en&format=html", **_multipart(signed))
    assert "Issuing certification authority" in by_query.get_data(as_text=True)


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler-utils not installed")
def test_pdf_report_is_a_pdf_with_vietnamese_text(client, signed, tmp_path):
    response = verify(client, signed, Accept="application/pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.data.startswith(b"%PDF")
    path = tmp_path / "report.pdf"
    path.write_bytes(response.data)
    text = unicodedata.normalize("NFC", subprocess.run(
        ["pdftotext", str(path), "-"], capture_output=True, check=True, text=True).stdout)
    for label in ("HỢP LỆ", "Người ký", "Nguyễn Văn An"):
        assert label in text


def test_linked_system_may_not_verify_files(app, runtime, signed):
    from docsvc.security import OPERATOR
    from docsvc.services.identity import add_system

    with runtime.sessions() as session:
        _, token = add_system(session, OPERATOR, organ_id="000.00.53.H48", name="Sở Nội vụ")
    response = verify(app.test_client(), signed, Authorization=f"Bearer {token}")
    assert response.status_code == 403 and response.json["error"]["code"] == "forbidden"
    assert response.json["error"]["message"]
    assert "verdict" not in response.json and "signatures" not in response.json
    with runtime.sessions() as session:
        entries = session.execute(select(AuditEntry).where(
            AuditEntry.action == "verification.run")).scalars().all()
        assert [(e.outcome, e.actor_kind, e.content_sha256) for e in entries] == [
            ("denied", "system", None)]  # the refusal is recorded; the file was never read
        assert session.execute(select(VerificationResult)).first() is None


# -- stored versions -----------------------------------------------------------------------------


def test_stored_version_verification_is_kept_with_evidence(client, runtime, test_pki, original):
    both = test_pki.sign(test_pki.sign(original, field_name="NguoiKy", level="B-LT"),
                         test_pki.agency, field_name="CoQuan", level="B-T")
    doc_id = upload(client, both)
    response = client.get(f"/api/v1/documents/{doc_id}/versions/1/verification")
    assert response.status_code == 200
    body = response.json
    assert (body["verdict"], body["document_id"], body["version"]) == ("TOTAL_PASSED", doc_id, 1)
    person, agency = body["signatures"]
    assert person["modification_level"] == "FORM_FILLING" and person["changed_fields"] == ["CoQuan"]
    assert person["coverage"] == "ENTIRE_REVISION" and agency["coverage"] == "ENTIRE_FILE"
    with runtime.sessions() as session:
        row = session.get(VerificationResult, body["result_id"])
        assert row.verdict == "TOTAL_PASSED" and row.document_id == doc_id
        assert row.report["signatures"][0]["evidence"]
    [entry] = _audit(runtime, "verification.run")
    assert entry.object_id == doc_id

    first = client.get(person["signed_revision_url"])
    assert first.status_code == 200 and first.mimetype == "application/pdf"
    assert verify(client, first.data).json["signatures"][0]["coverage"] == "ENTIRE_FILE"
    assert len(first.data) < len(both)
    assert client.get(agency["signed_revision_url"]).data == both


def test_stored_version_html_report(client, signed):
    doc_id = upload(client, signed)
    response = client.get(f"/api/v1/documents/{doc_id}/versions/1/verification",
                          headers={"Accept": "text/html"})
    assert response.status_code == 200 and "Người ký" in response.get_data(as_text=True)


def test_etsi_xml_report_of_a_stored_version_an_upload_and_the_cli(client, runner, tmp_path,
                                                                   signed):
    doc_id = upload(client, signed)
    stored = client.get(f"/api/v1/documents/{doc_id}/versions/1/verification",
                        headers={"Accept": "application/xml"})
    uploaded = verify_raw(client, signed, Accept="application/xml")
    (tmp_path / "tb.pdf").write_bytes(signed)
    cli = runner.invoke(main, ["verify", str(tmp_path / "tb.pdf"), "--format", "xml"])
    assert cli.exit_code == 0
    for xml in (stored.get_data(as_text=True), uploaded.get_data(as_text=True), cli.stdout):
        root = etree.fromstring(xml.encode("utf-8"))
        assert etree.QName(root).text == "{http://uri.etsi.org/19102/v1.2.1#}ValidationReport"
        assert root.findtext(".//{*}SignatureValidationStatus/{*}MainIndication") == (
            "urn:etsi:019102:mainindication:total-passed")
    assert stored.mimetype == uploaded.mimetype == "application/xml"
    # ?format=xml works too, and the JSON stays the default
    assert client.get(f"/api/v1/documents/{doc_id}/versions/1/verification?format=xml"
                      ).mimetype == "application/xml"
    assert client.get(f"/api/v1/documents/{doc_id}/versions/1/verification").is_json


def test_unsigned_version_is_indeterminate_and_has_no_signed_revision(client, original):
    doc_id = upload(client, original)
    body = client.get(f"/api/v1/documents/{doc_id}/versions/1/verification").json
    assert (body["verdict"], body["signatures"]) == ("INDETERMINATE", [])
    assert [n["code"] for n in body["notes"]] == ["NO_SIGNATURE"]
    missing = client.get(f"/api/v1/documents/{doc_id}/versions/1/signatures/1/signed-revision")
    assert missing.status_code == 422
    assert missing.json["error"]["code"] == "signature_not_found"


def test_other_organisation_gets_404(app, runtime, client, signed):
    doc_id = upload(client, signed)
    token = make_user(runtime, "khac", ["clerk"], "000.01.02.H48")
    other = app.test_client()
    other.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    unknown = "0" * len(doc_id) if doc_id.isalnum() else "no-such-document"
    for path in (f"/api/v1/documents/{doc_id}/versions/1/verification",
                 f"/api/v1/documents/{doc_id}/versions/1/signatures/1/signed-revision"):
        refused = other.get(path)
        assert refused.status_code == 404 and refused.json["error"]["code"] == "not_found"
        # the same answer as for a document that does not exist: existence is not revealed
        missing = other.get(path.replace(doc_id, unknown))
        assert missing.status_code == 404
        assert refused.json["error"]["message"] == missing.json["error"]["message"]
        assert refused.json["error"]["details"] == {
            k: (doc_id if v == unknown else v) for k, v in missing.json["error"]["details"].items()}
    with runtime.sessions() as session:  # nothing was verified or stored for the stranger
        assert session.execute(select(VerificationResult)).first() is None
    absent = client.get(f"/api/v1/documents/{doc_id}/versions/7/verification")
    assert absent.status_code == 404 and absent.json["error"]["code"] == "not_found"
    assert absent.json["error"]["details"] == {"document_id": doc_id, "version": 7}


def test_openapi_lists_the_verification_paths(anonymous):
    paths = anonymous.get("/api/v1/openapi.json").json["paths"]
    assert "/verify" in paths
    assert "/documents/{document_id}/versions/{number}/verification" in paths


# -- CLI -------------------------------------------------------------------------------------------


@pytest.fixture
def runner(tmp_path, monkeypatch, trust_dir):
    monkeypatch.setenv("DOCSVC_DATA_DIR", str(tmp_path / "cli-var"))
    monkeypatch.setenv("DOCSVC_TRUST_DIRS", str(trust_dir))
    monkeypatch.delenv("DOCSVC_DATABASE_URL", raising=False)
    monkeypatch.delenv("DOCSVC_BLOB_BACKEND", raising=False)
    return CliRunner()


def test_cli_verify_exit_codes(runner, tmp_path, signed, original, test_pki):
    files = {"passed.pdf": signed, "unsigned.pdf": original,
             "untrusted.pdf": test_pki.sign(original, test_pki.impostor),
             "failed.pdf": signed.replace(b"Thong bao", b"Xhong bao", 1),
             "not-a-pdf.txt": b"hello"}
    codes = {}
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
        result = runner.invoke(main, ["verify", str(tmp_path / name)])
        codes[name] = result.exit_code
        if name == "passed.pdf":
            assert json.loads(result.stdout)["verdict"] == "TOTAL_PASSED"
    assert codes == {"passed.pdf": 0, "unsigned.pdf": 2, "untrusted.pdf": 2, "failed.pdf": 1,
                     "not-a-pdf.txt": 2}


def test_cli_verify_writes_html_and_pdf_reports(runner, tmp_path, signed):
    (tmp_path / "tb.pdf").write_bytes(signed)
    out = tmp_path / "report.pdf"
    result = runner.invoke(main, ["verify", str(tmp_path / "tb.pdf"), "--format", "pdf",
                                  "--out", str(out)])
    assert result.exit_code == 0 and out.read_bytes().startswith(b"%PDF")
    html = runner.invoke(main, ["verify", str(tmp_path / "tb.pdf"), "--format", "html",
                                "--lang", "en"])
    assert html.exit_code == 0 and "VALID" in html.stdout


def test_cli_verify_with_an_explicit_trust_folder(runner, tmp_path, signed, monkeypatch):
    monkeypatch.delenv("DOCSVC_TRUST_DIRS")
    (tmp_path / "tb.pdf").write_bytes(signed)
    assert runner.invoke(main, ["verify", str(tmp_path / "tb.pdf")]).exit_code == 2
    trusted = runner.invoke(main, ["verify", str(tmp_path / "tb.pdf"), "--trust",
                                   str(tmp_path / "trust" / "test-root")])
    assert trusted.exit_code == 0


def test_cli_audit_archive_reports_a_signer_revoked_since(runner, tmp_path, signed, test_pki,
                                                          trust_dir):
    assert runner.invoke(main, ["init"]).exit_code == 0
    (tmp_path / "tb.pdf").write_bytes(signed)
    added = runner.invoke(main, ["documents", "add", str(tmp_path / "tb.pdf"), "--metadata",
                                 json.dumps(NOTICE_METADATA)])
    assert added.exit_code == 0, added.output
    doc_id = json.loads(added.stdout)["id"]
    # an uploaded original signed elsewhere is found with --all-versions, then every time
    first = runner.invoke(main, ["audit-archive", "--all-versions"])
    assert first.exit_code == 0 and "checked 1 versions" in first.stdout
    assert runner.invoke(main, ["audit-archive"]).exit_code == 0

    revoke(test_pki, trust_dir, test_pki.person)
    later = runner.invoke(main, ["audit-archive", "--json"])
    assert later.exit_code == 1
    [change] = json.loads(later.stdout)["changes"]
    assert (change["document_id"], change["before"]) == (doc_id, "TOTAL_PASSED")
    assert change["after"] != "TOTAL_PASSED" and change["trust_changed"] is True
    text = runner.invoke(main, ["audit-archive"])
    assert text.exit_code == 0 and "0 changed" in text.stdout  # the new verdict is the baseline now


# -- POST /verify with a raw application/pdf body ----------------------------------------------------


def verify_raw(client, data: bytes, **headers):
    return client.post("/api/v1/verify", data=data, content_type="application/pdf",
                       headers=headers)


def test_raw_body_gives_the_same_report_as_multipart(client, runtime, signed):
    raw = verify_raw(client, signed, **{"Content-Disposition": 'inline; filename="tb.pdf"'})
    multipart = verify(client, signed)
    assert raw.status_code == multipart.status_code == 200
    assert raw.json | {"validated_at": None} == multipart.json | {"validated_at": None}
    assert raw.json["sha256"] == hashlib.sha256(signed).hexdigest() == multipart.json["sha256"]
    raw_entry, multipart_entry = _audit(runtime, "verification.run")
    assert raw_entry.content_sha256 == multipart_entry.content_sha256 == raw.json["sha256"]
    assert raw_entry.details["filename"] == "tb.pdf"
    tampered = verify_raw(client, signed.replace(b"Thong bao", b"Xhong bao", 1)).json
    assert tampered["signatures"][0]["sub_indication"] == "HASH_FAILURE"
    html = verify_raw(client, signed, Accept="text/html")
    assert html.mimetype == "text/html" and "Nguyễn Văn An" in html.get_data(as_text=True)


def test_raw_body_that_is_not_a_pdf_is_415(client, runtime):
    for body in (b"\x89PNG\r\n\x1a\n not a pdf", b"PK\x03\x04" + b"z" * 300_000, b""):
        response = verify_raw(client, body)
        assert response.status_code == 415, body[:8]
        assert response.json["error"]["code"] == "unsupported_media_type"
    assert _audit(runtime, "verification.run") == []


def test_raw_body_too_large_is_413(client):
    response = verify_raw(client, b"%PDF-1.7\n" + b"0" * (1024 * 1024 + 1))
    assert response.status_code == 413
    assert response.json["error"]["code"] == "payload_too_large"


def test_raw_body_from_a_linked_system_is_403(app, runtime, signed):
    from docsvc.security import OPERATOR
    from docsvc.services.identity import add_system

    with runtime.sessions() as session:
        _, token = add_system(session, OPERATOR, organ_id="000.00.53.H48", name="Sở Nội vụ")
    response = verify_raw(app.test_client(), signed, Authorization=f"Bearer {token}")
    assert response.status_code == 403


def test_openapi_documents_both_ways_to_send_the_pdf(anonymous):
    body = anonymous.get("/api/v1/openapi.json").json["paths"]["/verify"]["post"]["requestBody"]
    assert set(body["content"]) == {"multipart/form-data", "application/pdf"}
