"""The upload form pre-fills from the PDF: the page loads the script, the script's endpoint
reads the file (CSRF-protected) and stores nothing."""

from __future__ import annotations

import io

from docsvc.security import OPERATOR
from docsvc.services.identity import add_user
from docsvc.signing.sample import notice_pdf
from tests.e2e.test_web import PASSWORD, csrf, login


def _clerk_browser(app, runtime):
    with runtime.sessions() as session:
        add_user(session, OPERATOR, username="vt", roles=["clerk"], organ_id="000.00.00.H48",
                 password=PASSWORD)
    browser = app.test_client()
    login(browser)
    return browser


def test_the_upload_form_prefills_from_the_chosen_pdf(app, runtime):
    browser = _clerk_browser(app, runtime)
    page = browser.get("/upload").data.decode()
    assert 'id="upload-form"' in page and "/upload/extract" in page and "upload.js" in page
    with browser.get("/assets/upload.js") as script:
        assert script.status_code == 200 and b"suggested" in script.data
    token = csrf(page.encode())
    answer = browser.post("/upload/extract", data={
        "csrf_token": token, "file": (io.BytesIO(notice_pdf()), "tb.pdf", "application/pdf")})
    assert answer.status_code == 200
    fields = answer.json["fields"]
    assert fields["code_number"]["value"] == "185" and fields["type_name"]["value"] == "Thông báo"
    assert fields["signer_competence"]["value"] == "TL."
    assert browser.get("/api/v1/documents").status_code in (401, 200)


def test_prefill_needs_the_csrf_token_and_a_pdf(app, runtime):
    browser = _clerk_browser(app, runtime)
    refused = browser.post("/upload/extract", data={
        "file": (io.BytesIO(notice_pdf()), "tb.pdf", "application/pdf")})
    assert refused.status_code == 400
    token = csrf(browser.get("/upload").data)
    answer = browser.post("/upload/extract", data={
        "csrf_token": token, "file": (io.BytesIO(b"not a pdf"), "x.pdf", "application/pdf")})
    assert answer.status_code == 415 and answer.json["fields"] == {}


def test_the_search_page_finds_the_notice_by_its_text_with_a_snippet(app, runtime, client, notice_metadata):
    import json

    from tests.e2e.test_reading_api import _file, _multipart

    metadata = dict(notice_metadata, code_number="185")
    doc_id = _multipart(client, "/api/v1/documents", {
        "metadata": json.dumps(metadata, ensure_ascii=False), "file": _file(notice_pdf())}).json["id"]
    browser = _clerk_browser(app, runtime)
    page = browser.get("/search", query_string={"q": "ky so van ban dien tu"}).data.decode()
    assert f"/documents/{doc_id}" in page and "<mark>ký</mark> <mark>số</mark>" in page
    assert "185/TB-UBND" in browser.get("/search", query_string={"q": "185/TB-UBND"}).data.decode()
    english = browser.get("/search?q=zzzz&lang=en").data.decode()
    assert "Search the documents" in english and f"/documents/{doc_id}" not in english
