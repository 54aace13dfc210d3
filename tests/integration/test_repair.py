"""Issue 13, finding 10: what a kill -9 leaves behind is cleared by ``docsvc check --repair``."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from docsvc.services.maintenance import repair_storage
from docsvc.storage.local import LocalBlobStore

CHILD = r"""
import io, os, sys, tempfile, time
from docsvc.services.exchange.receiving import SPOOL_PREFIX as TEMP_PREFIX
from docsvc.storage.local import LocalBlobStore

class Endless(io.RawIOBase):
    def readable(self): return True
    def readinto(self, b):
        time.sleep(0.01)
        b[:len(b)] = b"x" * len(b)
        return len(b)

fd, path = tempfile.mkstemp(prefix=TEMP_PREFIX, suffix=".pdf", dir=sys.argv[2])
os.write(fd, b"<edXML> a received package being spooled")
print("ready", flush=True)
LocalBlobStore(sys.argv[1]).put(io.BufferedReader(Endless()), sha256="0" * 64, size=10**12)
"""


def test_temporary_files_left_by_a_killed_process_are_removed(tmp_path, session):
    blob_dir, temp_dir = tmp_path / "blobs", tmp_path / "tmp"
    temp_dir.mkdir()
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(blob_dir), str(temp_dir)],
                             stdout=subprocess.PIPE, text=True)
    assert child.stdout.readline().strip() == "ready"
    deadline = time.monotonic() + 20
    while not list(blob_dir.glob("??/??/.incoming-*")) and time.monotonic() < deadline:
        time.sleep(0.05)
    os.kill(child.pid, signal.SIGKILL)
    child.wait(timeout=10)
    child.stdout.close()
    left = [*blob_dir.glob("??/??/.incoming-*"), *temp_dir.iterdir()]
    assert len(left) == 2  # the half-written blob and the pdftotext copy survived the kill
    store = LocalBlobStore(blob_dir)
    assert repair_storage(session, store, temp_dirs=(temp_dir,)).removed_temporaries == []
    later = dt.datetime.now(dt.UTC) + dt.timedelta(hours=2)
    report = repair_storage(session, store, temp_dirs=(temp_dir,), now=later)
    assert sorted(report.removed_temporaries) == sorted(str(p) for p in left)
    assert not any(Path(p).exists() for p in left)
