"""The scripts as a newcomer and CI use them: stopping ``scripts/run`` stops everything it
started; ``.ci/run`` fails on ruff, mypy or pytest (also when pytest collects nothing).

``scripts/run`` runs from a copy of the checkout whose ``.venv`` is a thin shim: pip installs are
skipped (the test's own environment is used), the demo PKI is a stand-in (its real server
listens on the fixed port 8790, which other runs on this machine may hold), and ``docsvc
init``/``serve`` are the real commands, so the gunicorn that must stop is the real one.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.integration.conftest import free_port, wait_for_port

CHECKOUT = Path(__file__).resolve().parents[2]

PYTHON_SHIM = """#!/bin/sh
[ "$1" = "-m" ] && [ "$2" = "pip" ] && exit 0
exec {python} "$@"
"""
DOCSVC_SHIM = """#!/bin/sh
case "$1 $2" in
  "pki demo") mkdir -p "$DOCSVC_DATA_DIR/pki" && touch "$DOCSVC_DATA_DIR/pki/root-ca.pem"; exit 0;;
  "pki serve") echo $$ > "$DOCSVC_DATA_DIR/pki-serve.pid"; exec sleep 600;;
esac
exec {python} -m docsvc "$@"
"""


def _is_running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    return "\nState:\tZ" not in state


def _answers(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _wait_until(predicate, timeout: float) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return predicate()


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    root = tmp_path / "checkout"
    (root / "scripts").mkdir(parents=True)
    shutil.copy(CHECKOUT / "scripts" / "run", root / "scripts" / "run")
    bin_dir = root / ".venv" / "bin"
    bin_dir.mkdir(parents=True)
    for name, text in (("python", PYTHON_SHIM), ("docsvc", DOCSVC_SHIM)):
        (bin_dir / name).write_text(text.format(python=sys.executable))
        (bin_dir / name).chmod(0o755)
    return root


@pytest.mark.parametrize("with_demo_pki", [True, False], ids=["demo-pki", "own-tsa"])
def test_stopping_scripts_run_leaves_nothing_serving(checkout, tmp_path, with_demo_pki):
    port = free_port()
    data_dir = tmp_path / "var"
    env = {k: v for k, v in os.environ.items() if not k.startswith("DOCSVC_")}
    env.update(DOCSVC_DATA_DIR=str(data_dir), PORT=str(port), HOME=str(tmp_path))
    if not with_demo_pki:
        env["DOCSVC_TSA_URL"] = "http://127.0.0.1:9/tsa"  # an own TSA: no demo PKI is served
    script = subprocess.Popen(["bash", str(checkout / "scripts" / "run"), "--workers", "1"],
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              start_new_session=True)
    try:
        wait_for_port(port, timeout=60)
        pki_pid = int((data_dir / "pki-serve.pid").read_text()) if with_demo_pki else None
        script.send_signal(signal.SIGTERM)  # the script only, as `kill <pid>` does
        script.wait(timeout=60)
        assert _wait_until(lambda: not _answers(port), timeout=30), "the server kept serving"
        if pki_pid is not None:
            assert _wait_until(lambda: not _is_running(pki_pid), timeout=10), "the demo PKI kept running"
    finally:
        try:
            os.killpg(script.pid, signal.SIGKILL)  # whatever the script left behind
        except ProcessLookupError:
            pass


CI_PYTHON_SHIM = """#!/bin/sh
[ "$1" = "-m" ] && [ "$2" = "pip" ] && exit 0
[ "$1" = "-m" ] && [ "$2" = "pytest" ] && echo pytest >> "$STEPS" && exit "${PYTEST_STATUS:-0}"
exit 0
"""
CI_TOOL_SHIM = """#!/bin/sh
echo {name} >> "$STEPS"
exit "${{{variable}:-0}}"
"""


@pytest.mark.parametrize(("failing", "status", "steps", "code"), [
    (None, 0, ["ruff", "mypy", "pytest"], 0),
    ("RUFF_STATUS", 1, ["ruff"], 1),
    ("MYPY_STATUS", 1, ["ruff", "mypy"], 1),
    ("PYTEST_STATUS", 1, ["ruff", "mypy", "pytest"], 1),
    ("PYTEST_STATUS", 5, ["ruff", "mypy", "pytest"], 1),  # no test collected is a failure
])
def test_ci_run_checks_ruff_and_mypy_before_the_tests(tmp_path, failing, status, steps, code):
    root = tmp_path / "checkout"
    for script in (".ci/run", "scripts/test", "requirements.lock", "pyproject.toml"):
        (root / script).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(CHECKOUT / script, root / script)
    bin_dir = root / ".venv" / "bin"
    bin_dir.mkdir(parents=True)
    shims = {"python": CI_PYTHON_SHIM,
             "ruff": CI_TOOL_SHIM.format(name="ruff", variable="RUFF_STATUS"),
             "mypy": CI_TOOL_SHIM.format(name="mypy", variable="MYPY_STATUS")}
    for name, text in shims.items():
        (bin_dir / name).write_text(text)
        (bin_dir / name).chmod(0o755)
    env = {**os.environ, "STEPS": str(tmp_path / "steps")}
    if failing:
        env[failing] = str(status)
    done = subprocess.run(["bash", str(root / ".ci" / "run")], env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == code, done.stderr
    assert (tmp_path / "steps").read_text().split() == steps
