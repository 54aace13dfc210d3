"""Fixtures of the verifier tests: the test PKI (``tests.support.pki``), its trust store and
the hand-made PDFs (``tests.support.pdf``).
"""

from __future__ import annotations

import pytest

from tests.support.pdf import append_update, make_pdf
from tests.support.pki import TestPki, build_pki


@pytest.fixture(scope="session")
def pki(tmp_path_factory) -> TestPki:
    return build_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="session")
def trust(pki):
    from docsvc.verify import load_trust

    return load_trust([pki.trust_dir()])


@pytest.fixture(scope="session")
def sample_pdf() -> bytes:
    return make_pdf()


@pytest.fixture(scope="session")
def signed_pdf(pki, sample_pdf) -> bytes:
    return pki.sign(sample_pdf)


@pytest.fixture
def pdf_builders():
    """The PDF builders as a namespace, for tests that craft files."""

    class _B:
        make = staticmethod(make_pdf)
        append = staticmethod(append_update)

    return _B
