"""Benchmark: verification through the HTTP API (``POST /api/v1/verify`` on the real gunicorn
server, the PDF sent as a multipart part and as a raw ``application/pdf`` body) against bare
pyHanko ``validate_pdf_signature`` in-process, on a 1-page and a ~20 MB signed PDF in the same
run, the three interleaved round by round; then ``docsvc audit-archive`` over 1,000 stored signed documents
(documents per second, peak memory of the command). Figures only, no asserts.

    .venv/bin/python bench/bench_verify_api.py [--big-mb 20] [--rounds 11] [--documents 1000]
"""

from __future__ import annotations

import argparse
import hashlib
import http.client
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pyhanko.pdf_utils.reader import PdfFileReader  # noqa: E402
from pyhanko.sign.validation import validate_pdf_signature  # noqa: E402
from pyhanko_certvalidator import ValidationContext  # noqa: E402

from tests.support.data import NOTICE_METADATA  # noqa: E402
from tests.support.net import free_port, wait_for_port  # noqa: E402
from tests.support.pdf import make_pdf
from tests.support.pki import build_pki  # noqa: E402

TOKEN = ""


def verify_over_http(port: int, pdf: bytes, *, raw: bool = False) -> float:
    """POST ``pdf`` to /api/v1/verify (multipart, or the raw body with ``raw``) and read the
    JSON report; return the seconds it took."""
    boundary = uuid.uuid4().hex
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; "
            f"filename=\"doc.pdf\"\r\nContent-Type: application/pdf\r\n\r\n").encode()
    tail = f"\r\n--{boundary}--\r\n".encode()
    if raw:
        head = tail = b""
    start = time.perf_counter()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
    conn.putrequest("POST", "/api/v1/verify")
    conn.putheader("Content-Type", "application/pdf" if raw
                   else f"multipart/form-data; boundary={boundary}")
    conn.putheader("Content-Length", str(len(head) + len(pdf) + len(tail)))
    conn.putheader("Authorization", f"Bearer {TOKEN}")
    conn.endheaders()
    conn.send(head)
    conn.send(pdf)
    conn.send(tail)
    response = conn.getresponse()
    body = json.loads(response.read())
    conn.close()
    elapsed = time.perf_counter() - start
    if response.status != 200 or body.get("verdict") != "TOTAL_PASSED":
        raise SystemExit(f"unexpected answer {response.status}: {str(body)[:300]}")
    return elapsed


def bare_pyhanko(pdf: bytes, root) -> float:  # type: ignore[no-untyped-def]
    """Validate the first signature with pyHanko alone; return the seconds it took."""
    start = time.perf_counter()
    reader = PdfFileReader(io.BytesIO(pdf), strict=False)
    validate_pdf_signature(reader.embedded_signatures[0], ValidationContext(trust_roots=[root]))
    return time.perf_counter() - start


def cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "docsvc", *args], env=env, check=False,
                          capture_output=True, text=True)


def prepare(data_dir: Path, trust_dir: Path) -> dict[str, str]:
    """Initialise a data folder with a clerk; return the environment of its commands."""
    global TOKEN
    env = {**os.environ, "DOCSVC_DATA_DIR": str(data_dir), "DOCSVC_LOG_LEVEL": "WARNING",
           "DOCSVC_TRUST_DIRS": str(trust_dir)}
    env.pop("DOCSVC_DATABASE_URL", None)
    env.pop("DOCSVC_BLOB_BACKEND", None)
    for args in (["init"], ["users", "add", "bench", "--role", "clerk", "--org", "000.00.00.H48"]):
        cli(env, *args).check_returncode()
    TOKEN = cli(env, "tokens", "issue", "bench").stdout.strip()
    return env


