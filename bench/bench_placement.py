"""Benchmark automatic placement: what reading the page adds to a signature, against signing
at an explicit box in the same run, on a 5-page text notice (signer block on the last page);
the preview (boxes and PNG); and OCR placement on a scanned page. Prints figures; asserts
nothing.

Run: .venv/bin/python bench/bench_placement.py [--runs N] [--ocr-runs N]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from io import BytesIO
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from docsvc.pdf import repair_pdf  # noqa: E402
from docsvc.pki import demo  # noqa: E402
from docsvc.signing import Placement, load_pkcs12_signer, sign_pdf  # noqa: E402
from docsvc.signing.placement import find_signer_block, person_box  # noqa: E402
from docsvc.signing.preview import preview_placement  # noqa: E402
from docsvc.signing.words import Document, ScanLimits  # noqa: E402
from tests.support.notices import Notice, build, scan_of  # noqa: E402

NAME = "Nguyễn Quốc Việt"


def _times_ms(fn, runs: int) -> list[float]:
    fn()  # warm-up: imports, font and picture caches
    out = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        out.append((time.perf_counter() - started) * 1000)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--ocr-runs", type=int, default=2)
    args = parser.parse_args()

    pki = demo.generate(Path(tempfile.mkdtemp()), base_url="http://127.0.0.1:9/")
    cred = pki["person-rsa"]
    signer = load_pkcs12_signer(cred.p12_path, passphrase_file=cred.passphrase_path)
    pdf = build(Notice("bench", body_paragraphs=26, block_alone=True))
    with Document(pdf, ScanLimits(ocr=False)) as doc:
        pages = doc.page_count
        block = find_signer_block(doc, NAME)
        box = person_box(block, 600 / 260)
    last = block.page.index + 1
    limits = ScanLimits(ocr=False)

    # interleave the two kinds so that load on the machine hits both alike
    explicit, automatic = [], []
    sign_pdf(pdf, signer=signer, role="person", placement=Placement(page=last, box=box))
    sign_pdf(pdf, signer=signer, role="person", limits=limits)
    for _ in range(args.runs):
        for kind, target in ((explicit, Placement(page=last, box=box)), (automatic, None)):
            started = time.perf_counter()
            sign_pdf(pdf, signer=signer, role="person", placement=target, limits=limits)
            kind.append((time.perf_counter() - started) * 1000)
    base, auto = statistics.median(explicit), statistics.median(automatic)
    paired = statistics.median(a - e for a, e in zip(automatic, explicit, strict=True))

    def place() -> None:
        with Document(pdf, limits) as doc:
            person_box(find_signer_block(doc, NAME), 600 / 260)

    placing = statistics.median(_times_ms(place, args.runs))
    preview = statistics.median(_times_ms(
        lambda: preview_placement(pdf, role="person", signer_name=NAME, limits=limits),
        args.runs))
    print(f"text notice: {pages} pages, signer block on page {last}; median of {args.runs}")
    print(f"  sign at an explicit box     {base:8.1f} ms   (baseline)")
    print(f"  sign with placement         {auto:8.1f} ms   overhead {auto - base:+6.1f} ms "
          f"({auto / base:.2f}x); median of paired differences {paired:+.1f} ms")
    print(f"  placement alone             {placing:8.1f} ms")
    print(f"  preview (boxes + PNG)       {preview:8.1f} ms   ({preview / base:.2f}x a signature)")

    scan = repair_pdf(BytesIO(scan_of(build(Notice("bench-scan"))))).read()
    ocr_limits = ScanLimits(seconds=60)

    def ocr_place() -> None:
        with Document(scan, ocr_limits) as doc:
            person_box(find_signer_block(doc, NAME), 600 / 260)

    ocr = _times_ms(ocr_place, args.ocr_runs)
    print(f"scanned page (150 dpi image, OCR at 200 dpi, tesseract vie, 1 thread): "
          f"{statistics.median(ocr):.0f} ms per page ({statistics.median(ocr) / base:.0f}x a "
          "signature at a box)")


if __name__ == "__main__":
    main()
