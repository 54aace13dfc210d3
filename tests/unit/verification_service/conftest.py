"""Fixtures of the verification service tests: the test PKI (``tests.support.pki``), a trust
folder per test that a test may change (``revoke`` writes CRLs into it), and stored documents
with signed versions.
"""

from __future__ import annotations

import hashlib
import io
import shutil
from pathlib import Path

import pytest

from docsvc.config import Settings
from docsvc.metadata import parse_metadata
from docsvc.models import Document
from docsvc.services.documents import store_version, upload_document
from docsvc.services.verification import Verifier, make_verifier
from tests.support.data import NOTICE_METADATA, PROVINCE_CLERK
from tests.support.pdf import make_pdf
from tests.support.pki import TestPki, build_pki

PROVINCE = "000.00.00.H48"
CLERK = PROVINCE_CLERK


@pytest.fixture(scope="session")
def test_pki(tmp_path_factory) -> TestPki:
    return build_pki(tmp_path_factory.mktemp("verification-pki"))


@pytest.fixture(scope="session")
def original_pdf() -> bytes:
    return make_pdf("Thong bao ket luan")


@pytest.fixture(scope="session")
def signed_pdf(test_pki, original_pdf) -> bytes:
    return test_pki.sign(original_pdf)


@pytest.fixture
def trust_dir(test_pki, tmp_path) -> Path:
    """A trust folder of this test only, holding the test root (``trust/test-root``)."""
    folder = tmp_path / "trust" / "test-root"
    folder.mkdir(parents=True)
    shutil.copy(test_pki.trust_dir() / "root.pem", folder / "root.pem")
    return folder


@pytest.fixture
def verifier(trust_dir) -> Verifier:
    return make_verifier(Settings(env="test", trust_dirs=(trust_dir,)))


@pytest.fixture
def store_document(session, blobs, original_pdf):
    """Upload ``data`` as the original, or the unsigned original then ``data`` as a version of
    ``kind``; return (document id, version number)."""

    def store(data: bytes, *, kind: str = "signed", organ_id: str = PROVINCE) -> tuple[str, int]:
        metadata = parse_metadata({**NOTICE_METADATA, "organ_id": organ_id})
        first = data if kind == "original" else original_pdf
        document, _ = upload_document(session, blobs, stream=io.BytesIO(first),
                                      filename="tb.pdf", metadata=metadata,
                                      owner_organ_id=organ_id, actor=CLERK)
        if kind == "original":
            return document.id, 1
        document = session.get(Document, document.id)
        version = store_version(session, blobs, document, io.BytesIO(data), kind=kind,
                                filename="tb-signed.pdf", actor=CLERK,
                                sha256=hashlib.sha256(data).hexdigest(), size=len(data))
        session.commit()
        return document.id, version.number

    return store
