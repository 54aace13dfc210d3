"""Side flows of the exchange: revocation (BussinessDocType 1), update (2) and replacement (3)
links, take-back (13 → 15 / 16), and the verification of received PDFs."""

from __future__ import annotations

import dataclasses
import datetime as dt
import io

import pytest
from sqlalchemy import select

from docsvc.api.serialize import document_to_dict
from docsvc.errors import BadRequestError, ContentRevokedError, NotFoundError
from docsvc.exchange import (
    VN_TZ,
    Attachment,
    Bussiness,
    Code,
    DocumentHeader,
    DocumentPackage,
    DocumentType,
    Organization,
    PromulgationInfo,
    ReplacementInfo,
    ResponseFor,
    StatusPackage,
    TraceHeader,
    build_document_package,
    build_status_package,
    parse_package,
)
from docsvc.models import AuditEntry, Document, DocumentLink, Message, StatusEvent, VerificationResult
from docsvc.samples import notice_pdf
from docsvc.services import exchange as svc
from docsvc.services.documents import open_version
from docsvc.services.exchange import flows
from docsvc.services.maintenance import check_storage
from docsvc.services.verification import Verifier
from docsvc.storage import read_verified
from docsvc.verify import load_trust
from tests.support.worlds import HOSTED, PROVINCE, PULLING, signed_notice


def _package(number: str, *, doc_type: int = 0, reason: str = "", target: str = "",
             replaces: tuple[str, ...] = (), pdf_text: str | None = None) -> bytes:
    """A document package of the pull-only commune PULLING to the province."""
    document_id = f"{PULLING},2025/03/01,{number}/BC-UBND"
    attachments = () if pdf_text is None else (
        Attachment("1", f"{number}-BC.pdf", content_type="application/pdf",
                   data=notice_pdf([pdf_text])),)
    return build_document_package(DocumentPackage(
        header=DocumentHeader(
            sender=Organization(PULLING, organ_name="UBND xã Tịnh Long", organ_add="Tịnh Long"),
            recipients=(Organization(PROVINCE, organ_name="UBND tỉnh Quảng Ngãi",
                                     organ_add="Quảng Ngãi"),),
            code=Code(number, "BC-UBND"),
            promulgation_info=PromulgationInfo("Tịnh Long", dt.date(2025, 3, 1)),
            document_type=DocumentType(type=14, type_detail=0, type_name="Báo cáo"),
            subject=f"Báo cáo số {number}", document_id=document_id),
        trace_headers=(TraceHeader(PULLING, dt.datetime(2025, 3, 1, 9, 0, tzinfo=VN_TZ)),),
        bussiness=Bussiness(doc_type=doc_type, reason=reason, document_id=target,
                            replacements=tuple(ReplacementInfo(r, (PROVINCE,)) for r in replaces)),
        attachments=attachments))


def _read(blobs, key: str) -> bytes:
    with read_verified(blobs, key) as stream:
        return stream.read()


def _doc_id(number: str) -> str:
    return f"{PULLING},2025/03/01,{number}/BC-UBND"


def _submit(session, blobs, config, world, data: bytes):
    return svc.submit_package(session, blobs, config, stream=io.BytesIO(data), idempotency_key=None,
                              actor=world["system"])


def _incoming(session, number: str) -> Document:
    message = session.execute(select(Message).where(
        Message.document_id == _doc_id(number), Message.kind == "edoc",
        Message.bussiness_doc_type == 0)).scalar_one()
    return session.get(Document, message.delivered_document_id)


def _codes(session, document_id: str, direction: str | None = None) -> list[str]:
    stmt = select(StatusEvent.code).where(StatusEvent.local_document_id == document_id)
    if direction:
        stmt = stmt.where(StatusEvent.direction == direction)
    return list(session.execute(stmt.order_by(StatusEvent.id)).scalars())


