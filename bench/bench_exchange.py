"""Exchange throughput and memory: packages built + validated (+ signed) per second and parsed
(+ verified) per second for a 1-page notice; peak memory of receiving a package with a large
attachment through POST /api/v1/exchange/messages (SQLite, local blob store).

Usage: python bench/bench_exchange.py [--seconds 3] [--mb 100]
The memory figure runs in a fresh process: growth = VmHWM after the request - VmRSS before.
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CHUNK = 3 * 1024 * 1024  # multiple of 3: base64 of each chunk concatenates cleanly
SENDER, RECEIVER = "000.01.01.H48", "000.00.00.H48"
PLACEHOLDER = b"PLACEHOLDER!"  # 12 bytes: base64 without padding


def _package(pdf: bytes, sender: str = "000.00.00.H48", to: str = "000.01.01.H48"):  # type: ignore[no-untyped-def]
    from docsvc.exchange import (
        VN_TZ,
        Attachment,
        Code,
        DocumentHeader,
        DocumentPackage,
        DocumentType,
        Organization,
        PromulgationInfo,
        TraceHeader,
        make_document_id,
    )

    today = dt.date(2025, 3, 1)
    return DocumentPackage(
        header=DocumentHeader(
            sender=Organization(sender, organ_name="UBND tỉnh Quảng Ngãi", organ_add="Quảng Ngãi"),
            recipients=(Organization(to, organ_name="UBND xã Tịnh Ấn", organ_add="Tịnh Ấn"),),
            code=Code("185", "TB-UBND"), promulgation_info=PromulgationInfo("Quảng Ngãi", today),
            document_type=DocumentType(type=7, type_detail=0, type_name="Thông báo"),
            subject="Kết luận của Chủ tịch UBND tỉnh về cải cách hành chính",
            document_id=make_document_id(sender, today, "185", "TB-UBND")),
        trace_headers=(TraceHeader(sender, dt.datetime(2025, 3, 1, 9, 0, tzinfo=VN_TZ)),),
        attachments=(Attachment("1", "185-TB-UBND.pdf", content_type="application/pdf", data=pdf),))


def _rate(seconds: float, fn) -> tuple[float, int]:  # type: ignore[no-untyped-def]
    count, start = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds:
        fn()
        count += 1
    return count / elapsed, count


def throughput(seconds: float) -> None:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    from docsvc.exchange import (
        build_document_package,
        load_schemas,
        parse_package,
        sign_package,
        validate_package,
        verify_package,
    )
    from docsvc.samples import notice_pdf

    key = rsa.generate_private_key(65537, 2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "UBND tỉnh Quảng Ngãi")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(1).not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=30)).sign(key, hashes.SHA256()))
    schemas = load_schemas()
    package = _package(notice_pdf())
    unsigned = build_document_package(package)
    signed = sign_package(unsigned, key, [cert])
    print(f"1-page notice package: {len(unsigned)} bytes ({len(signed)} signed)")

    def build_validate() -> None:
        validate_package(build_document_package(package), schemas)

    def build_validate_sign() -> None:
        data = build_document_package(package)
        validate_package(data, schemas)
        sign_package(data, key, [cert])

    def parse_verify() -> None:
        parse_package(signed)
        assert verify_package(signed, expected_cert=cert).is_valid

    for label, fn in (("built + validated", build_validate),
                      ("built + validated + signed (RSA-2048)", build_validate_sign),
                      ("parsed", lambda: parse_package(unsigned)),
                      ("parsed + verified (RSA-2048)", parse_verify)):
        rate, count = _rate(seconds, fn)
        print(f"{label:40s} {rate:8.1f} /s  ({count} in {seconds:.0f} s)")


def _write_big_package(path: Path, size: int) -> None:
    from docsvc.exchange import build_document_package

    template = build_document_package(_package(PLACEHOLDER, sender=SENDER, to=RECEIVER))
    head, tail = template.split(base64.b64encode(PLACEHOLDER))
    with path.open("wb") as out:
        out.write(head)
        left = size
        while left:
            block = os.urandom(min(CHUNK, left))
            out.write(base64.b64encode(block))
            left -= len(block)
        out.write(tail)


def _kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def receive_child(package: Path, data_dir: Path) -> None:
    """Run in a fresh process: the real app receives the package from a linked system."""
    from docsvc.app import build_runtime, create_app
    from docsvc.config import Settings
    from docsvc.db import upgrade
    from docsvc.security import OPERATOR
    from docsvc.services.directory import seed_demo
    from docsvc.services.identity import add_system

    settings = Settings(env="test", data_dir=data_dir, max_upload_bytes=512 * 1024 * 1024,
                        log_level="WARNING")
    data_dir.mkdir(parents=True, exist_ok=True)
    runtime = build_runtime(settings)
    upgrade(runtime.engine)
    with runtime.sessions() as session:
        seed_demo(session, OPERATOR)
        _, token = add_system(session, OPERATOR, organ_id=SENDER, name="bench")
    app = create_app(runtime=runtime)
    client = app.test_client()
    client.post("/api/v1/exchange/messages", data=b"warm-up",
                headers={"Authorization": f"Bearer {token}"})
    before = _kb("VmRSS")
    started = time.perf_counter()
    with package.open("rb") as stream:
        response = client.post("/api/v1/exchange/messages", input_stream=stream,
                               content_length=package.stat().st_size,
                               headers={"Authorization": f"Bearer {token}",
                                        "Content-Type": "application/xml"})
    elapsed = time.perf_counter() - started
    peak = _kb("VmHWM")
    assert response.status_code == 201, response.get_data(as_text=True)[:500]
    print(f"{response.status_code} {elapsed:.1f} {before} {peak}")


def memory(mb: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        package = Path(tmp) / "big.edxml"
        _write_big_package(package, mb * 1024 * 1024)
        size = package.stat().st_size
        out = subprocess.run(
            [sys.executable, __file__, "--child", str(package), str(Path(tmp) / "var")],
            check=True, capture_output=True, text=True).stdout.split()
        status, elapsed, before, peak = out[0], float(out[1]), int(out[2]), int(out[3])
        growth_mb = (peak - before) / 1024
        print(f"received {mb} MB attachment ({size / 2**20:.0f} MB package) via the API: "
              f"HTTP {status} in {elapsed:.1f} s; RSS before {before / 1024:.0f} MB, "
              f"peak {peak / 1024:.0f} MB, growth {growth_mb:.0f} MB = "
              f"{growth_mb / mb:.2f}x the attachment")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--mb", type=int, default=100)
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        receive_child(Path(args.child[0]), Path(args.child[1]))
        return
    throughput(args.seconds)
    memory(args.mb)


if __name__ == "__main__":
    main()
