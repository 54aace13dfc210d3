"""The VXP face end to end: the SDK-speaking harness against real HTTP servers on loopback
(Werkzeug's threaded server in-process, and gunicorn in a subprocess) over the memory backend.

Run as a script (``python tests/e2e/test_vxp_protocol.py PORT``) it serves the same test app
under gunicorn; the tests do that themselves.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from flask import Flask
from werkzeug.serving import make_server

from docsvc.exchange import (
    Attachment,
    Code,
    DocumentHeader,
    DocumentPackage,
    DocumentType,
    Organization,
    PromulgationInfo,
    ResponseFor,
    StatusPackage,
    TraceHeader,
    build_document_package,
    build_status_package,
    make_document_id,
)
from docsvc.vxp import GUNICORN_OPTIONS, Agency, MemoryVxpBackend, VxpSystem, make_vxp_blueprint
from tests.vxp_client import Reply, VxpClient, decode_package, send_raw, unpadded_hex

ROOT = Path(__file__).resolve().parents[2]
PROVINCE = VxpSystem("vxp.test.h48", "000.00.00.H48", "tỉnh-secret:c2VjcmV0IG9mIEg0OA==")
COMMUNE = VxpSystem("000.00.53.H48", "000.00.53.H48", "commune-shared-key-0001")
DIRECTORY_ADMIN = VxpSystem("vxp.admin.h48", "000.00.00.H48", "admin-key-0002", may_manage_agencies=True)
AGENCIES = (
    Agency("1", "000.00.00.H48", "UBND tỉnh Quảng Ngãi", mail="ubnd@quangngai.gov.vn", old_code="H48",
           code102="000.00.00.H48"),
    Agency("2", "000.00.53.H48", "UBND xã Tịnh Ấn", pid="1", mail="tinhan@quangngai.gov.vn"),
)
PREFIX = "/vxp"


def make_app() -> Flask:
    """The test app: the VXP blueprint over a fresh memory backend (as the real app mounts it)."""
    backend = MemoryVxpBackend.with_systems([PROVINCE, COMMUNE, DIRECTORY_ADMIN], AGENCIES)
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = 128 * 1024 * 1024
    app.register_blueprint(make_vxp_blueprint(PREFIX, backend))
    app.extensions["vxp_backend"] = backend
    return app


# -- servers -------------------------------------------------------------------------------------


@dataclass
class Server:
    kind: str
    port: int
    app: Flask | None = None

    def endpoint(self, prefix: str = PREFIX) -> str:
        return f"http://127.0.0.1:{self.port}{prefix}"

    def client(self, system: VxpSystem, **kwargs) -> VxpClient:  # type: ignore[no-untyped-def]
        return VxpClient(self.endpoint(), system.system_id, system.secret, **kwargs)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def werkzeug_server() -> Iterator[Server]:
    app = make_app()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Server("werkzeug", server.port, app)
    finally:
        server.shutdown()
        thread.join(10)
        server.server_close()


@pytest.fixture
def gunicorn_server() -> Iterator[Server]:
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, __file__, str(port)], cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    output = process.stdout.read().decode() if process.stdout else ""
                    pytest.fail(f"gunicorn did not start: {output[-2000:]}")
                time.sleep(0.1)
        yield Server("gunicorn", port)
    finally:
        process.terminate()
        process.communicate(timeout=20)


@pytest.fixture(params=["werkzeug", "gunicorn"])
def server(request: pytest.FixtureRequest) -> Server:
    """Each test with this fixture runs against both servers."""
    return request.getfixturevalue(f"{request.param}_server")


def backend_of(server: Server) -> MemoryVxpBackend:
    assert server.app is not None, "only the in-process server exposes its backend"
    return server.app.extensions["vxp_backend"]


# -- packages ------------------------------------------------------------------------------------

PROVINCE_ORG = Organization("000.00.00.H48", organ_name="UBND tỉnh Quảng Ngãi", organ_add="52 Hùng Vương")
COMMUNE_ORG = Organization("000.00.53.H48", organ_name="UBND xã Tịnh Ấn", organ_add="Tịnh Ấn, Quảng Ngãi")


def notice_package(number: str = "185", attachment: bytes = b"%PDF-1.7\n" + bytes(range(256)) * 8) -> bytes:
    """A province notice to the commune, as an edXML package."""
    issued = dt.date(2025, 3, 5)
    return build_document_package(DocumentPackage(
        header=DocumentHeader(
            sender=PROVINCE_ORG, recipients=(COMMUNE_ORG,), code=Code(number, "TB-UBND"),
            promulgation_info=PromulgationInfo("Quảng Ngãi", issued),
            document_type=DocumentType(type=7, type_name="Thông báo"),
            subject="Kết luận về cải cách hành chính",
            document_id=make_document_id("000.00.00.H48", issued, number, "TB-UBND"),
        ),
        trace_headers=(TraceHeader("000.00.00.H48", dt.datetime(2025, 3, 5, 10, 15)),),
        attachments=(Attachment("tb", f"{number}-TB-UBND.pdf", "Thông báo", "application/pdf",
                                data=attachment),),
    ))


def status_package(code: str = "03") -> bytes:
    """The commune's status report on notice 185 back to the province."""
    issued = dt.date(2025, 3, 5)
    return build_status_package(StatusPackage(
        sender=COMMUNE_ORG,
        response_for=ResponseFor("000.00.00.H48", "185/TB-UBND", issued,
                                 make_document_id("000.00.00.H48", issued, "185", "TB-UBND")),
        status_code=code, timestamp=dt.datetime(2025, 3, 5, 11, 0),
        description="Đã tiếp nhận, vào sổ đến số 6079",
    ))


