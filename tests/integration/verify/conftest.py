"""Fixtures for the verifier's integration tests: the unit tests' test PKI (one definition,
loaded from tests/unit/verify/conftest.py) and its trust folder.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

_KIT_PATH = Path(__file__).resolve().parents[2] / "unit" / "verify" / "conftest.py"


def _load_kit():
    name = "docsvc_verify_test_kit"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, _KIT_PATH)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


kit = _load_kit()


@pytest.fixture(scope="session")
def pki(tmp_path_factory):
    return kit.build_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="session")
def trust(pki):
    from docsvc.verify import load_trust

    return load_trust([pki.trust_dir()])
