"""A real browser on the real app: Debian's chromium driven by Playwright (never a downloaded
browser), the Flask app served on a loopback port by werkzeug, axe-core (from npm) for the
accessibility check, and screenshots for docs/screenshots/.

``SCREENSHOTS_DIR`` (environment) is where the screenshots go; by default a temporary folder, so
that a test run does not rewrite the committed pictures. ``bash scripts/screenshots`` refreshes
them."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tarfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
VIEWPORTS = {"desktop": {"width": 1366, "height": 768}, "phone": {"width": 390, "height": 844}}
AXE_VERSION = "4.14.1"
AXE_DIR = Path(__file__).parent / ".axe"
"""axe-core's npm package, unpacked on first use (``npm pack``); not committed."""


def axe_source() -> str:
    """Return axe.min.js of the pinned axe-core, fetching the npm package once if needed."""
    target = AXE_DIR / f"axe-{AXE_VERSION}.min.js"
    if not target.exists():
        if shutil.which("npm") is None:
            pytest.fail("npm is needed once to fetch axe-core (npm pack axe-core)")
        AXE_DIR.mkdir(exist_ok=True)
        packed = subprocess.run(["npm", "pack", f"axe-core@{AXE_VERSION}", "--silent"],
                                cwd=AXE_DIR, check=True, capture_output=True, text=True,
                                timeout=180).stdout.strip().splitlines()[-1]
        with tarfile.open(AXE_DIR / packed) as archive:
            member = archive.extractfile("package/axe.min.js")
            assert member is not None
            target.write_bytes(member.read())
        (AXE_DIR / packed).unlink()
    return target.read_text(encoding="utf-8")


class LiveServer:
    """The app on 127.0.0.1 and a free port, in a thread (one request at a time)."""

    def __init__(self, app: Any) -> None:
        from werkzeug.serving import make_server

        self.server = make_server("127.0.0.1", 0, app, threaded=False)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.thread.join(10)


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    """Debian's chromium, headless, launched by Playwright.

    Module scope, not session: Playwright's sync API keeps an asyncio loop running in this
    thread while it is open, and every later ``asyncio.run`` (pyHanko's signing) would fail."""
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: install the Debian package chromium")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    """The folder the screenshots go to (``SCREENSHOTS_DIR`` or a temporary one)."""
    folder = Path(os.environ.get("SCREENSHOTS_DIR") or tmp_path / "screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def check_accessibility(page: Any, where: str) -> list[dict[str, Any]]:
    """Run axe-core on the page; fail on any serious or critical finding (WCAG 2 A/AA rules)."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.evaluate(axe_source())  # evaluated by the driver: the page's CSP stays as it is
    result = page.evaluate("""async () => {
        const r = await axe.run(document, {runOnly: {type: 'tag',
            values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']}});
        return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
            nodes: v.nodes.slice(0, 3).map(n => n.target.join(' '))}));
    }""")
    bad = [v for v in result if v["impact"] in ("serious", "critical")]
    assert not bad, f"{where}: {json.dumps(bad, ensure_ascii=False, indent=1)}"
    return result


def page_width(page: Any) -> int:
    """Return how wide the page's content is (wider than the viewport: it scrolls sideways)."""
    return int(page.evaluate("() => document.documentElement.scrollWidth"))