def assert_ok(reply: Reply) -> dict:
    body = reply.json
    assert (body["status"], body["ErrorCode"], body["ErrorDesc"]) == ("OK", "0", "Success"), body
    return body


def assert_fail(reply: Reply, code: str, **extra: object) -> dict:
    body = reply.json
    assert body["status"] == "FAIL" and body["ErrorCode"] == code, body
    assert isinstance(body["ErrorDesc"], str) and body["ErrorDesc"]
    for name, value in extra.items():
        assert body[name] == value, (name, body)
    assert reply.body.isascii() and b"null" not in reply.body
    return body


# -- the exchange through the SDK protocol ------------------------------------------------------


def test_send_list_get_done_then_inbox_empty(server: Server) -> None:
    province, commune = server.client(PROVINCE), server.client(COMMUNE)
    package = notice_package()

    sent = assert_ok(province.send_edoc(package, from_="000.00.00.H48"))
    assert isinstance(sent["DocId"], str) and sent["DocId"]

    inbox = assert_ok(commune.get_received_edoc_list())["data"]
    assert len(inbox) == 1
    item = inbox[0]
    assert set(item) == {"docId", "from", "to", "serviceType", "messageType", "status", "status_desc",
                         "created_time", "updated_time"}
    assert (item["from"], item["to"], item["messageType"], item["serviceType"]) == (
        "000.00.00.H48", "000.00.53.H48", "edoc", "eDoc")
    assert all(isinstance(value, str) for value in item.values())
    dt.datetime.strptime(item["created_time"], "%Y-%m-%d %H:%M:%S")
    assert assert_ok(commune.count_receive_edoc())["count"] == 1

    fetched = commune.get_edoc(item["docId"])
    assert_ok(fetched)
    assert decode_package(fetched) == package
    raw = commune.download_edoc(item["docId"])
    assert raw.status == 200 and raw.body == package

    assert_ok(commune.update_status(item["docId"], "done"))
    assert assert_ok(commune.get_received_edoc_list())["data"] == []
    assert assert_ok(commune.count_receive_edoc())["count"] == 0

    delivery = assert_ok(province.get_sent_edoc_list(sent["DocId"]))["data"]
    assert [(d["senderDocId"], d["receiverDocId"], d["toCode"], d["receiveStatus"]) for d in delivery] == [
        (sent["DocId"], item["docId"], "000.00.53.H48", "done")]
    assert delivery[0]["notation"] == "185/TB-UBND"


def test_status_package_flows_back_to_the_sender(werkzeug_server: Server) -> None:
    province, commune = werkzeug_server.client(PROVINCE), werkzeug_server.client(COMMUNE)
    assert_ok(province.send_edoc(notice_package(), from_="000.00.00.H48"))
    status = status_package("03")

    assert_ok(commune.send_edoc(status, from_=COMMUNE.system_id, messagetype="status"))

    assert assert_ok(province.get_received_edoc_list("edoc"))["data"] == []
    assert assert_ok(province.count_receive_status())["count"] == 1
    [item] = assert_ok(province.get_received_edoc_list("status"))["data"]
    assert (item["messageType"], item["from"], item["to"]) == ("status", "000.00.53.H48", "000.00.00.H48")
    assert decode_package(province.get_edoc(item["docId"])) == status
    assert_ok(province.update_status(item["docId"], "done"))
    assert assert_ok(province.get_received_edoc_list("status"))["data"] == []


