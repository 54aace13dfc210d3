"""The sender's side of updates (BussinessDocType 2) and replacements (3): the packages parse back
with the right Bussiness block and are XSD-valid, a hosted commune links the new document to the
old one, statuses keep one entry per recipient, refusals are precise and recorded, and a
repeated update sends nothing."""

from __future__ import annotations

import hashlib
import io

import pytest
from sqlalchemy import func, select

from docsvc.api.serialize import document_to_dict
from docsvc.errors import BadRequestError, NotFoundError
from docsvc.exchange import parse_package, validate_package, verify_package
from docsvc.models import AuditEntry, Document, DocumentLink, Message
from docsvc.samples import notice_pdf
from docsvc.security import OPERATOR
from docsvc.services import exchange as svc
from docsvc.services.documents import store_version
from docsvc.services.exchange import flows
from docsvc.services.exchange.sending import content_fingerprint
from docsvc.storage import read_verified
from tests.support.worlds import HOSTED, PROVINCE, PULLING, make_key, signed_notice

OTHER = "000.00.53.H48"  # Sở Nội vụ: pulls, never got the replaced documents


def _bytes(blobs, message: Message) -> bytes:
    with read_verified(blobs, message.blob_key) as stream:
        return stream.read()


def _package(blobs, message: Message):
    data = _bytes(blobs, message)
    validate_package(data)  # our XSD
    return parse_package(data).package


def _send(session, blobs, config, clerk, to, **kwargs) -> tuple[str, svc.SendResult]:
    doc_id = signed_notice(session, blobs, clerk)
    return doc_id, svc.send_document(session, blobs, config, document_id=doc_id, to=to,
                                     actor=clerk, **kwargs)


def _incoming(session, organ_id: str, edxml_id: str, doc_type: int = 0) -> Document:
    message = session.execute(select(Message).where(
        Message.kind == "edoc", Message.document_id == edxml_id,
        Message.recipient_organ_id == organ_id,
        Message.bussiness_doc_type == doc_type)).scalars().one()
    return session.get(Document, message.delivered_document_id)


def _messages(session) -> int:
    return session.execute(select(func.count()).select_from(Message)).scalar_one()


def _audit(session, document_id: str, action: str) -> list[AuditEntry]:
    return list(session.execute(select(AuditEntry).where(
        AuditEntry.object_id == document_id, AuditEntry.action == action).order_by(
        AuditEntry.seq)).scalars())


def _new_signed_version(session, blobs, document_id: str, text: str) -> str:
    data = notice_pdf([text])
    document = session.get(Document, document_id)
    store_version(session, blobs, document, io.BytesIO(data), kind="signed",
                  filename="tb.corrected.pdf", actor=OPERATOR,
                  sha256=hashlib.sha256(data).hexdigest(), size=len(data))
    session.commit()
    return hashlib.sha256(data).hexdigest()


# -- update -------------------------------------------------------------------------------------


