"""Upload + register through the HTTP API against writing the same bytes straight to the
same blob store, in one run (the machine is shared and noisy: compare ratios, not seconds).

Prints: median latency of upload+register for a 1-page notice and a 50 MB PDF, the raw
store write of the same bytes, their ratio, requests per second for the small file with
concurrent clients, and the server worker's extra peak memory during the 50 MB upload.

    .venv/bin/python bench/bench_upload.py [--big-mb 50] [--rounds 5] [--clients 8]
"""

from __future__ import annotations

import argparse
import hashlib
import http.client
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pg_schema import postgres_schema  # noqa: E402

from docsvc.samples import notice_pdf  # noqa: E402
from docsvc.storage import LocalBlobStore  # noqa: E402
from tests.support.data import NOTICE_METADATA  # noqa: E402
from tests.support.net import free_port, wait_for_port  # noqa: E402


def multipart(pdf_path: Path, metadata: dict) -> tuple[str, list[bytes], int, Path]:
    """Return (boundary, head, tail) parts and the total length, streaming the file body."""
    boundary = uuid.uuid4().hex
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"metadata\"\r\n\r\n"
            f"{json.dumps(metadata)}\r\n--{boundary}\r\nContent-Disposition: form-data; "
            f"name=\"file\"; filename=\"doc.pdf\"\r\nContent-Type: application/pdf\r\n\r\n").encode()
    tail = f"\r\n--{boundary}--\r\n".encode()
    return boundary, [head, tail], len(head) + pdf_path.stat().st_size + len(tail), pdf_path


TOKEN = ""


def upload_and_register(port: int, pdf_path: Path) -> float:
    """POST the file then register it; return the seconds both took."""
    boundary, (head, tail), length, path = multipart(pdf_path, NOTICE_METADATA)
    start = time.perf_counter()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
    conn.putrequest("POST", "/api/v1/documents")
    conn.putheader("Content-Type", f"multipart/form-data; boundary={boundary}")
    conn.putheader("Content-Length", str(length))
    conn.putheader("Authorization", f"Bearer {TOKEN}")
    conn.endheaders()
    conn.send(head)
    with path.open("rb") as stream:
        while chunk := stream.read(1 << 20):
            conn.send(chunk)
    conn.send(tail)
    response = conn.getresponse()
    body = json.loads(response.read())
    assert response.status == 201, body
    conn.request("POST", f"/api/v1/documents/{body['id']}/register",
                 headers={"Authorization": f"Bearer {TOKEN}"})
    registered = conn.getresponse()
    registered.read()
    assert registered.status == 200
    conn.close()
    return time.perf_counter() - start


def raw_store_write(blob_dir: Path, pdf_path: Path) -> float:
    """Hash and write the same bytes straight to a local blob store; return seconds."""
    store = LocalBlobStore(blob_dir)
    start = time.perf_counter()
    with pdf_path.open("rb") as stream:
        digest = hashlib.sha256()
        while chunk := stream.read(1 << 20):
            digest.update(chunk)
        stream.seek(0)
        store.put(stream, sha256=digest.hexdigest(), size=pdf_path.stat().st_size)
    elapsed = time.perf_counter() - start
    store.delete(digest.hexdigest())
    return elapsed


def worker_pids(master: int, timeout: float = 30.0) -> list[int]:
    """Return the gunicorn worker processes of ``master`` (waiting until it has forked them:
    the master listens before its workers exist)."""
    deadline = time.monotonic() + timeout
    while True:
        children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
        if children or time.monotonic() > deadline:
            return [int(pid) for pid in children]
        time.sleep(0.05)


def memory_kb(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


def start_server(data_dir: Path, workers: int, threads: int,
                 database_url: str = "") -> tuple[subprocess.Popen, int]:
    port = free_port()
    env = {**os.environ, "DOCSVC_DATA_DIR": str(data_dir), "DOCSVC_LOG_LEVEL": "WARNING"}
    if database_url:
        env["DOCSVC_DATABASE_URL"] = database_url
    subprocess.run([sys.executable, "-m", "docsvc", "init"], env=env, check=True,
                   capture_output=True)
    subprocess.run([sys.executable, "-m", "docsvc", "users", "add", "bench", "--role", "clerk",
                    "--org", "000.00.00.H48"], env=env, check=True, capture_output=True)
    global TOKEN
    TOKEN = subprocess.run([sys.executable, "-m", "docsvc", "tokens", "issue", "bench"], env=env,
                           check=True, capture_output=True, text=True).stdout.strip()
    server = subprocess.Popen(
        [sys.executable, "-m", "docsvc", "serve", "--port", str(port), "--workers", str(workers),
         "--threads", str(threads)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_for_port(port)
    return server, port


def _rate(data_dir: Path, small: Path, clients: int, count: int, database_url: str = "") -> float:
    server, port = start_server(data_dir, workers=2, threads=8, database_url=database_url)
    try:
        for _ in range(clients):  # warm every worker: imports, schema, connections
            upload_and_register(port, small)
        start = time.perf_counter()
        with ThreadPoolExecutor(clients) as pool:
            list(pool.map(lambda _: upload_and_register(port, small), range(count)))
        return count / (time.perf_counter() - start)
    finally:
        server.terminate()
        server.wait()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--big-mb", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--postgres", action="store_true",
                        help="also measure uploads/s on PostgreSQL (127.0.0.1:5432, a fresh schema)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="docsvc-bench-") as tmp:
        tmp_path = Path(tmp)
        small = tmp_path / "small.pdf"
        small.write_bytes(notice_pdf())
        big = tmp_path / "big.pdf"
        big.write_bytes(notice_pdf(padding=args.big_mb * 1024 * 1024))

        # One worker for latency and memory, so the measured process is the one that served.
        server, port = start_server(tmp_path / "one", workers=1, threads=4)
        try:
            [worker] = worker_pids(server.pid)
            upload_and_register(port, small)  # warm up imports and the schema
            results = {}
            for name, path in (("1-page", small), (f"{args.big_mb} MB", big)):
                api = [upload_and_register(port, path) for _ in range(args.rounds)]
                raw = [raw_store_write(tmp_path / "one" / "blobs", path) for _ in range(args.rounds)]
                results[name] = (statistics.median(api), statistics.median(raw))
            # Peak memory of the worker during one more big upload.
            Path(f"/proc/{worker}/clear_refs").write_text("5")
            before = memory_kb(worker, "VmRSS")
            upload_and_register(port, big)
            peak = memory_kb(worker, "VmHWM")
        finally:
            server.terminate()
            server.wait()

        rates = {"SQLite": _rate(tmp_path / "many", small, args.clients, args.requests)}
        if args.postgres:
            with postgres_schema() as url:
                rates["PostgreSQL"] = _rate(tmp_path / "many-pg", small, args.clients,
                                            args.requests, url)

    print(f"{'case':<10} {'API upload+register':>20} {'raw store write':>16} {'ratio':>7}")
    for name, (api, raw) in results.items():
        print(f"{name:<10} {api * 1000:>17.1f} ms {raw * 1000:>13.1f} ms {api / raw:>6.1f}x")
    for database, rps in rates.items():
        print(f"small file, {args.clients} concurrent clients, 2 workers x 8 threads "
              f"({database}): {rps:.1f} upload+register/s")
    print(f"server worker peak memory during the {args.big_mb} MB upload: "
          f"+{(peak - before) / 1024:.1f} MB over {before / 1024:.1f} MB before")


if __name__ == "__main__":
    main()
