"""The exchange use cases on SQLite and PostgreSQL: sending, local delivery to a hosted commune,
the pull mailbox, submissions with XML signatures, statuses and their order, receipts."""

from __future__ import annotations

import dataclasses
import datetime as dt
import io

import pytest
from sqlalchemy import func, select

from docsvc.errors import BadRequestError, NotFoundError, PermissionDeniedError
from docsvc.exchange import (
    VN_TZ,
    Organization,
    ResponseFor,
    StatusPackage,
    XmlSignatureInvalidError,
    build_status_package,
    parse_package,
    sign_package,
    verify_package,
)
from docsvc.models import AuditEntry, Document, LinkedSystem, Message, StatusEvent
from docsvc.security import OPERATOR
from docsvc.services import exchange as svc
from docsvc.storage import read_verified
from tests.support.worlds import HOSTED, PROVINCE, PULLING, make_key, signed_notice


def _bytes(blobs, message: Message) -> bytes:
    with read_verified(blobs, message.blob_key) as stream:
        return stream.read()


def test_sending_stores_one_package_for_every_recipient(session, blobs, config, world):
    doc_id = signed_notice(session, blobs, world["vanthu"])
    result = svc.send_document(session, blobs, config, document_id=doc_id, to=[PULLING, HOSTED],
                               actor=world["vanthu"])
    assert result.created == (PULLING, HOSTED)
    assert len({m.blob_key for m in result.messages}) == 1
    modes = {m.recipient_organ_id: m.delivery.mode for m in result.messages}
    assert modes == {PULLING: "pull", HOSTED: "local"}
    package = parse_package(_bytes(blobs, result.messages[0])).package
    assert {r.organ_id for r in package.header.recipients} == {PULLING, HOSTED}
    document = session.get(Document, doc_id)
    assert package.header.document_id == f"{PROVINCE},{document.issued_date:%Y/%m/%d},01/TB-UBND"
    assert package.attachments[0].sha256 == document.latest_version.sha256
    # sending again creates nothing new
    again = svc.send_document(session, blobs, config, document_id=doc_id, to=[PULLING],
                              actor=world["vanthu"])
    assert again.created == () and again.messages[0].id == result.messages[0].id
    actions = session.execute(select(AuditEntry.action).where(AuditEntry.object_id == doc_id)).scalars()
    assert list(actions).count("document.send") == 1


def test_only_registered_signed_documents_of_the_clerks_agency_are_sent(session, blobs, config, world):
    unsigned = signed_notice(session, blobs, world["vanthu"], sign=False)
    with pytest.raises(svc.DocumentNotSendableError) as info:
        svc.send_document(session, blobs, config, document_id=unsigned, to=[PULLING],
                          actor=world["vanthu"])
    assert info.value.details["reasons"] == ["not_signed_by_person_and_agency"]
    signed = signed_notice(session, blobs, world["vanthu"])
    with pytest.raises(NotFoundError):  # another agency's clerk does not even see it
        svc.send_document(session, blobs, config, document_id=signed, to=[PULLING],
                          actor=world["vanthu-xa"])
    with pytest.raises(NotFoundError):  # nor a linked system it is not addressed to
        svc.send_document(session, blobs, config, document_id=signed, to=[PULLING],
                          actor=world["system"])


def test_local_delivery_files_an_incoming_document_and_reports_01(session, blobs, config, world):
    doc_id = signed_notice(session, blobs, world["vanthu"])
    svc.send_document(session, blobs, config, document_id=doc_id, to=[HOSTED], actor=world["vanthu"])
    [incoming] = session.execute(select(Document).where(Document.owner_organ_id == HOSTED)).scalars()
    assert incoming.direction == "incoming" and incoming.organ_id == PROVINCE
    assert incoming.versions[0].sha256 == session.get(Document, doc_id).latest_version.sha256
    statuses = svc.document_statuses(session, document_id=doc_id, actor=world["vanthu"])
    [recipient] = statuses["recipients"]
    assert recipient["latest"]["code"] == "01" and recipient["delivery"]["state"] == "delivered"

    # the commune's clerk accepts (số đến), handles, finishes; the province sees each step
    for code, number in (("03", 1), ("05", 1), ("06", 1)):
        document, message = svc.report_status(session, blobs, config, document_id=incoming.id,
                                              code=code, description=None, actor=world["vanthu-xa"])
        assert document.arrival_number == number and message.recipient_organ_id == PROVINCE
        seen = svc.document_statuses(session, document_id=doc_id, actor=world["vanthu"])
        assert seen["recipients"][0]["latest"]["code"] == code
    assert incoming.status == "registered"
    with pytest.raises(svc.StatusTransitionError):
        svc.report_status(session, blobs, config, document_id=incoming.id, code="04",
                          description=None, actor=world["vanthu-xa"])