def test_an_update_goes_to_every_recipient_with_the_same_document_id(session, blobs, config, world):
    clerk = world["vanthu"]
    doc_id, sent = _send(session, blobs, config, clerk, [HOSTED, PULLING])
    edxml_id = sent.messages[0].document_id
    old_incoming = _incoming(session, HOSTED, edxml_id)
    document = session.get(Document, doc_id)
    document.subject = "Thông báo (đã sửa trích yếu)"
    session.commit()

    result = flows.update_document(session, blobs, config, document_id=doc_id,
                                   reason="Sửa trích yếu", actor=clerk)
    assert result.created == (HOSTED, PULLING) and result.unchanged == ()
    assert {m.bussiness_doc_type for m in result.messages} == {2}
    assert {m.document_id for m in result.messages} == {edxml_id}
    assert {m.content_sha256 for m in result.messages} == {result.content_sha256}
    pulled = next(m for m in result.messages if m.recipient_organ_id == PULLING)
    package = _package(blobs, pulled)
    assert package.header.document_id == edxml_id
    assert package.header.subject == "Thông báo (đã sửa trích yếu)"
    b = package.bussiness
    assert (b.doc_type, b.reason, b.document_id) == (2, "Sửa trích yếu", edxml_id)
    assert b.document_info is not None and b.document_info.document_info == 1
    assert b.replacements == ()
    assert package.attachments[0].sha256 == document.latest_version.sha256
    assert content_fingerprint(package) == result.content_sha256  # what was sent, as parsed back

    # the hosted commune filed it as a new incoming document linked to the first one
    new_incoming = session.get(Document, next(
        m for m in result.messages if m.recipient_organ_id == HOSTED).delivered_document_id)
    assert new_incoming.id != old_incoming.id and new_incoming.subject.endswith("(đã sửa trích yếu)")
    assert document_to_dict(new_incoming)["updates"] == [old_incoming.id]
    assert document_to_dict(old_incoming)["updated_by"] == [new_incoming.id]
    link = session.execute(select(DocumentLink).where(
        DocumentLink.document_id == new_incoming.id)).scalar_one()
    assert (link.kind, link.target_edxml_id, link.reason) == ("update", edxml_id, "Sửa trích yếu")

    # statuses: still two recipients, each with its update; the hosted one's 01 came back twice
    statuses = svc.document_statuses(session, document_id=doc_id, actor=clerk)
    assert [r["organ_id"] for r in statuses["recipients"]] == [HOSTED, PULLING]
    for recipient in statuses["recipients"]:
        assert recipient["bussiness_doc_type"] == 0
        [update] = recipient["updates"]
        assert update["bussiness_doc_type"] == 2
    hosted = statuses["recipients"][0]
    assert [h["code"] for h in hosted["history"]] == ["01", "01"]
    # the trail
    [entry] = _audit(session, doc_id, "document.update")
    assert entry.outcome == "success" and entry.details["to"] == [HOSTED, PULLING]
    assert entry.details["reason"] == "Sửa trích yếu" and entry.details["document_id"] == edxml_id
    assert entry.details["content_sha256"] == result.content_sha256


def test_a_repeated_update_sends_nothing_until_something_changes(session, blobs, config, world):
    """"No change": the recipient's last package has the same content fingerprint (header but
    recipients and trace, attachments by SHA-256, BussinessDocType, reason) and was not refused
    in transport. The package hash itself differs at every sending (TraceHeader timestamp)."""
    clerk = world["vanthu"]
    doc_id, _ = _send(session, blobs, config, clerk, [HOSTED, PULLING])

    def update(reason="Sửa tệp đính kèm", to=None):
        return flows.update_document(session, blobs, config, document_id=doc_id, reason=reason,
                                     to=to, actor=clerk)

    first = update()
    assert first.created == (HOSTED, PULLING)
    count = _messages(session)
    again = update()
    assert again.created == () and again.unchanged == (HOSTED, PULLING)
    assert again.package_sha256s == () and _messages(session) == count
    assert [m.id for m in again.messages] == [m.id for m in first.messages]
    assert len(_audit(session, doc_id, "document.update")) == 1  # a no-op is not an action

    # a corrected file (a new signed version): a new update, carrying the new file
    new_sha = _new_signed_version(session, blobs, doc_id, "bản đã sửa")
    corrected = update()
    assert corrected.created == (HOSTED, PULLING)
    assert corrected.content_sha256 != first.content_sha256
    assert _package(blobs, corrected.messages[1]).attachments[0].sha256 == new_sha
    assert update().created == ()
    # another reason is another update; a subset gets it, the others later
    subset = update(reason="Bổ sung nơi nhận", to=[PULLING])
    assert subset.created == (PULLING,) and [m.recipient_organ_id for m in subset.messages] == [PULLING]
    assert [o.organ_id for o in _package(blobs, subset.messages[0]).header.recipients] == [PULLING]
    rest = update(reason="Bổ sung nơi nhận")
    assert rest.created == (HOSTED,) and rest.unchanged == (PULLING,)
    # a recipient that refused the last one in transport gets it again
    pending, _ = svc.inbox(session, config, actor=world["system"], kind="edoc")
    assert subset.messages[0].id in {m.id for m in pending}
    for message in pending:
        last = message.id == subset.messages[0].id
        svc.ack_message(session, config, message_id=message.id,
                        result="rejected" if last else "received",
                        reason="Tệp hỏng" if last else None, actor=world["system"])
    retried = update(reason="Bổ sung nơi nhận")
    assert retried.created == (PULLING,) and retried.unchanged == (HOSTED,)
    statuses = svc.document_statuses(session, document_id=doc_id, actor=clerk)
    assert [len(r["updates"]) for r in statuses["recipients"]] == [3, 4]