def _actions(session, document_id: str) -> list[tuple[str, str]]:
    return [(a.action, a.outcome) for a in session.execute(select(AuditEntry).where(
        AuditEntry.object_id == document_id).order_by(AuditEntry.seq)).scalars()]


def _sent_to_hosted(session, blobs, config, world) -> tuple[str, Document]:
    doc_id = signed_notice(session, blobs, world["vanthu"])
    svc.send_document(session, blobs, config, document_id=doc_id, to=[HOSTED], actor=world["vanthu"])
    incoming = session.execute(select(Document).where(Document.owner_organ_id == HOSTED)).scalar_one()
    return doc_id, incoming


# -- revocation ---------------------------------------------------------------------------------


def test_a_received_document_is_revoked_its_bytes_deleted_metadata_kept_and_15_reported(
        session, blobs, config, world):
    _submit(session, blobs, config, world, _package("07", pdf_text="bản gốc số 07"))
    document = _incoming(session, "07")
    [version] = document.versions
    package_key = session.execute(select(Message.blob_key).where(
        Message.document_id == _doc_id("07"), Message.bussiness_doc_type == 0)).scalar_one()
    assert blobs.exists(version.blob_key) and blobs.exists(package_key)

    receipt = _submit(session, blobs, config, world,
                      _package("07", doc_type=1, reason="Ban hành nhầm", target=_doc_id("07")))
    session.expire_all()
    document = session.get(Document, document.id)
    assert receipt.receipt["kind"] == "edoc"
    # content gone (the version's bytes and the package that carried them), rows kept
    assert document.revoked_at is not None and document.revoked_reason == "Ban hành nhầm"
    assert document.versions[0].revoked_at is not None
    assert document.versions[0].sha256 == version.sha256  # evidence of what was received
    assert not blobs.exists(version.blob_key) and not blobs.exists(package_key)
    assert document.subject == "Báo cáo số 07"
    with pytest.raises(ContentRevokedError):
        open_version(session, blobs, document_id=document.id, actor=world["vanthu"])
    as_json = document_to_dict(document)
    assert as_json["revoked"] is True and as_json["versions"][0]["revoked"] is True
    # the signed revocation instruction itself is kept: it is the record of the revocation
    revocation = session.execute(select(Message).where(
        Message.document_id == _doc_id("07"), Message.bussiness_doc_type == 1)).scalar_one()
    assert blobs.exists(revocation.blob_key)
    # docsvc check reads the packages too, and does not report removed content as missing
    report = check_storage(session, blobs)
    assert report.is_healthy and report.revoked == 1 and report.missing == []
    assert report.revoked_packages == 1 and report.packages >= 2  # the revocation, the 15
    blobs.delete(revocation.blob_key)
    assert check_storage(session, blobs).missing == [
        {"message_id": revocation.id, "key": revocation.blob_key}]
    # the trail and the answer: 15 back to the commune's mailbox
    assert ("exchange.revocation", "success") in _actions(session, document.id)
    assert ("document.content_removed", "success") in _actions(session, document.id)
    assert _codes(session, document.id, "out") == ["01", "15"]
    inbox, _ = svc.inbox(session, config, actor=world["system"])
    fifteen = next(m for m in inbox if m.status_code == "15")
    status = parse_package(_read(blobs, fifteen.blob_key)).package
    assert status.response_for.document_id == _doc_id("07") and "Ban hành nhầm" in status.description
    # no more handling of a revoked document
    with pytest.raises(svc.StatusTransitionError):
        svc.report_status(session, blobs, config, document_id=document.id, code="03",
                          description=None, actor=world["vanthu"])
    assert _actions(session, document.id)[-1] == ("document.status", "refused")


def test_revoking_an_unknown_document_is_refused_and_stores_nothing(session, blobs, config, world):
    before = session.execute(select(Message)).all()
    with pytest.raises(svc.UnknownDocumentError):
        _submit(session, blobs, config, world, _package("99", doc_type=1, reason="x",
                                                        target=_doc_id("99")))
    session.rollback()
    assert session.execute(select(Message)).all() == before


