"""The axis client writes every call exactly as the Java SDK does (VXP-PROTOCOL.md §2)."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from pathlib import Path

import pytest

from docsvc.axis import AxisClient, build_request, send_edoc_request, unpadded_hex
from docsvc.axis.client import Reply
from docsvc.axis.wire import hashmap_order
from docsvc.vxp.auth import verify_request
from docsvc.vxp.backend import VxpSystem
from tests.vxp_client import VxpClient, sdk_timestamp

PROTOCOL = Path("/work/shared/VXP-PROTOCOL.md")


def worked_example() -> bytes:
    """Return the request of §2.2 as printed (CRLF line ends, the body after a blank line)."""
    text = PROTOCOL.read_text(encoding="utf-8")
    block = re.search(r"### 2\.2 Worked example.*?```\n(.*?)```", text, re.S).group(1)
    head, _, body = block.partition("\n\n")
    return head.replace("\n", "\r\n").encode() + b"\r\n\r\n" + body.rstrip("\n").encode()


EXAMPLE_BYTES = (
    b"POST /updateStatus HTTP/1.1\r\n"
    b"XroadVnpt-systemid: vxp.test.01\r\n"
    b"XroadVnpt-docId: 6f1c2b9e-3d4a-4e5b-8c7d-0a1b2c3d4e5f\r\n"
    b"XroadVnpt-timestamp: 05032025T101500+0042\r\n"
    b"Content-Type: application/json\r\n"
    b"XroadVnpt-Content-Type: application/json\r\n"
    b"XroadVnpt-status: done\r\n"
    b"XroadVnpt-sign-header-key: systemid;docId;timestamp;Content-Type;status\r\n"
    b'XroadVnpt-sign-header: {"XroadVnpt-systemid":"vxp.test.01","XroadVnpt-docId":'
    b'"6f1c2b9e-3d4a-4e5b-8c7d-0a1b2c3d4e5f","XroadVnpt-timestamp":"05032025T101500+0042",'
    b'"XroadVnpt-Content-Type":"application/json","XroadVnpt-status":"done"}\r\n'
    b"XroadVnpt-hash-header: 84e00419d17866912215495cfc5866e9f3337394fa6f777c88a392ba504d0ff3\r\n"
    b"User-Agent: JAVASDKAgent/1.0.0 XRoad/VPCP\r\n"
    b"XroadVnpt-version: 3.0.201608\r\n"
    b"Content-Length: 2\r\n"
    b"Host: axis.example\r\n"
    b"Connection: Keep-Alive\r\n"
    b"Expect: 100-continue\r\n"
    b"Accept-Encoding: gzip,deflate\r\n"
    b"\r\n"
    b"{}"
)


def test_worked_example_is_byte_for_byte_what_the_sdk_sends():
    header = {"status": "done", "docId": "6f1c2b9e-3d4a-4e5b-8c7d-0a1b2c3d4e5f"}
    request = build_request("updateStatus", header,
                            system_id="vxp.test.01", secret="example-secret",
                            timestamp="05032025T101500+0042", host="axis.example", body=b"{}")
    assert request.to_bytes() == EXAMPLE_BYTES
    if PROTOCOL.exists():
        assert request.to_bytes() == worked_example()


def test_the_client_object_sends_the_worked_example_through_its_transport():
    sent: list[bytes] = []

    def record(endpoint, request, timeout, limit):  # type: ignore[no-untyped-def]
        sent.append(request.to_bytes())
        return Reply(200, {}, b'{"status":"OK","ErrorCode":"0","ErrorDesc":"Success"}')

    client = AxisClient("https://axis.example", "vxp.test.01", "example-secret", transport=record,
                        created=dt.datetime(2025, 3, 5, 10, 15, 0, 42000))
    client.update_status("6f1c2b9e-3d4a-4e5b-8c7d-0a1b2c3d4e5f", "done")
    assert sent == [EXAMPLE_BYTES]
    assert "example-secret" not in repr(client)


def test_hash_file_is_the_sdks_unpadded_hex():
    assert unpadded_hex(bytes([0x0A, 0x0B, 0x00, 0xFF])) == "ab0ff"
    package = b"<edXML/>" * 7
    request = send_edoc_request(package, from_code="000.00.00.H48", message_type="edoc", to=None,
                                system_id="s", secret="k", timestamp="t", host="h")
    headers = dict(request.headers)
    assert headers["XroadVnpt-hash-file"] == unpadded_hex(hashlib.sha256(package).digest())
    assert request.body == package + b"\r\n"
    assert headers["Content-Type"] == "application/octet-stream"
    assert "Expect" not in headers


@pytest.mark.parametrize("to", [None, ["000.00.00.G22"], ["000.00.00.G22", "000.01.01.H48"]])
def test_send_edoc_matches_the_sdk_harness_header_for_header(to):
    """The reference harness (tests/vxp_client.py) builds the same headers in the same order."""
    created = dt.datetime(2025, 3, 5, 10, 15, 0, 42000)
    package = "<edXML>Thông báo \"trích yếu\" \\ tab\t</edXML>".encode()
    harness = VxpClient("http://axis.example/vxp", "vxp.test.01", "example-secret", created=created)
    header = {"from": "000.00.00.H48", "servicetype": "eDoc", "messagetype": "edoc"}
    if to is not None:
        header["to"] = to
    harness.params.put("hash-file", unpadded_hex(hashlib.sha256(package).digest()))
    expected = harness.request_headers(header, "application/octet-stream")
    ours = send_edoc_request(package, from_code="000.00.00.H48", message_type="edoc", to=to,
                             system_id="vxp.test.01", secret="example-secret",
                             timestamp=sdk_timestamp(created), host="axis.example", base_path="/vxp")
    assert list(ours.headers[:len(expected)]) == expected
    assert ours.path == "/vxp/sendEdoc"


def test_json_escaping_is_the_sdks_and_the_server_verifies_it():
    request = build_request("updateStatus", {"status": "fail", "docId": "x",
                                             "description": 'Sai "chữ ký" \\ <&=>\n'},
                            system_id="vxp.test.01", secret="bí mật", timestamp="05032025T101500+0042",
                            host="h", body=b"{}")
    headers = dict(request.headers)
    sign = headers["XroadVnpt-sign-header"]
    assert '\\"chữ ký\\" \\\\ <&=>\\n' in sign  # quotes, backslash and controls only
    wsgi = {k: v.encode("utf-8").decode("latin-1") for k, v in request.headers}
    verified = verify_request(wsgi, lambda sid: VxpSystem(system_id=sid, organ_id="x", secret="bí mật"))
    assert verified.params.get("description") == 'Sai "chữ ký" \\ <&=>\n'


def test_hashmap_order_grows_like_javas_table():
    names = [f"p{i}" for i in range(20)]
    ordered = [k for k, _ in hashmap_order((n, "v") for n in names)]
    harness = VxpClient("http://h", "s", "k")
    for n in names:
        harness.params.put(n, "v")
    expected = [k for k, _ in harness.params.items() if k in names]
    assert ordered == expected