def test_update_refusals_are_precise_and_recorded(session, blobs, config, world):
    clerk = world["vanthu"]
    unsent = signed_notice(session, blobs, clerk)
    with pytest.raises(BadRequestError):  # the reason first
        flows.update_document(session, blobs, config, document_id=unsent, reason=" ", actor=clerk)
    with pytest.raises(svc.NotUpdatableError) as info:
        flows.update_document(session, blobs, config, document_id=unsent, reason="x", actor=clerk)
    assert info.value.status == 409 and info.value.code == "document_not_updatable"
    assert info.value.details["reasons"] == ["not_sent"]
    assert [e.outcome for e in _audit(session, unsent, "document.update")] == ["refused"]

    doc_id, sent = _send(session, blobs, config, clerk, [HOSTED])
    with pytest.raises(NotFoundError):  # another agency's clerk
        flows.update_document(session, blobs, config, document_id=doc_id, reason="x",
                              actor=world["vanthu-xa"])
    with pytest.raises(BadRequestError) as info:
        flows.update_document(session, blobs, config, document_id=doc_id, reason="x",
                              to=[PULLING], actor=clerk)
    assert info.value.details == {"not_recipients": [PULLING]}
    with pytest.raises(BadRequestError):
        flows.update_document(session, blobs, config, document_id=doc_id, reason="x",
                              to=PULLING, actor=clerk)
    # the commune's clerk cannot "update" the copy it received
    incoming = _incoming(session, HOSTED, sent.messages[0].document_id)
    with pytest.raises(svc.NotUpdatableError) as info:
        flows.update_document(session, blobs, config, document_id=incoming.id, reason="x",
                              actor=world["vanthu-xa"])
    assert "not_outgoing" in info.value.details["reasons"]
    # an unsigned correction is not sent (a new, unsigned version of the main file; an
    # attachment would not be one: attachments are not versions)
    data = notice_pdf(["chưa ký"])
    store_version(session, blobs, session.get(Document, doc_id), io.BytesIO(data),
                  kind="original", filename="dinh-chinh.pdf", actor=clerk,
                  sha256=hashlib.sha256(data).hexdigest(), size=len(data))
    session.commit()
    with pytest.raises(svc.NotUpdatableError) as info:
        flows.update_document(session, blobs, config, document_id=doc_id, reason="x", actor=clerk)
    assert info.value.details["reasons"] == ["not_signed_by_person_and_agency"]
    _new_signed_version(session, blobs, doc_id, "đã ký lại")
    # revoked: refused
    flows.revoke_document(session, blobs, config, document_id=doc_id, reason="Sai", actor=clerk)
    count = _messages(session)
    with pytest.raises(svc.NotUpdatableError) as info:
        flows.update_document(session, blobs, config, document_id=doc_id, reason="x", actor=clerk)
    assert info.value.details["reasons"] == ["revoked"]
    assert _messages(session) == count
    assert [e.outcome for e in _audit(session, doc_id, "document.update")] == ["refused", "refused"]


def test_revoking_after_an_update_removes_the_updated_copy_too(session, blobs, config, world):
    clerk = world["vanthu"]
    doc_id, sent = _send(session, blobs, config, clerk, [HOSTED])
    edxml_id = sent.messages[0].document_id
    _new_signed_version(session, blobs, doc_id, "bản sửa")
    flows.update_document(session, blobs, config, document_id=doc_id, reason="Sửa", actor=clerk)
    first, second = _incoming(session, HOSTED, edxml_id), _incoming(session, HOSTED, edxml_id, 2)
    flows.revoke_document(session, blobs, config, document_id=doc_id, reason="Thu hồi",
                          actor=clerk)
    session.expire_all()
    for copy in (first, second):
        copy = session.get(Document, copy.id)
        assert copy.revoked_at is not None and all(v.revoked_at for v in copy.versions)
    statuses = svc.document_statuses(session, document_id=doc_id, actor=clerk)
    [hosted] = statuses["recipients"]
    assert [h["code"] for h in hosted["history"]] == ["01", "01", "15"]  # one 15


def test_an_agreed_take_back_removes_the_updated_copy_too(session, blobs, config, world):
    clerk = world["vanthu"]
    doc_id, sent = _send(session, blobs, config, clerk, [HOSTED])
    edxml_id = sent.messages[0].document_id
    _new_signed_version(session, blobs, doc_id, "bản sửa")
    flows.update_document(session, blobs, config, document_id=doc_id, reason="Sửa", actor=clerk)
    first, second = _incoming(session, HOSTED, edxml_id), _incoming(session, HOSTED, edxml_id, 2)
    flows.request_takeback(session, blobs, config, document_id=doc_id, reason="Lấy lại",
                           actor=clerk)
    svc.report_status(session, blobs, config, document_id=first.id, code="15", description=None,
                      actor=world["vanthu-xa"])
    session.expire_all()
    assert session.get(Document, first.id).revoked_at is not None
    assert session.get(Document, second.id).revoked_at is not None


