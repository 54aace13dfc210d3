"""Peak memory of parsing an edXML package with a large attachment, as a ratio to its size.

Usage: python bench/bench_edxml_parse.py [--mb 100] [--zip]
Each measurement runs in a fresh process (ru_maxrss is a high-water mark).
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import os
import resource
import subprocess
import sys
import tempfile
import time
import zipfile
from datetime import date, datetime
from pathlib import Path

CHUNK = 3 * 1024 * 1024  # multiple of 3: base64 of each chunk concatenates cleanly


def _write_package(path: Path, size: int, zipped: bool) -> str:
    """Write a package with one ``size``-byte attachment, streaming; return its SHA-256."""
    from docsvc.exchange import (
        Attachment,
        Code,
        DocumentHeader,
        DocumentPackage,
        DocumentType,
        Organization,
        PromulgationInfo,
        TraceHeader,
        build_document_package,
    )

    digest = hashlib.sha256()
    raw = path.with_suffix(".raw")
    with open(raw, "wb") as out:
        left = size
        while left:
            block = os.urandom(min(CHUNK, left))
            digest.update(block)
            out.write(block)
            left -= len(block)
    if zipped:
        archive = path.with_suffix(".zip")
        with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as z:
            z.write(raw, "big.pdf")
        raw.unlink()
        raw = archive
    header = DocumentHeader(
        sender=Organization("000.00.00.H48", organ_name="UBND tỉnh Quảng Ngãi", organ_add="QN"),
        recipients=(Organization("000.00.53.H48", organ_name="UBND xã", organ_add="QN"),),
        code=Code("1", "TB-UBND"),
        promulgation_info=PromulgationInfo("Quảng Ngãi", date(2025, 1, 2)),
        document_type=DocumentType(7, 0, "Thông báo"),
        subject="Bench",
        document_id="000.00.00.H48,2025/01/02,1/TB-UBND",
    )
    placeholder = b"UExBQ0VIT0xERVI="
    small = build_document_package(
        DocumentPackage(
            header=header,
            trace_headers=(TraceHeader("000.00.00.H48", datetime(2025, 1, 2, 8)),),
            attachments=(
                Attachment(
                    "big",
                    "big.pdf",
                    content_type="application/zip" if zipped else "application/pdf",
                    data=b"PLACEHOLDER",
                ),
            ),  # fmt: skip
        )
    )
    before, after = small.split(placeholder)
    with open(path, "wb") as out, open(raw, "rb") as source:
        out.write(before)
        while block := source.read(CHUNK):
            out.write(base64.b64encode(block))
        out.write(after)
    raw.unlink()
    return digest.hexdigest()


def _child(path: str, mode: str, folder: str) -> None:
    from docsvc.exchange import ParseLimits, parse_package

    baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    limits = ParseLimits(max_bytes=1 << 40, max_attachment_bytes=1 << 40)
    started = time.perf_counter()
    if mode == "bytes":
        data = Path(path).read_bytes()
        result = parse_package(data, limits=limits, attachment_dir=folder)
    else:
        with open(path, "rb") as stream:
            result = parse_package(stream, limits=limits, attachment_dir=folder)
    elapsed = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    attachment = result.package.attachments[0]
    print(f"{baseline} {peak} {attachment.size} {attachment.sha256} {elapsed:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mb", type=int, default=100)
    parser.add_argument("--zip", action="store_true")
    parser.add_argument("--child", nargs=3, metavar=("PATH", "MODE", "DIR"))
    args = parser.parse_args()
    if args.child:
        _child(*args.child)
        return
    size = args.mb * 1024 * 1024
    with tempfile.TemporaryDirectory() as tmp:
        package = Path(tmp) / "big.edxml"
        expected = _write_package(package, size, args.zip)
        print(f"package {package.stat().st_size / 2**20:.1f} MiB, attachment {args.mb} MiB"
              f"{' (zipped)' if args.zip else ''}")  # fmt: skip
        for mode in ("stream", "bytes"):
            out = Path(tmp) / mode
            out.mkdir()
            line = subprocess.run(
                [sys.executable, __file__, "--child", str(package), mode, str(out)],
                check=True, capture_output=True, text=True,
            ).stdout.split()  # fmt: skip
            baseline, peak, got, sha, seconds = (
                int(line[0]),
                int(line[1]),
                int(line[2]),
                line[3],
                line[4],
            )
            assert got == size and sha == expected, "attachment bytes differ"
            print(
                f"{mode:>6}: peak RSS {peak / 2**20:.1f} MiB"
                f" (after imports {baseline / 2**20:.1f}),"
                f" growth/attachment = {(peak - baseline) / size:.2f}x,"
                f" peak/attachment = {peak / size:.2f}x, {seconds} s"
            )


if __name__ == "__main__":
    main()
