"""Benchmark signing latency: (a) bare pyHanko with defaults, (b) bare pyHanko tuned (key loaded
once, fixed bytes_reserved), (c0) docsvc's sign_pdf in-process and (c) docsvc through the HTTP
API (a real ``docsvc serve`` — gunicorn — on loopback, POST /documents/{id}/signatures), for a
1-page notice and a ~20 MB PDF, at B-B and B-T (loopback TSA). Also signatures per second with
concurrent HTTP clients and the peak memory of the server. Prints figures; asserts nothing.

Run: .venv/bin/python bench/bench_signing.py [--runs N] [--big-mb 20] [--workers 2]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from io import BytesIO
from pathlib import Path

import requests
from PIL import Image
from pyhanko.pdf_utils.images import PdfImage
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.layout import (
    AxisAlignment,
    BoxConstraints,
    InnerScaling,
    SimpleBoxLayoutRule,
)
from pyhanko.sign import fields, signers
from pyhanko.stamp import StaticStampStyle

from docsvc.pki import demo
from docsvc.pki.responders import LoopbackServer
from docsvc.signing import Placement, appearance, load_pkcs12_signer, make_timestamper, sign_pdf
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


def _store_ms(store, data: bytes, runs: int) -> float:
    """Median time to store ``data`` durably (hash check, write, fsync) as (c) does once."""
    import hashlib

    times = []
    for _ in range(runs):
        unique = data + os.urandom(16)  # a new key each time: nothing is deduplicated
        sha256 = hashlib.sha256(unique).hexdigest()
        start = time.perf_counter()
        store.put(BytesIO(unique), sha256=sha256, size=len(unique))
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def bare_person_style() -> StaticStampStyle:
    """The person's appearance as plain pyHanko builds it: the picture is a ``PdfImage``
    compressed again for every signature (docsvc's own style prepares it once)."""
    image = Image.open(BytesIO(appearance.DEMO_SIGNATURE_PICTURE.read_bytes()))
    image.load()
    return StaticStampStyle(
        border_width=0,
        background=PdfImage(image, box=BoxConstraints(*appearance.PERSON_BOX_SIZE)),
        background_opacity=1.0,
        background_layout=SimpleBoxLayoutRule(
            x_align=AxisAlignment.ALIGN_MID, y_align=AxisAlignment.ALIGN_MID,
            inner_content_scaling=InnerScaling.SHRINK_TO_FIT,
        ),
    )


def _bare(pdf: bytes, signer, timestamper, bytes_reserved):
    meta = signers.PdfSignatureMetadata(field_name="Sig_person_1",
                                        subfilter=fields.SigSeedSubFilter.PADES)
    pdf_signer = signers.PdfSigner(
        meta, signer, timestamper=timestamper, stamp_style=bare_person_style(),
        new_field_spec=fields.SigFieldSpec("Sig_person_1", on_page=0, box=BOX),
    )
    out = pdf_signer.sign_pdf(IncrementalPdfFileWriter(BytesIO(pdf)),
                              bytes_reserved=bytes_reserved)
    return out.getvalue()


class HttpDocsvc:
    """A real ``docsvc serve`` (gunicorn) on loopback over a fresh data folder."""

    def __init__(self, tmp: Path, server: LoopbackServer, *, workers: int, threads: int,
                 extra_env: dict[str, str] | None = None) -> None:
        from docsvc.app import build_runtime
        from docsvc.config import Settings
        from docsvc.db import upgrade
        from docsvc.security import OPERATOR
        from docsvc.services.identity import add_user, issue_token
        from docsvc.services.signers import SigningTools, add_signer_profile, demo_profile_specs

        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.env = {**os.environ, "DOCSVC_DATA_DIR": str(tmp / "var"),
                    "DOCSVC_ENV": "development", "DOCSVC_TSA_URL": server.base_url + "tsa",
                    "DOCSVC_LOG_LEVEL": "WARNING", **(extra_env or {})}
        settings = Settings.from_env(self.env)
        settings.data_dir.mkdir(parents=True)
        pki = self.pki = demo.generate(settings.pki_dir, base_url=server.base_url)
        server.app.use(pki)
        runtime = build_runtime(settings)
        upgrade(runtime.engine)
        runtime.blobs.prepare()  # as `docsvc init`: /health checks the sentinel
        with runtime.sessions() as session:
            for spec in demo_profile_specs(pki, person_user="viet"):
                add_signer_profile(session, SigningTools(settings), OPERATOR, spec)
            add_user(session, OPERATOR, username="viet", roles=["signer"],
                     organ_id=demo.AGENCY_ORGAN_ID)
            add_user(session, OPERATOR, username="vanthu", roles=["clerk"],
                     organ_id=demo.AGENCY_ORGAN_ID)
            self.signer_token, _ = issue_token(session, OPERATOR, username="viet")
            self.clerk_token, _ = issue_token(session, OPERATOR, username="vanthu")
        runtime.engine.dispose()
        self.base = f"http://127.0.0.1:{self.port}/api/v1"
        docsvc = Path(sys.executable).with_name("docsvc")
        self.process = subprocess.Popen(
            [str(docsvc), "serve", "--port", str(self.port), "--workers", str(workers),
             "--threads", str(threads)], env=self.env, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while True:
            try:
                if requests.get(self.base + "/health", timeout=5).ok:
                    break
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("docsvc serve did not start")
            time.sleep(0.1)

    def new_document(self, pdf: bytes, http: requests.Session) -> str:
        """Upload and register a notice; return its id."""
        meta = {"direction": "outgoing", "organ_id": demo.AGENCY_ORGAN_ID,
                "organ_name": demo.AGENCY_NAME, "type_name": "Thông báo",
                "code_notation": "TB-UBND", "subject": "Thông báo kết luận (benchmark)"}
        auth = {"Authorization": f"Bearer {self.clerk_token}"}
        made = http.post(self.base + "/documents", headers=auth,
                         files={"file": ("tb.pdf", pdf, "application/pdf")},
                         data={"metadata": json.dumps(meta)})
        made.raise_for_status()
        doc_id = made.json()["id"]
        http.post(f"{self.base}/documents/{doc_id}/register", headers=auth).raise_for_status()
        return doc_id

    def sign(self, doc_id: str, level: str, http: requests.Session) -> None:
        """Sign as the person with an explicit box (no text search), like (a) and (b)."""
        response = http.post(
            f"{self.base}/documents/{doc_id}/signatures",
            headers={"Authorization": f"Bearer {self.signer_token}"},
            json={"role": "person", "signer": "demo-person", "level": level,
                  "placement": {"page": 1, "box": list(BOX)}})
        if response.status_code != 201:
            raise RuntimeError(response.text)

    def peak_rss_mib(self) -> dict[str, float]:
        """Return VmHWM of the gunicorn master and each worker (Linux /proc)."""
        found = {}
        pids = [self.process.pid]
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    status = (entry / "status").read_text()
                except OSError:
                    continue
                if f"\nPPid:\t{self.process.pid}\n" in status:
                    pids.append(int(entry.name))
        for pid in pids:
            try:
                status = Path(f"/proc/{pid}/status").read_text()
            except OSError:
                continue
            for line in status.splitlines():
                if line.startswith("VmHWM:"):
                    found["master" if pid == self.process.pid else f"worker {pid}"] = \
                        int(line.split()[1]) / 1024
        return found

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)


def _median_http_ms(service: HttpDocsvc, pdf: bytes, level: str, runs: int) -> float:
    with requests.Session() as http:
        docs = [service.new_document(pdf, http) for _ in range(runs + 1)]
        service.sign(docs[0], level, http)  # warm-up (the worker opens the key here)
        times = []
        for doc_id in docs[1:]:
            start = time.perf_counter()
            service.sign(doc_id, level, http)
            times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def _http_rate(service: HttpDocsvc, pdf: bytes, clients: int, count: int) -> float:
    with requests.Session() as http:
        docs = [service.new_document(pdf, http) for _ in range(count)]
    sessions = [requests.Session() for _ in range(clients)]
    for index in range(clients):  # warm every worker's key cache and connection
        service.sign(service.new_document(pdf, sessions[index]), "B-B", sessions[index])
    start = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(lambda i: service.sign(docs[i], "B-B", sessions[i % clients]),
                      range(count)))
    rate = count / (time.perf_counter() - start)
    for http in sessions:
        http.close()
    return rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=25, help="runs per 1-page case")
    parser.add_argument("--big-runs", type=int, default=7, help="runs per big-PDF case")
    parser.add_argument("--big-mb", type=int, default=20)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers of (c)")
    parser.add_argument("--threads", type=int, default=4, help="threads per worker of (c)")
    parser.add_argument("--rate-count", type=int, default=40,
                        help="signatures per concurrent-clients measurement")
    parser.add_argument("--quick", action="store_true",
                        help="only the rows of bench/run_all: B-B, no (a), 8 HTTP clients")
    args = parser.parse_args()
    levels = ("B-B",) if args.quick else ("B-B", "B-T")
    client_counts = (8,) if args.quick else (1, 2, 4, 8)

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
        service = HttpDocsvc(Path(tmp), server, workers=args.workers, threads=args.threads)
        try:
            print(f"{'document':<16}{'level':<6}{'(a) default':>13}{'(b) tuned':>11}"
                  f"{'(c0) in-proc':>14}{'(c) HTTP':>11}{'(c)/(b)':>9}{'(a)/(c)':>9}")
            for label, (pdf, runs) in docs.items():
                for level in levels:
                    ts = tsa if level == "B-T" else None
                    reserved = 16384 if level == "B-B" else 32768
                    a = float("nan") if args.quick else _median_ms(
                        lambda pdf=pdf, ts=ts: _bare(pdf, default_signer, ts, None), runs)
                    b = _median_ms(
                        lambda pdf=pdf, ts=ts, r=reserved: _bare(pdf, tuned_signer, ts, r), runs)
                    c0 = _median_ms(lambda pdf=pdf, ts=ts, level=level: sign_pdf(
                        pdf, signer=tuned_signer, role="person", level=level, timestamper=ts,
                        placement=placement), runs)
                    c = _median_http_ms(service, pdf, level, runs)
                    print(f"{label:<16}{level:<6}{a:>11.1f}ms{b:>9.1f}ms{c0:>12.1f}ms"
                          f"{c:>9.1f}ms{c / b:>9.2f}{a / c:>9.2f}")
            from docsvc.storage import LocalBlobStore

            store = LocalBlobStore(Path(tmp) / "bench-blobs")
            for label, (pdf, runs) in docs.items():
                print(f"storing a signed {label} durably (what (c) adds to (b): hash check, "
                      f"write, fsync): {_store_ms(store, pdf, runs):.1f} ms")
            notice = docs["1-page notice"][0]
            if not args.quick:
                search = _median_ms(
                    lambda: sign_pdf(notice, signer=tuned_signer, role="person"), args.runs)
                print(f"(c0) 1-page B-B with the signer's name searched by pdftotext: "
                      f"{search:.1f} ms")
            for workers in () if args.quick else (1, 2, 4):
                count = 40
                start = time.perf_counter()
                with ThreadPoolExecutor(workers) as pool:
                    list(pool.map(lambda _: sign_pdf(notice, signer=tuned_signer, role="person",
                                                     placement=placement), range(count)))
                rate = count / (time.perf_counter() - start)
                print(f"(c0) 1-page B-B, {workers} concurrent threads in-process: "
                      f"{rate:.1f} sig/s")
            for clients in client_counts:
                rate = _http_rate(service, notice, clients, args.rate_count)
                print(f"(c) 1-page B-B over HTTP, {clients} concurrent clients "
                      f"({args.workers} workers x {args.threads} threads): {rate:.1f} sig/s")
            for name, mib in service.peak_rss_mib().items():
                print(f"(c) peak RSS of the server's {name}: {mib:.0f} MiB")
        finally:
            service.stop()
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"peak RSS of the benchmark process ((a), (b), (c0)): {peak:.0f} MiB")
        print(f"CPUs: {os.cpu_count()}")


if __name__ == "__main__":
    main()
