"""Province ⇄ a pull-only commune system over HTTP: send, pull, fetch, ack, statuses back,
trace; duplicate and hostile submissions; a lost acknowledgement comes back after the lease.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import replace

import pytest
from sqlalchemy import func, select, update

from docsvc.exchange import (
    VN_TZ,
    Attachment,
    Code,
    DocumentHeader,
    DocumentPackage,
    DocumentType,
    Organization,
    PromulgationInfo,
    ResponseFor,
    StatusPackage,
    TraceHeader,
    build_document_package,
    build_status_package,
    parse_package,
)
from docsvc.models import IdempotencyKey, Message
from docsvc.models import Organization as OrgRow
from docsvc.samples import notice_pdf
from docsvc.security import OPERATOR
from docsvc.services.directory import seed_demo
from docsvc.services.identity import add_system
from tests.support.data import NOTICE_METADATA
from tests.support.worlds import add_signed_version as _sign
from tests.support.worlds import upload_and_register as _upload_and_register

PROVINCE, COMMUNE, OTHER = "000.00.00.H48", "000.01.01.H48", "000.01.02.H48"


@pytest.fixture
def commune(runtime, app):
    """A pull-only linked system of UBND xã Tịnh Ấn (no people of it on this instance)."""
    with runtime.sessions() as session:
        seed_demo(session, OPERATOR)
        _, token = add_system(session, OPERATOR, organ_id=COMMUNE, name="Phần mềm QLVB xã Tịnh Ấn")
    client = app.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    return client


@pytest.fixture
def sent(client, commune, runtime):
    """A registered, signed notice of the province sent to the commune."""
    doc = _upload_and_register(client)
    _sign(runtime, doc["id"])
    response = client.post(f"/api/v1/documents/{doc['id']}/send", json={"to": [COMMUNE]})
    assert response.status_code == 201, response.json
    return doc, response.json


def _status(document_id: str, code: str, description: str = "") -> bytes:
    return build_status_package(StatusPackage(
        sender=Organization(COMMUNE, organ_name="UBND xã Tịnh Ấn", organ_add="Tịnh Ấn"),
        response_for=ResponseFor(PROVINCE, "01/TB-UBND", dt.date(2018, 6, 19), document_id),
        status_code=code, timestamp=dt.datetime.now(VN_TZ), description=description or code))


def _submit(client, data: bytes, key: str | None = None):
    headers = {"Content-Type": "application/xml"}
    if key:
        headers["Idempotency-Key"] = key
    return client.post("/api/v1/exchange/messages", data=data, headers=headers)


def _message_count(runtime) -> int:
    with runtime.sessions() as session:
        return session.execute(select(func.count()).select_from(Message)).scalar_one()


def test_send_refuses_an_unsigned_document(client, commune):
    doc = _upload_and_register(client)
    response = client.post(f"/api/v1/documents/{doc['id']}/send", json={"to": [COMMUNE]})
    assert response.status_code == 409
    assert response.json["error"]["code"] == "document_not_sendable"
    assert "not_signed_by_person_and_agency" in response.json["error"]["details"]["reasons"]


def test_send_refuses_unknown_and_invalid_recipients(client, commune, runtime):
    doc = _upload_and_register(client)
    _sign(runtime, doc["id"])
    unknown = client.post(f"/api/v1/documents/{doc['id']}/send", json={"to": ["000.09.09.H48"]})
    assert unknown.status_code == 422 and unknown.json["error"]["code"] == "recipient_unknown"
    invalid = client.post(f"/api/v1/documents/{doc['id']}/send", json={"to": ["not-an-id"]})
    assert invalid.status_code == 400
    assert client.post(f"/api/v1/documents/{doc['id']}/send", json={}).status_code == 400


def test_province_and_pull_only_commune_exchange_a_notice_and_its_statuses(client, commune, sent,
                                                                           runtime):
    doc, send = sent
    [message] = send["messages"]
    assert message["recipient"] == COMMUNE and message["delivery"] == "pull"

    # the commune's system pulls its inbox and fetches the bytes
    inbox = commune.get("/api/v1/exchange/inbox").json["data"]
    assert [m["id"] for m in inbox] == [message["id"]]
    assert inbox[0]["kind"] == "edoc" and inbox[0]["sender"] == PROVINCE
    fetched = commune.get(f"/api/v1/exchange/messages/{message['id']}")
    assert fetched.status_code == 200
    assert hashlib.sha256(fetched.data).hexdigest() == inbox[0]["sha256"] == send["package_sha256"]
    assert fetched.headers["ETag"] == f'"{inbox[0]["sha256"]}"'
    package = parse_package(fetched.data).package
    assert package.header.subject == NOTICE_METADATA["subject"]
    assert package.header.document_id == inbox[0]["document_id"]
    assert [r.organ_id for r in package.header.recipients] == [COMMUNE]
    assert package.attachments[0].read_bytes()[:5] == b"%PDF-"

    # transport acknowledgement, idempotent
    ack = commune.post(f"/api/v1/exchange/messages/{message['id']}/ack", json={"result": "received"})
    assert ack.status_code == 200 and ack.json["sha256"] == send["package_sha256"]
    again = commune.post(f"/api/v1/exchange/messages/{message['id']}/ack", json={"result": "received"})
    assert again.json == ack.json
    conflict = commune.post(f"/api/v1/exchange/messages/{message['id']}/ack",
                            json={"result": "rejected", "reason": "x"})
    assert conflict.status_code == 409
    assert commune.get("/api/v1/exchange/inbox").json["data"] == []

    # business statuses back: 01, 03, 05, 06
    for code in ("01", "03", "05", "06"):
        receipt = _submit(commune, _status(package.header.document_id, code))
        assert receipt.status_code == 201, receipt.json
        assert receipt.json["kind"] == "status" and receipt.json["to"] == [PROVINCE]
        statuses = client.get(f"/api/v1/documents/{doc['id']}/statuses").json
        [recipient] = statuses["recipients"]
        assert recipient["latest"]["code"] == code
    assert [h["code"] for h in recipient["history"]] == ["01", "03", "05", "06"]
    assert recipient["delivery"]["state"] == "delivered"

    trace = client.get(f"/api/v1/documents/{doc['id']}/trace").json["events"]
    kinds = [(e["type"], e.get("event") or e.get("code")) for e in trace]
    assert kinds[0] == ("hop", None) and trace[0]["organ_id"] == PROVINCE
    for step in [("transport", "created"), ("transport", "listed"), ("transport", "fetched"),
                 ("transport", "acked"), ("status", "01"), ("status", "06")]:
        assert step in kinds
    assert kinds.index(("transport", "acked")) < kinds.index(("status", "06"))


def test_a_lost_ack_brings_the_message_back_after_the_lease(commune, sent, runtime):
    _, send = sent
    [message] = send["messages"]
    assert len(commune.get("/api/v1/exchange/inbox").json["data"]) == 1
    commune.get(f"/api/v1/exchange/messages/{message['id']}")  # ack lost on the way
    assert commune.get("/api/v1/exchange/inbox").json["data"] == []  # leased
    with runtime.sessions() as session:  # the lease runs out
        session.execute(update(Message).values(
            lease_until=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)))
        session.commit()
    again = commune.get("/api/v1/exchange/inbox").json["data"]
    assert [m["id"] for m in again] == [message["id"]]
    first = commune.post(f"/api/v1/exchange/messages/{message['id']}/ack", json={"result": "received"})
    second = commune.post(f"/api/v1/exchange/messages/{message['id']}/ack", json={"result": "received"})
    assert first.json == second.json and first.json["type"] == "ack"


def test_a_message_is_only_for_its_addressee(client, sent, app, runtime):
    _, send = sent
    with runtime.sessions() as session:
        _, token = add_system(session, OPERATOR, organ_id=OTHER, name="Hệ thống xã Tịnh Long")
    other = app.test_client()
    other.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    message_id = send["messages"][0]["id"]
    assert other.get("/api/v1/exchange/inbox").json["data"] == []
    assert other.get(f"/api/v1/exchange/messages/{message_id}").status_code == 404
    assert other.post(f"/api/v1/exchange/messages/{message_id}/ack",
                      json={"result": "received"}).status_code == 404
    assert client.get("/api/v1/exchange/inbox").status_code == 403  # people use the registry


def test_a_commune_that_takes_zips_pulls_an_sdk_style_package(client, commune, runtime):
    with runtime.sessions() as session:
        session.get(OrgRow, COMMUNE).zip_attachments = True
        session.commit()
    assert {r["organ_id"]: r["zip_attachments"] for r in client.get("/api/v1/directory").json[
        "data"]}[COMMUNE] is True
    doc = _upload_and_register(client)
    _sign(runtime, doc["id"])
    send = client.post(f"/api/v1/documents/{doc['id']}/send", json={"to": [COMMUNE, OTHER]}).json
    by_recipient = {m["recipient"]: m for m in send["messages"]}
    assert by_recipient[COMMUNE]["sha256"] != by_recipient[OTHER]["sha256"] == send["package_sha256"]
    fetched = commune.get(f"/api/v1/exchange/messages/{by_recipient[COMMUNE]['id']}").data
    assert b"<ContentType>application/zip</ContentType>" in fetched
    [attachment] = parse_package(fetched).package.attachments
    signed = client.get(f"/api/v1/documents/{doc['id']}").json["versions"][-1]
    assert attachment.zipped and attachment.sha256 == signed["sha256"]


def _commune_notice(to: str = PROVINCE, subject: str = "Báo cáo kết quả cải cách hành chính") -> bytes:
    return build_document_package(DocumentPackage(
        header=DocumentHeader(
            sender=Organization(COMMUNE, organ_name="UBND xã Tịnh Ấn", organ_add="Tịnh Ấn"),
            recipients=(Organization(to, organ_name="UBND tỉnh Quảng Ngãi", organ_add="Quảng Ngãi"),),
            code=Code("12", "BC-UBND"),
            promulgation_info=PromulgationInfo("Tịnh Ấn", dt.date(2025, 3, 1)),
            document_type=DocumentType(type=14, type_detail=0, type_name="Báo cáo"),
            subject=subject, document_id=f"{COMMUNE},2025/03/01,12/BC-UBND"),
        trace_headers=(TraceHeader(COMMUNE, dt.datetime(2025, 3, 1, 9, 0, tzinfo=VN_TZ)),),
        attachments=(Attachment("1", "12-BC.pdf", content_type="application/pdf",
                                data=notice_pdf(["Báo cáo"])),)))


def test_a_commune_document_becomes_an_incoming_document_and_01_goes_back(client, commune, runtime):
    data = _commune_notice()
    receipt = _submit(commune, data, key="bc-12")
    assert receipt.status_code == 201, receipt.json
    assert receipt.json["sha256"] == hashlib.sha256(data).hexdigest()
    assert receipt.json["signature"] is None and "not signed" in receipt.json["signature_note"]
    incoming = client.get("/api/v1/documents", query_string={"direction": "incoming"}).json["data"]
    [doc] = incoming
    assert doc["subject"] == "Báo cáo kết quả cải cách hành chính" and doc["organ_id"] == COMMUNE
    full = client.get(f"/api/v1/documents/{doc['id']}").json
    assert full["versions"][0]["media_type"] == "application/pdf"
    [status] = commune.get("/api/v1/exchange/inbox").json["data"]
    assert status["kind"] == "status" and status["status_code"] == "01"
    back = parse_package(commune.get(f"/api/v1/exchange/messages/{status['id']}").data).package
    assert back.status_code == "01" and back.response_for.document_id == f"{COMMUNE},2025/03/01,12/BC-UBND"

    # the clerk accepts it (03: số đến), backwards is refused
    accepted = client.post(f"/api/v1/documents/{doc['id']}/status", json={"code": "03"})
    assert accepted.status_code == 201, accepted.json
    assert accepted.json["document"]["arrival_number"] == 1
    refused = client.post(f"/api/v1/documents/{doc['id']}/status",
                          json={"code": "02", "description": "sai"})
    assert refused.status_code == 409 and refused.json["error"]["code"] == "status_transition_refused"
    history = client.get(f"/api/v1/documents/{doc['id']}/history").json["data"]
    assert any(e["action"] == "document.status" and e["outcome"] == "refused" for e in history)
    codes = [m["status_code"] for m in commune.get("/api/v1/exchange/inbox").json["data"]]
    assert codes == ["03"]


def test_duplicate_submissions_return_the_first_receipt(commune, runtime):
    data = _commune_notice()
    first = _submit(commune, data, key="k-1")
    again = _submit(commune, data, key="k-1")
    assert again.status_code == 200 and again.json == first.json
    assert again.headers["Idempotent-Replayed"] == "true"
    no_key = _submit(commune, data)
    no_key_again = _submit(commune, data)
    assert no_key_again.status_code == 200 and no_key_again.json == no_key.json
    other = _submit(commune, _commune_notice(subject="Một báo cáo khác"), key="k-1")
    assert other.status_code == 409 and other.json["error"]["code"] == "idempotency_key_reused"


def test_a_package_from_another_organisation_is_refused(app, commune, runtime):
    with runtime.sessions() as session:
        _, token = add_system(session, OPERATOR, organ_id=OTHER, name="Hệ thống xã Tịnh Long")
    other = app.test_client()
    other.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    before = _message_count(runtime)
    response = _submit(other, _commune_notice())
    assert response.status_code == 403 and response.json["error"]["code"] == "sender_mismatch"
    assert _message_count(runtime) == before


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE edXML [<!ENTITY lol "lol"><!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">]>
<edXML xmlns="http://www.mic.gov.vn/TBT/QCVN_102_2016">&lol2;</edXML>"""
XXE = b"""<?xml version="1.0"?>
<!DOCTYPE edXML [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<edXML xmlns="http://www.mic.gov.vn/TBT/QCVN_102_2016"><Subject>&xxe;</Subject></edXML>"""
DTD = b"""<?xml version="1.0"?><!DOCTYPE edXML SYSTEM "http://127.0.0.1:9/evil.dtd">
<edXML xmlns="http://www.mic.gov.vn/TBT/QCVN_102_2016"/>"""
DEEP = (b'<edXML xmlns="http://www.mic.gov.vn/TBT/QCVN_102_2016">' + b"<a>" * 200
        + b"</a>" * 200 + b"</edXML>")


