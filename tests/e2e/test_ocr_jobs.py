"""Scans through HTTP: the upload queues OCR on the job queue, the job's progress is visible,
the searchable rendition sits beside the untouched original and its text is searchable; when
OCR cannot run, the job says why and the upload still stands."""

from __future__ import annotations

import dataclasses
import io
import json

import pytest
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.test import encode_multipart

from docsvc.ocr import unavailable_reason
from tests.conftest import NOTICE_METADATA
from tests.notices import corpus, render_pdf, render_scan

pytestmark = pytest.mark.slow


@pytest.fixture
def settings(settings):
    return dataclasses.replace(settings, jobs="immediate")


@pytest.fixture(scope="module")
def scan() -> bytes:
    return render_scan(render_pdf(corpus(1)[0], stamp=True), seed=0)


def _upload(client, pdf: bytes):
    data = {"metadata": json.dumps(NOTICE_METADATA, ensure_ascii=False),
            "file": FileStorage(io.BytesIO(pdf), "scan.pdf", content_type="application/pdf")}
    boundary, body = encode_multipart(MultiDict(data))
    return client.post("/api/v1/documents", data=body,
                       content_type=f"multipart/form-data; boundary={boundary}")


@pytest.mark.skipif(unavailable_reason("vie") is not None, reason="ocrmypdf/tesseract-ocr-vie missing")
def test_a_scanned_notice_becomes_searchable_by_its_body_text(client, scan):
    created = _upload(client, scan)
    assert created.status_code == 201 and created.json["suggestions_reason"] == "no_text"
    (job,) = created.json["jobs"]
    assert job["kind"] == "ocr" and job["state"] == "done" and job["progress"] == 100
    assert client.get(f"/api/v1/jobs/{job['id']}").json["result"]["pages"] == 1
    doc_id = created.json["id"]
    listed = client.get(f"/api/v1/documents/{doc_id}/jobs").json["data"]
    assert [j["id"] for j in listed] == [job["id"]]
    suggested = job["result"]["suggested_metadata"]
    assert suggested["code_notation"]["value"] == corpus(1)[0].truth["code_notation"]
    # The original is the record; the rendition is beside it.
    original = client.get(f"/api/v1/documents/{doc_id}/versions/1/content")
    assert original.data == scan
    # a scan that pyHanko's strict reader refuses (Pillow's xref) gets a repaired working
    # version (issue 11); the OCR'd rendition belongs to the version that is worked on
    versions = client.get(f"/api/v1/documents/{doc_id}").json["versions"]
    assert [v["kind"] for v in versions] in (["original"], ["original", "repaired"])
    working = versions[-1]["number"]
    rendition = client.get(f"/api/v1/documents/{doc_id}/versions/{working}/searchable")
    assert rendition.status_code == 200 and rendition.data != scan and rendition.data.startswith(b"%PDF")
    hits = client.get("/api/v1/search", query_string={"q": "thu tuc hanh chinh"}).json["data"]
    assert [h["document"]["id"] for h in hits] == [doc_id] and "<mark>" in hits[0]["snippet"]


def test_when_ocr_cannot_run_the_job_fails_with_a_reason_and_the_upload_stands(client, scan, monkeypatch):
    import docsvc.ocr

    monkeypatch.setattr(docsvc.ocr, "unavailable_reason", lambda languages="vie": "no tesseract")
    created = _upload(client, scan)
    assert created.status_code == 201
    (job,) = created.json["jobs"]
    assert job["state"] == "failed" and job["message"].startswith("ocr_unavailable")
    doc_id = created.json["id"]
    missing = client.get(f"/api/v1/documents/{doc_id}/versions/1/searchable")
    assert missing.status_code == 404 and missing.json["error"]["code"] == "not_found"
    assert client.get(f"/api/v1/documents/{doc_id}/versions/1/content").data == scan


def test_jobs_of_other_agencies_are_not_found_and_bad_requests_are_400(client, scan, monkeypatch):
    import docsvc.ocr

    monkeypatch.setattr(docsvc.ocr, "unavailable_reason", lambda languages="vie": "off")
    doc_id = _upload(client, scan).json["id"]
    assert client.get("/api/v1/jobs/nope").status_code == 404
    bad = client.post(f"/api/v1/documents/{doc_id}/jobs", json={"kind": "bake"})
    assert bad.status_code == 400 and bad.json["error"]["code"] == "bad_request"
    again = client.post(f"/api/v1/documents/{doc_id}/jobs", json={"kind": "index"})
    # a scan has no text to index: the job goes on to OCR, which cannot run here
    assert again.status_code == 202 and again.json["state"] == "failed"
    assert again.json["message"].startswith("ocr_unavailable")
    missing = client.post(f"/api/v1/documents/{doc_id}/jobs", json={"kind": "ocr", "version": 9})
    assert missing.status_code == 404 and missing.json["error"]["code"] == "not_found"


def test_the_document_page_shows_the_jobs_and_their_state(app, runtime, client, scan, monkeypatch):
    import docsvc.ocr
    from tests.e2e.test_reading_web import _clerk_browser

    monkeypatch.setattr(docsvc.ocr, "unavailable_reason", lambda languages="vie": "no tesseract")
    doc_id = _upload(client, scan).json["id"]
    browser = _clerk_browser(app, runtime)
    page = browser.get(f"/documents/{doc_id}").data.decode()
    assert "Xử lý nền" in page and "Nhận dạng chữ (OCR)" in page and "Không thành công" in page
    assert "ocr_unavailable" in page
    english = browser.get(f"/documents/{doc_id}?lang=en").data.decode()
    assert "Background work" in english and "Failed" in english


def test_a_long_scan_gets_one_job_that_indexes_then_recognises_within_the_page_limit(
        app, runtime, client, monkeypatch):
    import docsvc.ocr
    from docsvc.services.documents import SYNC_INDEX_PAGES

    calls = []

    def fake_ocr(source, target, *, page_count, languages, max_pages, timeout_seconds):
        calls.append((page_count, max_pages))
        return docsvc.ocr.OcrResult(False, "ocr_timeout", 0, timeout_seconds, "longer than limit")

    monkeypatch.setattr(docsvc.ocr, "make_searchable", fake_ocr)
    long_scan = render_scan(render_pdf(corpus(1)[0], extra_pages=SYNC_INDEX_PAGES), dpi=40)
    created = _upload(client, long_scan)
    (job,) = created.json["jobs"]
    assert job["kind"] == "index" and job["state"] == "failed" and job["message"].startswith("ocr_timeout")
    assert calls == [(SYNC_INDEX_PAGES + 1, runtime.settings.ocr_max_pages)]