def test_the_senders_clerk_revokes_a_sent_document_once_per_recipient(session, blobs, config, world):
    doc_id, incoming = _sent_to_hosted(session, blobs, config, world)
    svc.send_document(session, blobs, config, document_id=doc_id, to=[PULLING], actor=world["vanthu"])
    with pytest.raises(BadRequestError):
        flows.revoke_document(session, blobs, config, document_id=doc_id, reason=" ",
                              actor=world["vanthu"])
    with pytest.raises(NotFoundError):  # another agency's clerk
        flows.revoke_document(session, blobs, config, document_id=doc_id, reason="x",
                              actor=world["vanthu-xa"])
    messages = flows.revoke_document(session, blobs, config, document_id=doc_id,
                                     reason="Sai thể thức", actor=world["vanthu"])
    assert sorted(m.recipient_organ_id for m in messages) == sorted([HOSTED, PULLING])
    assert {m.bussiness_doc_type for m in messages} == {1}
    assert len({m.blob_key for m in messages}) == 2  # one package per recipient
    pulled = next(m for m in messages if m.recipient_organ_id == PULLING)
    package = parse_package(_read(blobs, pulled.blob_key)).package
    assert package.bussiness.doc_type == 1 and package.bussiness.reason == "Sai thể thức"
    assert package.attachments == () and [r.organ_id for r in package.header.recipients] == [PULLING]
    # the hosted commune removed the content and answered 15; the sender sees it
    session.expire_all()
    incoming = session.get(Document, incoming.id)
    assert incoming.revoked_at is not None and all(v.revoked_at for v in incoming.versions)
    # the bytes are the sender's signed version too: they stay
    assert blobs.exists(incoming.versions[0].blob_key)
    assert check_storage(session, blobs).is_healthy
    statuses = svc.document_statuses(session, document_id=doc_id, actor=world["vanthu"])
    assert len(statuses["recipients"]) == 2  # revocation packages are not new recipients
    hosted = next(r for r in statuses["recipients"] if r["organ_id"] == HOSTED)
    assert [h["code"] for h in hosted["history"]] == ["01", "15"]
    # again: nothing new; and the revoked document cannot be sent any more
    again = flows.revoke_document(session, blobs, config, document_id=doc_id, reason="x",
                                  actor=world["vanthu"])
    assert {m.id for m in again} == {m.id for m in messages}
    with pytest.raises(svc.DocumentNotSendableError) as info:
        svc.send_document(session, blobs, config, document_id=doc_id, to=[PULLING],
                          actor=world["vanthu"])
    assert "revoked" in info.value.details["reasons"]


def test_an_unsent_document_cannot_be_revoked(session, blobs, config, world):
    doc_id = signed_notice(session, blobs, world["vanthu"])
    with pytest.raises(flows.NotRevocableError):
        flows.revoke_document(session, blobs, config, document_id=doc_id, reason="x",
                              actor=world["vanthu"])
    assert _actions(session, doc_id)[-1] == ("document.revoke", "refused")


# -- update and replacement ---------------------------------------------------------------------