@pytest.mark.parametrize(("data", "status", "code"), [
    (BILLION_LAUGHS, 422, "xml_forbidden_construct"),
    (XXE, 422, "xml_forbidden_construct"),
    (DTD, 422, "xml_forbidden_construct"),
    (DEEP, 422, "xml_too_deep"),
    (b"<edXML", 422, "xml_malformed"),
    (b'<edXML xmlns="http://www.mic.gov.vn/TBT/QCVN_102_2016"/>', 422, "edxml_schema_invalid"),
    (b"", 400, "bad_request"),
], ids=["billion-laughs", "external-entity", "dtd", "deep-nesting", "malformed", "schema", "empty"])
def test_hostile_or_broken_submissions_are_refused_and_nothing_is_stored(commune, runtime, data,
                                                                          status, code):
    before = _message_count(runtime)
    response = _submit(commune, data)
    assert response.status_code == status and response.json["error"]["code"] == code
    assert _message_count(runtime) == before
    with runtime.sessions() as session:
        assert session.execute(select(func.count()).select_from(IdempotencyKey)).scalar_one() == 0


def test_wrong_addressee_and_unknown_document(commune, runtime):
    unknown = _submit(commune, _commune_notice(to="000.09.09.H48"))
    assert unknown.status_code == 422 and unknown.json["error"]["code"] == "recipient_unknown"
    stray = _submit(commune, _status(f"{PROVINCE},2018/06/19,99/TB-UBND", "01"))
    assert stray.status_code == 422 and stray.json["error"]["code"] == "document_unknown"
    assert _message_count(runtime) == 0


