"""One sealer for stored secrets: Fernet with rotation (the first key seals, every key opens),
bound to purpose and row; values of the two first AES-256-GCM sealers still open, and
``reseal_secrets`` turns every stored value into one sealed with the current key."""

from __future__ import annotations

import base64
import secrets

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import select

from docsvc.config import Settings, sealing_keys
from docsvc.errors import ConfigError
from docsvc.models import AuditEntry, LinkedSystem, Organization, PeerCredential
from docsvc.sealing import PEER_TOKEN, VXP_SECRET, Sealer, SealError
from docsvc.security import OPERATOR
from docsvc.services.maintenance import reseal_secrets

OLD, NEW = "o" * 40, "n" * 40
PEER, SYSTEM = "000.01.01.H48", "vxp.tinhan.01"


def _first_format(secret: str, material: str, *, prefix: str, subject: str) -> str:
    """Seal as the replaced sealers did (services/delivery.py ``v1:``, vxp/auth.py ``vxp1:``)."""
    info, aad = {"v1:": (b"docsvc peer token v1", b""),
                 "vxp1:": (b"docsvc/vxp/system-secret/v1", b"docsvc-vxp-secret\x00")}[prefix]
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(material.encode())
    nonce = secrets.token_bytes(12)
    sealed = AESGCM(key).encrypt(nonce, secret.encode(), aad + subject.encode())
    return prefix + base64.urlsafe_b64encode(nonce + sealed).decode()


def test_the_first_key_seals_and_every_key_opens():
    old_value = Sealer([OLD]).seal("bí mật", purpose=PEER_TOKEN, subject=PEER)
    assert old_value.startswith("f1:") and "bí mật" not in old_value
    rotated = Sealer([NEW, OLD])
    assert rotated.open(old_value, purpose=PEER_TOKEN, subject=PEER) == "bí mật"
    assert not rotated.is_current(old_value)
    new_value = rotated.reseal(old_value, purpose=PEER_TOKEN, subject=PEER)
    assert rotated.is_current(new_value) and rotated.reseal(new_value, purpose=PEER_TOKEN,
                                                            subject=PEER) == new_value
    assert Sealer([NEW]).open(new_value, purpose=PEER_TOKEN, subject=PEER) == "bí mật"
    with pytest.raises(SealError):
        Sealer([NEW]).open(old_value, purpose=PEER_TOKEN, subject=PEER)


def test_a_value_opens_only_for_its_purpose_and_row():
    sealer = Sealer([NEW])
    value = sealer.seal("s" * 20, purpose=VXP_SECRET, subject=SYSTEM)
    for purpose, subject in ((PEER_TOKEN, SYSTEM), (VXP_SECRET, "vxp.other.01"), (VXP_SECRET, "")):
        with pytest.raises(SealError) as caught:
            sealer.open(value, purpose=purpose, subject=subject)
        assert caught.value.details == {"purpose": purpose, "subject": subject}
    raw = bytearray(base64.urlsafe_b64decode(value[3:]))
    raw[-40] ^= 1
    with pytest.raises(SealError):
        sealer.open("f1:" + base64.urlsafe_b64encode(bytes(raw)).decode(), purpose=VXP_SECRET,
                    subject=SYSTEM)
    for junk in ("", "plain", "f1:@@@", "vxp1:@@@", "v1:" + "A" * 10):
        with pytest.raises(SealError):
            sealer.open(junk, purpose=VXP_SECRET, subject=SYSTEM)


def test_keys_must_be_long():
    with pytest.raises(ConfigError):
        Sealer([])
    with pytest.raises(ConfigError):
        Sealer([NEW, "short"])


@pytest.mark.parametrize(("prefix", "purpose", "subject"), [("v1:", PEER_TOKEN, PEER),
                                                             ("vxp1:", VXP_SECRET, SYSTEM)])
def test_values_of_the_first_sealers_still_open(prefix, purpose, subject):
    value = _first_format("the-secret-01", OLD, prefix=prefix, subject=subject)
    assert Sealer([NEW, OLD]).open(value, purpose=purpose, subject=subject) == "the-secret-01"
    other = PEER_TOKEN if purpose == VXP_SECRET else VXP_SECRET
    for wrong in ({"purpose": purpose, "subject": "x"}, {"purpose": other, "subject": subject}):
        with pytest.raises(SealError):
            Sealer([OLD]).open(value, **wrong)
    with pytest.raises(SealError):
        Sealer([NEW]).open(value, purpose=purpose, subject=subject)


