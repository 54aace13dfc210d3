"""Benchmark signing latency: (a) bare pyHanko with defaults, (b) bare pyHanko tuned (key loaded
once, fixed bytes_reserved) and (c) docsvc's sign_pdf, for a 1-page notice and a ~20 MB PDF,
at B-B and B-T (loopback TSA). Prints figures; asserts nothing about timings.

Run: .venv/bin/python bench/bench_signing.py [--runs N] [--big-mb 20]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from io import BytesIO
from pathlib import Path

from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import fields, signers

from docsvc.pki import demo
from docsvc.pki.responders import LoopbackServer
from docsvc.signing import Placement, load_pkcs12_signer, make_timestamper, sign_pdf
from docsvc.signing.appearance import person_style
from docsvc.signing.sample import notice_pdf

BOX = (335.0, 395.0, 485.0, 460.0)


def _median_ms(fn, runs: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def _bare(pdf: bytes, signer, timestamper, bytes_reserved):
    meta = signers.PdfSignatureMetadata(field_name="Sig_person_1",
                                        subfilter=fields.SigSeedSubFilter.PADES)
    pdf_signer = signers.PdfSigner(
        meta, signer, timestamper=timestamper, stamp_style=person_style(),
        new_field_spec=fields.SigFieldSpec("Sig_person_1", on_page=0, box=BOX),
    )
    out = pdf_signer.sign_pdf(IncrementalPdfFileWriter(BytesIO(pdf)),
                              bytes_reserved=bytes_reserved)
    return out.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=25, help="runs per 1-page case")
    parser.add_argument("--big-runs", type=int, default=7, help="runs per big-PDF case")
    parser.add_argument("--big-mb", type=int, default=20)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp, LoopbackServer() as server:
        pki = demo.generate(Path(tmp), base_url=server.base_url)
        server.app.use(pki)
        cred = pki["person-rsa"]
        default_signer = signers.SimpleSigner.load_pkcs12(
            str(cred.p12_path), passphrase=cred.passphrase(),
        )
        tuned_signer = load_pkcs12_signer(cred.p12_path, passphrase_file=cred.passphrase_path)
        tsa = make_timestamper(pki.tsa_url)
        docs = {
            "1-page notice": (notice_pdf(), args.runs),
            f"{args.big_mb} MB PDF": (notice_pdf(filler=os.urandom(args.big_mb * 2**20)),
                                      args.big_runs),
        }
        placement = Placement(page=1, box=BOX)
        print(f"{'document':<16}{'level':<6}{'(a) default':>13}{'(b) tuned':>11}"
              f"{'(c) docsvc':>12}{'(c)/(b)':>9}{'(a)/(c)':>9}")
        for label, (pdf, runs) in docs.items():
            for level in ("B-B", "B-T"):
                ts = tsa if level == "B-T" else None
                reserved = 16384 if level == "B-B" else 32768
                a = _median_ms(lambda pdf=pdf, ts=ts: _bare(pdf, default_signer, ts, None), runs)
                b = _median_ms(
                    lambda pdf=pdf, ts=ts, r=reserved: _bare(pdf, tuned_signer, ts, r), runs)
                c = _median_ms(lambda pdf=pdf, ts=ts, level=level: sign_pdf(
                    pdf, signer=tuned_signer, role="person", level=level, timestamper=ts,
                    placement=placement), runs)
                print(f"{label:<16}{level:<6}{a:>11.1f}ms{b:>9.1f}ms{c:>10.1f}ms"
                      f"{c / b:>9.2f}{a / c:>9.2f}")
        notice = docs["1-page notice"][0]
        search = _median_ms(lambda: sign_pdf(notice, signer=tuned_signer, role="person"),
                            args.runs)
        print(f"(c) 1-page B-B with the signer's name searched by pdftotext: {search:.1f} ms")
        for workers in (1, 2, 4):
            count = 40
            start = time.perf_counter()
            with ThreadPoolExecutor(workers) as pool:
                list(pool.map(lambda _: sign_pdf(notice, signer=tuned_signer, role="person",
                                                 placement=placement), range(count)))
            rate = count / (time.perf_counter() - start)
            print(f"(c) 1-page B-B, {workers} concurrent clients (threads): {rate:.1f} sig/s")
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"peak RSS of this process: {peak:.0f} MiB")


if __name__ == "__main__":
    main()