def test_oversize_submission_is_413(app, commune, runtime):
    config = runtime.exchange
    runtime.replace_adapter("exchange", replace(config, limits=replace(config.limits, max_bytes=1000)))
    response = _submit(commune, _commune_notice())
    assert response.status_code == 413 and response.json["error"]["code"] == "xml_too_large"
    assert _message_count(runtime) == 0


def test_directory_lists_the_demo_province(client, commune):
    rows = client.get("/api/v1/directory").json["data"]
    by_id = {r["organ_id"]: r for r in rows}
    assert by_id[PROVINCE]["name"] == "UBND tỉnh Quảng Ngãi" and by_id[PROVINCE]["reach"] == "pull"
    assert by_id["000.00.53.H48"]["parent_id"] == PROVINCE
    children = client.get("/api/v1/directory", query_string={"parent_id": PROVINCE}).json["data"]
    assert PROVINCE not in {r["organ_id"] for r in children} and len(children) >= 5


def test_main_file_and_attachments_are_distinct_and_competence_is_kept_whole(client, commune):
    """A package whose first attachment is an annex (text/plain) and whose competence is
    "TM. ỦY BAN NHÂN DÂN": /content is the PDF, the annex is an attachment (not a version), and
    the competence is stored whole (before: the annex, and "TM. ỦY BAN")."""
    from docsvc.exchange import SignerInfo

    pdf = notice_pdf(["Báo cáo"])
    package = build_document_package(DocumentPackage(
        header=DocumentHeader(
            sender=Organization(COMMUNE, organ_name="UBND xã Tịnh Ấn", organ_add="Tịnh Ấn"),
            recipients=(Organization(PROVINCE, organ_name="UBND tỉnh Quảng Ngãi", organ_add="QN"),),
            code=Code("13", "BC-UBND"), promulgation_info=PromulgationInfo("Tịnh Ấn", dt.date(2025, 3, 2)),
            document_type=DocumentType(type=14, type_detail=0, type_name="Báo cáo"),
            signer_info=SignerInfo("TM. ỦY BAN NHÂN DÂN", "CHỦ TỊCH", "Trần Văn A"),
            subject="Báo cáo có phụ lục", document_id=f"{COMMUNE},2025/03/02,13/BC-UBND"),
        trace_headers=(TraceHeader(COMMUNE, dt.datetime(2025, 3, 2, 9, 0, tzinfo=VN_TZ)),),
        attachments=(Attachment("1", "phu-luc.txt", content_type="text/plain", data=b"phu luc 1"),
                     Attachment("2", "13-BC.pdf", content_type="application/pdf", data=pdf))))
    assert _submit(commune, package).status_code == 201
    [doc] = client.get("/api/v1/documents", query_string={"direction": "incoming"}).json["data"]
    full = client.get(f"/api/v1/documents/{doc['id']}").json
    assert full["signer_competence"] == "TM. ỦY BAN NHÂN DÂN"
    assert [v["kind"] for v in full["versions"]] == ["original"]
    assert [(a["filename"], a["media_type"]) for a in full["attachments"]] == [("phu-luc.txt", "text/plain")]
    content = client.get(f"/api/v1/documents/{doc['id']}/content")
    assert content.status_code == 200 and content.data == pdf and content.mimetype == "application/pdf"
    annex = full["attachments"][0]["number"]
    got = client.get(f"/api/v1/documents/{doc['id']}/attachments/{annex}/content")
    assert got.status_code == 200 and got.data == b"phu luc 1"
    as_version = client.get(f"/api/v1/documents/{doc['id']}/versions/{annex}/content")
    assert as_version.status_code == 404  # an attachment is not a version


