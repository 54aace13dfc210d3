"""End-to-end push delivery between two real docsvc instances on loopback: a province and a
commune, each with its own data folder (SQLite + blob folder) and its own ``docsvc serve``
(gunicorn); the province's outbox is drained by ``--workers`` real ``docsvc worker`` processes.

Not timed: N notices uploaded, registered and signed (person, then agency seal, B-B) on the
province through the API, and ``--warmup`` more sent and delivered to warm both servers.
Timed: ``POST /documents/{id}/send`` of all N to the commune (by ``--clients`` concurrent
clerks) until every message's delivery state is ``delivered`` (the province's database is
polled every 10 ms) -> documents delivered per second end to end and the median / p95 time
from send to delivered. Baseline in the same run: the same stored edXML package bytes POSTed
straight to the commune's ``POST /api/v1/exchange/messages`` with the province's
linked-system token (no outbox, as many concurrent clients as workers, new Idempotency-Keys
so the commune files each one again). Also: messages filed more than once by the commune
(must be 0), pushed more than once, failed and expired. Prints figures; asserts nothing.

Run: .venv/bin/python bench/bench_delivery.py [--docs 50] [--workers 1] [--clients 4]
     [--interval 0.5]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import secrets
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests
from pg_schema import postgres_schema

PROVINCE, COMMUNE = "000.00.00.H48", "000.01.01.H48"
BOX = (335.0, 395.0, 485.0, 460.0)  # the person's signature box (no text search), as bench_signing
TERMINAL = ("delivered", "failed", "expired")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Instance:
    """One docsvc instance: data folder, schema, demo directory; ``start`` runs ``docsvc serve``."""

    def __init__(self, folder: Path, organ_id: str, **extra: str) -> None:
        from docsvc.app import build_runtime
        from docsvc.config import Settings
        from docsvc.db import upgrade
        from docsvc.security import OPERATOR
        from docsvc.services.directory import seed_demo

        self.folder, self.organ_id, self.port = folder, organ_id, _free_port()
        base = {k: v for k, v in os.environ.items() if not k.startswith("DOCSVC_")}
        self.env = {**base, "DOCSVC_ENV": "development", "DOCSVC_DATA_DIR": str(folder / "var"),
                    "DOCSVC_ORGAN_ID": organ_id, "DOCSVC_SECRET_KEY": secrets.token_urlsafe(48),
                    "DOCSVC_LOG_LEVEL": "WARNING",
                    **{f"DOCSVC_{k.upper()}": v for k, v in extra.items()}}
        self.settings = Settings.from_env(self.env)
        self.settings.data_dir.mkdir(parents=True)
        self.runtime = build_runtime(self.settings)
        upgrade(self.runtime.engine)
        self.runtime.blobs.prepare()  # as `docsvc init`: /health checks the sentinel
        with self.runtime.sessions() as session:
            seed_demo(session, OPERATOR)
        self.db_path = self.settings.data_dir / "docsvc.sqlite3"
        self.url = f"http://127.0.0.1:{self.port}"
        self.api = self.url + "/api/v1"
        self.processes: list[tuple[subprocess.Popen, Path]] = []
        self.server: subprocess.Popen | None = None

    def spawn(self, name: str, *args: str) -> subprocess.Popen:
        """Run ``docsvc ARGS`` with this instance's environment; stderr goes to a log file."""
        log = self.folder / f"{name}.log"
        process = subprocess.Popen(
            [str(Path(sys.executable).with_name("docsvc")), *args], env=self.env,
            stdout=subprocess.DEVNULL, stderr=log.open("wb"))
        self.processes.append((process, log))
        return process

    def start(self, workers: int, threads: int) -> None:
        self.server = self.spawn("serve", "serve", "--port", str(self.port), "--workers",
                                 str(workers), "--threads", str(threads))
        deadline = time.monotonic() + 30
        while True:
            try:
                if requests.get(self.api + "/health", timeout=5).ok:
                    return
            except requests.RequestException:
                pass
            if self.server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"docsvc serve of {self.organ_id} did not start: "
                                   + (self.folder / "serve.log").read_text()[-2000:])
            time.sleep(0.1)

    def query(self, sql: str, *params: object) -> list[tuple]:
        """Read this instance's database directly (read-only connection, no write lock)."""
        if self.settings.database_url:
            with self.runtime.engine.connect() as conn:
                return [tuple(r) for r in conn.exec_driver_sql(sql.replace("?", "%s"),
                                                               tuple(params)).fetchall()]
        with sqlite3.connect(f"file:{self.db_path}?mode=ro", uri=True, timeout=10) as db:
            return db.execute(sql, params).fetchall()

    def stop_all(self) -> None:
        for process, _ in reversed(self.processes):
            if process.poll() is None:
                process.terminate()
        for process, _ in self.processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _link(sender: Instance, receiver: Instance) -> str:
    """The receiver registers the sender as a linked system; the sender stores its base URL and
    the token (sealed). Return the token."""
    from docsvc.sealing import sealer_from_settings
    from docsvc.security import OPERATOR
    from docsvc.services.delivery import set_endpoint
    from docsvc.services.identity import add_system

    with receiver.runtime.sessions() as session:
        _, token = add_system(session, OPERATOR, organ_id=sender.organ_id,
                              name=f"docsvc {sender.organ_id}")
    with sender.runtime.sessions() as session:
        set_endpoint(session, OPERATOR, organ_id=receiver.organ_id, url=receiver.url + "/",
                     token=token, sealer=sealer_from_settings(sender.settings))
    return token