def test_wrong_secret_gets_the_sdk_error_shape_on_every_path(server: Server) -> None:
    intruder = VxpClient(server.endpoint(), PROVINCE.system_id, "not-the-secret")
    stranger = VxpClient(server.endpoint(), "vxp.unknown.99", "whatever")

    sent = intruder.send_edoc(notice_package(), from_="000.00.00.H48")
    assert sent.status == 401
    assert_fail(sent, "401", DocId="")
    assert_fail(intruder.get_received_edoc_list(), "401", data=[])
    assert_fail(intruder.get_edoc("x"), "401", data="")
    assert_fail(intruder.count_receive_edoc(), "401", count=0)
    assert_fail(intruder.update_status("x", "done"), "401")
    assert_fail(stranger.get_agencies_list(), "401", data=[])
    download = intruder.download_edoc("x")
    assert download.status == 401 and download.body == b""
    # Same public text whether the system is unknown or the secret wrong.
    assert stranger.get_agencies_list().json["ErrorDesc"] == intruder.get_agencies_list().json["ErrorDesc"]
    # Nothing was delivered.
    assert assert_ok(server.client(COMMUNE).get_received_edoc_list())["data"] == []


def test_replayed_send_and_acknowledgement_are_deduplicated(werkzeug_server: Server) -> None:
    province, commune = werkzeug_server.client(PROVINCE), werkzeug_server.client(COMMUNE)
    package = notice_package()
    first = assert_ok(province.send_edoc(package, from_="000.00.00.H48"))
    # The same service object resends (SDK retry after an I/O error): identical signed headers.
    again = assert_ok(province.send_edoc(package, from_="000.00.00.H48"))
    # A byte-identical replay by someone who captured the request (no nonce: accepted, deduplicated).
    captured: list[list[tuple[str, str]]] = []

    def capture(headers):  # type: ignore[no-untyped-def]
        captured.append(headers)
        return headers

    recorder = werkzeug_server.client(PROVINCE, created=province.created, tamper=capture)
    replay = assert_ok(recorder.send_edoc(package, from_="000.00.00.H48"))
    assert first["DocId"] == again["DocId"] == replay["DocId"]
    assert backend_of(werkzeug_server).submit_calls == 3

    [item] = assert_ok(commune.get_received_edoc_list())["data"]
    assert_ok(commune.update_status(item["docId"], "done"))
    assert_ok(commune.update_status(item["docId"], "done"))
    assert_ok(commune.update_status(item["docId"], "fail"))  # a late repeat changes nothing
    [delivery] = assert_ok(province.get_sent_edoc_list(first["DocId"]))["data"]
    assert delivery["receiveStatus"] == "done"


def test_piled_up_parameters_of_one_service_object_are_ignored(server: Server) -> None:
    """One object for everything, like the official sample: every call carries the earlier ones."""
    province = server.client(PROVINCE)
    agent = server.client(COMMUNE)
    assert_ok(province.send_edoc(notice_package("185"), from_="000.00.00.H48"))
    assert_ok(province.send_edoc(notice_package("186"), from_="000.00.00.H48"))

    # sendEdoc first: the list call then also carries hash-file, from, to, messagetype=status.
    assert_ok(agent.send_edoc(status_package(), from_=COMMUNE.system_id, messagetype="status",
                              to=["000.00.00.H48"]))
    inbox = assert_ok(agent.get_received_edoc_list("edoc"))["data"]
    assert {"hash-file", "from", "to"} <= set(dict(agent.params.items()))
    assert len(inbox) == 2
    for item in inbox:
        # getEdoc after updateStatus carries status; updateStatus after getEdoc carries filePath,
        # and the sample spells the id docId in one call and docid in the other.
        assert_ok(agent.get_edoc(item["docId"], spelling="docId"))
        assert_ok(agent.update_status(item["docId"], "done", spelling="docid"))
    assert {"status", "filePath", "docId", "docid"} <= set(dict(agent.params.items()))
    assert assert_ok(agent.get_received_edoc_list())["data"] == []
    assert len(agent.params.items()) > 10


