"""The install contract: requirements.lock pins what pyproject.toml asks for, and the CLI is quiet.

A fresh clone once installed a newer cryptography than the developers had, and its import-time
deprecation warning broke every test: installs come from the lock, and this test keeps the lock
and pyproject.toml in agreement (refresh with ``bash scripts/lock``).
"""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[2]


def _lock() -> dict[str, Version]:
    pins: dict[str, Version] = {}
    for line in (ROOT / "requirements.lock").read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        name, _, version = line.partition("==")
        assert version, f"requirements.lock: {line!r} is not pinned with =="
        pins[canonicalize_name(name.split("[")[0])] = Version(version)
    return pins


def _declared() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    declared = [Requirement(r) for r in project["dependencies"]]
    for extra in project.get("optional-dependencies", {}).values():
        declared += [Requirement(r) for r in extra]
    return declared


@pytest.mark.parametrize("requirement", _declared(), ids=str)
def test_lock_pins_every_declared_requirement_within_its_range(requirement):
    pins = _lock()
    name = canonicalize_name(requirement.name)
    assert name in pins, f"{requirement.name} is declared but not in requirements.lock: run scripts/lock"
    assert requirement.specifier.contains(pins[name], prereleases=True), (
        f"requirements.lock pins {requirement.name}=={pins[name]}, outside {requirement.specifier}"
    )


def test_every_install_path_uses_the_lock():
    for path in ("scripts/run", "scripts/test", "Dockerfile"):
        text = (ROOT / path).read_text(encoding="utf-8")
        installs = [ln for ln in text.splitlines() if "pip install" in ln and "--upgrade pip" not in ln]
        assert installs, f"{path} installs nothing"
        assert all("requirements.lock" in ln for ln in installs), f"{path}: {installs}"


def test_cli_prints_no_warnings(tmp_path):
    """`docsvc verify` imports pyHanko (and so cryptography's DSA module): stderr stays empty."""
    from docsvc.samples import notice_pdf

    pdf = tmp_path / "notice.pdf"
    pdf.write_bytes(notice_pdf())
    docsvc = Path(sys.executable).with_name("docsvc")
    done = subprocess.run([str(docsvc), "verify", str(pdf)], capture_output=True, text=True,
                          timeout=120, env={"PATH": "/usr/bin:/bin", "PYTHONWARNINGS": "default",
                                            "DOCSVC_DATA_DIR": str(tmp_path / "var")})
    assert "Warning" not in done.stderr, done.stderr
    assert done.stdout.strip(), done.stderr  # it reported something
