"""The CLI on the embedded defaults, and the real gunicorn server started by ``docsvc serve``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

import pytest
from click.testing import CliRunner

from docsvc.cli import main
from docsvc.samples import notice_pdf
from tests.support.data import NOTICE_METADATA
from tests.support.net import free_port, wait_for_port


@pytest.fixture
def runner(tmp_path, monkeypatch):
    monkeypatch.setenv("DOCSVC_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.delenv("DOCSVC_DATABASE_URL", raising=False)
    monkeypatch.delenv("DOCSVC_BLOB_BACKEND", raising=False)
    return CliRunner()


def invoke(runner, *args):
    result = runner.invoke(main, list(args), catch_exceptions=False)
    return result


def test_cli_upload_register_get_and_check(runner, tmp_path):
    assert invoke(runner, "init").exit_code == 0
    assert invoke(runner, "init").exit_code == 0  # idempotent
    pdf = tmp_path / "tb.pdf"
    pdf.write_bytes(notice_pdf())
    added = invoke(runner, "documents", "add", str(pdf), "--metadata",
                   json.dumps(NOTICE_METADATA, ensure_ascii=False))
    assert added.exit_code == 0, added.output
    doc = json.loads(added.stdout)
    registered = json.loads(invoke(runner, "documents", "register", doc["id"]).stdout)
    assert registered["code_number"] == "01"
    listed = invoke(runner, "documents", "list", "--q", "cai cach").stdout
    assert listed.startswith(doc["id"]) and "01/TB-UBND" in listed
    out = tmp_path / "out.pdf"
    assert invoke(runner, "documents", "get", doc["id"], "--out", str(out)).exit_code == 0
    assert out.read_bytes() == pdf.read_bytes()

    healthy = invoke(runner, "check", "--json")
    assert healthy.exit_code == 0
    assert json.loads(healthy.stdout) == {"checked": 1, "packages": 0, "missing": [],
                                          "corrupted": [], "orphans": []}


def test_check_reports_missing_corrupted_and_orphans(runner, tmp_path):
    invoke(runner, "init")
    blobs = tmp_path / "var" / "blobs"
    ids = []
    for text in ("one", "two"):
        pdf = tmp_path / f"{text}.pdf"
        pdf.write_bytes(notice_pdf([text]))
        ids.append(json.loads(invoke(runner, "documents", "add", str(pdf), "--metadata",
                                     json.dumps(NOTICE_METADATA)).stdout))
    files = {p.name: p for p in blobs.rglob("*") if p.is_file()}
    files[ids[0]["versions"][0]["sha256"]].unlink()
    files[ids[1]["versions"][0]["sha256"]].write_bytes(b"%PDF-1.7 tampered")
    orphan = blobs / "ab" / "cd" / ("abcd" + "0" * 60)
    orphan.parent.mkdir(parents=True)
    orphan.write_bytes(b"nobody points here")

    result = invoke(runner, "check")
    assert result.exit_code == 1
    assert f"ERROR missing bytes: document {ids[0]['id']} v1" in result.stdout
    assert f"ERROR corrupted bytes: document {ids[1]['id']} v1" in result.stdout
    assert f"INFO orphan blob: {orphan.name}" in result.stdout


def test_secrets_reseal_moves_stored_secrets_to_the_new_key(runner, tmp_path, monkeypatch):
    from sqlalchemy import select

    from docsvc.app import build_runtime
    from docsvc.config import Settings
    from docsvc.models import LinkedSystem
    from docsvc.sealing import VXP_SECRET, Sealer

    old, new = "o" * 40, "n" * 40
    monkeypatch.setenv("DOCSVC_VXP_KEY", old)
    assert invoke(runner, "init").exit_code == 0
    added = runner.invoke(main, ["systems", "add", "000.01.01.H48", "--name", "QLVB xã",
                                 "--vxp-system-id", "vxp.tinhan.01", "--vxp-secret-stdin"],
                          input="commune-shared-secret-01\n", catch_exceptions=False)
    assert added.exit_code == 0, added.output
    monkeypatch.setenv("DOCSVC_SEALING_KEYS", new)
    resealed = invoke(runner, "secrets", "reseal")
    assert resealed.exit_code == 0, resealed.output
    assert "resealed 0 peer tokens and 1 VXP secrets; 0 already current" in resealed.output
    assert "1 already current" in invoke(runner, "secrets", "reseal").output
    rt = build_runtime(Settings.from_env({"DOCSVC_DATA_DIR": str(tmp_path / "var")}))
    try:
        with rt.sessions() as session:
            sealed = session.execute(select(LinkedSystem.vxp_secret_sealed)).scalar_one()
    finally:
        rt.engine.dispose()
    assert Sealer([new]).open(sealed, purpose=VXP_SECRET, subject="vxp.tinhan.01") == \
        "commune-shared-secret-01"


def test_cli_reports_errors_cleanly(runner, tmp_path):
    invoke(runner, "init")
    bad = tmp_path / "bad.pdf"
    bad.write_bytes(b"not a pdf")
    result = runner.invoke(main, ["documents", "add", str(bad), "--metadata",
                                  json.dumps(NOTICE_METADATA)])
    assert result.exit_code == 1
    assert "unsupported_media_type" in result.output and "Traceback" not in result.output


def test_bad_configuration_lists_every_problem(runner, monkeypatch):
    monkeypatch.setenv("DOCSVC_ENV", "staging")
    monkeypatch.setenv("DOCSVC_BLOB_BACKEND", "ftp")
    result = runner.invoke(main, ["init"])
    assert result.exit_code == 1
    assert "DOCSVC_ENV" in result.output and "DOCSVC_BLOB_BACKEND" in result.output


def test_serve_runs_gunicorn_and_answers(tmp_path):
    port = free_port()
    env = {**os.environ, "DOCSVC_DATA_DIR": str(tmp_path / "var")}
    subprocess.run([sys.executable, "-m", "docsvc", "init"], env=env, check=True,
                   capture_output=True)
    subprocess.run([sys.executable, "-m", "docsvc", "users", "add", "vt", "--role", "clerk",
                    "--org", "000.00.00.H48"], env=env, check=True, capture_output=True)
    token = subprocess.run([sys.executable, "-m", "docsvc", "tokens", "issue", "vt"], env=env,
                           check=True, capture_output=True, text=True).stdout.strip()
    server = subprocess.Popen(
        [sys.executable, "-m", "docsvc", "serve", "--port", str(port), "--workers", "2"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        wait_for_port(port)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/health") as response:
            assert json.load(response)["status"] == "ok"
        boundary = uuid.uuid4().hex
        body = b"".join([
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"metadata\"\r\n\r\n".encode(),
            json.dumps(NOTICE_METADATA).encode(),
            f"\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; "
            f"filename=\"tb.pdf\"\r\nContent-Type: application/pdf\r\n\r\n".encode(),
            notice_pdf(), f"\r\n--{boundary}--\r\n".encode()])
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/api/v1/documents", data=body, method="POST",
            headers={"Content-Type": f"multipart/form-data; boundary={boundary}",
                     "Authorization": f"Bearer {token}"})
        with urllib.request.urlopen(request) as response:
            assert response.status == 201
            assert json.load(response)["subject"] == NOTICE_METADATA["subject"]
    finally:
        server.terminate()
        output = server.communicate(timeout=20)[0].decode()
    assert "gunicorn" in output.lower() or "Booting worker" in output
    assert Path(tmp_path / "var" / "docsvc.sqlite3").exists()


def test_db_upgrade_is_init_and_creates_a_missing_data_folder(runner, tmp_path, monkeypatch):
    monkeypatch.setenv("DOCSVC_DATA_DIR", str(tmp_path / "new" / "var"))
    result = runner.invoke(main, ["db", "upgrade"])
    assert result.exit_code == 0, result.output  # was: "unable to open database file"
    assert (tmp_path / "new" / "var" / "docsvc.sqlite3").is_file()
    assert (tmp_path / "new" / "var" / "blobs").is_dir()  # the same step as `docsvc init`
    assert invoke(runner, "check", "--json").exit_code == 0


@pytest.mark.postgres
def test_init_in_production_creates_no_data_folder(tmp_path, postgres_url):
    env = {k: v for k, v in os.environ.items() if not k.startswith("DOCSVC_")}
    env.update(DOCSVC_ENV="production", DOCSVC_SECRET_KEY="k" * 48, DOCSVC_DATABASE_URL=postgres_url,
               DOCSVC_BLOB_DIR=str(tmp_path / "blobs"),  # DOCSVC_DATA_DIR: the default ./var
               DOCSVC_ALLOW_UNSIGNED_PACKAGES="true")
    done = subprocess.run([sys.executable, "-m", "docsvc", "init"], env=env, cwd=tmp_path,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "blobs").is_dir()
    assert not (tmp_path / "var").exists()


def test_two_instances_on_one_host_share_no_control_socket(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "XDG_RUNTIME_DIR"}
    env.update(DOCSVC_DATA_DIR=str(tmp_path / "var"), HOME=str(home))
    subprocess.run([sys.executable, "-m", "docsvc", "init"], env=env, check=True, capture_output=True)
    ports = [free_port(), free_port()]
    servers = [subprocess.Popen([sys.executable, "-m", "docsvc", "serve", "--port", str(port),
                                 "--workers", "1"], env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL) for port in ports]
    try:
        for port in ports:
            wait_for_port(port)
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/health") as response:
                assert response.status == 200
        # gunicorn >= 25.1 would put both at ~/.gunicorn/gunicorn.ctl, each taking it from the
        # other; it opens it just after the workers boot, so give it time to show
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline and not (home / ".gunicorn").exists():
            time.sleep(0.1)
        assert not (home / ".gunicorn").exists()
        servers[0].terminate()
        servers[0].wait(timeout=20)
        with urllib.request.urlopen(f"http://127.0.0.1:{ports[1]}/api/v1/health") as response:
            assert response.status == 200
    finally:
        for server in servers:
            server.terminate()
            server.wait(timeout=20)


def test_cli_people_tokens_systems_and_audit(runner, tmp_path):
    import sqlite3

    invoke(runner, "init")
    added = runner.invoke(main, ["users", "add", "vt", "--role", "clerk", "--org", "000.00.00.H48",
                                 "--name", "Nguyễn Văn Thư", "--password-stdin"],
                          input="mat-khau-rat-dai\n")
    assert added.exit_code == 0, added.output
    issued = runner.invoke(main, ["tokens", "issue", "vt"])
    token = issued.stdout.strip()
    assert issued.exit_code == 0 and token.startswith("dsv_") and "\n" not in token
    system = runner.invoke(main, ["systems", "add", "000.01.01.H48", "--name", "UBND xã Tịnh Ấn"])
    assert system.exit_code == 0 and system.stdout.strip().startswith("dsv_")
    listed = invoke(runner, "tokens", "list", "vt").stdout
    assert "active" in listed and token not in listed
    assert invoke(runner, "tokens", "revoke", token).exit_code == 0
    assert "revoked" in invoke(runner, "tokens", "list", "vt").stdout

    intact = invoke(runner, "audit", "verify")
    # 6: init's own-agency directory entry, the user, the token, the system, the revocation …
    assert intact.exit_code == 0 and "intact: 6 entries" in intact.stdout
    anchor = json.loads(invoke(runner, "audit", "anchor").stdout)
    assert anchor["entries"] == 6 and len(anchor["head_hash"]) == 64

    db = sqlite3.connect(tmp_path / "var" / "docsvc.sqlite3")
    db.execute("UPDATE audit_entries SET outcome = 'failure' WHERE seq = 2")
    db.commit()
    db.close()
    broken = invoke(runner, "audit", "verify")
    assert broken.exit_code == 1 and "BROKEN at entry 2" in broken.stdout