def test_the_same_send_from_api_and_cli_stores_the_same_arrival_verdict(client, commune, runtime):
    """One runtime, one verifier: a document sent from the CLI to a recipient hosted here is
    verified on arrival like one sent through the API (before: the CLI's configuration had no
    verifier, so nothing was checked)."""
    from click.testing import CliRunner

    from docsvc.cli import _Context, main
    from docsvc.models import Document, VerificationResult
    from docsvc.services.identity import add_user

    with runtime.sessions() as session:
        add_user(session, OPERATOR, username="vanthu-xa", roles=["clerk"], organ_id=COMMUNE)
    by_api, by_cli = _upload_and_register(client), _upload_and_register(client)
    for doc in (by_api, by_cli):
        _sign(runtime, doc["id"])
    assert client.post(f"/api/v1/documents/{by_api['id']}/send", json={"to": [COMMUNE]}).status_code == 201
    context = _Context()
    context._runtime = runtime
    sent = CliRunner().invoke(main, ["exchange", "send", by_cli["id"], "--to", COMMUNE], obj=context,
                              catch_exceptions=False)
    assert sent.exit_code == 0, sent.output
    with runtime.sessions() as session:
        received = session.execute(select(Document).where(
            Document.direction == "incoming", Document.owner_organ_id == COMMUNE)).scalars().all()
        assert len(received) == 2
        verdicts = {d.id: session.execute(select(VerificationResult.verdict).where(
            VerificationResult.document_id == d.id)).scalars().all() for d in received}
    assert all(len(v) == 1 for v in verdicts.values()), verdicts
    assert len({v[0] for v in verdicts.values()}) == 1  # the same verdict through both faces


