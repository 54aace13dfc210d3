"""The audit chain head can be anchored with an RFC 3161 timestamp from a real TSA on loopback."""

from __future__ import annotations

import base64
import datetime as dt

import pytest
from asn1crypto import cms, tsp
from sqlalchemy import text

from docsvc.errors import ConflictError
from docsvc.pki import demo
from docsvc.pki.responders import LoopbackServer
from docsvc.security import OPERATOR
from docsvc.services import audit


@pytest.fixture(scope="module")
def tsa(tmp_path_factory):
    server = LoopbackServer().start()
    pki = demo.generate(tmp_path_factory.mktemp("pki"), base_url=server.base_url)
    server.app.use(pki)
    yield pki
    server.stop()


def test_head_hash_is_timestamped(session, tsa):
    for i in range(3):
        audit.record(session, OPERATOR, "document.upload", object_type="document", object_id=f"d{i}")
    session.commit()
    anchor = audit.anchor_head(session, tsa_url=tsa.tsa_url)
    assert anchor["entries"] == 3 and len(anchor["head_hash"]) == 64
    token = cms.ContentInfo.load(base64.b64decode(anchor["timestamp"]["token_der_base64"]))
    info: tsp.TSTInfo = token["content"]["encap_content_info"]["content"].parsed
    assert info["message_imprint"]["hashed_message"].native == bytes.fromhex(anchor["head_hash"])
    assert info["message_imprint"]["hash_algorithm"]["algorithm"].native == "sha256"
    gen_time = info["gen_time"].native
    assert abs(gen_time - dt.datetime.now(dt.UTC)) < dt.timedelta(minutes=5)


def test_broken_chain_is_not_anchored(session):
    audit.record(session, OPERATOR, "login")
    audit.record(session, OPERATOR, "login")
    session.commit()
    session.execute(text("UPDATE audit_entries SET action = 'logout' WHERE seq = 1"))
    session.commit()
    with pytest.raises(ConflictError):
        audit.anchor_head(session)