# -- replacement --------------------------------------------------------------------------------


def test_a_replacement_names_each_replaced_document_and_who_got_it(session, blobs, config, world):
    clerk = world["vanthu"]
    first_id, first = _send(session, blobs, config, clerk, [HOSTED, PULLING])
    second_id, second = _send(session, blobs, config, clerk, [PULLING])
    first_edxml, second_edxml = first.messages[0].document_id, second.messages[0].document_id
    new_id = signed_notice(session, blobs, clerk)

    result = svc.send_document(session, blobs, config, document_id=new_id,
                               to=[HOSTED, PULLING, OTHER], replaces=[first_id, second_id],
                               reason="Thay thế do sai sót về thể thức", actor=clerk)
    assert result.doc_type == 3 and result.created == (HOSTED, PULLING, OTHER)
    assert result.replaces == (
        {"id": first_id, "document_id": first_edxml, "organ_ids": [HOSTED, PULLING]},
        {"id": second_id, "document_id": second_edxml, "organ_ids": [PULLING]})
    assert {m.bussiness_doc_type for m in result.messages} == {3}
    package = _package(blobs, result.messages[1])
    b = package.bussiness
    assert (b.doc_type, b.reason) == (3, "Thay thế do sai sót về thể thức")
    assert b.document_id == package.header.document_id == result.messages[0].document_id
    assert [(r.document_id, r.organ_ids) for r in b.replacements] == [
        (first_edxml, (HOSTED, PULLING)), (second_edxml, (PULLING,))]
    assert [o.organ_id for o in package.header.recipients] == [HOSTED, PULLING, OTHER]

    # our side: the new document replaces both; they know it
    as_json = document_to_dict(session.get(Document, new_id))
    assert as_json["replaces"] == [first_id, second_id]
    assert document_to_dict(session.get(Document, first_id))["replaced_by"] == [new_id]
    links = session.execute(select(DocumentLink).where(
        DocumentLink.document_id == new_id).order_by(DocumentLink.id)).scalars().all()
    assert [(link.kind, link.target_edxml_id, link.reason) for link in links] == [
        ("replacement", first_edxml, "Thay thế do sai sót về thể thức"),
        ("replacement", second_edxml, "Thay thế do sai sót về thể thức")]
    # the hosted commune: linked to its copy of the first, and to the second by DocumentId only
    hosted_new = _incoming(session, HOSTED, result.messages[0].document_id, 3)
    hosted_old = _incoming(session, HOSTED, first_edxml)
    hosted_json = document_to_dict(hosted_new)
    assert hosted_json["replaces"] == [hosted_old.id]
    assert {"kind": "replacement", "document_id": second_edxml, "target": None,
            "reason": "Thay thế do sai sót về thể thức"} in hosted_json["links"]
    # exactly what the package says: the links follow the ReplacementInfoList of its bytes
    hosted_message = result.messages[0]
    hosted_package = parse_package(_bytes(blobs, hosted_message)).package
    assert [r.document_id for r in hosted_package.bussiness.replacements] == [
        link["document_id"] for link in hosted_json["links"]]
    # statuses: three recipients of the new document; the old ones keep theirs
    statuses = svc.document_statuses(session, document_id=new_id, actor=clerk)
    assert [(r["organ_id"], r["bussiness_doc_type"], r["updates"]) for r in statuses["recipients"]] \
        == [(OTHER, 3, []), (HOSTED, 3, []), (PULLING, 3, [])]  # one sending: by OrganId
    assert len(svc.document_statuses(session, document_id=first_id, actor=clerk)["recipients"]) == 2
    [entry] = _audit(session, new_id, "document.send")
    assert entry.details["bussiness_doc_type"] == 3
    assert [r["id"] for r in entry.details["replaces"]] == [first_id, second_id]

    # a later recipient gets the same replacement without repeating it; another set is refused
    later = svc.send_document(session, blobs, config, document_id=new_id, to=["000.00.54.H48"],
                              actor=clerk)
    assert later.doc_type == 3
    later_package = _package(blobs, later.messages[0]).bussiness
    assert later_package.reason == "Thay thế do sai sót về thể thức"
    assert [(r.document_id, r.organ_ids) for r in later_package.replacements] == [
        (first_edxml, ()), (second_edxml, ())]
    with pytest.raises(svc.ReplacementRefusedError) as info:
        svc.send_document(session, blobs, config, document_id=new_id, to=["000.00.55.H48"],
                          replaces=[first_id], reason="x", actor=clerk)
    assert info.value.details["problems"] == [
        {"document_id": new_id, "problem": "replaces_differs", "recorded": [first_id, second_id]}]
    assert len(session.execute(select(DocumentLink).where(
        DocumentLink.document_id == new_id)).scalars().all()) == 2


