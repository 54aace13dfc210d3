"""The README's walk-through, run as written: ``scripts/run`` serves on the embedded defaults (a
fresh data folder), then the README's own shell blocks upload, register, sign as the person,
seal as the agency and verify. Only the port is changed (the README says 8000)."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

from tests.integration.conftest import free_port, wait_for_port

ROOT = Path(__file__).resolve().parents[2]
START, STOP = "A first user and token", "The person's picture goes"


def walkthrough() -> str:
    """Return the shell blocks of the README between START and STOP, joined."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text[text.index(START):text.index(STOP)]
    blocks = re.findall(r"```sh\n(.*?)```", section, flags=re.S)
    assert len(blocks) >= 2, "the README walk-through lost its shell blocks"
    return "\n".join(blocks)


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


@pytest.mark.slow
def test_readme_walkthrough_runs_as_written(tmp_path):
    port = free_port()
    if _listening(8790):
        pytest.skip("the demo TSA port 8790 is taken by another process")
    work = tmp_path / "newcomer"
    work.mkdir()
    (work / ".venv").symlink_to(ROOT / ".venv")
    (work / "docs").symlink_to(ROOT / "docs")  # the README copies its sample notice from there
    env = {**os.environ, "DOCSVC_DATA_DIR": str(tmp_path / "var"), "PORT": str(port),
           "PYTHONWARNINGS": "default"}
    for name in ("DOCSVC_DATABASE_URL", "DOCSVC_BLOB_BACKEND", "DOCSVC_TSA_URL", "DOCSVC_TRUST_DIRS",
                 "DOCSVC_ENV"):
        env.pop(name, None)
    log = (tmp_path / "run.log").open("wb")
    server = subprocess.Popen(["bash", str(ROOT / "scripts" / "run")], cwd=ROOT, env=env,
                              stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_for_port(port, timeout=240)
        script = walkthrough().replace("127.0.0.1:8000", f"127.0.0.1:{port}")
        done = subprocess.run(["bash", "-eo", "pipefail", "-c", script], cwd=work, env=env,
                              capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stdout + done.stderr
        assert '"verdict": "TOTAL_PASSED"' in done.stdout or '"verdict":"TOTAL_PASSED"' in done.stdout, (
            done.stdout[-3000:] + done.stderr[-3000:])
        assert "Warning" not in done.stderr, done.stderr
        # killing scripts/run stops what it started: the server does not go on serving alone
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
        deadline = time.monotonic() + 20
        while (_listening(port) or _listening(8790)) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not _listening(port), "gunicorn still serves after scripts/run was stopped"
        assert not _listening(8790), "the demo TSA still serves after scripts/run was stopped"
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(timeout=10)
        log.close()