def test_a_received_attachment_name_with_folders_is_stored_without_them(client, commune):
    """Issue 13, finding 6: ``../`` in a received AttachmentName is neither stored, nor echoed
    in Content-Disposition, nor sent on in our packages."""
    import dataclasses

    from docsvc.exchange import parse_package as parse

    package = parse(_commune_notice()).package
    evil = dataclasses.replace(package, attachments=(dataclasses.replace(
        package.attachments[0], name="../../../etc/passwd.pdf"),))
    receipt = _submit(commune, build_document_package(evil), key="evil-name")
    assert receipt.status_code == 201, receipt.json
    [doc] = client.get("/api/v1/documents", query_string={"direction": "incoming"}).json["data"]
    full = client.get(f"/api/v1/documents/{doc['id']}").json
    assert full["versions"][0]["filename"] == "passwd.pdf"
    download = client.get(f"/api/v1/documents/{doc['id']}/content")
    assert ".." not in download.headers["Content-Disposition"]
    download.close()


def test_a_refused_status_package_leaves_no_bytes_behind(commune, runtime):
    """Found by the fuzz harness (issue 13): a status about a document we never sent was
    refused (422) but its package bytes stayed in the blob store."""
    before = sorted(runtime.blobs.keys())
    response = _submit(commune, _status("000.00.00.H48,2018/06/19,01/TB-UBND", "03"))
    assert response.status_code == 422, response.json
    assert sorted(runtime.blobs.keys()) == before
