"""A demo PKI on disk (no services) and the sample notice, for fast signing tests."""

from __future__ import annotations

import pytest

from docsvc.pki import demo
from docsvc.signing import load_pkcs12_signer
from docsvc.signing.sample import notice_pdf


@pytest.fixture(scope="session")
def pki(tmp_path_factory):
    return demo.generate(tmp_path_factory.mktemp("pki"), base_url="http://127.0.0.1:9/")


@pytest.fixture(scope="session")
def sample_pdf():
    return notice_pdf()


@pytest.fixture(scope="session")
def person_signer(pki):
    cred = pki["person-rsa"]
    return load_pkcs12_signer(cred.p12_path, passphrase_file=cred.passphrase_path)
