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


# -- issue 13, finding 8: a cut chain end no longer passes `audit verify` ----------------------


def _entries(session, n: int, prefix: str = "d") -> None:
    for i in range(n):
        audit.record(session, OPERATOR, "login", object_type="user", object_id=f"{prefix}{i}")
    session.commit()


def _cut_end(session, keep: int) -> None:
    """What the attacker of the finding did: delete the last entries, rewind the head."""
    last = session.execute(text("SELECT entry_hash FROM audit_entries WHERE seq = :s"),
                           {"s": keep}).scalar_one()
    session.execute(text("DELETE FROM audit_entries WHERE seq > :s"), {"s": keep})
    session.execute(text("UPDATE audit_head SET seq = :s, entry_hash = :h"),
                    {"s": keep, "h": last})
    session.commit()


def test_cutting_the_end_after_an_anchor_is_seen(session, tsa):
    _entries(session, 5)
    anchor = audit.anchor_head(session, tsa_url=tsa.tsa_url)
    assert anchor["entries"] == 5 and audit.export_anchors(session)[0]["entries"] == 5
    _entries(session, 2, "later")
    assert audit.verify_chain(session).is_intact
    _cut_end(session, 3)
    report = audit.verify_chain(session)
    assert not report.is_intact and "cut" in report.problem


def test_wiping_both_tables_is_seen_by_the_anchors_and_by_the_records(session, tsa):
    _entries(session, 3)
    exported = audit.anchor_head(session, tsa_url=tsa.tsa_url)
    session.execute(text("DELETE FROM audit_entries"))
    session.execute(text("DELETE FROM audit_head"))
    session.commit()
    assert not audit.verify_chain(session).is_intact  # the stored anchor
    session.execute(text("DELETE FROM audit_anchors"))
    session.commit()
    assert audit.verify_chain(session).is_intact  # nothing left inside the database…
    report = audit.verify_chain(session, external_anchors=[exported])  # …but the export
    assert not report.is_intact and "cut" in report.problem


def test_a_document_without_history_is_seen(session, blobs):
    import io

    from docsvc.metadata import parse_metadata
    from docsvc.services.documents import upload_document
    from docsvc.signing.sample import notice_pdf
    from tests.conftest import NOTICE_METADATA

    upload_document(session, blobs, stream=io.BytesIO(notice_pdf()), filename="tb.pdf",
                    metadata=parse_metadata(NOTICE_METADATA), owner_organ_id="000.00.00.H48",
                    actor=OPERATOR)
    assert audit.verify_chain(session).is_intact
    session.execute(text("DELETE FROM audit_entries"))
    session.execute(text("DELETE FROM audit_head"))
    session.commit()
    report = audit.verify_chain(session)
    assert not report.is_intact and "holds no entry about it" in report.problem


def test_a_rewritten_anchor_token_is_seen(session, tsa):
    _entries(session, 2)
    audit.anchor_head(session, tsa_url=tsa.tsa_url)
    session.execute(text("UPDATE audit_anchors SET entry_hash = :h"), {"h": "ab" * 32})
    session.commit()
    report = audit.verify_chain(session)
    assert not report.is_intact and "timestamp covers another hash" in report.problem


def test_the_worker_anchors_periodically(session, sessions):
    _entries(session, 2)
    every = dt.timedelta(hours=1)
    assert audit.anchor_if_due(session, every=every) is not None
    assert audit.anchor_if_due(session, every=every) is None  # nothing new, not due
    _entries(session, 1, "x")
    assert audit.anchor_if_due(session, every=every) is None  # not due yet
    later = dt.datetime.now(dt.UTC) + dt.timedelta(hours=2)
    assert audit.anchor_if_due(session, every=every, now=later)["entries"] == 3
