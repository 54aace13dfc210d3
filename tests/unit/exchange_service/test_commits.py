"""Transactions you can see: each use case commits the session a known number of times (one
for a write, none for a plain read), counted with SQLAlchemy's ``after_commit`` event. Helpers
that use cases share (``readable_document``) never commit; a refusal commits only its record."""

from __future__ import annotations

import dataclasses
import io
from collections.abc import Callable

import pytest
from sqlalchemy import event, select

from docsvc.errors import PermissionDeniedError
from docsvc.metadata import parse_metadata
from docsvc.models import AuditEntry, Organization
from docsvc.samples import notice_pdf
from docsvc.security import Actor
from docsvc.services import documents as docs
from docsvc.services import exchange as svc
from tests.support.data import NOTICE_METADATA
from tests.support.worlds import PROVINCE, PULLING, ZONE, signed_notice


def _open(session, blobs, document_id, actor) -> None:  # type: ignore[no-untyped-def]
    _, stream = docs.open_version(session, blobs, document_id=document_id, actor=actor)
    stream.close()


class Commits:
    """Counts the commits of one session while ``during`` runs a use case."""

    def __init__(self, session) -> None:  # type: ignore[no-untyped-def]
        self.count = 0
        event.listen(session, "after_commit", self._seen)
        self.session = session

    def _seen(self, _session) -> None:  # type: ignore[no-untyped-def]
        self.count += 1

    def during(self, use_case: Callable[[], object]) -> int:
        before = self.count
        use_case()
        return self.count - before


@pytest.fixture
def commits(session) -> Commits:
    return Commits(session)


def _upload(session, blobs, clerk, *, secrecy: str = "none") -> str:
    metadata = parse_metadata({**NOTICE_METADATA, "secrecy": secrecy})
    document, _ = docs.upload_document(session, blobs, stream=io.BytesIO(notice_pdf()), filename="tb.pdf",
                                       metadata=metadata, owner_organ_id=PROVINCE, actor=clerk)
    return document.id


def test_documents_use_cases_commit_once_per_write_and_never_on_a_plain_read(
        session, blobs, world, commits):
    clerk = world["vanthu"]
    ids: list[str] = []
    assert commits.during(lambda: ids.append(_upload(session, blobs, clerk))) == 1
    doc_id = ids[0]
    assert commits.during(lambda: docs.register_document(
        session, document_id=doc_id, actor=clerk, zone=ZONE)) == 1
    assert commits.during(lambda: docs.register_document(  # idempotent: releases the row lock
        session, document_id=doc_id, actor=clerk, zone=ZONE)) == 1
    assert commits.during(lambda: docs.get_document(session, doc_id, clerk)) == 0
    assert commits.during(lambda: _open(session, blobs, doc_id, clerk)) == 0
    assert commits.during(lambda: docs.readable_document(session, doc_id, clerk)) == 0


def test_a_secret_read_commits_its_record_once_and_the_shared_helper_never(session, blobs, world, commits):
    cleared = dataclasses.replace(world["vanthu"], clearance="tuyet_mat")
    secret_id = _upload(session, blobs, cleared, secrecy="mat")
    for use_case in (lambda: docs.get_document(session, secret_id, cleared),
                     lambda: _open(session, blobs, secret_id, cleared),
                     lambda: docs.history(session, document_id=secret_id, actor=cleared)):
        assert commits.during(use_case) == 1
    session.rollback()
    assert commits.during(lambda: docs.readable_document(session, secret_id, cleared)) == 0
    session.rollback()  # the caller decides: the record goes with its transaction
    reads = session.execute(select(AuditEntry).where(
        AuditEntry.action == "document.read_secret", AuditEntry.object_id == secret_id)).scalars().all()
    assert len(reads) == 3


def test_a_refusal_commits_its_record_only(session, blobs, world, commits):
    _upload(session, blobs, world["vanthu"])
    stranger = Actor(kind="user", name="khac", organ_id="000.00.53.H48", roles=frozenset({"clerk"}))
    with pytest.raises(PermissionDeniedError):
        commits.during(lambda: docs.deny(session, stranger, "document.register", organ_id=PROVINCE))
    assert commits.count == 2  # the upload, then the refusal's record
    denied = session.execute(select(AuditEntry.outcome).where(
        AuditEntry.action == "document.register")).scalars().all()
    assert denied == ["denied"]


def test_exchange_use_cases_commit_once(session, blobs, config, world, commits):
    document_id = signed_notice(session, blobs, world["vanthu"])
    results = []
    assert commits.during(lambda: results.append(svc.send_document(
        session, blobs, config, document_id=document_id, to=[PULLING], actor=world["vanthu"]))) == 1
    message_id = results[0].messages[0].id
    system = world["system"]
    assert commits.during(lambda: svc.inbox(session, config, actor=system)) == 1  # leases messages
    assert commits.during(lambda: svc.ack_message(session, config, message_id=message_id,
                                                  result="received", reason=None, actor=system)) == 1


def test_a_refusal_after_writes_does_not_discard_them(session, blobs, world, commits):
    stranger = Actor(kind="user", name="khac", organ_id="000.00.53.H48", roles=frozenset({"clerk"}))
    session.add(Organization(organ_id="000.09.09.H48", name="UBND xã Thử"))
    session.flush()  # the caller's work, not committed yet
    with pytest.raises(RuntimeError, match="discard"):
        docs.deny(session, stranger, "document.register", organ_id=PROVINCE)
    assert commits.count == 0
    assert session.get(Organization, "000.09.09.H48") is not None  # still there, still the caller's
    session.commit()
    assert session.execute(select(AuditEntry).where(AuditEntry.outcome == "denied")).first() is None
