"""The public reference data beside the checkout (``../shared/refdata``), under one rule.

Outside CI a missing folder skips the tests that need it, saying where it was looked for. Under
``.ci/run`` (``DOCSVC_REQUIRE_REFDATA=1``) a missing folder fails them: CI must never go green
while the reference verdicts were not checked.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2].parent / "shared" / "refdata"


def is_required() -> bool:
    """Tell whether missing reference data is a failure (CI) rather than a skip."""
    return os.environ.get("DOCSVC_REQUIRE_REFDATA") == "1"


def refdata_dir(kind: str) -> Path:
    """Return ``refdata/<kind>``; skip the calling test (fail under CI) when it is missing."""
    path = ROOT / kind
    if not path.is_dir():
        message = (f"reference data {kind!r} not found at {path} (it lives in ../shared/refdata "
                   f"beside the checkout)")
        if is_required():
            pytest.fail(message)
        pytest.skip(message)
    return path


def refdata_files(kind: str, pattern: str) -> list[str]:
    """List the files under ``refdata/<kind>`` matching ``pattern`` (for parametrize), or ``[]``.

    An empty list makes pytest report the parametrized test as skipped; under CI the module's
    ``refdata_dir`` call fails instead, so an empty list never passes silently there.
    """
    path = ROOT / kind
    if not path.is_dir():
        return []
    return sorted(p.relative_to(path).as_posix() for p in path.rglob(pattern))