def test_sealing_keys_put_configured_keys_first_and_keep_the_former_ones(tmp_path):
    settings = Settings.from_env({"DOCSVC_DATA_DIR": str(tmp_path), "DOCSVC_SECRET_KEY": "s" * 40,
                                  "DOCSVC_VXP_KEY": "v" * 40,
                                  "DOCSVC_SEALING_KEYS": f"{NEW}, {OLD}"})
    assert sealing_keys(settings) == (NEW, OLD, "v" * 40, "s" * 40)
    assert sealing_keys(Settings(data_dir=tmp_path, secret_key="s" * 40)) == ("s" * 40,)
    development = sealing_keys(Settings(data_dir=tmp_path))
    assert len(development) == 1 and development[0] == (tmp_path / "secret_key").read_text().strip()
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({"DOCSVC_DATA_DIR": str(tmp_path), "DOCSVC_SEALING_KEYS": f"{NEW},short"})
    assert any("DOCSVC_SEALING_KEYS" in p for p in caught.value.details["problems"])


def test_reseal_turns_every_stored_secret_into_one_sealed_with_the_current_key(session):
    session.add(Organization(organ_id=PEER, name="UBND xã Tịnh Ấn"))
    session.flush()
    session.add(PeerCredential(organ_id=PEER, sealed_token=_first_format(
        "peer-token-01", OLD, prefix="v1:", subject=PEER)))
    session.add(LinkedSystem(organ_id=PEER, name="QLVB xã", vxp_system_id=SYSTEM,
                             vxp_secret_sealed=_first_format("vxp-secret-01", OLD, prefix="vxp1:",
                                                             subject=SYSTEM)))
    session.add(LinkedSystem(organ_id=PEER, name="QLVB 2", vxp_system_id="vxp.b.01",
                             vxp_secret_sealed=Sealer([NEW]).seal("b-secret", purpose=VXP_SECRET,
                                                                  subject="vxp.b.01")))
    session.commit()

    report = reseal_secrets(session, Sealer([NEW, OLD]), OPERATOR)
    assert (report.peer_tokens, report.vxp_secrets, report.current) == (1, 1, 1)
    session.expire_all()
    only_new = Sealer([NEW])  # the old key can now leave the configuration
    token = session.get(PeerCredential, PEER).sealed_token
    assert only_new.open(token, purpose=PEER_TOKEN, subject=PEER) == "peer-token-01"
    rows = {s.vxp_system_id: s.vxp_secret_sealed for s in session.execute(select(LinkedSystem)).scalars()}
    assert only_new.open(rows[SYSTEM], purpose=VXP_SECRET, subject=SYSTEM) == "vxp-secret-01"
    assert only_new.open(rows["vxp.b.01"], purpose=VXP_SECRET, subject="vxp.b.01") == "b-secret"
    actions = session.execute(select(AuditEntry.action, AuditEntry.details)).all()
    assert ("secrets.reseal", {"peer_tokens": 1, "vxp_secrets": 1}) in [tuple(a) for a in actions]
    again = reseal_secrets(session, only_new, OPERATOR)
    assert (again.peer_tokens, again.vxp_secrets, again.current) == (0, 0, 3)


def test_reseal_changes_nothing_when_one_value_does_not_open(session):
    session.add(Organization(organ_id=PEER, name="UBND xã Tịnh Ấn"))
    session.flush()
    stranger = _first_format("peer-token-01", "x" * 40, prefix="v1:", subject=PEER)
    session.add(PeerCredential(organ_id=PEER, sealed_token=stranger))
    session.add(LinkedSystem(organ_id=PEER, name="QLVB xã", vxp_system_id=SYSTEM,
                             vxp_secret_sealed=_first_format("vxp-secret-01", OLD, prefix="vxp1:",
                                                             subject=SYSTEM)))
    session.commit()
    with pytest.raises(SealError):
        reseal_secrets(session, Sealer([NEW, OLD]), OPERATOR)
    session.rollback()
    assert session.get(PeerCredential, PEER).sealed_token == stranger