def test_replacement_refusals_are_precise_and_store_nothing(session, blobs, config, world):
    clerk = world["vanthu"]
    sent_id, _ = _send(session, blobs, config, clerk, [PULLING])
    unsent_id = signed_notice(session, blobs, clerk)
    new_id = signed_notice(session, blobs, clerk)
    # an incoming document of the province: the hosted commune sends one to it
    hosted_doc = signed_notice_of(session, blobs, world["vanthu-xa"])
    svc.send_document(session, blobs, config, document_id=hosted_doc, to=[PROVINCE],
                      actor=world["vanthu-xa"])
    province_incoming = session.execute(select(Document).where(
        Document.owner_organ_id == PROVINCE, Document.direction == "incoming")).scalar_one()

    def send(replaces, reason="Thay thế", document_id=new_id):
        return svc.send_document(session, blobs, config, document_id=document_id, to=[HOSTED],
                                 replaces=replaces, reason=reason, actor=clerk)

    count = _messages(session)
    for bad in ([], "x", [""], [1], [new_id]):
        with pytest.raises(BadRequestError):
            send(bad)
    with pytest.raises(BadRequestError):  # a replacement needs its reason
        send([sent_id], reason=" ")
    with pytest.raises(BadRequestError):  # a reason alone means nothing
        send(None, reason="x")
    with pytest.raises(svc.ReplacementRefusedError) as info:
        send([sent_id, unsent_id, "no-such-id", hosted_doc, province_incoming.id])
    assert info.value.status == 409 and info.value.code == "replacement_refused"
    assert info.value.details["problems"] == [
        {"document_id": unsent_id, "problem": "not_sent"},
        {"document_id": "no-such-id", "problem": "not_found"},
        {"document_id": hosted_doc, "problem": "not_found"},  # another agency's: not revealed
        {"document_id": province_incoming.id, "problem": "not_outgoing"}]
    assert _messages(session) == count
    refused = _audit(session, new_id, "document.send")
    assert [e.outcome for e in refused] == ["refused"] and refused[0].details["problems"]
    # sent as new first: it cannot become a replacement afterwards
    svc.send_document(session, blobs, config, document_id=unsent_id, to=[PULLING], actor=clerk)
    with pytest.raises(svc.ReplacementRefusedError) as info:
        send([sent_id], document_id=unsent_id)
    assert info.value.details["problems"] == [{"document_id": unsent_id, "problem": "sent_as_new"}]
    # replaced once: a second document cannot replace it again
    send([sent_id])
    third = signed_notice(session, blobs, clerk)
    with pytest.raises(svc.ReplacementRefusedError) as info:
        send([sent_id], document_id=third)
    assert info.value.details["problems"] == [
        {"document_id": sent_id, "problem": "already_replaced", "by": [new_id]}]


def signed_notice_of(session, blobs, clerk) -> str:
    """A registered, signed outgoing notice of the clerk's own agency."""
    from docsvc.metadata import parse_metadata
    from docsvc.services.documents import register_document, upload_document
    from tests.support.data import NOTICE_METADATA
    from tests.support.worlds import ZONE

    metadata = parse_metadata({**NOTICE_METADATA, "organ_id": clerk.organ_id,
                               "organ_name": "UBND xã Tịnh Ấn"})
    document, _ = upload_document(session, blobs, stream=io.BytesIO(notice_pdf()), filename="tb.pdf",
                                  metadata=metadata, owner_organ_id=clerk.organ_id, actor=clerk)
    register_document(session, document_id=document.id, actor=clerk, zone=ZONE)
    data = notice_pdf(["đã ký"])
    store_version(session, blobs, document, io.BytesIO(data), kind="signed", filename="tb.signed.pdf",
                  actor=clerk, sha256=hashlib.sha256(data).hexdigest(), size=len(data))
    session.commit()
    return document.id


