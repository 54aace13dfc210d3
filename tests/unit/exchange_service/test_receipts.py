"""Receipts are JWS (RFC 7515) that a third party checks with its own JOSE library: PyJWT here,
which shares no code with joserfc that signs them. Receipts stored in the first format (a raw
signature, ECDSA DER-encoded) still verify."""

from __future__ import annotations

import base64
import hashlib
import json

import jwt
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.serialization import Encoding

from docsvc.services.exchange import AgencyKey, ExchangeConfig, verify_receipt
from docsvc.services.exchange.config import make_receipt
from tests.support.worlds import make_key

BODY = {"kind": "edoc", "message_ids": [7], "sha256": "ab" * 32, "to": ["000.01.01.H48"],
        "received_at": "2026-12-06T09:00:00+07:00", "note": "Đã nhận văn bản"}


def _key(private: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey, name: str = "UBND tỉnh Quảng Ngãi"):
    return make_key(name, private)


KEYS = {
    "RS256": lambda: rsa.generate_private_key(65537, 2048),
    "ES256": lambda: ec.generate_private_key(ec.SECP256R1()),
    "ES384": lambda: ec.generate_private_key(ec.SECP384R1()),
}


def _canonical(body) -> bytes:
    return json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


@pytest.mark.parametrize("algorithm", sorted(KEYS))
def test_an_independent_jose_library_verifies_the_receipt(algorithm):
    key = _key(KEYS[algorithm]())
    receipt = make_receipt(ExchangeConfig(local_organ_id="000.00.00.H48", agency_key=key), BODY)
    signature = receipt["signature"]
    assert signature["algorithm"] == algorithm
    checked = jwt.PyJWS().decode_complete(signature["jws"], key=key.chain[0].public_key(),
                                          algorithms=[algorithm])
    assert checked["header"]["alg"] == algorithm
    assert checked["header"]["typ"] == "docsvc-receipt+jws"
    der = base64.b64decode(signature["certificate"])
    assert der == key.chain[0].public_bytes(Encoding.DER)
    assert checked["header"]["x5t#S256"] == (
        base64.urlsafe_b64encode(hashlib.sha256(der).digest()).rstrip(b"=").decode())
    # The payload is the receipt without its signature, as canonical JSON.
    assert checked["payload"] == _canonical(BODY)
    assert {k: v for k, v in receipt.items() if k != "signature"} == json.loads(checked["payload"])
    if algorithm.startswith("ES"):
        # JOSE wants r‖s of the curve's size (RFC 7518 §3.4), not DER.
        size = {"ES256": 64, "ES384": 96}[algorithm]
        assert len(base64.urlsafe_b64decode(signature["jws"].split(".")[2] + "==")) == size
    assert verify_receipt(receipt, key.chain[0])


@pytest.mark.parametrize("algorithm", sorted(KEYS))
def test_a_changed_receipt_or_another_key_fails(algorithm):
    key, other = _key(KEYS[algorithm]()), _key(KEYS[algorithm](), "Kẻ lạ")
    receipt = make_receipt(ExchangeConfig(local_organ_id="000.00.00.H48", agency_key=key), BODY)
    assert not verify_receipt({**receipt, "sha256": "0" * 64}, key.chain[0])
    assert not verify_receipt(receipt, other.chain[0])
    header, payload, value = receipt["signature"]["jws"].split(".")
    forged = base64.urlsafe_b64encode(_canonical({**BODY, "sha256": "0" * 64})).rstrip(b"=").decode()
    tampered = {**receipt, "signature": {**receipt["signature"], "jws": f"{header}.{forged}.{value}"}}
    assert not verify_receipt(tampered, key.chain[0])
    assert not verify_receipt({**receipt, "signature": {**receipt["signature"], "jws": "not a jws"}},
                              key.chain[0])
    assert not verify_receipt({**receipt, "signature": None}, key.chain[0])


def test_an_rs256_receipt_does_not_pass_for_an_ec_certificate():
    rsa_key, ec_key = _key(KEYS["RS256"]()), _key(KEYS["ES256"]())
    receipt = make_receipt(ExchangeConfig(local_organ_id="000.00.00.H48", agency_key=rsa_key), BODY)
    assert not verify_receipt(receipt, ec_key.chain[0])


def _legacy(key: AgencyKey, body) -> dict:
    """A receipt as the first format stored it: a raw signature, ECDSA values DER-encoded."""
    data = _canonical(body)
    if isinstance(key.key, rsa.RSAPrivateKey):
        value, algorithm = key.key.sign(data, padding.PKCS1v15(), hashes.SHA256()), "RS256"
    else:
        value, algorithm = key.key.sign(data, ec.ECDSA(hashes.SHA256())), "ES256"
    return {**body, "signature": {
        "algorithm": algorithm, "value": base64.b64encode(value).decode(),
        "certificate": base64.b64encode(key.chain[0].public_bytes(Encoding.DER)).decode(),
        "certificate_sha256": key.certificate_sha256,
        "covers": "canonical JSON (sorted keys, no spaces, UTF-8) of the receipt without "
                  "signature and signature_note"}}


@pytest.mark.parametrize("algorithm", ["RS256", "ES256"])
def test_receipts_stored_in_the_first_format_still_verify(algorithm):
    key = _key(KEYS[algorithm]())
    old = _legacy(key, BODY)
    assert verify_receipt(old, key.chain[0])
    assert not verify_receipt({**old, "sha256": "0" * 64}, key.chain[0])
    assert not verify_receipt({**old, "signature": {**old["signature"], "value": "@@"}}, key.chain[0])