def bench_api(tmp: Path, pki, trust_dir: Path, big_mb: int, rounds: int) -> None:  # type: ignore[no-untyped-def]
    env = prepare(tmp / "api", trust_dir)
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "docsvc", "serve", "--port", str(port), "--workers", "1",
         "--threads", "4"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_port(port)
        cases = {"1-page": pki.sign(make_pdf()),
                 f"{big_mb} MB": pki.sign(make_pdf(padding=big_mb * 1024 * 1024))}
        root = pki.root.asn1_cert
        print(f"{'case':<8} {'body':<9} {'size':>9} {'API /verify':>12} {'bare pyHanko':>13}"
              f" {'ratio':>6} {'per-round':>10}")
        for name, pdf in cases.items():
            for raw in (False, True):  # warm up: imports, trust store, schema
                verify_over_http(port, pdf, raw=raw)
            bare_pyhanko(pdf, root)
            times: dict[str, list[float]] = {"multipart": [], "raw": [], "bare": []}
            for i in range(rounds):  # interleaved (order alternating): all share the noise
                order = ("multipart", "raw") if i % 2 == 0 else ("raw", "multipart")
                for body in order:
                    times[body].append(verify_over_http(port, pdf, raw=body == "raw"))
                times["bare"].append(bare_pyhanko(pdf, root))
            t_bare = statistics.median(times["bare"])
            for body in ("multipart", "raw"):
                api = times[body]
                pairwise = statistics.median(
                    a / b for a, b in zip(api, times["bare"], strict=True))
                t_api = statistics.median(api)
                print(f"{name:<8} {body:<9} {len(pdf) / 1e6:>7.2f}MB {t_api * 1000:>9.1f} ms"
                      f" {t_bare * 1000:>10.1f} ms {t_api / t_bare:>5.2f}x {pairwise:>9.2f}x"
                      f"   (median of {rounds})")
    finally:
        server.terminate()
        server.wait()


def bench_archive(tmp: Path, pki, trust_dir: Path, documents: int) -> None:  # type: ignore[no-untyped-def]
    """Store ``documents`` distinct signed PDFs as signed versions, then time audit-archive."""
    from docsvc.app import build_runtime
    from docsvc.config import Settings
    from docsvc.metadata import parse_metadata
    from docsvc.models import Document
    from docsvc.security import OPERATOR
    from docsvc.services.documents import store_version, upload_document

    data_dir = tmp / "archive"
    env = prepare(data_dir, trust_dir)
    runtime = build_runtime(Settings(data_dir=data_dir, trust_dirs=(trust_dir,)))
    metadata = parse_metadata(NOTICE_METADATA)
    original = make_pdf("Thong bao")
    # Signing is not what is measured: sign up to 100 distinct files and cycle through them
    # (each document's version is still read, hash-checked and validated on its own).
    distinct = [pki.sign(make_pdf(f"Thong bao so {i}"), level="B-T" if i % 2 else "B-B")
                for i in range(min(documents, 100))]
    start = time.perf_counter()
    with runtime.sessions() as session:
        for i in range(documents):
            signed = distinct[i % len(distinct)]
            document, _ = upload_document(session, runtime.blobs, stream=io.BytesIO(original),
                                          filename="tb.pdf", metadata=metadata,
                                          owner_organ_id="000.00.00.H48", actor=OPERATOR)
            store_version(session, runtime.blobs, session.get(Document, document.id),
                          io.BytesIO(signed), kind="signed", filename="tb-ky.pdf", actor=OPERATOR,
                          sha256=hashlib.sha256(signed).hexdigest(), size=len(signed))
            session.commit()
            session.expunge_all()
    runtime.engine.dispose()
    print(f"stored {documents} signed documents ({len(distinct)} distinct files) in "
          f"{time.perf_counter() - start:.1f} s")
    for label in ("first run (no earlier results)", "second run (compare with the first)"):
        start = time.perf_counter()
        proc = subprocess.run([sys.executable, "-c", _MEASURED, "audit-archive", "--json"],
                              env=env, capture_output=True, text=True, check=False)
        elapsed = time.perf_counter() - start
        if proc.returncode not in (0, 1):
            raise SystemExit(f"audit-archive failed: {proc.stderr[-500:]}")
        report = json.loads(proc.stdout)
        peak_mb = int(proc.stderr.rsplit("MAXRSS_KB ", 1)[1].split()[0]) / 1024
        print(f"audit-archive {label}: {report['checked']} versions in {elapsed:.1f} s = "
              f"{report['checked'] / elapsed:.1f} documents/s, peak RSS {peak_mb:.0f} MB, "
              f"verdicts {report['verdicts']}, changed {len(report['changes'])}")


# Runs ``docsvc ARGS`` and prints the command's own peak RSS (not the benchmark's) on stderr.
_MEASURED = """
import resource, sys
from docsvc.cli import main
try:
    main(sys.argv[1:], prog_name="docsvc")
finally:
    print("MAXRSS_KB", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)
"""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--big-mb", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=11)
    parser.add_argument("--documents", type=int, default=1000)
    parser.add_argument("--skip-api", action="store_true")
    parser.add_argument("--skip-archive", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="docsvc-bench-verify-") as tmp:
        tmp_path = Path(tmp)
        pki = build_pki(tmp_path)
        trust_dir = pki.trust_dir()
        if not args.skip_api:
            bench_api(tmp_path, pki, trust_dir, args.big_mb, args.rounds)
        if not args.skip_archive:
            bench_archive(tmp_path, pki, trust_dir, args.documents)


if __name__ == "__main__":
    main()
