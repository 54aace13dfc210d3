"""bench/run_all in smoke mode: every benchmark and the load test still run and print every
figure of the table (tiny sizes; no timing is asserted)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import need_postgres

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
@pytest.mark.postgres
@pytest.mark.s3
def test_run_all_smoke_writes_every_row(tmp_path):
    need_postgres()
    out = tmp_path / "bench.md"
    done = subprocess.run([sys.executable, str(ROOT / "bench" / "run_all.py"), "--smoke",
                           "--out", str(out)], capture_output=True, text=True, timeout=1500,
                          cwd=ROOT)
    assert done.returncode == 0, done.stderr[-3000:]
    report = out.read_text(encoding="utf-8")
    for measure in ("sign 1-page B-B in-process (c0)", "signatures/s over HTTP",
                    "/verify 1-page", "upload + register 1-page", "(PostgreSQL)", "(SQLite)",
                    "delivery between two instances", "send → delivered p95"):
        assert measure in report
    table = [line for line in report.splitlines() if line.startswith("| ")]
    assert len(table) >= 12  # the rows and the load test's operations
    for operation in ("list", "search", "read", "upload+register", "sign", "verify"):
        assert f"| {operation} |" in report
    assert "Error rate: " in report  # its value is a figure like the others: not asserted
    assert "Server memory (RSS of master + workers) over time: " in report
