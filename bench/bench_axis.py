"""Documents per second through the national axis path on loopback, against direct REST
submission in the same run.

Two docsvc instances (SQLite + blob folder each, or a PostgreSQL schema each), each served by
``docsvc serve`` (gunicorn; ``--in-process``: Werkzeug threads in this process): the province is
a client of the axis; the "axis" is docsvc's own VXP face, hosting the commune. The province's
worker pass runs in this process.

Not timed: N notices registered and signed at the province and sent to the commune (queued for
the axis), N notices of the commune sent to the province (waiting in the axis's inbox).
Timed, axis path: ``axis_pass`` (the worker's pass: sendEdoc of the N, then getReceivedEdocList,
getEdoc, filing with verification on arrival, updateStatus of the N) until all N are sent and
all N filed. Baseline, same run: the same 2N package bytes POSTed one by one to
``POST /api/v1/exchange/messages`` (N to the axis instance with the province's token, N to the
province with the commune's token; new Idempotency-Keys so each is filed again). Prints the
ratio axis / REST (aim >= 0.8) and checks nothing was filed twice. Asserts nothing.

Run: .venv/bin/python bench/bench_axis.py [--docs 15] [--postgres [URL]] [--concurrency 4]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

PROVINCE, COMMUNE = "000.00.00.H48", "000.01.01.H48"
PG_DEFAULT = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--docs", type=int, default=15)
    parser.add_argument("--postgres", metavar="URL", nargs="?", const=PG_DEFAULT, default=None,
                        help="each instance in its own schema of this PostgreSQL database "
                             "(default: SQLite files)")
    parser.add_argument("--concurrency", type=int, default=4, help="the worker's packages side by side")
    parser.add_argument("--in-process", dest="serve", action="store_false",
                        help="serve both instances with Werkzeug threads in this process "
                             "(default: docsvc serve, gunicorn, 2 workers x 4 threads each)")
    args = parser.parse_args()
    import logging

    import requests

    logging.disable(logging.INFO)
    from sqlalchemy import func, select
    from werkzeug.datastructures import FileStorage, MultiDict
    from werkzeug.serving import make_server
    from werkzeug.test import encode_multipart

    from docsvc.app import build_runtime, create_app, vxp_key_material
    from docsvc.config import Settings
    from docsvc.db import upgrade
    from docsvc.models import AxisInbound, Delivery, Document, Message
    from docsvc.samples import notice_pdf
    from docsvc.security import OPERATOR
    from docsvc.services import exchange as svc
    from docsvc.services.axis.config import set_axis
    from docsvc.services.axis.worker import AxisWorkerOptions, axis_pass
    from docsvc.services.directory import seed_demo
    from docsvc.services.identity import add_system
    from docsvc.services.verification import make_verifier
    from docsvc.vxp.auth import generate_secret
    from tests.conftest import NOTICE_METADATA, make_user
    from tests.e2e.test_exchange_api import _sign

    root = Path(tempfile.mkdtemp(prefix="bench-axis-"))
    servers = []
    schemas: list[str] = []

    def database(name: str) -> str:
        if not args.postgres:
            return ""
        from sqlalchemy import create_engine, text

        schema = f"bench_axis_{name}_{uuid.uuid4().hex[:8]}"
        admin = create_engine(args.postgres, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        admin.dispose()
        schemas.append(schema)
        return f"{args.postgres}?options=-csearch_path%3D{schema}"

    processes: list[subprocess.Popen] = []

    def instance(name: str, organ: str):  # type: ignore[no-untyped-def]
        env = {k: v for k, v in os.environ.items() if not k.startswith("DOCSVC_")}
        env.update({"DOCSVC_ENV": "development", "DOCSVC_DATA_DIR": str(root / name),
                    "DOCSVC_ORGAN_ID": organ, "DOCSVC_SECRET_KEY": f"{organ}-" * 4,
                    "DOCSVC_LOG_LEVEL": "WARNING", "DOCSVC_DATABASE_URL": database(name)})
        settings = Settings.from_env(env)
        settings.data_dir.mkdir(parents=True)
        rt = build_runtime(settings)
        upgrade(rt.engine)
        rt.blobs.prepare()  # what `docsvc init` does: /health checks the store's sentinel
        with rt.sessions() as session:
            seed_demo(session, OPERATOR)
        app = create_app(runtime=rt)
        if not args.serve:
            server = make_server("127.0.0.1", 0, app, threaded=True)
            threading.Thread(target=server.serve_forever, daemon=True).start()
            servers.append(server)
            return rt, app, f"http://127.0.0.1:{server.port}"
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        processes.append(subprocess.Popen(
            [str(Path(sys.executable).with_name("docsvc")), "serve", "--port", str(port), "--workers",
             "2", "--threads", "4"], env=env, stdout=subprocess.DEVNULL,
            stderr=(root / f"{name}.log").open("wb")))
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                if requests.get(url + "/api/v1/health", timeout=5).ok:
                    return rt, app, url
            except requests.RequestException:
                pass
            if processes[-1].poll() is not None or time.monotonic() > deadline:
                raise RuntimeError((root / f"{name}.log").read_text()[-2000:])
            time.sleep(0.2)

    try:
        province, p_app, p_url = instance("province", PROVINCE)
        axis, a_app, a_url = instance("axis", COMMUNE)
        secret = generate_secret()
        with axis.sessions() as session:
            _, province_token = add_system(session, OPERATOR, organ_id=PROVINCE, name="docsvc tỉnh",
                                           vxp_system_id="vxp.h48", vxp_secret=secret,
                                           vxp_key_material=vxp_key_material(axis.settings)[0])
        with province.sessions() as session:
            set_axis(session, OPERATOR, endpoint=a_url + "/vxp", system_id="vxp.h48", secret=secret,
                     keys=vxp_key_material(province.settings))

        def clerk(rt, app, username, organ):  # type: ignore[no-untyped-def]
            client = app.test_client()
            token = make_user(rt, username, ["clerk"], organ_id=organ)
            client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {token}"
            return client

        def send(rt, client, organ, to):  # type: ignore[no-untyped-def]
            metadata = dict(NOTICE_METADATA, organ_id=organ, organ_name=organ,
                            recipients=[{"organ_id": to, "organ_name": to}])
            boundary, body = encode_multipart(MultiDict({
                "metadata": json.dumps(metadata),
                "file": FileStorage(io.BytesIO(notice_pdf()), "tb.pdf", content_type="application/pdf")}))
            doc = client.post("/api/v1/documents", data=body,
                              content_type=f"multipart/form-data; boundary={boundary}").json
            client.post(f"/api/v1/documents/{doc['id']}/register")
            _sign(rt, doc["id"])
            response = client.post(f"/api/v1/documents/{doc['id']}/send", json={"to": [to]})
            return response.json["messages"][0]["id"]

        p_clerk = clerk(province, p_app, "vanthu", PROVINCE)
        a_clerk = clerk(axis, a_app, "vanthu-xa", COMMUNE)
        n, w = args.docs, 2
        warm_out = [send(province, p_clerk, PROVINCE, COMMUNE) for _ in range(w)]
        warm_in = [send(axis, a_clerk, COMMUNE, PROVINCE) for _ in range(w)]

        cache: dict[str, object] = {}

        def config():  # type: ignore[no-untyped-def]
            if "cfg" not in cache:
                cache["cfg"] = svc.config_from_settings(
                    province.settings, agency_key=svc.load_demo_agency_key(province.settings),
                    verifier=make_verifier(province.settings))
            return cache["cfg"]

        config()  # loaded once, as the worker does at start
        keys = vxp_key_material(province.settings)
        options = AxisWorkerOptions(timeout=30, concurrency=args.concurrency)

        def progress(out_ids: list[str], in_ids: list[str]) -> tuple[int, int]:
            with province.sessions() as session:
                sent = session.execute(select(func.count()).select_from(Delivery).where(
                    Delivery.message_id.in_(out_ids), Delivery.state == "delivered")).scalar_one()
                filed = session.execute(select(func.count()).select_from(AxisInbound).where(
                    AxisInbound.axis_doc_id.in_(in_ids), AxisInbound.state == "acked")).scalar_one()
            return sent, filed

        # warm-up (untimed): directory sync, schemas, verifier, both servers' first requests
        for _ in range(5):
            axis_pass(province.sessions, province.blobs, keys, config, options=options, force=True)
            if progress(warm_out, warm_in) == (w, w):
                break
        for _ in range(3):  # and the statuses 01 that the warm-up documents caused
            axis_pass(province.sessions, province.blobs, keys, config, options=options, force=True)
        out_ids = [send(province, p_clerk, PROVINCE, COMMUNE) for _ in range(n)]
        in_ids = [send(axis, a_clerk, COMMUNE, PROVINCE) for _ in range(n)]

        started = time.perf_counter()
        passes, moved = 0, 0
        while progress(out_ids, in_ids) != (n, n) and passes < 50:
            report = axis_pass(province.sessions, province.blobs, keys, config, options=options, force=True)
            moved += len(report.sent.sent) + len(report.received.filed)
            passes += 1
        axis_seconds = time.perf_counter() - started
        sent, filed = progress(out_ids, in_ids)

        # baseline: the same package bytes, direct REST submission, one by one
        def blob(rt, message_id):  # type: ignore[no-untyped-def]
            with rt.sessions() as session:
                key = session.get(Message, message_id).blob_key
            with rt.blobs.open(key) as stream:
                return stream.read()

        out_packages = [blob(province, m) for m in out_ids]
        in_packages = [blob(axis, m) for m in in_ids]
        with province.sessions() as session:
            _, commune_token = add_system(session, OPERATOR, organ_id=COMMUNE, name="xã (REST)")
        def post(url: str, token: str, package: bytes) -> int:
            return requests.post(url + "/api/v1/exchange/messages", data=package, timeout=60, headers={
                "Authorization": f"Bearer {token}", "Content-Type": "application/xml",
                "Idempotency-Key": str(uuid.uuid4())}).status_code

        for package in [blob(province, m) for m in warm_out]:
            post(a_url, province_token, package)
        for package in [blob(axis, m) for m in warm_in]:
            post(p_url, commune_token, package)
        started = time.perf_counter()
        statuses = []
        for package in out_packages:
            statuses.append(post(a_url, province_token, package))
        for package in in_packages:
            statuses.append(post(p_url, commune_token, package))
        rest_seconds = time.perf_counter() - started

        with province.sessions() as session:
            incoming = session.execute(select(func.count()).select_from(Document).where(
                Document.direction == "incoming")).scalar_one()
        axis_rate = 2 * n / axis_seconds
        rest_rate = 2 * n / rest_seconds
        kind = "PostgreSQL" if args.postgres else "SQLite"
        how = "docsvc serve (gunicorn)" if args.serve else "Werkzeug in-process"
        print(f"database: {kind}; servers: {how}; worker concurrency {args.concurrency}")
        print(f"documents: {n} sent + {n} received through the axis ({passes} worker passes, "
              f"{moved} packages moved: the statuses 01 of the sent ones came back in the same passes)")
        print(f"axis path:   {axis_rate:7.2f} docs/s  ({axis_seconds:.2f} s; sent {sent}/{n}, "
              f"filed+acked {filed}/{n})")
        print(f"direct REST: {rest_rate:7.2f} docs/s  ({rest_seconds:.2f} s; HTTP {sorted(set(statuses))})")
        print(f"ratio axis / REST: {axis_rate / rest_rate:.2f}  (aim >= 0.8)")
        print(f"packages/s (the axis path also received the {moved - 2 * n} statuses 01 of its sends): "
              f"axis {moved / axis_seconds:.2f} vs REST {rest_rate:.2f} -> "
              f"{moved / axis_seconds / rest_rate:.2f}")
        print(f"province incoming documents: {incoming} (= {n + w} via the axis + {n + w} via REST: "
              f"{'OK' if incoming == 2 * (n + w) else 'MISMATCH'})")
    finally:
        for server in servers:
            server.shutdown()
        for process in processes:
            process.terminate()
            process.wait(30)
        shutil.rmtree(root, ignore_errors=True)
        if schemas:
            from sqlalchemy import create_engine, text

            admin = create_engine(args.postgres, isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                for schema in schemas:
                    conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()


if __name__ == "__main__":
    main()