def _people(province: Instance, pki) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    """Signer profiles demo-person (bound to ``viet``) and demo-agency; clerk and signer tokens."""
    from docsvc.security import OPERATOR
    from docsvc.services.identity import add_user, issue_token
    from docsvc.services.signers import SigningTools, add_signer_profile, demo_profile_specs

    tools = SigningTools(province.settings)
    with province.runtime.sessions() as session:
        for spec in demo_profile_specs(pki, person_user="viet"):
            add_signer_profile(session, tools, OPERATOR, spec)
        add_user(session, OPERATOR, username="viet", roles=["signer"], organ_id=PROVINCE)
        add_user(session, OPERATOR, username="vanthu", roles=["clerk"], organ_id=PROVINCE)
        clerk, _ = issue_token(session, OPERATOR, username="vanthu")
        signer, _ = issue_token(session, OPERATOR, username="viet")
    tools.close()
    return clerk, signer


def _prepare(api: str, clerk: str, signer: str, pdf: bytes) -> str:
    """Upload, register, sign (person, then agency seal) one notice; return its id."""
    from docsvc.pki import demo

    meta = {"direction": "outgoing", "organ_id": PROVINCE, "organ_name": demo.AGENCY_NAME,
            "type_name": "Thông báo", "code_notation": "TB-UBND",
            "subject": "Thông báo kết luận về cải cách hành chính (benchmark)"}
    as_clerk = {"Authorization": f"Bearer {clerk}"}
    with requests.Session() as http:
        made = http.post(api + "/documents", headers=as_clerk, data={"metadata": json.dumps(meta)},
                         files={"file": ("tb.pdf", pdf, "application/pdf")})
        made.raise_for_status()
        doc_id = made.json()["id"]
        http.post(f"{api}/documents/{doc_id}/register", headers=as_clerk).raise_for_status()
        for token, body in (
                (signer, {"role": "person", "signer": "demo-person", "level": "B-B",
                          "placement": {"page": 1, "box": list(BOX)}}),
                (clerk, {"role": "agency", "signer": "demo-agency", "level": "B-B"})):
            signed = http.post(f"{api}/documents/{doc_id}/signatures", json=body,
                               headers={"Authorization": f"Bearer {token}"})
            if signed.status_code != 201:
                raise RuntimeError(f"{body['role']} signature: {signed.status_code} {signed.text}")
    return doc_id