def test_updates_and_replacements_are_linked_to_the_older_document(session, blobs, config, world):
    _submit(session, blobs, config, world, _package("08", pdf_text="v1"))
    _submit(session, blobs, config, world,
            _package("08", doc_type=2, target=_doc_id("08"), pdf_text="v2"))
    _submit(session, blobs, config, world,
            _package("09", doc_type=3, replaces=(_doc_id("08"), _doc_id("01")), pdf_text="v3"))
    old = _incoming(session, "08")
    update_doc = session.get(Document, session.execute(select(Message.delivered_document_id).where(
        Message.bussiness_doc_type == 2)).scalar_one())
    replacement = session.get(Document, session.execute(select(Message.delivered_document_id).where(
        Message.bussiness_doc_type == 3)).scalar_one())
    assert update_doc.id != old.id and replacement.direction == "incoming"
    assert {"exchange.updated", "exchange.replaced"} <= {a for a, _ in _actions(session, old.id)}
    assert document_to_dict(update_doc)["updates"] == [old.id]
    as_json = document_to_dict(replacement)
    assert as_json["replaces"] == [old.id]
    assert {"kind": "replacement", "document_id": _doc_id("01"), "target": None,
            "reason": None} in as_json["links"]
    old_json = document_to_dict(old)
    assert old_json["updated_by"] == [update_doc.id] and old_json["replaced_by"] == [replacement.id]
    assert len(session.execute(select(DocumentLink)).scalars().all()) == 3
    # each new document got its own 01
    assert _codes(session, replacement.id, "out") == ["01"]


# -- take-back ----------------------------------------------------------------------------------


def test_take_back_refused_then_asked_again_and_agreed(session, blobs, config, world):
    doc_id, incoming = _sent_to_hosted(session, blobs, config, world)
    clerk, commune = world["vanthu"], world["vanthu-xa"]
    # an answer without a request is refused and recorded
    with pytest.raises(svc.StatusTransitionError):
        svc.report_status(session, blobs, config, document_id=incoming.id, code="15",
                          description=None, actor=commune)
    assert _actions(session, incoming.id)[-1] == ("document.status", "refused")
    with pytest.raises(BadRequestError):
        flows.request_takeback(session, blobs, config, document_id=doc_id, reason="",
                               actor=clerk)
    [message] = flows.request_takeback(session, blobs, config, document_id=doc_id,
                                       reason="Cần sửa nội dung", actor=clerk)
    assert message.status_code == "13" and message.recipient_organ_id == HOSTED
    assert _codes(session, incoming.id, "in") == ["13"]
    assert ("exchange.takeback_request", "success") in _actions(session, incoming.id)
    with pytest.raises(flows.TakeBackRefusedError):  # one pending request at a time
        flows.request_takeback(session, blobs, config, document_id=doc_id, reason="again",
                               actor=clerk)
    assert _actions(session, doc_id)[-1] == ("document.takeback", "refused")
    with pytest.raises(BadRequestError):  # a refusal needs a reason
        svc.report_status(session, blobs, config, document_id=incoming.id, code="16",
                          description="", actor=commune)
    svc.report_status(session, blobs, config, document_id=incoming.id, code="16",
                      description="Đã triển khai", actor=commune)
    with pytest.raises(svc.StatusTransitionError):  # nothing pending any more
        svc.report_status(session, blobs, config, document_id=incoming.id, code="15",
                          description=None, actor=commune)
    assert session.get(Document, incoming.id).revoked_at is None
    # asked again, agreed: the content is removed as on a revocation
    flows.request_takeback(session, blobs, config, document_id=doc_id, reason="Lần 2",
                           to=[HOSTED], actor=clerk)
    svc.report_status(session, blobs, config, document_id=incoming.id, code="15",
                      description=None, actor=commune)
    session.expire_all()
    assert session.get(Document, incoming.id).revoked_at is not None
    assert session.get(Document, incoming.id).revoked_reason == "Lần 2"
    statuses = svc.document_statuses(session, document_id=doc_id, actor=clerk)
    [recipient] = statuses["recipients"]
    assert [h["code"] for h in recipient["history"]] == ["01", "16", "15"]
    assert [h["code"] for h in statuses["reported"]["history"]] == ["13", "13"]
    with pytest.raises(flows.TakeBackRefusedError):  # agreed already
        flows.request_takeback(session, blobs, config, document_id=doc_id, reason="x", actor=clerk)
    with pytest.raises(svc.StatusTransitionError):  # no handling after the take-back
        svc.report_status(session, blobs, config, document_id=incoming.id, code="03",
                          description=None, actor=commune)
    with pytest.raises(BadRequestError):
        flows.request_takeback(session, blobs, config, document_id=doc_id, reason="x",
                               to=[PULLING], actor=clerk)


