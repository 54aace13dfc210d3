"""The SDK-speaking harness puts on the wire exactly the request of VXP-PROTOCOL.md §2.2
(captured by a one-shot listener on loopback, so this is not a unit test)."""

from __future__ import annotations

import datetime as dt
import socket
import threading

from tests.vxp_client import VxpClient

EXAMPLE_SIGN_HEADER = (
    '{"XroadVnpt-systemid":"vxp.test.01","XroadVnpt-docId":"6f1c2b9e-3d4a-4e5b-8c7d-0a1b2c3d4e5f",'
    '"XroadVnpt-timestamp":"05032025T101500+0042","XroadVnpt-Content-Type":"application/json",'
    '"XroadVnpt-status":"done"}'
)
EXAMPLE_REQUEST = (
    "POST /updateStatus HTTP/1.1\r\n"
    "XroadVnpt-systemid: vxp.test.01\r\n"
    "XroadVnpt-docId: 6f1c2b9e-3d4a-4e5b-8c7d-0a1b2c3d4e5f\r\n"
    "XroadVnpt-timestamp: 05032025T101500+0042\r\n"
    "Content-Type: application/json\r\n"
    "XroadVnpt-Content-Type: application/json\r\n"
    "XroadVnpt-status: done\r\n"
    "XroadVnpt-sign-header-key: systemid;docId;timestamp;Content-Type;status\r\n"
    f"XroadVnpt-sign-header: {EXAMPLE_SIGN_HEADER}\r\n"
    "XroadVnpt-hash-header: 84e00419d17866912215495cfc5866e9f3337394fa6f777c88a392ba504d0ff3\r\n"
    "User-Agent: JAVASDKAgent/1.0.0 XRoad/VPCP\r\n"
    "XroadVnpt-version: 3.0.201608\r\n"
    "Content-Length: 2\r\n"
    "Host: axis.example\r\n"
    "Connection: Keep-Alive\r\n"
    "Expect: 100-continue\r\n"
    "Accept-Encoding: gzip,deflate\r\n"
    "\r\n"
    "{}"
).encode("ascii")
CREATED = dt.datetime(2025, 3, 5, 10, 15, 0, 42_000)


def _capture_one_request(sock: socket.socket, received: list[bytes]) -> None:
    conn, _ = sock.accept()
    with conn:
        data = b""
        while b"\r\n\r\n" not in data:
            data += conn.recv(65536)
        conn.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
        head, _, body = data.partition(b"\r\n\r\n")
        while len(body) < 2:
            body += conn.recv(65536)
        received.append(head + b"\r\n\r\n" + body)
        reply = b'{"status":"OK","ErrorCode":"0","ErrorDesc":"Success"}'
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
                     + str(len(reply)).encode() + b"\r\n\r\n" + reply)


def test_worked_example_of_section_2_2_byte_for_byte() -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    received: list[bytes] = []
    thread = threading.Thread(target=_capture_one_request, args=(listener, received))
    thread.start()
    try:
        client = VxpClient(f"http://127.0.0.1:{listener.getsockname()[1]}", "vxp.test.01", "example-secret",
                           created=CREATED, host_header="axis.example")
        reply = client.update_status("6f1c2b9e-3d4a-4e5b-8c7d-0a1b2c3d4e5f", "done")
    finally:
        thread.join(10)
        listener.close()
    assert received == [EXAMPLE_REQUEST]
    assert reply.json["status"] == "OK"
    assert reply.continue_wait is not None and reply.continue_wait < 1.0
