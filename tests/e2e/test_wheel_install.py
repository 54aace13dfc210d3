"""The wheel, installed as an operator installs it: built from a copy of the sources, put into a
fresh virtualenv outside the checkout (dependencies from requirements.lock), and driven from
there through init, upload, register, sign, send and the pull of a hosted commune's system:
once on the embedded defaults with the demo PKI, once in production mode as the README's
"Production, step by step" says (PostgreSQL, an S3 server over plain HTTP, a CA that is not
the demo's with its TSA and OCSP responder, signer profiles with --name and --picture, the
directory imported).

It proves the wheel carries everything the service reads at run time (the edXML XSDs above
all: without them every send, receive and VXP path fails).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
import subprocess
import sys
import urllib.error
import urllib.request
import uuid
from dataclasses import replace
from pathlib import Path

import pytest
from cryptography.x509.oid import NameOID

from docsvc.exchange import VN_TZ, Organization, ResponseFor, StatusPackage, build_status_package
from docsvc.pki import demo
from docsvc.pki.responders import LoopbackServer
from docsvc.samples import notice_pdf
from tests.conftest import NOTICE_METADATA
from tests.integration.conftest import free_port, s3_server, wait_for_port  # noqa: F401 (fixture)

pytestmark = pytest.mark.slow

CHECKOUT = Path(__file__).resolve().parents[2]
PROVINCE, COMMUNE = "000.00.00.H48", "000.01.01.H48"
_NOT_SOURCES = shutil.ignore_patterns(".venv", ".git", "var", "build", "dist", "*.egg-info",
                                      "__pycache__", ".pytest_cache", ".ruff_cache", ".mypy_cache")


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """Return the bin/ folder of a fresh virtualenv holding the wheel built from the sources."""
    root = tmp_path_factory.mktemp("wheel")
    sources = root / "src"
    shutil.copytree(CHECKOUT, sources, ignore=_NOT_SOURCES)
    dist = root / "dist"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(dist),
                    str(sources)], check=True, capture_output=True, cwd=root)
    [wheel] = dist.glob("docsvc-*.whl")
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, capture_output=True)
    install = subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "-c",
         str(CHECKOUT / "requirements.lock"), str(wheel)],
        capture_output=True, text=True, cwd=root)
    assert install.returncode == 0, install.stderr[-3000:]
    return venv / "bin"


def _environment(tmp_path: Path, bin_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("DOCSVC_") and k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    (tmp_path / "home").mkdir()
    env.update(DOCSVC_DATA_DIR=str(tmp_path / "var"), HOME=str(tmp_path / "home"),
               PATH=f"{bin_dir}{os.pathsep}{env.get('PATH', '')}")
    env.pop("XDG_RUNTIME_DIR", None)
    return env


def test_the_installed_wheel_carries_the_schemas_outside_the_checkout(installed, tmp_path):
    probe = ("import hashlib, importlib.resources as r, json, docsvc; "
             "print(json.dumps({'module': docsvc.__file__, 'xsd': {f.name: hashlib.sha256("
             "f.read_bytes()).hexdigest() for f in r.files('docsvc.schemas').iterdir() "
             "if f.name.endswith('.xsd')}}))")
    out = subprocess.run([str(installed / "python"), "-c", probe], check=True, capture_output=True,
                         text=True, cwd=tmp_path, env=_environment(tmp_path, installed)).stdout
    found = json.loads(out)
    assert not Path(found["module"]).is_relative_to(CHECKOUT)
    assert found["xsd"] == {p.name: hashlib.sha256(p.read_bytes()).hexdigest()
                            for p in (CHECKOUT / "schemas").glob("*.xsd")}


def test_the_installed_wheel_registers_signs_sends_and_a_commune_pulls(installed, tmp_path):
    env = _environment(tmp_path, installed)

    def docsvc(*args: str, stdin: str | None = None) -> str:
        done = subprocess.run([str(installed / "docsvc"), *args], capture_output=True, text=True,
                              input=stdin, cwd=tmp_path, env=env)
        assert done.returncode == 0, f"docsvc {' '.join(args)}: {done.stderr[-2000:]}"
        assert "Warning" not in done.stderr, done.stderr
        return done.stdout

    docsvc("init")
    docsvc("users", "add", "vanthu", "--role", "clerk", "--org", PROVINCE)
    docsvc("users", "add", "viet", "--role", "signer", "--org", PROVINCE)
    docsvc("pki", "demo", "--person-user", "viet")
    docsvc("directory", "seed-demo")
    commune_token = docsvc("systems", "add", COMMUNE, "--name", "UBND xã Tịnh Ấn").strip()
    clerk = docsvc("tokens", "issue", "vanthu").strip()
    signer = docsvc("tokens", "issue", "viet").strip()

    pdf = tmp_path / "tb.pdf"
    pdf.write_bytes(notice_pdf())
    doc = json.loads(docsvc("documents", "add", str(pdf), "--metadata", json.dumps(NOTICE_METADATA)))
    assert json.loads(docsvc("documents", "register", doc["id"]))["code_number"] == "01"

    port = free_port()
    api = f"http://127.0.0.1:{port}/api/v1"
    server = subprocess.Popen([str(installed / "docsvc"), "serve", "--port", str(port), "--workers",
                               "1", "--threads", "4"], cwd=tmp_path, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        wait_for_port(port, timeout=60)
        box = {"page": 1, "box": [320, 120, 520, 200]}  # the sample prints no signer's name
        for token, body in ((signer, {"role": "person", "signer": "demo-person", "placement": box}),
                            (clerk, {"role": "agency", "signer": "demo-agency"})):
            status, answer = _call(f"{api}/documents/{doc['id']}/signatures", token, body)
            assert status == 201, answer
        sent = json.loads(docsvc("exchange", "send", doc["id"], "--to", COMMUNE))
        [message] = sent

        status, inbox = _call(f"{api}/exchange/inbox", commune_token)
        assert status == 200 and [m["id"] for m in inbox["data"]] == [message["id"]]
        request = urllib.request.Request(f"{api}/exchange/messages/{message['id']}",
                                         headers={"Authorization": f"Bearer {commune_token}"})
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 (loopback)
            package = response.read()
        assert hashlib.sha256(package).hexdigest() == inbox["data"][0]["sha256"]
        assert NOTICE_METADATA["subject"].encode() in package
        status, ack = _call(f"{api}/exchange/messages/{message['id']}/ack", commune_token,
                            {"result": "received"})
        assert status == 200, ack

        # the commune's status 01 goes back through the installed server's XSD check
        arrived = build_status_package(StatusPackage(
            sender=Organization(COMMUNE, organ_name="UBND xã Tịnh Ấn", organ_add="Tịnh Ấn"),
            response_for=ResponseFor(PROVINCE, "01/TB-UBND", dt.date(2018, 6, 19),
                                     inbox["data"][0]["document_id"]),
            status_code="01", timestamp=dt.datetime.now(VN_TZ), description="Đã đến"))
        status, receipt = _call(f"{api}/exchange/messages", commune_token, arrived,
                                content_type="application/xml", key=uuid.uuid4().hex)
        assert status == 201, receipt
        status, statuses = _call(f"{api}/documents/{doc['id']}/statuses", clerk)
        assert [r["latest"]["code"] for r in statuses["recipients"]] == ["01"]
    finally:
        server.terminate()
        output = server.communicate(timeout=30)[0].decode()
    assert "Traceback" not in output, output[-3000:]


def _call(url: str, token: str, body: dict | bytes | None = None, *,
          content_type: str = "application/json", key: str | None = None) -> tuple[int, dict]:
    data = body if isinstance(body, bytes) or body is None else json.dumps(body).encode()
    headers = {"Authorization": f"Bearer {token}"}
    if data is not None:
        headers["Content-Type"] = content_type
    if key:
        headers["Idempotency-Key"] = key
    request = urllib.request.Request(url, data=data, headers=headers,
                                     method="POST" if data is not None else "GET")
    try:
        with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310 (loopback)
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, json.load(error)


@pytest.fixture
def real_pki(tmp_path, monkeypatch):
    """A CA that is not the demo's (production refuses demo keys), served on loopback."""
    ours = tuple(replace(spec, subject=tuple(
        (oid, "Test Trust Services") if oid == NameOID.ORGANIZATION_NAME and value == "docsvc demo"
        else (oid, value) for oid, value in spec.subject)) for spec in demo.ENTITIES)
    monkeypatch.setattr(demo, "ENTITIES", ours)
    server = LoopbackServer().start()
    try:
        pki = demo.generate(tmp_path / "ca", base_url=server.base_url)
        server.app.use(pki)
        yield pki
    finally:
        server.stop()


