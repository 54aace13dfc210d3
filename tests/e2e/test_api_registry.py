"""The registry through HTTP: one happy path, then one test per kind of error."""

from __future__ import annotations

import csv
import hashlib
import io
import json

import pytest
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.test import encode_multipart

from docsvc.app import build_runtime, create_app
from docsvc.config import Settings
from docsvc.db import upgrade
from docsvc.samples import notice_pdf
from docsvc.storage import LocalBlobStore
from tests.support.data import make_user


def post_document(client, metadata, pdf=None, filename="tb-185.pdf"):
    data = {"metadata": json.dumps(metadata, ensure_ascii=False)}
    if pdf is not False:
        data["file"] = FileStorage(io.BytesIO(pdf if pdf is not None else notice_pdf()), filename,
                                   content_type="application/pdf")
    # Encode in memory: the test client's own spooled body file would never be closed.
    boundary, body = encode_multipart(MultiDict(data))
    return client.post("/api/v1/documents", data=body,
                       content_type=f"multipart/form-data; boundary={boundary}")


def test_clerk_uploads_registers_finds_and_downloads(client, notice_metadata):
    pdf = notice_pdf(["THONG BAO", "Ket luan ve cai cach hanh chinh"])
    created = post_document(client, notice_metadata, pdf)
    assert created.status_code == 201, created.json
    doc = created.json
    assert doc["status"] == "draft" and doc["warnings"] == []
    assert doc["subject"] == notice_metadata["subject"]
    assert doc["versions"] == [{
        "number": 1, "kind": "original", "sha256": hashlib.sha256(pdf).hexdigest(),
        "size": len(pdf), "media_type": "application/pdf", "filename": "tb-185.pdf",
        "created_by": "user:vanthu", "created_at": doc["versions"][0]["created_at"]}]

    registered = client.post(f"/api/v1/documents/{doc['id']}/register")
    assert registered.status_code == 200
    assert registered.json["code_number"] == "01"
    assert registered.json["number_notation"] == "01/TB-UBND"
    assert client.post(f"/api/v1/documents/{doc['id']}/register").json["code_number"] == "01"

    found = client.get("/api/v1/documents", query_string={"q": "cai cach hanh chinh"}).json
    assert [d["id"] for d in found["data"]] == [doc["id"]] and found["next_after"] is None
    assert client.get(f"/api/v1/documents/{doc['id']}").json["status"] == "registered"

    content = client.get(f"/api/v1/documents/{doc['id']}/content")
    assert content.status_code == 200 and content.data == pdf
    assert content.headers["ETag"] == f'"{hashlib.sha256(pdf).hexdigest()}"'
    assert content.mimetype == "application/pdf"
    assert client.get(f"/api/v1/documents/{doc['id']}/versions/1/content").data == pdf
    cached = client.get(f"/api/v1/documents/{doc['id']}/content",
                        headers={"If-None-Match": content.headers["ETag"]})
    assert cached.status_code == 304

    year = registered.json["registered_at"][:4]
    rows = client.get("/api/v1/registers/outgoing", query_string={"year": year}).json["data"]
    assert [(r["number"], r["number_notation"]) for r in rows] == [(1, "01/TB-UBND")]
    as_csv = client.get("/api/v1/registers/outgoing", query_string={"year": year},
                        headers={"Accept": "text/csv"})
    assert as_csv.mimetype == "text/csv"
    [row] = list(csv.DictReader(io.StringIO(as_csv.data.decode("utf-8"))))
    assert row["subject"] == notice_metadata["subject"] and row["number"] == "1"


def test_metadata_is_corrected_through_patch_and_the_history_shows_it(client, notice_metadata):
    doc = post_document(client, notice_metadata).json
    fixed = client.patch(f"/api/v1/documents/{doc['id']}",
                         json={"subject": "Đính chính: kết luận về cải cách hành chính"})
    assert fixed.status_code == 200 and fixed.json["changed"] == ["subject"]
    assert fixed.json["subject"] == "Đính chính: kết luận về cải cách hành chính"
    assert client.post(f"/api/v1/documents/{doc['id']}/register").status_code == 200
    locked = client.patch(f"/api/v1/documents/{doc['id']}", json={"code_number": "999"})
    assert_error(locked, 409, "fields_locked")
    assert_error(client.patch(f"/api/v1/documents/{doc['id']}", json={"priority": "high"}), 400,
                 "invalid_metadata")
    history = client.get(f"/api/v1/documents/{doc['id']}/history").json["data"]
    changes = [(e["action"], e["outcome"]) for e in history
               if e["action"] == "document.metadata_change"]
    assert changes == [("document.metadata_change", "success"),
                       ("document.metadata_change", "refused")]


def test_incoming_register(client, notice_metadata):
    meta = {**notice_metadata, "direction": "incoming", "code_number": "185"}
    doc = post_document(client, meta).json
    registered = client.post(f"/api/v1/documents/{doc['id']}/register").json
    assert registered["arrival_number"] == 1 and registered["arrival_date"]
    rows = client.get("/api/v1/registers/incoming",
                      query_string={"year": registered["arrival_date"][:4]}).json["data"]
    assert [r["number_notation"] for r in rows] == ["185/TB-UBND"]


def test_duplicate_number_is_warned(client, notice_metadata):
    meta = {**notice_metadata, "direction": "incoming", "code_number": "185"}
    first = post_document(client, meta).json
    second = post_document(client, meta).json
    assert [w["code"] for w in second["warnings"]] == ["duplicate_number"]
    assert second["warnings"][0]["details"]["document_ids"] == [first["id"]]


