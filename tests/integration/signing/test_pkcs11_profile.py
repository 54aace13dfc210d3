"""A signer profile whose key lives on a SoftHSM2 token, used through the signing service.

It lives here, beside the capability's PKCS#11 tests, to share their one SoftHSM token: the
PKCS#11 module reads its configuration once per process, so a second token elsewhere would be
invisible (or shadow this one).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from docsvc.config import Settings
from docsvc.security import OPERATOR
from docsvc.services.signers import ProfileSpec, SigningTools, add_signer_profile
from docsvc.services.signing import SignatureRequest, sign_document
from docsvc.signing import existing_signatures
from docsvc.signing.appearance import DEMO_SIGNATURE_PICTURE
from docsvc.signing.errors import WrongPinError
from docsvc.storage import read_verified
from tests.support.signing import PROVINCE, SIGNER, versions_of


@pytest.fixture(autouse=True)
def province_in_directory(session) -> None:
    from tests.conftest import add_province

    add_province(session)


@pytest.fixture
def make_notice(session, blobs):
    """Upload and register the sample notice; return its id."""
    import io
    from zoneinfo import ZoneInfo

    from docsvc.metadata import parse_metadata
    from docsvc.services.documents import register_document, upload_document
    from docsvc.signing.sample import notice_pdf
    from tests.support.data import NOTICE_METADATA

    def make() -> str:
        document, _ = upload_document(
            session, blobs, stream=io.BytesIO(notice_pdf()), filename="tb.pdf",
            metadata=parse_metadata(NOTICE_METADATA), owner_organ_id=PROVINCE, actor=OPERATOR)
        register_document(session, document_id=document.id, actor=OPERATOR,
                          zone=ZoneInfo("Asia/Ho_Chi_Minh"))
        return document.id

    return make


@pytest.fixture
def token_tools(softhsm_token, tmp_path):
    tools = SigningTools(Settings(env="test", data_dir=tmp_path / "var",
                                  pkcs11_module=softhsm_token["module_path"]))
    yield tools
    tools.close()


def _token_spec(softhsm_token) -> ProfileSpec:
    return ProfileSpec(
        id="token-person", role="person", organ_id=PROVINCE, display_name="Nguyễn Quốc Việt",
        username="viet", key_source="pkcs11", pkcs11_key_label="person-rsa",
        pkcs11_token_label=softhsm_token["token_label"], pin_file=str(softhsm_token["pin_file"]),
        chain_file=str(softhsm_token["chain_files"][0]), picture_path=str(DEMO_SIGNATURE_PICTURE))


def test_a_token_profile_signs_a_document(session, blobs, token_tools, softhsm_token,
                                          make_notice):
    profile = add_signer_profile(session, token_tools, OPERATOR, _token_spec(softhsm_token))
    assert profile.key_source == "pkcs11" and "Nguyễn Quốc Việt" in profile.certificate_subject
    doc_id = make_notice()
    outcome = sign_document(session, blobs, token_tools, document_id=doc_id, actor=SIGNER,
                            request=SignatureRequest(role="person", signer="token-person"))
    assert outcome.version.number == 2
    with read_verified(blobs, versions_of(session, doc_id)[1].blob_key) as stream:
        signed = existing_signatures(stream.read())
    assert [(s.field_name, s.signer) for s in signed] == [("Sig_person_1", "Nguyễn Quốc Việt")]


def test_a_wrong_pin_is_refused_when_the_profile_is_added(session, token_tools, softhsm_token,
                                                          tmp_path):
    wrong = tmp_path / "wrong-pin"
    wrong.write_text("000000\n")
    with pytest.raises(WrongPinError) as caught:
        add_signer_profile(session, token_tools, OPERATOR,
                           replace(_token_spec(softhsm_token), id="wrong", pin_file=str(wrong)))
    assert caught.value.status == 422


def test_an_admin_names_only_a_token_the_operator_granted_to_the_agency(
        session, blobs, token_tools, softhsm_token, make_notice):
    """Issue 13, finding 1: token labels come from the operator's grants, PINs never from the API."""
    from docsvc.errors import PermissionDeniedError
    from docsvc.security import Actor
    from docsvc.services.signers import ServerPathRefusedError, TokenNotGrantedError, grant_token

    admin = Actor(kind="user", name="quantri", organ_id=PROVINCE, roles=frozenset({"admin"}))
    spec = replace(_token_spec(softhsm_token), id="granted", pin_file=None, chain_file=None,
                   picture_path=None)
    with pytest.raises(TokenNotGrantedError):
        add_signer_profile(session, token_tools, admin, spec,
                           picture=DEMO_SIGNATURE_PICTURE.read_bytes())
    with pytest.raises(ServerPathRefusedError):  # the PIN file is the operator's to name
        add_signer_profile(session, token_tools, admin,
                           replace(spec, pin_file=str(softhsm_token["pin_file"])))
    with pytest.raises(PermissionDeniedError):
        grant_token(session, admin, token_label=softhsm_token["token_label"],
                    organ_id=PROVINCE, pin_file=str(softhsm_token["pin_file"]), pin_env=None)
    grant_token(session, OPERATOR, token_label=softhsm_token["token_label"], organ_id="000.01.01.H48",
                pin_file=str(softhsm_token["pin_file"]), pin_env=None)
    with pytest.raises(TokenNotGrantedError):  # granted to another agency
        add_signer_profile(session, token_tools, admin, spec,
                           picture=DEMO_SIGNATURE_PICTURE.read_bytes())
    grant_token(session, OPERATOR, token_label=softhsm_token["token_label"], organ_id=PROVINCE,
                pin_file=str(softhsm_token["pin_file"]), pin_env=None)
    chain = softhsm_token["chain_files"][0]
    profile = add_signer_profile(session, token_tools, admin, spec,
                                 picture=DEMO_SIGNATURE_PICTURE.read_bytes(),
                                 chain_pem=Path(chain).read_text())
    assert profile.key_source == "pkcs11" and profile.pin_file == str(softhsm_token["pin_file"])
    outcome = sign_document(session, blobs, token_tools, document_id=make_notice(),
                            actor=SIGNER, request=SignatureRequest(role="person", signer="granted"))
    assert outcome.version.number == 2