def _wait_until_open(process: subprocess.Popen, db_path: Path, timeout: float = 30) -> None:
    """Wait until a worker has opened the database (its first pass has run)."""
    deadline = time.monotonic() + timeout
    fds = Path(f"/proc/{process.pid}/fd")
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if any(os.path.realpath(fd) == str(db_path.resolve()) for fd in fds.iterdir()):
                return
        except OSError:
            pass
        time.sleep(0.05)
    if process.poll() is not None:
        raise RuntimeError("docsvc worker exited at start")


class Poller(threading.Thread):
    """Record when each delivery of the province is first seen in a final state."""

    def __init__(self, province: Instance) -> None:
        super().__init__(daemon=True)
        self.province, self.seen = province, {}  # message id -> (state, perf_counter)
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            now = time.perf_counter()
            for message_id, state in self.province.query(
                    "SELECT message_id, state FROM exchange_deliveries WHERE state != 'queued'"):
                self.seen.setdefault(message_id, (state, now))
            time.sleep(0.01)


def _wait_final(province: Instance, message_ids: set[str], deadline: float) -> None:
    while time.perf_counter() < deadline:
        final = {m for m, state in province.query("SELECT message_id, state FROM exchange_deliveries")
                 if state in TERMINAL}
        if message_ids <= final:
            return
        time.sleep(0.05)