@pytest.mark.parametrize(("steps", "last_refused"), [
    (["04"], True), (["02"], False), (["03", "02"], True), (["02", "03"], True),
    (["03", "06", "05"], True), (["03", "03"], True), (["03", "04", "05", "06"], False),
])
def test_status_transitions(session, blobs, config, world, steps, last_refused):
    doc_id = signed_notice(session, blobs, world["vanthu"])
    svc.send_document(session, blobs, config, document_id=doc_id, to=[HOSTED], actor=world["vanthu"])
    incoming = session.execute(select(Document).where(Document.owner_organ_id == HOSTED)).scalar_one()

    def report(code):  # type: ignore[no-untyped-def]
        return svc.report_status(session, blobs, config, document_id=incoming.id, code=code,
                                 description="lý do", actor=world["vanthu-xa"])

    for code in steps[:-1]:
        report(code)
    if not last_refused:
        report(steps[-1])
        return
    with pytest.raises(svc.StatusTransitionError):
        report(steps[-1])
    refusals = session.execute(select(AuditEntry).where(
        AuditEntry.action == "document.status", AuditEntry.outcome == "refused")).scalars().all()
    assert [r.details["requested"] for r in refusals] == [steps[-1]]


def test_rejection_needs_a_reason(session, blobs, config, world):
    doc_id = signed_notice(session, blobs, world["vanthu"])
    svc.send_document(session, blobs, config, document_id=doc_id, to=[HOSTED], actor=world["vanthu"])
    incoming = session.execute(select(Document).where(Document.owner_organ_id == HOSTED)).scalar_one()
    with pytest.raises(BadRequestError):
        svc.report_status(session, blobs, config, document_id=incoming.id, code="02",
                          description=" ", actor=world["vanthu-xa"])


def _pulled(session, blobs, config, world):
    doc_id = signed_notice(session, blobs, world["vanthu"])
    result = svc.send_document(session, blobs, config, document_id=doc_id, to=[PULLING],
                               actor=world["vanthu"])
    return doc_id, result.messages[0]


def _status(document_id: str, code: str, when: dt.datetime | None = None) -> bytes:
    return build_status_package(StatusPackage(
        sender=Organization(PULLING, organ_name="UBND xã Tịnh Long", organ_add="Tịnh Long"),
        response_for=ResponseFor(PROVINCE, "01/TB-UBND", None, document_id), status_code=code,
        timestamp=when or dt.datetime.now(VN_TZ), description=code))


def test_statuses_arriving_out_of_order_keep_the_furthest_as_latest(session, blobs, config, world):
    doc_id, message = _pulled(session, blobs, config, world)
    start = dt.datetime(2025, 3, 1, 8, 0, tzinfo=VN_TZ)
    for offset, code in ((3, "06"), (1, "03"), (2, "05"), (0, "01")):
        svc.submit_package(session, blobs, config, stream=io.BytesIO(
            _status(message.document_id, code, start + dt.timedelta(hours=offset))),
            idempotency_key=None, actor=world["system"])
    statuses = svc.document_statuses(session, document_id=doc_id, actor=world["vanthu"])
    [recipient] = statuses["recipients"]
    assert recipient["latest"]["code"] == "06"
    assert [h["code"] for h in recipient["history"]] == ["01", "03", "05", "06"]  # by time