def test_a_linked_systems_13_reaches_the_receiver_who_agrees(session, blobs, config, world):
    _submit(session, blobs, config, world, _package("10", pdf_text="bc 10"))
    document = _incoming(session, "10")
    key = document.versions[0].blob_key
    thirteen = build_status_package(StatusPackage(
        sender=Organization(PULLING, organ_name="UBND xã Tịnh Long", organ_add="Tịnh Long"),
        response_for=ResponseFor(PROVINCE, "10/BC-UBND", dt.date(2025, 3, 1), _doc_id("10")),
        status_code="13", timestamp=dt.datetime.now(VN_TZ), description="Gửi nhầm"))
    receipt = _submit(session, blobs, config, world, thirteen)
    assert receipt.receipt["to"] == [PROVINCE]
    assert _codes(session, document.id, "in") == ["13"]
    svc.report_status(session, blobs, config, document_id=document.id, code="15",
                      description="Đồng ý", actor=world["vanthu"])
    session.expire_all()
    assert session.get(Document, document.id).revoked_at is not None and not blobs.exists(key)
    inbox, _ = svc.inbox(session, config, actor=world["system"])
    assert [m.status_code for m in inbox if m.kind == "status"] == ["01", "15"]
    # a 13 for a document never sent to that organisation is refused
    wrong = build_status_package(StatusPackage(
        sender=Organization(PULLING, organ_name="x", organ_add="x"),
        response_for=ResponseFor(HOSTED, "10/BC-UBND", dt.date(2025, 3, 1), _doc_id("10")),
        status_code="13", timestamp=dt.datetime.now(VN_TZ), description="x"))
    with pytest.raises(svc.UnknownDocumentError):
        _submit(session, blobs, config, world, wrong)


# -- verification on receipt --------------------------------------------------------------------


def test_received_pdfs_are_verified_and_a_failing_verifier_gives_indeterminate(
        session, blobs, config, world):
    trust = load_trust([])
    verifying = dataclasses.replace(config, verifier=Verifier(trust=trust))
    _submit(session, blobs, verifying, world, _package("11", pdf_text="bc 11"))
    document = _incoming(session, "11")
    [result] = session.execute(select(VerificationResult).where(
        VerificationResult.document_id == document.id)).scalars()
    # an unsigned report: verified for real, found no signature
    assert result.sha256 == document.versions[0].sha256
    assert (result.verdict, result.signatures, result.source) == ("INDETERMINATE", [], "api")
    assert [n["code"] for n in result.report["notes"]] == ["NO_SIGNATURE"]

    def broken():
        raise RuntimeError("trust store unavailable")

    failing = dataclasses.replace(config, verifier=broken)
    receipt = _submit(session, blobs, failing, world, _package("12", pdf_text="bc 12"))
    assert receipt.replayed is False
    document = _incoming(session, "12")  # the document is kept
    [result] = session.execute(select(VerificationResult).where(
        VerificationResult.document_id == document.id)).scalars()
    assert result.verdict == "INDETERMINATE" and result.sub_indication == "VERIFICATION_ERROR"
    assert "trust store unavailable" in result.report["detail"]

    capped = dataclasses.replace(verifying, verify_max_bytes=10)
    _submit(session, blobs, capped, world, _package("13", pdf_text="bc 13"))
    document = _incoming(session, "13")
    [result] = session.execute(select(VerificationResult).where(
        VerificationResult.document_id == document.id)).scalars()
    assert result.verdict == "INDETERMINATE" and result.sub_indication == "TOO_LARGE"


