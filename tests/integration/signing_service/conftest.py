"""Fixtures of the signing service tests: a demo PKI on disk (served on loopback for the
tests that need OCSP or a TSA), the demo profiles bound to a signer, registered notices.
"""

from __future__ import annotations

import pytest

from docsvc.config import Settings
from docsvc.metadata import parse_metadata
from docsvc.security import OPERATOR
from docsvc.services.documents import register_document, upload_document
from docsvc.services.signers import SigningTools, add_signer_profile, demo_profile_specs
from docsvc.signing.sample import notice_pdf
from tests.conftest import add_province
from tests.support import signing
from tests.support.data import NOTICE_METADATA

# The demo PKI served on loopback (OCSP, CRL, TSA).
served_pki, pki = signing.served_pki, signing.pki
PROVINCE = signing.PROVINCE


@pytest.fixture
def settings(tmp_path) -> Settings:
    return Settings(env="test", data_dir=tmp_path / "var")


@pytest.fixture(autouse=True)
def province_in_directory(session) -> None:
    add_province(session)


@pytest.fixture
def tools(settings) -> SigningTools:
    tools = SigningTools(settings)
    yield tools
    tools.close()


@pytest.fixture
def profiles(session, tools, pki):
    """The demo profiles, demo-person bound to the signer ``viet``."""
    for spec in demo_profile_specs(pki, person_user="viet"):
        add_signer_profile(session, tools, OPERATOR, spec)
    return session


@pytest.fixture
def notice_bytes() -> bytes:
    return notice_pdf()


@pytest.fixture
def make_notice(session, blobs, notice_bytes, settings):
    """Upload (and by default register) a copy of the sample notice; return its id."""

    def make(*, register: bool = True, data: bytes | None = None) -> str:
        import io

        stream = io.BytesIO(data or notice_bytes)
        document, _ = upload_document(
            session, blobs, stream=stream, filename="tb.pdf",
            metadata=parse_metadata(NOTICE_METADATA), owner_organ_id=PROVINCE, actor=OPERATOR)
        if register:
            register_document(session, document_id=document.id, actor=OPERATOR,
                              zone=settings.zone)
        return document.id

    return make