def test_inbox_leases_and_ack_is_idempotent(session, blobs, config, world):
    _, message = _pulled(session, blobs, config, world)
    now = dt.datetime.now(dt.UTC)
    page, _ = svc.inbox(session, config, actor=world["system"], now=now)
    assert [m.id for m in page] == [message.id]
    assert svc.inbox(session, config, actor=world["system"], now=now)[0] == []
    later = now + config.lease + dt.timedelta(seconds=1)
    assert [m.id for m in svc.inbox(session, config, actor=world["system"], now=later)[0]] == [message.id]
    receipt = svc.ack_message(session, config, message_id=message.id, result="received", reason=None,
                              actor=world["system"])
    assert receipt["sha256"] == message.sha256 and receipt["signature"] is None
    assert svc.ack_message(session, config, message_id=message.id, result="received", reason=None,
                           actor=world["system"]) == receipt
    assert svc.inbox(session, config, actor=world["system"], now=later + config.lease * 2)[0] == []


def test_inbox_pages_with_a_cursor(session, blobs, config, world):
    for _ in range(3):
        _pulled(session, blobs, config, world)
    first, after = svc.inbox(session, config, actor=world["system"], limit=2)
    assert len(first) == 2 and after
    rest, end = svc.inbox(session, config, actor=world["system"], limit=2, after=after)
    assert len(rest) == 1 and end is None


def test_packages_and_receipts_are_signed_with_the_agency_key(session, blobs, config, world, agency_key):
    signing = dataclasses.replace(config, agency_key=agency_key)
    _, message = _pulled(session, blobs, signing, world)
    check = verify_package(_bytes(blobs, message), expected_cert=agency_key.chain[0])
    assert check.is_valid, check
    receipt = svc.ack_message(session, signing, message_id=message.id, result="received", reason=None,
                              actor=world["system"])
    assert receipt["signature"]["certificate_sha256"] == agency_key.certificate_sha256
    assert svc.verify_receipt(receipt, agency_key.chain[0])
    assert not svc.verify_receipt({**receipt, "sha256": "0" * 64}, agency_key.chain[0])


def test_pinned_certificate_requires_a_valid_xml_signature(session, blobs, config, world):
    _, message = _pulled(session, blobs, config, world)
    commune_key, stranger = make_key("UBND xã Tịnh Long"), make_key("Kẻ lạ")
    from cryptography.hazmat.primitives.serialization import Encoding

    system = session.get(LinkedSystem, world["system"].system_id)
    system.xml_signing_cert = commune_key.chain[0].public_bytes(Encoding.PEM).decode()
    session.commit()
    unsigned = _status(message.document_id, "01")
    with pytest.raises(svc.XmlSignatureRequiredError):
        svc.submit_package(session, blobs, config, stream=io.BytesIO(unsigned), idempotency_key=None,
                           actor=world["system"])
    forged = sign_package(unsigned, stranger.key, stranger.chain)
    with pytest.raises(XmlSignatureInvalidError):
        svc.submit_package(session, blobs, config, stream=io.BytesIO(forged), idempotency_key=None,
                           actor=world["system"])
    genuine = sign_package(unsigned, commune_key.key, commune_key.chain)
    submission = svc.submit_package(session, blobs, config, stream=io.BytesIO(genuine),
                                    idempotency_key=None, actor=world["system"])
    assert submission.receipt["xml_signature"] == "valid"
    events = session.execute(select(func.count()).select_from(StatusEvent)).scalar_one()
    assert events == 1


def test_operator_may_not_use_the_mailbox(session, blobs, config, world):
    with pytest.raises(PermissionDeniedError):
        svc.inbox(session, config, actor=OPERATOR)


def test_two_pullers_never_lease_the_same_message(sessions, blobs, config):
    """Two workers of one system list the inbox at once: each message goes to one of them."""
    import threading

    from docsvc.services.directory import seed_demo
    from tests.support.worlds import world_in

    with sessions() as session:
        seed_demo(session, OPERATOR)
        people = world_in(session)
        for _ in range(6):
            _pulled(session, blobs, config, people)
    barrier, pages = threading.Barrier(2), []

    def pull() -> None:
        with sessions() as session:
            barrier.wait()
            page, _ = svc.inbox(session, config, actor=people["system"], limit=6)
            pages.append([m.id for m in page])

    threads = [threading.Thread(target=pull) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    leased = pages[0] + pages[1]
    assert len(leased) == len(set(leased)) == 6
