"""Correcting a document's metadata (SQLite and PostgreSQL): drafts change freely, registered
documents keep what the register depends on, every change is audited with before/after, and
a bad correction changes nothing."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from docsvc.errors import BadRequestError, InvalidMetadataError, NotFoundError, PermissionDeniedError
from docsvc.models import AuditEntry, Document
from docsvc.security import Actor
from docsvc.services.corrections import DocumentRevokedError, FieldsLockedError, correct_metadata
from tests.unit.test_registry import CLERK, SO_NOI_VU_CLERK, register, upload

SIGNER = Actor(kind="user", name="lanhdao", organ_id="000.00.00.H48", roles=frozenset({"signer"}))


def _entries(session, document_id: str) -> list[AuditEntry]:
    return list(session.execute(select(AuditEntry).where(
        AuditEntry.object_id == document_id, AuditEntry.action == "document.metadata_change")
        .order_by(AuditEntry.seq)).scalars())


def test_a_draft_changes_freely_and_the_trail_keeps_before_and_after(session, blobs):
    doc, _ = upload(session, blobs)
    old_subject = doc.subject
    fixed, changed, _ = correct_metadata(
        session, document_id=doc.id, actor=CLERK,
        changes={"subject": "Kết luận về cải cách thủ tục hành chính", "code_number": "185",
                 "signer_name": None})
    assert sorted(changed) == ["code_number", "signer_name", "subject"]
    assert fixed.subject == "Kết luận về cải cách thủ tục hành chính" and fixed.signer_name is None
    assert fixed.page_amount == 1  # what the upload read from the PDF is kept
    [entry] = _entries(session, doc.id)
    assert entry.details["fields"]["subject"] == {"before": old_subject,
                                                 "after": "Kết luận về cải cách thủ tục hành chính"}
    assert entry.details["fields"]["signer_name"]["after"] is None
    # search follows the new subject, diacritics folded
    assert "thu tuc" in session.get(Document, doc.id).search_text


def test_a_registered_document_keeps_its_number_body_direction_and_secrecy(session, blobs):
    doc, _ = upload(session, blobs)
    registered, _ = register(session, doc)
    number = registered.code_number
    for changes in ({"code_number": "999"}, {"organ_id": "000.00.53.H48"},
                    {"secrecy": "mat"}, {"direction": "incoming"}, {"code_notation": "QĐ-UBND"},
                    {"issued_date": "2020-01-01"}, {"type_name": "Quyết định"}):
        with pytest.raises(FieldsLockedError) as caught:
            correct_metadata(session, document_id=doc.id, actor=CLERK,
                             changes={**changes, "description": "kèm theo"})
        assert caught.value.status == 409 and caught.value.details["fields"]
    assert session.get(Document, doc.id).code_number == number
    assert session.get(Document, doc.id).description is None  # nothing of a refused change
    assert [e.outcome for e in _entries(session, doc.id)] == ["refused"] * 7
    # what the register does not depend on can be corrected
    _, changed, _ = correct_metadata(session, document_id=doc.id, actor=CLERK,
                                     changes={"description": "Đính chính trích yếu"})
    assert changed == ["description"]


def test_a_bad_correction_lists_every_bad_field_and_changes_nothing(session, blobs):
    doc, _ = upload(session, blobs)
    priority = doc.priority
    with pytest.raises(InvalidMetadataError) as caught:
        correct_metadata(session, document_id=doc.id, actor=CLERK,
                         changes={"priority": 9, "issued_date": "19/06/2018", "colour": "red"})
    assert {f["field"] for f in caught.value.details["fields"]} == {
        "priority", "issued_date", "colour"}
    assert session.get(Document, doc.id).priority == priority and _entries(session, doc.id) == []
    with pytest.raises(BadRequestError):
        correct_metadata(session, document_id=doc.id, actor=CLERK, changes=[])


def test_only_the_owning_clerk_may_correct(session, blobs):
    doc, _ = upload(session, blobs)
    with pytest.raises(PermissionDeniedError):
        correct_metadata(session, document_id=doc.id, actor=SIGNER, changes={"subject": "x"})
    with pytest.raises(NotFoundError):
        correct_metadata(session, document_id=doc.id, actor=SO_NOI_VU_CLERK,
                         changes={"subject": "x"})
    assert session.get(Document, doc.id).subject != "x"


def test_no_change_records_nothing_and_a_revoked_document_is_refused(session, blobs):
    doc, _ = upload(session, blobs)
    _, changed, _ = correct_metadata(session, document_id=doc.id, actor=CLERK,
                                     changes={"subject": doc.subject})
    assert changed == [] and _entries(session, doc.id) == []
    session.get(Document, doc.id).revoked_at = doc.created_at
    session.commit()
    with pytest.raises(DocumentRevokedError):
        correct_metadata(session, document_id=doc.id, actor=CLERK, changes={"subject": "y"})