def assert_error(response, status, code):
    assert response.status_code == status, response.data
    body = response.json
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["code"] == code
    return body["error"]


def test_not_a_pdf_is_415(client, notice_metadata):
    error = assert_error(post_document(client, notice_metadata, b"PK\x03\x04zip"), 415,
                         "unsupported_media_type")
    assert "PDF" in error["message"]


def test_damaged_pdf_is_422(client, notice_metadata):
    assert_error(post_document(client, notice_metadata, notice_pdf()[:250]), 422, "invalid_pdf")


def test_too_large_is_413(app, client, notice_metadata):
    app.config["MAX_CONTENT_LENGTH"] = 10_000
    assert_error(post_document(client, notice_metadata, notice_pdf(padding=20_000)), 413,
                 "payload_too_large")


def test_bad_metadata_lists_every_field(client):
    error = assert_error(post_document(client, {"direction": "x", "priority": 7}, pdf=False), 400,
                         "invalid_metadata")
    fields = {f["field"] for f in error["details"]["fields"]}
    assert fields == {"file", "direction", "priority", "organ_id", "organ_name", "type_name",
                      "subject"}


def test_malformed_metadata_json_is_400(client):
    data = {"metadata": "{not json", "file": (io.BytesIO(notice_pdf()), "a.pdf")}
    error = assert_error(client.post("/api/v1/documents", data=data), 400, "invalid_metadata")
    assert error["details"]["fields"][0]["field"] == "metadata"


def test_unknown_document_is_404(client):
    assert_error(client.get("/api/v1/documents/nope"), 404, "not_found")
    assert_error(client.get("/api/v1/documents/nope/content"), 404, "not_found")
    assert_error(client.post("/api/v1/documents/nope/register"), 404, "not_found")
    assert_error(client.get("/api/v1/no-such-route"), 404, "not_found")


def test_bad_query_parameters_are_400(client):
    assert_error(client.get("/api/v1/documents?issued_from=19/06/2018"), 400, "bad_request")
    assert_error(client.get("/api/v1/documents?limit=0"), 400, "bad_request")
    assert_error(client.get("/api/v1/documents?direction=up"), 400, "bad_request")


def test_messages_in_english_on_request(client):
    english = client.get("/api/v1/documents/nope", headers={"Accept-Language": "en"}).json
    vietnamese = client.get("/api/v1/documents/nope").json
    assert english["error"]["message"] == "Document not found."
    assert vietnamese["error"]["message"] == "Không tìm thấy văn bản."


def test_storage_down_is_503_and_nothing_committed(tmp_path, notice_metadata):
    settings = Settings(env="test", data_dir=tmp_path)
    not_a_folder = tmp_path / "blobs-file"
    not_a_folder.write_text("x")
    runtime = build_runtime(settings, blobs=LocalBlobStore(not_a_folder))
    upgrade(runtime.engine)
    client = create_app(runtime=runtime).test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {make_user(runtime, 'vt', ['clerk'])}"
    assert_error(post_document(client, notice_metadata), 503, "storage_unavailable")
    assert client.get("/api/v1/documents").json["data"] == []
    assert client.get("/api/v1/health").status_code == 503


def test_database_down_is_503(tmp_path, notice_metadata):
    from tests.support.net import free_port

    url = f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/docsvc"
    settings = Settings(env="test", data_dir=tmp_path, database_url=url, db_timeout_seconds=2)
    client = create_app(runtime=build_runtime(settings, blobs=None)).test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = "Bearer dsv_any-token-needs-the-database"
    assert_error(post_document(client, notice_metadata), 503, "database_unavailable")
    assert_error(client.get("/api/v1/documents"), 503, "database_unavailable")
    health = client.get("/api/v1/health")
    assert health.status_code == 503 and health.json["database"].startswith("unavailable")


def test_no_stack_trace_on_unexpected_errors(app, client, monkeypatch):
    from docsvc.services import documents

    def boom(*args, **kwargs):
        raise RuntimeError("secret internals /etc/docsvc")

    monkeypatch.setattr(documents, "get_document", boom)
    error = assert_error(client.get("/api/v1/documents/x"), 500, "internal_error")
    assert "secret" not in json.dumps(error)


def test_openapi_lists_the_registry_paths(client):
    spec = client.get("/api/v1/openapi.json").json
    assert spec["openapi"].startswith("3.")
    for path in ("/documents", "/documents/{document_id}", "/documents/{document_id}/content",
                 "/documents/{document_id}/versions/{number}/content",
                 "/documents/{document_id}/register", "/registers/{kind}"):
        assert path in spec["paths"]


@pytest.mark.parametrize("route", sorted({
    r.rule for r in create_app(Settings(env="test")).url_map.iter_rules()
    if r.rule.startswith("/api/v1/")}))
def test_every_api_route_is_in_openapi(client, route):
    path = route.removeprefix("/api/v1").replace("<int:", "{").replace("<", "{").replace(">", "}")
    assert path in client.get("/api/v1/openapi.json").json["paths"]


def test_multi_megabyte_upload_is_hashed_while_received(client, notice_metadata):
    pdf = notice_pdf(padding=3 * 1024 * 1024 + 123)
    doc = post_document(client, notice_metadata, pdf).json
    assert doc["versions"][0]["sha256"] == hashlib.sha256(pdf).hexdigest()
    assert doc["versions"][0]["size"] == len(pdf)
    assert client.get(f"/api/v1/documents/{doc['id']}/content").data == pdf