def test_signed_update_and_replacement_packages_verify(session, blobs, config, world):
    import dataclasses

    key = make_key("UBND tỉnh Quảng Ngãi")
    signing = dataclasses.replace(config, agency_key=key)
    clerk = world["vanthu"]
    old_id, _ = _send(session, blobs, signing, clerk, [PULLING])
    new_id = signed_notice(session, blobs, clerk)
    replacement = svc.send_document(session, blobs, signing, document_id=new_id, to=[PULLING],
                                    replaces=[old_id], reason="Thay thế", actor=clerk)
    _new_signed_version(session, blobs, old_id, "bản sửa")
    update = flows.update_document(session, blobs, signing, document_id=old_id, reason="Sửa",
                                   actor=clerk)
    assert update.signed and replacement.signed
    for message in (replacement.messages[0], update.messages[0]):
        data = _bytes(blobs, message)
        assert verify_package(data, expected_cert=key.chain[0]).is_valid
        validate_package(data)


def test_each_package_of_a_replacement_names_only_its_own_recipients(session, blobs, config, world):
    """Packages split by attachment encoding (or peer) name, among those that got the replaced
    document, only their own recipients: a package never tells who else received what."""
    from docsvc.models import Organization

    clerk = world["vanthu"]
    old_id, old = _send(session, blobs, config, clerk, [HOSTED, PULLING])
    session.get(Organization, PULLING).zip_attachments = True
    session.commit()
    new_id = signed_notice(session, blobs, clerk)
    result = svc.send_document(session, blobs, config, document_id=new_id, to=[HOSTED, PULLING],
                               replaces=[old_id], reason="Thay thế", actor=clerk)
    assert len(result.package_sha256s) == 2
    assert result.replaces[0]["organ_ids"] == [HOSTED, PULLING]
    named = {}
    for message in result.messages:
        package = _package(blobs, message)
        [info] = package.bussiness.replacements
        assert info.document_id == old.messages[0].document_id
        named[message.recipient_organ_id] = (info.organ_ids,
                                             [o.organ_id for o in package.header.recipients])
    assert named == {HOSTED: ((HOSTED,), [HOSTED]), PULLING: ((PULLING,), [PULLING])}


def test_links_to_documents_the_reader_may_not_read_are_left_out(session, blobs, config, world):
    from docsvc.api.serialize import document_to_dict
    from docsvc.models import Document as Doc
    from docsvc.security import Actor
    from docsvc.services.exchange.flows import update_document
    from tests.unit.exchange_service.test_flows import _sent_to_hosted

    doc_id, first = _sent_to_hosted(session, blobs, config, world)
    update_document(session, blobs, config, document_id=doc_id, reason="Sửa",
                    actor=world["vanthu"])
    update = session.execute(select(Doc).where(Doc.owner_organ_id == HOSTED,
                                               Doc.id != first.id)).scalar_one()
    update.secrecy = "tuyet_mat"  # e.g. reclassified by the receiver
    session.commit()
    cleared = Actor(kind="user", name="vt", organ_id=HOSTED, roles=frozenset({"clerk"}),
                    clearance="tuyet_mat")
    uncleared = Actor(kind="user", name="ld", organ_id=HOSTED, roles=frozenset({"signer"}))
    assert document_to_dict(first, reader=cleared)["updated_by"] == [update.id]
    assert document_to_dict(first, reader=uncleared)["updated_by"] == []
    assert update.id not in str(document_to_dict(first, reader=uncleared))


def test_links_for_a_page_are_those_of_each_document(session, blobs, config, world):
    from docsvc.api.serialize import links_for, links_of
    from docsvc.models import Document as Doc
    from docsvc.services.exchange.flows import update_document
    from tests.unit.exchange_service.test_flows import _sent_to_hosted

    doc_id, first = _sent_to_hosted(session, blobs, config, world)
    update_document(session, blobs, config, document_id=doc_id, reason="Sửa",
                    actor=world["vanthu"])
    page = list(session.execute(select(Doc).where(Doc.owner_organ_id == HOSTED)).scalars())
    assert len(page) == 2
    together = links_for(session, [d.id for d in page], world["vanthu-xa"])
    assert together == {d.id: links_of(d, world["vanthu-xa"]) for d in page}
    assert sorted(len(v["updated_by"]) + len(v["updates"]) for v in together.values()) == [1, 1]
