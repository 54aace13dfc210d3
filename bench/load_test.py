"""Load test: ``docsvc serve`` (gunicorn) on loopback with PostgreSQL and an S3 server
(moto_server), driven by locust (bench/locustfile.py) with a mixed workload. Reports p50/p95/p99
per operation, throughput, error rate and the server's memory over time. Asserts nothing.

Run: .venv/bin/python bench/load_test.py [--users 50] [--seconds 120] [--workers 2 --threads 8]
Needs PostgreSQL on 127.0.0.1:5432 (``DOCSVC_BENCH_POSTGRES_URL`` to change it).
"""

from __future__ import annotations

import argparse
import csv
import os
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import requests
from sqlalchemy import create_engine, text

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the checkout: tests.support
from bench_signing import BOX, HttpDocsvc  # noqa: E402

from docsvc.pki import demo  # noqa: E402
from docsvc.pki.responders import LoopbackServer  # noqa: E402
from docsvc.signing import Placement, load_pkcs12_signer, sign_pdf  # noqa: E402
from docsvc.signing.sample import notice_pdf  # noqa: E402
from tests.support.net import free_port, wait_for_port  # noqa: E402

POSTGRES_URL = os.environ.get("DOCSVC_BENCH_POSTGRES_URL",
                              "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
OPERATIONS = ("list", "search", "read", "upload+register", "sign", "verify")


@dataclass
class LoadResult:
    """What one load test measured."""

    seconds: float
    users: int
    rows: dict[str, dict[str, float]]
    """Per operation: requests, failures, p50, p95, p99 (ms), rps."""
    memory: list[tuple[float, float]] = field(default_factory=list)
    """(seconds since start, MiB of resident memory of the server: master and workers)."""
    failures: list[tuple[str, str, int]] = field(default_factory=list)
    """(request name, error, occurrences) as locust recorded them."""

    @property
    def total(self) -> dict[str, float]:
        return self.rows.get("Aggregated", {})

    def markdown(self) -> str:
        """Return the result as Markdown tables."""
        lines = [f"Load test: {self.users} users for {self.seconds:.0f} s "
                 "(docsvc serve, PostgreSQL, moto_server S3)", "",
                 "| operation | requests | failures | p50 ms | p95 ms | p99 ms | req/s |",
                 "|---|---:|---:|---:|---:|---:|---:|"]
        for name in (*OPERATIONS, "Aggregated"):  # Aggregated: every HTTP request
            row = self.rows.get(name)
            if row is None:
                continue
            lines.append(f"| {name} | {row['requests']:.0f} | {row['failures']:.0f} | "
                         f"{_ms(row['p50'])} | {_ms(row['p95'])} | {_ms(row['p99'])} | "
                         f"{row['rps']:.1f} |")
        total = self.total
        if total:
            rate = total["failures"] / total["requests"] if total["requests"] else 0.0
            lines += ["", f"Error rate: {rate:.2%} ({total['failures']:.0f} of "
                          f"{total['requests']:.0f} requests)"]
        for name, error, count in self.failures[:10]:
            lines.append(f"- {count} × {name}: {error[:300]}")
        if self.memory:
            marks = self.memory[:: max(1, len(self.memory) // 8)] + [self.memory[-1]]
            lines += ["", "Server memory (RSS of master + workers) over time: "
                      + ", ".join(f"{t:.0f} s: {m:.0f} MiB" for t, m in marks)]
        return "\n".join(lines)


def _ms(value: float) -> str:
    return "–" if value != value else f"{value:.0f}"  # NaN: no percentile over mixed rows


def _server_rss_mib(master: int) -> float:
    total = 0
    pids = [master]
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if f"\nPPid:\t{master}\n" in (entry / "status").read_text():
                    pids.append(int(entry.name))
            except OSError:
                continue
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total / 1024


def _read_stats(prefix: Path) -> dict[str, dict[str, float]]:
    rows: dict[str, dict[str, float]] = {}
    with open(f"{prefix}_stats.csv", newline="") as handle:
        for row in csv.DictReader(handle):
            name = row["Name"]
            if name == "Aggregated":
                continue  # locust's total counts the FLOW timings too: summed below
            rows[name] = {
                    "http": float(row["Type"] != "FLOW"),
                    "requests": float(row["Request Count"]),
                    "failures": float(row["Failure Count"]),
                    "p50": float(row["50%"] or 0), "p95": float(row["95%"] or 0),
                    "p99": float(row["99%"] or 0), "rps": float(row["Requests/s"] or 0),
                }
    http = [r for r in rows.values() if r["http"]]
    rows["Aggregated"] = {
        "http": 1.0, "requests": sum(r["requests"] for r in http),
        "failures": sum(r["failures"] for r in http), "rps": sum(r["rps"] for r in http),
        "p50": float("nan"), "p95": float("nan"), "p99": float("nan")}
    return rows


def _read_failures(prefix: Path) -> list[tuple[str, str, int]]:
    path = Path(f"{prefix}_failures.csv")
    if not path.exists():
        return []
    with open(path, newline="") as handle:
        found = [(row["Name"], row["Error"], int(row["Occurrences"]))
                 for row in csv.DictReader(handle)]
    return sorted(found, key=lambda item: -item[2])


def run_load(*, users: int = 50, seconds: int = 120, workers: int = 2, threads: int = 8,
             documents: int = 100, to_sign: int = 400, every_task_first: bool = False,
             ) -> LoadResult:
    """Start PostgreSQL schema, moto_server and docsvc serve; run locust; return the figures."""
    schema = f"load_{uuid.uuid4().hex[:10]}"
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    s3_port = free_port()
    moto = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(s3_port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        env={**os.environ, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"})
    service = None
    try:
        wait_for_port(s3_port, timeout=30)
        sep = "&" if "?" in POSTGRES_URL else "?"
        env = {"DOCSVC_DATABASE_URL": f"{POSTGRES_URL}{sep}options=-csearch_path%3D{schema}",
               "DOCSVC_BLOB_BACKEND": "s3", "DOCSVC_S3_ENDPOINT": f"127.0.0.1:{s3_port}",
               "DOCSVC_S3_BUCKET": "docsvc-load", "DOCSVC_S3_ACCESS_KEY": "testing",
               "DOCSVC_S3_SECRET_KEY": "testing", "DOCSVC_S3_REGION": "us-east-1",
               "DOCSVC_S3_SECURE": "false"}
        with tempfile.TemporaryDirectory(prefix="docsvc-load-") as tmp, \
                LoopbackServer() as responders:
            work = Path(tmp)
            _make_bucket(env)
            service = HttpDocsvc(work, responders, workers=workers, threads=threads,
                                 extra_env=env)
            notice = notice_pdf()
            (work / "notice.pdf").write_bytes(notice)
            (work / "signed.pdf").write_bytes(_signed(service.pki, notice))
            with ThreadPoolExecutor(4) as pool:
                made = list(pool.map(lambda _: _new_document(service, notice),
                                     range(documents + to_sign)))
            (work / "readable.txt").write_text("\n".join(made[:documents]))
            (work / "to_sign.txt").write_text("\n".join(made[documents:]))
            prefix = work / "locust"
            memory: list[tuple[float, float]] = []
            stop = threading.Event()
            started = time.monotonic()

            def sample() -> None:
                while not stop.wait(1.0):
                    memory.append((time.monotonic() - started,
                                   _server_rss_mib(service.process.pid)))

            sampler = threading.Thread(target=sample, daemon=True)
            sampler.start()
            locust = Path(sys.executable).with_name("locust")
            subprocess.run(
                [str(locust), "-f", str(Path(__file__).with_name("locustfile.py")), "--headless",
                 "-u", str(users), "-r", str(max(1, users // 5)), "-t", f"{seconds}s",
                 "--host", service.base, "--csv", str(prefix), "--only-summary",
                 "--loglevel", "WARNING", "--stop-timeout", "10"],
                env={**os.environ, "LOAD_CLERK_TOKEN": service.clerk_token,
                     "LOAD_SIGNER_TOKEN": service.signer_token, "LOAD_WORK_DIR": str(work),
                     "LOAD_ORGAN_ID": demo.AGENCY_ORGAN_ID,
                     "LOAD_EVERY_TASK_FIRST": "1" if every_task_first else ""},
                check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            stop.set()
            sampler.join()
            return LoadResult(seconds=seconds, users=users, rows=_read_stats(prefix),
                              memory=memory, failures=_read_failures(prefix))
    finally:
        if service is not None:
            service.stop()
        moto.terminate()
        moto.wait(timeout=10)
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def _make_bucket(env: dict[str, str]) -> None:
    from docsvc.config import Settings
    from docsvc.storage.s3 import S3BlobStore

    S3BlobStore.from_settings(Settings.from_env({**os.environ, **env})).prepare()  # as `docsvc init`


def _signed(pki, notice: bytes) -> bytes:  # type: ignore[no-untyped-def]
    """A notice signed by the demo person of the server's own PKI, so /verify trusts it."""
    cred = pki["person-rsa"]
    signer = load_pkcs12_signer(cred.p12_path, passphrase_file=cred.passphrase_path)
    return sign_pdf(notice, signer=signer, role="person", placement=Placement(page=1, box=BOX))


def _new_document(service: HttpDocsvc, notice: bytes) -> str:
    with requests.Session() as http:
        return service.new_document(notice, http)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--seconds", type=int, default=120)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=8)
    args = parser.parse_args()
    result = run_load(users=args.users, seconds=args.seconds, workers=args.workers,
                      threads=args.threads)
    print(result.markdown())


if __name__ == "__main__":
    main()