def _percentile(values: list[float], pct: int) -> float:
    if len(values) < 2:
        return values[0] if values else float("nan")
    return statistics.quantiles(values, n=100, method="inclusive")[pct - 1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--docs", type=int, default=50, help="documents sent (default 50)")
    parser.add_argument("--workers", type=int, default=1,
                        help="docsvc worker processes draining the province's outbox (default 1)")
    parser.add_argument("--clients", type=int, default=4,
                        help="concurrent clerks calling /send (default 4)")
    parser.add_argument("--interval", type=float, default=0.5,
                        help="docsvc worker --interval: seconds to wait when nothing is due "
                             "(default 0.5; the CLI's own default is 5)")
    parser.add_argument("--warmup", type=int, default=4,
                        help="documents sent and delivered before timing (default 4)")
    parser.add_argument("--server-workers", type=int, default=2,
                        help="gunicorn workers of each docsvc serve (default 2, 4 threads each)")
    parser.add_argument("--timeout", type=float, default=120,
                        help="give up waiting for deliveries after this many seconds")
    parser.add_argument("--spacing", type=float, default=0.0,
                        help="send one document every SPACING seconds instead of all at once "
                             "(latency of an idle worker; the rate ratio then means nothing)")
    parser.add_argument("--postgres", action="store_true",
                        help="the sending province on PostgreSQL (its worker is woken by "
                             "LISTEN/NOTIFY); the commune stays on SQLite")
    args = parser.parse_args()

    from docsvc.pki import demo
    from docsvc.signing.sample import notice_pdf
    from docsvc.storage import read_verified

    with contextlib.ExitStack() as stack:
        tmp = stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-delivery-"))
        root = Path(tmp)
        database = (contextlib.nullcontext("") if not args.postgres
                    else postgres_schema())
        province_db = stack.enter_context(database)
        province = Instance(root / "province", PROVINCE,
                            **({"database_url": province_db} if province_db else {}))
        pki = demo.generate(province.settings.pki_dir)  # `docsvc pki demo`: signs PDFs and edXML
        trust = root / "trust"  # the commune trusts the province's demo root (verified on receipt)
        trust.mkdir()
        shutil.copy(pki.root_cert_path, trust / "root.pem")
        shutil.copy(pki.chain_path, trust / "chain.pem")
        commune = Instance(root / "commune", COMMUNE, trust_dirs=str(trust))
        clerk, signer = _people(province, pki)
        system_token = _link(province, commune)  # the token the province's workers present
        _link(commune, province)  # status 01 goes back by push (no commune worker runs here)
        for instance in (province, commune):
            instance.runtime.engine.dispose()
        try:
            for instance in (province, commune):
                instance.start(args.server_workers, 4)
            pdf = notice_pdf()
            started = time.perf_counter()
            with ThreadPoolExecutor(args.clients) as pool:
                docs = list(pool.map(lambda _: _prepare(province.api, clerk, signer, pdf),
                                     range(args.docs + args.warmup)))
            warmup, docs = docs[:args.warmup], docs[args.warmup:]
            print(f"prepared {len(docs)} + {len(warmup)} warm-up registered notices signed by "
                  f"person + agency (B-B) in {time.perf_counter() - started:.1f} s (not timed); "
                  f"{os.cpu_count()} CPUs, 2 x docsvc serve ({args.server_workers} workers x 4 "
                  f"threads), {args.workers} x docsvc worker --interval {args.interval}, "
                  f"{args.clients} sending clients")

            workers = [province.spawn(f"worker{i}", "worker", "--interval", str(args.interval))
                       for i in range(args.workers)]
            for process in workers:
                if args.postgres:
                    time.sleep(3)  # no file to watch: give the worker time for its first pass
                else:
                    _wait_until_open(process, province.db_path)

            sent: dict[str, float] = {}  # message id -> when its send request started
            errors: list[str] = []
            lock = threading.Lock()
            local = threading.local()

            def send(doc_id: str, into: dict[str, float] = sent) -> None:
                http = getattr(local, "http", None) or requests.Session()
                local.http = http
                t0 = time.perf_counter()
                response = http.post(f"{province.api}/documents/{doc_id}/send",
                                     json={"to": [COMMUNE]},
                                     headers={"Authorization": f"Bearer {clerk}"})
                with lock:
                    if response.status_code != 201:
                        errors.append(f"{response.status_code} {response.text[:200]}")
                        return
                    for message in response.json()["messages"]:
                        into[message["id"]] = t0

            # warm-up, not timed: every server worker loads its keys and verifier on first use
            warm: dict[str, float] = {}
            with ThreadPoolExecutor(args.clients) as pool:
                list(pool.map(lambda doc_id: send(doc_id, warm), warmup))
            _wait_final(province, set(warm), time.perf_counter() + args.timeout)

            poller = Poller(province)
            poller.start()
            t_start = time.perf_counter()
            if args.spacing > 0:  # one at a time into an idle worker: its wake-up latency
                for doc_id in docs:
                    send(doc_id)
                    time.sleep(args.spacing)
            else:
                with ThreadPoolExecutor(args.clients) as pool:
                    list(pool.map(send, docs))
            t_sent = time.perf_counter()
            deadline = t_start + args.timeout
            while time.perf_counter() < deadline and not all(m in poller.seen for m in sent):
                time.sleep(0.01)
            poller.stop.set()
            poller.join()
            done = {m: poller.seen[m] for m in sent if m in poller.seen}
            delivered = {m: t for m, (state, t) in done.items() if state == "delivered"}
            t_end = max(delivered.values(), default=t_start)

            for process in workers:
                process.terminate()
            for process in workers:
                process.wait(timeout=60)
            reports = [(root / "province" / f"worker{i}.log").read_text().strip().splitlines()[-1:]
                       for i in range(args.workers)]

            # what each side's database says (not timed)
            states = dict(province.query(
                "SELECT state, count(*) FROM exchange_deliveries d JOIN exchange_messages m "
                "ON m.id = d.message_id WHERE m.kind = 'edoc' AND m.origin = 'local' GROUP BY state"))
            retried, attempts = province.query(
                "SELECT coalesce(sum(CASE WHEN attempts > 1 THEN 1 ELSE 0 END), 0), "
                "coalesce(sum(attempts), 0) "
                "FROM exchange_deliveries WHERE mode = 'push' AND message_id IN (SELECT id FROM "
                "exchange_messages WHERE kind = 'edoc' AND origin = 'local')")[0]
            pushed_twice = province.query(
                "SELECT count(*) FROM (SELECT message_id FROM exchange_transport_events "
                "WHERE event = 'push_attempt' GROUP BY message_id HAVING count(*) > 1) AS twice")[0][0]
            rows, distinct = commune.query(
                "SELECT count(*), count(DISTINCT document_id) FROM exchange_messages "
                "WHERE kind = 'edoc' AND origin = 'submitted' AND sender_organ_id = ?", PROVINCE)[0]
            incoming = commune.query(
                "SELECT count(*) FROM documents WHERE direction = 'incoming' AND owner_organ_id = ?",
                COMMUNE)[0][0]
            with requests.Session() as http:
                api_delivered = sum(
                    r["delivery"]["state"] == "delivered"
                    for doc_id in docs
                    for r in http.get(f"{province.api}/documents/{doc_id}/statuses",
                                      headers={"Authorization": f"Bearer {clerk}"}).json()["recipients"])

            # baseline: the same package bytes straight to the commune's submission endpoint
            keys = dict(province.query("SELECT id, blob_key FROM exchange_messages "
                                       "WHERE kind = 'edoc' AND origin = 'local'"))
            packages = []
            for message_id in sent:
                with read_verified(province.runtime.blobs, keys[message_id]) as stream:
                    packages.append((message_id, stream.read()))
            baseline_errors: list[str] = []

            def submit(item: tuple[str, bytes]) -> None:
                http = getattr(local, "base", None) or requests.Session()
                local.base = http
                response = http.post(commune.api + "/exchange/messages", data=item[1], headers={
                    "Authorization": f"Bearer {system_token}", "Content-Type": "application/xml",
                    "Idempotency-Key": f"baseline-{item[0]}"})
                if response.status_code // 100 != 2:
                    baseline_errors.append(f"{response.status_code} {response.text[:200]}")

            b_start = time.perf_counter()
            with ThreadPoolExecutor(args.workers) as pool:
                list(pool.map(submit, packages))
            b_elapsed = time.perf_counter() - b_start
        finally:
            province.stop_all()
            commune.stop_all()

    n = len(sent)
    elapsed = t_end - t_start
    rate = len(delivered) / elapsed if delivered and elapsed > 0 else 0.0
    latencies = [delivered[m] - sent[m] for m in delivered]
    baseline = len(packages) / b_elapsed if packages else 0.0
    size = statistics.median(len(p) for _, p in packages) if packages else 0
    nan = float("nan")
    print(f"send:       {n} of {args.docs} accepted in {t_sent - t_start:.2f} s "
          f"({n / (t_sent - t_start):.1f} /s; each builds and signs its edXML package)"
          + (f"; refused: {errors[:3]}" if errors else ""))
    print(f"delivered:  {len(delivered)}/{n} in {elapsed:.2f} s = {rate:.1f} docs/s end to end; "
          f"send -> delivered median {statistics.median(latencies) if latencies else nan:.2f} s, "
          f"p95 {_percentile(latencies, 95):.2f} s, max {max(latencies, default=nan):.2f} s")
    print(f"baseline:   {len(packages)} packages ({size / 1024:.0f} KiB median) POSTed straight to "
          f"the commune by {args.workers} client(s) in {b_elapsed:.2f} s = {baseline:.1f} /s"
          + (f"; {len(baseline_errors)} refused: {baseline_errors[:2]}" if baseline_errors else ""))
    print(f"ratio:      delivered/s / baseline/s = {rate / baseline if baseline else nan:.2f}")
    print(f"duplicates: filed more than once by the commune: {rows - distinct} ({rows} edoc "
          f"messages from the province, {distinct} distinct DocumentIds, {incoming} incoming "
          f"documents; {args.warmup} warm-up included)")
    print(f"failures:   failed {states.get('failed', 0)}, expired {states.get('expired', 0)}, "
          f"not final after {args.timeout:.0f} s {n - len(done)}; {attempts} push attempts, "
          f"{retried} messages retried, {pushed_twice} pushed more than once (warm-up included); "
          f"statuses API: {api_delivered}/{len(docs)} delivered")
    for i, lines in enumerate(reports):
        print(f"worker {i}:   {lines[0] if lines else '(no report)'}")

if __name__ == "__main__":
    main()
