"""Fixtures for the verifier's integration tests: the test PKI (``tests.support.pki``) and its
trust folder.
"""

from __future__ import annotations

import pytest

from tests.support.pki import build_pki


@pytest.fixture(scope="session")
def pki(tmp_path_factory):
    return build_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="session")
def trust(pki):
    from docsvc.verify import load_trust

    return load_trust([pki.trust_dir()])
