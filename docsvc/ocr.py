"""OCR of scanned PDFs into a searchable rendition (capability over ocrmypdf + tesseract).

ocrmypdf runs in a child process with a wall-clock limit: it rasterises one page at a time
(pypdfium2), has tesseract read it (Debian's ``tesseract-ocr-vie``) and lays an invisible text
layer over the unchanged page image, so memory depends on the page size, not the page count.
Pages that already have text are left alone. The original is never touched: the result is a new
file the caller stores beside it.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class OcrResult:
    """How an OCR run ended; ``reason`` is a stable code when it did not succeed."""

    ok: bool
    reason: str | None
    """``ocr_unavailable``, ``ocr_timeout``, ``ocr_failed`` or None."""
    pages: int
    """Pages OCR'd (at most the page limit)."""
    seconds: float
    detail: str = ""


def unavailable_reason(languages: str = "vie") -> str | None:
    """Return why OCR cannot run here (missing program or language data), or None."""
    try:
        import ocrmypdf  # noqa: F401
    except ImportError:
        return "ocrmypdf is not installed"
    tesseract = shutil.which("tesseract")
    if tesseract is None:
        return "tesseract is not installed"
    try:
        listed = subprocess.run([tesseract, "--list-langs"], capture_output=True, text=True,
                                timeout=20, check=False).stdout.split()
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"tesseract does not answer: {exc}"
    missing = [lang for lang in languages.split("+") if lang not in listed]
    if missing:
        return f"tesseract language data missing: {', '.join(missing)} (Debian: tesseract-ocr-vie)"
    return None


def make_searchable(source: Path, target: Path, *, page_count: int, languages: str = "vie",
                    max_pages: int = 300, timeout_seconds: float = 1800.0) -> OcrResult:
    """OCR ``source`` into ``target`` (a PDF with a text layer); never raises on OCR failure."""
    started = time.monotonic()
    why = unavailable_reason(languages)
    if why is not None:
        return OcrResult(False, "ocr_unavailable", 0, 0.0, why)
    pages = min(page_count, max_pages)
    command = [
        sys.executable, "-m", "ocrmypdf", "--quiet", "--language", languages,
        "--output-type", "pdf", "--rasterizer", "pypdfium", "--skip-text", "--jobs", "1",
        "--optimize", "0", "--tesseract-timeout", str(max(30, int(timeout_seconds))),
        "--pages", f"1-{pages}", str(source), str(target),
    ]
    env = dict(os.environ, OMP_THREAD_LIMIT="1")  # one core per OCR run; the machine is shared
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env,
                               start_new_session=True)
    try:
        _, err = process.communicate(timeout=timeout_seconds)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)  # its own session: tesseract children go too
        process.communicate()
        return OcrResult(False, "ocr_timeout", 0, time.monotonic() - started,
                         f"longer than {timeout_seconds:g} s")
    seconds = time.monotonic() - started
    if process.returncode != 0 or not target.exists():
        tail = err.decode("utf-8", "replace").strip().splitlines()[-3:]
        return OcrResult(False, "ocr_failed", 0, seconds,
                         f"ocrmypdf exit {process.returncode}: {' | '.join(tail)}"[:400])
    return OcrResult(True, None, pages, seconds)
