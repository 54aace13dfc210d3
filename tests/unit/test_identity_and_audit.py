"""Tokens, passwords and lock-out, and the audit hash chain under direct database tampering."""

from __future__ import annotations

import datetime as dt
import logging

import pytest
from sqlalchemy import text, update

from docsvc.errors import AuthenticationError, ConflictError
from docsvc.models import AuditEntry, User
from docsvc.security import OPERATOR, token_digest
from docsvc.services import audit, identity


def add_clerk(session, username="vt", password="mat-khau-rat-dai"):
    return identity.add_user(session, OPERATOR, username=username, roles=["clerk"],
                             organ_id="000.00.00.H48", full_name="Văn thư", password=password)


def test_token_is_random_shown_once_and_stored_as_hash(session):
    add_clerk(session)
    token, row = identity.issue_token(session, OPERATOR, username="vt")
    assert token.startswith("dsv_") and len(token) > 40
    assert row.token_sha256 == token_digest(token) and token not in row.token_sha256
    actor = identity.authenticate_token(session, token)
    assert (actor.kind, actor.name, actor.organ_id, actor.roles) == ("user", "vt", "000.00.00.H48",
                                                                      frozenset({"clerk"}))
    other, _ = identity.issue_token(session, OPERATOR, username="vt")
    assert other != token


def test_revoked_expired_and_unknown_tokens_are_refused(session):
    add_clerk(session)
    token, row = identity.issue_token(session, OPERATOR, username="vt")
    identity.revoke_token(session, OPERATOR, token_id=row.id)
    with pytest.raises(AuthenticationError):
        identity.authenticate_token(session, token)
    expiring, row = identity.issue_token(session, OPERATOR, username="vt",
                                         expires_in=dt.timedelta(days=1))
    row.expires_at = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    session.commit()
    with pytest.raises(AuthenticationError):
        identity.authenticate_token(session, expiring)
    with pytest.raises(AuthenticationError):
        identity.authenticate_token(session, "dsv_" + "x" * 43)


def test_duplicate_username_is_a_conflict(session):
    add_clerk(session)
    with pytest.raises(ConflictError):
        add_clerk(session)


def test_password_login_and_lockout(session):
    add_clerk(session)
    assert identity.login(session, "vt", "mat-khau-rat-dai").username == "vt"
    now = dt.datetime.now(dt.UTC)
    for _ in range(identity.MAX_FAILED_LOGINS):
        with pytest.raises(AuthenticationError):
            identity.login(session, "vt", "wrong", now=now)
    with pytest.raises(AuthenticationError) as locked:
        identity.login(session, "vt", "mat-khau-rat-dai", now=now)
    assert locked.value.details == {"reason": "locked"}
    later = now + identity.LOCKOUT + dt.timedelta(seconds=1)
    assert identity.login(session, "vt", "mat-khau-rat-dai", now=later).username == "vt"
    stored = session.query(User).filter_by(username="vt").one().password_hash
    assert stored.startswith("$argon2id$")
    with pytest.raises(AuthenticationError):
        identity.login(session, "nobody", "whatever")


def test_linked_system_gets_a_token_and_a_directory_entry(session):
    from docsvc.models import Organization

    system, token = identity.add_system(session, OPERATOR, organ_id="000.01.01.H48",
                                        name="UBND xã Tịnh Ấn")
    actor = identity.authenticate_token(session, token)
    assert (actor.kind, actor.organ_id, actor.system_id) == ("system", "000.01.01.H48", system.id)
    assert session.get(Organization, "000.01.01.H48").name == "UBND xã Tịnh Ấn"


def test_secrets_never_reach_the_logs(session, caplog):
    caplog.set_level(logging.DEBUG)
    add_clerk(session)
    token, _ = identity.issue_token(session, OPERATOR, username="vt")
    identity.authenticate_token(session, token)
    with pytest.raises(AuthenticationError):
        identity.login(session, "vt", "a-wrong-password")
    assert token not in caplog.text and "a-wrong-password" not in caplog.text
    assert "mat-khau-rat-dai" not in caplog.text


def chain(session, n=5):
    add_clerk(session)
    for i in range(n):
        audit.record(session, OPERATOR, "document.upload", object_type="document",
                     object_id=f"doc-{i}", content_sha256="ab" * 32, details={"i": i})
    session.commit()


def test_intact_chain_verifies(session):
    chain(session)
    report = audit.verify_chain(session)
    assert report.is_intact and report.entries == 6  # user.create + 5 uploads


def test_altered_entry_is_found(session):
    chain(session)
    session.execute(update(AuditEntry).where(AuditEntry.seq == 3).values(actor="user:someone-else"))
    session.commit()
    report = audit.verify_chain(session)
    assert (report.broken_at, report.problem) == (3, "entry 3 was altered")


def test_removed_entry_is_found(session):
    chain(session)
    session.execute(text("DELETE FROM audit_entries WHERE seq = 4"))
    session.commit()
    report = audit.verify_chain(session)
    assert report.broken_at == 4 and "missing" in report.problem


def test_removed_tail_is_found(session):
    chain(session)
    session.execute(text("DELETE FROM audit_entries WHERE seq = 6"))
    session.commit()
    report = audit.verify_chain(session)
    assert not report.is_intact and "head" in report.problem


def test_reordered_entries_are_found(session):
    chain(session)
    # swap the contents of entries 2 and 3 but keep their sequence numbers and hashes
    rows = {r.seq: r for r in session.query(AuditEntry).filter(AuditEntry.seq.in_([2, 3]))}
    fields = ("at", "actor", "action", "object_id", "details", "prev_hash", "entry_hash")
    values = {seq: {f: getattr(row, f) for f in fields} for seq, row in rows.items()}
    session.expunge_all()
    session.execute(update(AuditEntry).where(AuditEntry.seq == 2).values(entry_hash="f" * 64))
    session.execute(update(AuditEntry).where(AuditEntry.seq == 3).values(**values[2]))
    session.execute(update(AuditEntry).where(AuditEntry.seq == 2).values(**values[3]))
    session.commit()
    report = audit.verify_chain(session)
    assert report.broken_at == 2