@pytest.mark.postgres
def test_the_readme_production_path_exchanges_a_document_with_real_keys(
        installed, tmp_path, real_pki, postgres_url, s3_server):  # noqa: F811
    env = _environment(tmp_path, installed)
    trust, keys = tmp_path / "trust", tmp_path / "keys"
    trust.mkdir()
    keys.mkdir()
    (trust / "root-ca.pem").write_bytes(real_pki.root_cert_path.read_bytes())
    (trust / "chain.pem").write_bytes(real_pki.chain_path.read_bytes())
    assets = CHECKOUT / "docsvc" / "signing" / "assets"
    for name, cred in (("viet", real_pki["person-rsa"]), ("seal", real_pki["agency-rsa"])):
        (keys / f"{name}.p12").write_bytes(cred.p12_path.read_bytes())
        (keys / f"{name}.pass").write_bytes(cred.passphrase_path.read_bytes())
    (keys / "viet-signature.png").write_bytes((assets / "demo-signature.png").read_bytes())
    (keys / "seal.png").write_bytes((assets / "demo-seal.png").read_bytes())
    env.update(  # step 2 of the README's production section
        DOCSVC_ENV="production", DOCSVC_SECRET_KEY=uuid.uuid4().hex * 2,
        DOCSVC_DATABASE_URL=postgres_url, DOCSVC_BLOB_BACKEND="s3",
        DOCSVC_S3_ENDPOINT=s3_server.endpoint, DOCSVC_S3_BUCKET=f"docsvc-{uuid.uuid4().hex[:12]}",
        DOCSVC_S3_ACCESS_KEY="testing", DOCSVC_S3_SECRET_KEY="testing", DOCSVC_S3_REGION="us-east-1",
        DOCSVC_S3_SECURE="false", DOCSVC_ORGAN_ID=PROVINCE, DOCSVC_TSA_URL=real_pki.tsa_url,
        DOCSVC_TRUST_DIRS=str(trust), DOCSVC_REVOCATION_FETCHING="true",
        # the agency's own key signs edXML packages and receipts (production refuses to start
        # without one); here the seal's PKCS#12
        DOCSVC_AGENCY_KEY_FILE=str(keys / "seal.p12"),
        DOCSVC_AGENCY_KEY_PASSPHRASE_FILE=str(keys / "seal.pass"))

    def docsvc(*args: str) -> str:
        done = subprocess.run([str(installed / "docsvc"), *args], capture_output=True, text=True,
                              cwd=tmp_path, env=env)
        assert done.returncode == 0, f"docsvc {' '.join(args)}: {done.stderr[-2000:]}"
        return done.stdout

    docsvc("init")  # step 3
    seed = json.loads((CHECKOUT / "docsvc" / "directory_seed.json").read_text())
    directory = tmp_path / "directory.json"  # step 4: us and the commune
    directory.write_text(json.dumps({"organizations": [
        o for o in seed["organizations"] if o["organ_id"] in (PROVINCE, COMMUNE)]}))
    docsvc("directory", "import", str(directory))
    docsvc("users", "add", "vanthu", "--role", "clerk", "--org", PROVINCE)  # step 5
    docsvc("users", "add", "viet", "--role", "signer", "--org", PROVINCE)
    commune_token = docsvc("systems", "add", COMMUNE, "--name", "UBND xã Tịnh Ấn").strip()
    docsvc("signers", "add", "viet", "--role", "person", "--org", PROVINCE, "--user", "viet",  # step 6
           "--name", "Nguyễn Quốc Việt", "--position", "Phó Chánh Văn phòng",
           "--p12", str(keys / "viet.p12"), "--passphrase-file", str(keys / "viet.pass"),
           "--chain", str(trust / "chain.pem"), "--picture", str(keys / "viet-signature.png"))
    docsvc("signers", "add", "con-dau", "--role", "agency", "--org", PROVINCE,
           "--name", "UBND tỉnh Quảng Ngãi", "--p12", str(keys / "seal.p12"),
           "--passphrase-file", str(keys / "seal.pass"), "--chain", str(trust / "chain.pem"),
           "--picture", str(keys / "seal.png"))
    clerk = docsvc("tokens", "issue", "vanthu").strip()
    signer = docsvc("tokens", "issue", "viet").strip()
    pdf = tmp_path / "tb.pdf"
    pdf.write_bytes(notice_pdf())
    doc = json.loads(docsvc("documents", "add", str(pdf), "--metadata", json.dumps(NOTICE_METADATA)))

    port = free_port()
    api = f"http://127.0.0.1:{port}/api/v1"
    server = subprocess.Popen([str(installed / "docsvc"), "serve", "--port", str(port), "--workers",
                               "1", "--threads", "4"], cwd=tmp_path, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:  # step 7
        wait_for_port(port, timeout=60)
        status, health = _call(f"{api}/health", clerk)
        assert status == 200, health
        assert _call(f"{api}/documents/{doc['id']}/register", clerk, {})[0] == 200
        box = {"page": 1, "box": [320, 120, 520, 200]}  # the sample prints no signer's name
        for token, body in ((signer, {"role": "person", "signer": "viet", "placement": box}),
                            (clerk, {"role": "agency", "signer": "con-dau"})):
            status, answer = _call(f"{api}/documents/{doc['id']}/signatures", token, body)
            assert status == 201, answer
        status, report = _call(f"{api}/documents/{doc['id']}/versions/3/verification", clerk)
        assert status == 200 and report["verdict"] == "TOTAL_PASSED", report
        assert [s["level"] for s in report["signatures"]] == ["B-LT", "B-LT"]
        status, sent = _call(f"{api}/documents/{doc['id']}/send", clerk, {"to": [COMMUNE]})
        assert status in (200, 201), sent
        status, inbox = _call(f"{api}/exchange/inbox", commune_token)
        assert status == 200 and len(inbox["data"]) == 1
        message = inbox["data"][0]
        status, ack = _call(f"{api}/exchange/messages/{message['id']}/ack", commune_token,
                            {"result": "received"})
        assert status == 200, ack
        assert (ack.get("signature") or {}).get("jws"), ack  # the receipt is signed by the agency key
    finally:
        server.terminate()
        output = server.communicate(timeout=30)[0].decode()
    assert "Traceback" not in output, output[-3000:]
    assert not (tmp_path / "var").exists()  # production keeps nothing in a data folder
