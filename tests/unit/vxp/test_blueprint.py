"""The blueprint through Flask's test client: routes, methods, bodies and failure replies."""

from __future__ import annotations

import json

import pytest
from flask import Flask

from docsvc.vxp import MemoryVxpBackend, VxpSystem, make_vxp_blueprint
from tests.vxp_client import JavaHashMap, sdk_timestamp, sign_headers

SYSTEM = VxpSystem("000.00.53.H48", "000.00.53.H48", "commune-key")


def make_app(prefix: str, backend: MemoryVxpBackend | None = None) -> Flask:
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = 4096
    app.json.ensure_ascii = False  # type: ignore[attr-defined] - as docsvc's app does
    app.register_blueprint(make_vxp_blueprint(prefix, backend or MemoryVxpBackend.with_systems([SYSTEM])))
    return app


def signed(params: dict[str, str], content_type: str = "application/json") -> dict[str, str]:
    import datetime as dt

    entries = JavaHashMap()
    entries.put("systemid", SYSTEM.system_id)
    entries.put("timestamp", sdk_timestamp(dt.datetime.now()))
    entries.put("Content-Type", content_type)
    for name, value in params.items():
        entries.put(name, value)
    return {k: v.encode("utf-8").decode("latin-1") for k, v in sign_headers(entries.items(), SYSTEM.secret)}


@pytest.mark.parametrize(("prefix", "path"), [("/vxp", "/vxp/countReceiveEdoc"),
                                              ("/vxp", "/vxp//countReceiveEdoc"),
                                              ("vxp/", "/vxp/countReceiveEdoc"),
                                              ("", "/countReceiveEdoc"), ("", "//countReceiveEdoc")])
def test_both_single_and_double_slash_are_served_without_redirect(prefix: str, path: str) -> None:
    # PATH_INFO set directly: the test client would read "//op" as a host name, real servers do not.
    response = make_app(prefix).test_client().post("/", headers=signed({}), data=b"{}",
                                                   environ_overrides={"PATH_INFO": path})
    assert response.status_code == 200
    assert response.get_json() == {"status": "OK", "ErrorCode": "0", "ErrorDesc": "Success", "count": 0}


@pytest.mark.parametrize("body", [b"", b"{}", b'{"ignored": true}'])
def test_bodies_are_read_raw_whatever_the_declared_content_type(body: bytes) -> None:
    response = make_app("/vxp").test_client().post("/vxp/getReceivedEdocList", data=body,
                                                   headers=signed({"messagetype": "edoc"}))
    assert response.get_json()["data"] == []


def test_failures_are_envelopes_never_html() -> None:
    client = make_app("/vxp").test_client()
    cases = [
        (client.post("/vxp/nope", headers=signed({})), 404, "404"),
        (client.get("/vxp/getEdoc", headers=signed({"docId": "x"})), 405, "405"),
        (client.post("/vxp/getEdoc", headers={}), 401, "401"),
        (client.post("/vxp/getEdoc", headers=signed({})), 400, "400"),
        (client.post("/vxp/getEdoc", headers=signed({"docId": "x"}), data=b"x" * (2 * 1024 * 1024)),
         413, "413"),
        (client.post("/vxp/sendEdoc", headers=signed({"hash-file": "ab"}, "application/octet-stream"),
                     data=b"x" * 8192), 413, "413"),
    ]
    for response, status, code in cases:
        body = json.loads(response.data)
        assert response.status_code == status and body["status"] == "FAIL" and body["ErrorCode"] == code, body
        assert response.data.isascii()


def test_download_errors_are_empty_bodies_and_get_edoc_refuses_non_utf8() -> None:
    backend = MemoryVxpBackend.with_systems([SYSTEM])
    client = make_app("/vxp", backend).test_client()
    missing = client.get("/vxp/downloadEdoc", headers=signed({"docId": "x"}))
    assert missing.status_code == 404 and missing.data == b""
    assert client.post("/vxp/downloadEdoc", headers=signed({"docId": "x"})).data == b""

    import datetime as dt

    from docsvc.vxp.memory import _Copy

    now = dt.datetime.now(dt.UTC)
    backend.copies["bin"] = _Copy("bin", "s", "other", "000.00.00.H48", SYSTEM.organ_id, "edoc", "eDoc",
                                  b"\xff\xfe<edXML/>", "", "", now, now)
    reply = client.post("/vxp/getEdoc", headers=signed({"docId": "bin"}), data=b"{}")
    assert reply.get_json()["status"] == "FAIL" and reply.get_json()["data"] == ""
    assert "downloadEdoc" in reply.get_json()["ErrorDesc"]
    assert client.get("/vxp/downloadEdoc", headers=signed({"docId": "bin"})).data == b"\xff\xfe<edXML/>"


def test_backend_crash_is_a_500_envelope(caplog) -> None:
    class Broken(MemoryVxpBackend):
        def count_received(self, system, *, message_type):  # type: ignore[no-untyped-def]
            raise RuntimeError("database went away")

    client = make_app("/vxp", Broken.with_systems([SYSTEM])).test_client()
    response = client.post("/vxp/countReceiveEdoc", headers=signed({}), data=b"{}")
    assert response.status_code == 500
    assert response.get_json() == {"status": "FAIL", "ErrorCode": "500",
                                   "ErrorDesc": "Lỗi hệ thống / Internal error", "count": 0}
    assert "database went away" not in response.get_data(as_text=True)