def test_exact_docId_spelling_wins_over_another_spelling(werkzeug_server: Server) -> None:
    """VXP-PROTOCOL.md §1: look names up case-blind, prefer ``docId`` (the other may be stale)."""
    province, commune = werkzeug_server.client(PROVINCE), werkzeug_server.client(COMMUNE)
    assert_ok(province.send_edoc(notice_package("185"), from_="000.00.00.H48"))
    first_id = assert_ok(commune.get_received_edoc_list())["data"][0]["docId"]
    # Only docid ever sent: found case-blind.
    only_lower = werkzeug_server.client(COMMUNE)
    assert decode_package(only_lower.get_edoc(first_id, spelling="docid")) == notice_package("185")
    # docId piled up from an earlier call, docid fresh: docId is used (the documented choice).
    assert_ok(province.send_edoc(notice_package("186"), from_="000.00.00.H48"))
    second_id = next(i["docId"] for i in assert_ok(commune.get_received_edoc_list())["data"]
                     if i["docId"] != first_id)
    assert_ok(commune.get_edoc(first_id, spelling="docId"))
    assert decode_package(commune.get_edoc(second_id, spelling="docid")) == notice_package("185")


def test_large_package_with_its_hash_file(server: Server) -> None:
    province, commune = server.client(PROVINCE, timeout=120), server.client(COMMUNE, timeout=120)
    attachment = hashlib.sha256(b"seed").digest() * (24 * 1024 * 1024 // 32)  # 24 MiB, base64 → 32 MiB
    package = notice_package("187", attachment)
    assert len(package) > 30 * 1024 * 1024

    assert_ok(province.send_edoc(package, from_="000.00.00.H48"))
    [item] = assert_ok(commune.get_received_edoc_list())["data"]
    assert decode_package(commune.get_edoc(item["docId"])) == package
    assert commune.download_edoc(item["docId"]).body == package

    # The honest package's signed headers over a body changed by one bit: refused.
    forged = bytearray(package)
    forged[len(forged) // 2] ^= 1
    province.params.put("hash-file", unpadded_hex(hashlib.sha256(package).digest()))
    headers = province.request_headers(
        {"from": "000.00.00.H48", "servicetype": "eDoc", "messagetype": "edoc"}, "application/octet-stream")
    reply = send_raw("127.0.0.1", server.port, "POST", f"{PREFIX}/sendEdoc",
                     headers + [("Content-Length", str(len(forged) + 2)), ("Host", "127.0.0.1")],
                     bytes(forged) + b"\r\n", expect=False, timeout=120)
    assert reply.status == 400
    assert_fail(reply, "400", DocId="")
    assert "hash-file" in reply.json["ErrorDesc"]


def test_expect_100_continue_is_answered_at_once(server: Server) -> None:
    commune = server.client(COMMUNE)
    reply = commune.count_receive_edoc()  # a {} body: the SDK sends Expect and waits up to 3 s
    assert_ok(reply)
    assert reply.continue_wait is not None and reply.continue_wait < 1.0, reply.continue_wait
    assert reply.elapsed < 1.5

    # The same by hand on a raw socket: headers, then time the interim response.
    headers = commune.request_headers({}, "application/json")
    lines = [f"POST {PREFIX}/countReceiveEdoc HTTP/1.1", "Host: 127.0.0.1", "Content-Length: 2",
             "Expect: 100-continue", "Connection: close"] + [f"{k}: {v}" for k, v in headers]
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        started = time.monotonic()
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("utf-8"))
        interim = sock.recv(64)
        waited = time.monotonic() - started
        assert interim.startswith(b"HTTP/1.1 100 Continue"), interim
        assert waited < 1.0, waited
        sock.sendall(b"{}")
        response = b""
        while chunk := sock.recv(65536):
            response += chunk
    response = interim + response
    while response.startswith(b"HTTP/1.1 100"):  # interim replies, possibly split across reads
        response = response.split(b"\r\n\r\n", 1)[1]
    assert b" 200 " in response.split(b"\r\n", 1)[0], response[:200]
    assert json.loads(response.split(b"\r\n\r\n", 1)[1])["count"] == 0


def test_base_url_ending_in_slash_and_long_headers(server: Server) -> None:
    """``https://host/vxp/`` makes ``/vxp//op``; a long ``to`` goes past 8 KiB in one header line."""
    province = VxpClient(server.endpoint() + "/", PROVINCE.system_id, PROVINCE.secret)
    recipients = ["000.00.53.H48"] + [f"{i:03d}.00.00.H48" for i in range(1, 700)]
    reply = province.send_edoc(notice_package(), from_="000.00.00.H48", to=recipients)
    assert reply.status == 200 and reply.json["DocId"]
    assert len(dict(province.params.items())["to"]) > 8 * 1024
    assert len(assert_ok(server.client(COMMUNE).get_received_edoc_list())["data"]) == 1


def test_non_ascii_values_verify_as_utf8_and_truncation_is_explained(server: Server) -> None:
    good = server.client(COMMUNE)
    assert_ok(good.get_received_edoc_list(description="Văn thư xã Tịnh Ấn"))

    # The SDK with an explicit port cuts each character to one byte: "Hà Nội, Tịnh Ấn" keeps
    # bytes above 0x7F, the HMAC fails, and the reply says why.
    mangled = server.client(COMMUNE, header_bytes="truncate")
    body = assert_fail(mangled.get_received_edoc_list(description="Hà Nội, Tịnh Ấn"), "401", data=[])
    assert "0x7F" in body["ErrorDesc"]


def test_truncated_characters_that_become_controls_never_reach_the_app(gunicorn_server: Server) -> None:
    """"ă" (U+0103) cut to one byte is 0x03: gunicorn refuses the header with its own HTML 400.

    A known limit, documented in the README: the SDK then reports an unreadable reply.
    """
    mangled = gunicorn_server.client(COMMUNE, header_bytes="truncate")
    reply = mangled.get_received_edoc_list(description="Văn thư")
    assert reply.status == 400 and not reply.body.startswith(b"{")


def test_errors_of_each_kind_keep_the_envelope(werkzeug_server: Server) -> None:
    commune = werkzeug_server.client(COMMUNE)
    assert_fail(commune.get_edoc("6f1c2b9e-0000-0000-0000-000000000000"), "404", data="")
    missing = commune.download_edoc("6f1c2b9e-0000-0000-0000-000000000000")
    assert missing.status == 404 and missing.body == b""
    assert_fail(commune.update_status("6f1c2b9e-0000-0000-0000-000000000000", "done"), "404")
    assert_fail(commune.update_status("x", "archived"), "400")
    assert_fail(commune.get_received_edoc_list("invoice"), "400", data=[])
    # Sending for another organisation than the system's.
    assert_fail(commune.send_edoc(notice_package(), from_="000.00.53.H48"), "403", DocId="")
    # Not an edXML package at all.
    assert_fail(commune.send_edoc(b"<html>nope</html>", from_="000.00.53.H48"), "400", DocId="")
    # Wrong method and unknown operation.
    assert_fail(commune.call("getEdoc", {"docId": "x"}, method="GET"), "405", data="")
    assert_fail(commune.call("sendedoc", {}), "404")


def test_directory_calls_and_agency_registration(werkzeug_server: Server) -> None:
    commune = werkzeug_server.client(COMMUNE)
    agencies = assert_ok(commune.get_agencies_list())["data"]
    assert agencies[0] == {"id": "1", "pid": "", "code": "000.00.00.H48", "name": "UBND tỉnh Quảng Ngãi",
                           "mail": "ubnd@quangngai.gov.vn", "oldCode": "H48"}
    qd20 = assert_ok(commune.get_agencies_list_qd20("1"))["data"]
    assert set(qd20[0]) == {"id", "code", "name", "mail", "code102"}
    sync = assert_ok(commune.get_synchronize_unit())["data"]
    assert sync[1]["isAgency"] is True and sync[1]["deleted"] is False and sync[1]["version"] == 0

    body = '{"id":"","pcode":"000.00.00.H48","code":"000.00.54.H48","name":"UBND xã Tịnh Bắc","mail":""}'
    assert_fail(commune.register_agency(body), "403")
    assert_fail(commune.delete_agency("000.00.53.H48"), "403")
    admin = werkzeug_server.client(DIRECTORY_ADMIN)
    assert_ok(admin.register_agency(body))
    assert_fail(admin.register_agency('{"id":"",pcode:"x"'), "400")  # the sample's own malformed literal
    assert "000.00.54.H48" in {a["code"] for a in assert_ok(commune.get_agencies_list())["data"]}
    assert_ok(admin.delete_agency("000.00.54.H48"))
    assert "000.00.54.H48" not in {a["code"] for a in assert_ok(commune.get_agencies_list())["data"]}


if __name__ == "__main__":
    from gunicorn.app.base import BaseApplication

    class _Serve(BaseApplication):
        def load_config(self) -> None:
            options = {"bind": f"127.0.0.1:{sys.argv[1]}", "workers": 1, "threads": 4,
                       "worker_class": "gthread", "timeout": 120, **GUNICORN_OPTIONS}
            for key, value in options.items():
                self.cfg.set(key, value)

        def load(self) -> Flask:
            return make_app()

    _Serve().run()