def test_local_delivery_verifies_too(session, blobs, config, world):
    verifying = dataclasses.replace(config, verifier=Verifier(trust=load_trust([])))
    doc_id = signed_notice(session, blobs, world["vanthu"])
    svc.send_document(session, blobs, verifying, document_id=doc_id, to=[HOSTED],
                      actor=world["vanthu"])
    incoming = session.execute(select(Document).where(Document.owner_organ_id == HOSTED)).scalar_one()
    results = session.execute(select(VerificationResult).where(
        VerificationResult.document_id == incoming.id)).scalars().all()
    assert [r.version_number for r in results] == [1]


def test_the_archive_audit_skips_revoked_content_and_a_revoked_document_cannot_be_signed(
        session, blobs, config, world):
    from docsvc.services.signing import DocumentRevokedError, SignatureRequest, sign_document
    from docsvc.services.verification import audit_archive

    verifier = Verifier(trust=load_trust([]))
    verifying = dataclasses.replace(config, verifier=verifier)
    _submit(session, blobs, verifying, world, _package("21", pdf_text="bc 21"))
    document = _incoming(session, "21")
    key = document.versions[0].blob_key
    assert session.execute(select(VerificationResult).where(
        VerificationResult.document_id == document.id)).scalars().first() is not None
    _submit(session, blobs, verifying, world,
            _package("21", doc_type=1, reason="Thu hồi", target=_doc_id("21")))
    assert not blobs.exists(key)
    report = audit_archive(session, blobs, verifier, actor=world["vanthu"], every_version=True)
    assert report.unreadable == []  # the removed bytes are not an archive defect

    doc_id, _ = _sent_to_hosted(session, blobs, config, world)
    flows.revoke_document(session, blobs, config, document_id=doc_id, reason="Sai thể thức",
                          actor=world["vanthu"])
    with pytest.raises(DocumentRevokedError):
        sign_document(session, blobs, None, document_id=doc_id, actor=world["vanthu"],
                      request=SignatureRequest(signer="any", role="agency"))


def test_what_the_sender_said_of_a_received_document_is_not_rewritten(session, blobs, config,
                                                                       world):
    from docsvc.services.corrections import FieldsLockedError, correct_metadata

    _submit(session, blobs, config, world, _package("31", pdf_text="bc 31"))
    document = _incoming(session, "31")
    assert document.status == "draft"  # not registered yet, still the sender's header
    for changes in ({"subject": "Trích yếu khác"}, {"code_notation": "QĐ-UBND"},
                    {"organ_name": "Cơ quan khác"}):
        with pytest.raises(FieldsLockedError):
            correct_metadata(session, document_id=document.id, actor=world["vanthu"],
                             changes=changes)
    fixed, changed, _ = correct_metadata(session, document_id=document.id,
                                         actor=world["vanthu"], changes={"priority": 2})
    assert changed == ["priority"] and fixed.subject == "Báo cáo số 31"


def test_side_flows_follow_the_way_the_document_went_when_the_recipient_moves_here(
        session, blobs, config, world):
    from docsvc.security import OPERATOR
    from docsvc.services.identity import add_user

    doc_id = signed_notice(session, blobs, world["vanthu"])
    svc.send_document(session, blobs, config, document_id=doc_id, to=[PULLING],
                      actor=world["vanthu"])
    # the pulling commune gets users here: it is now "hosted", but its copy is in the mailbox
    add_user(session, OPERATOR, username="vanthu-tinhlong", roles=["clerk"], organ_id=PULLING)
    [asked] = flows.request_takeback(session, blobs, config, document_id=doc_id,
                                     reason="Cần sửa", actor=world["vanthu"])
    assert asked.delivery.mode == "pull"  # not silently dropped at a copy that does not exist
    [revocation] = flows.revoke_document(session, blobs, config, document_id=doc_id,
                                         reason="Sai thể thức", actor=world["vanthu"])
    assert revocation.delivery.mode == "pull" and revocation.recipient_organ_id == PULLING
    inbox, _ = svc.inbox(session, config, actor=world["system"])
    assert {m.id for m in inbox} >= {asked.id, revocation.id}
