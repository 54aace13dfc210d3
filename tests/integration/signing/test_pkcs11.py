"""Keys held in a PKCS#11 token (SoftHSM2): sign, verify, and a wrong PIN refused."""

from __future__ import annotations

import pytest

from docsvc.signing import TokenSigner, sign_pdf
from docsvc.signing.errors import SignerUnavailableError, WrongPinError


def test_person_and_agency_keys_on_a_token_sign_verifiably(softhsm_token, sample_pdf,
                                                           timestamper, validation_context,
                                                           assert_verified):
    with TokenSigner(key_label="person-rsa", **softhsm_token) as person, \
            TokenSigner(key_label="agency-ecdsa", **softhsm_token) as agency:
        first = sign_pdf(sample_pdf, signer=person.signer, role="person", level="B-T",
                         timestamper=timestamper)
        again = sign_pdf(sample_pdf, signer=person.signer, role="person", level="B-B")
        both = sign_pdf(first, signer=agency.signer, role="agency", level="B-LT",
                        timestamper=timestamper, validation_context=validation_context)
    assert_verified(again, fields=["Sig_person_1"])
    assert_verified(both, fields=["Sig_person_1", "Sig_agency_1"])


def test_wrong_pin_is_refused(softhsm_token, tmp_path):
    wrong = tmp_path / "pin"
    wrong.write_text("000000")
    settings = {**softhsm_token, "pin_file": wrong}
    with pytest.raises(WrongPinError) as caught:
        TokenSigner(key_label="person-rsa", **settings)
    assert caught.value.code == "wrong_pin"


def test_pin_from_environment_variable(softhsm_token):
    pin = softhsm_token["pin_file"].read_text().strip()
    settings = {k: v for k, v in softhsm_token.items() if k != "pin_file"}
    with TokenSigner(key_label="person-rsa", pin_env="DOCSVC_TEST_PIN",
                     environ={"DOCSVC_TEST_PIN": pin}, **settings) as token:
        assert token.signer.signing_cert.subject.native["common_name"] == "Nguyễn Quốc Việt"


def test_missing_key_label_is_unavailable(softhsm_token):
    with pytest.raises(SignerUnavailableError):
        TokenSigner(key_label="nobody", **softhsm_token)


def test_unknown_token_is_unavailable(softhsm_token):
    settings = {**softhsm_token, "token_label": "no-such-token"}
    with pytest.raises(SignerUnavailableError):
        TokenSigner(key_label="person-rsa", **settings)
