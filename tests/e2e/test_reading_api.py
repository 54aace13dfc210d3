"""Reading notices through HTTP: /extract stores nothing, an upload with fields left out is
answered with suggestions, a scan without OCR gives a reason, never an error."""

from __future__ import annotations

import io
import json

import pytest
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.test import encode_multipart

from docsvc.signing.sample import notice_pdf
from tests.notices import corpus, render_pdf, render_scan


def _multipart(client, path, data):
    boundary, body = encode_multipart(MultiDict(data))
    return client.post(path, data=body, content_type=f"multipart/form-data; boundary={boundary}")


def _file(pdf: bytes) -> FileStorage:
    return FileStorage(io.BytesIO(pdf), "notice.pdf", content_type="application/pdf")


@pytest.fixture
def province(runtime):
    from docsvc.models import Organization

    with runtime.sessions() as session:
        session.add(Organization(organ_id="000.00.00.H48", name="UBND tỉnh Quảng Ngãi"))
        session.commit()


def test_extract_reads_the_readme_notice_and_stores_nothing(client, province):
    before = client.get("/api/v1/documents").json["data"]
    body = _multipart(client, "/api/v1/extract", {"file": _file(notice_pdf())}).json
    fields = body["fields"]
    assert fields["code_number"]["value"] == "185" and fields["code_notation"]["value"] == "TB-UBND"
    assert fields["organ_id"]["value"] == "000.00.00.H48"
    assert fields["code_number"]["page"] == 1 and len(fields["code_number"]["box"]) == 4
    assert body["suggested_metadata"]["signer_name"]["value"] == "Nguyễn Quốc Việt"
    assert client.get("/api/v1/documents").json["data"] == before


def test_extract_takes_a_raw_pdf_body(client):
    response = client.post("/api/v1/extract", data=notice_pdf(), content_type="application/pdf")
    assert response.status_code == 200 and response.json["fields"]["type_name"]["value"] == "Thông báo"


def test_extract_refuses_what_is_not_a_pdf(client):
    response = client.post("/api/v1/extract", data=b"hello", content_type="application/pdf")
    assert response.status_code == 415 and response.json["error"]["code"] == "unsupported_media_type"
    response = _multipart(client, "/api/v1/extract", {"other": "x"})
    assert response.status_code == 400 and response.json["error"]["code"] == "bad_request"


def test_a_scan_without_text_gets_empty_suggestions_and_a_reason(client):
    scan = render_scan(render_pdf(corpus(1)[0]), dpi=60)
    body = client.post("/api/v1/extract", data=scan, content_type="application/pdf").json
    assert body["fields"] == {} and body["reason"] == "no_text" and body["suggested_metadata"] == {}


def test_upload_with_required_fields_left_out_answers_with_suggestions(client):
    data = {"metadata": json.dumps({"direction": "outgoing", "organ_id": "000.00.00.H48"}),
            "file": _file(notice_pdf())}
    response = _multipart(client, "/api/v1/documents", data)
    assert response.status_code == 400
    details = response.json["error"]["details"]
    assert {f["field"] for f in details["fields"]} == {"organ_name", "type_name", "subject"}
    suggested = details["suggested_metadata"]
    assert suggested["subject"]["value"].startswith("Kết luận của Phó Chủ tịch")
    assert suggested["type_name"]["value"] == "Thông báo" and "organ_id" not in suggested
    assert client.get("/api/v1/documents").json["data"] == []  # nothing stored


def test_upload_with_optional_fields_left_out_is_created_with_suggestions(client):
    metadata = {"direction": "outgoing", "organ_id": "000.00.00.H48", "organ_name": "UBND tỉnh Quảng Ngãi",
                "type_name": "TB", "subject": "Kết luận về công tác văn thư"}
    response = _multipart(client, "/api/v1/documents",
                          {"metadata": json.dumps(metadata, ensure_ascii=False), "file": _file(notice_pdf())})
    assert response.status_code == 201
    suggested = response.json["suggested_metadata"]
    assert suggested["code_number"]["value"] == "185" and suggested["issued_date"]["value"] == "2018-06-19"
    assert "subject" not in suggested and response.json["subject"] == "Kết luận về công tác văn thư"


def test_search_finds_the_uploaded_notice_by_number_notation_and_words(client, notice_metadata):
    metadata = dict(notice_metadata, code_number="185")
    response = _multipart(client, "/api/v1/documents",
                          {"metadata": json.dumps(metadata, ensure_ascii=False), "file": _file(notice_pdf())})
    doc_id = response.json["id"]
    for q in ("185", "185/TB-UBND", "cai cach hanh chinh", "ký số văn bản điện tử"):
        body = client.get("/api/v1/search", query_string={"q": q}).json
        assert [h["document"]["id"] for h in body["data"]] == [doc_id], q
        assert "<mark>" in body["data"][0]["snippet"]
    none = client.get("/api/v1/search", query_string={"q": "185", "direction": "incoming"}).json
    assert none["data"] == []
    bad = client.get("/api/v1/search", query_string={"q": "185", "direction": "sideways"})
    assert bad.status_code == 400 and bad.json["error"]["code"] == "bad_request"
    assert client.get("/api/v1/search", query_string={"q": "--"}).json["error"]["code"] == "bad_request"
