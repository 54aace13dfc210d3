"""Side flows over HTTP between the province (people on this instance) and a pull-only commune
system: revocation, take-back (13 → 15 / 16), update and replacement links, verification."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

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
from docsvc.models import VerificationResult
from docsvc.samples import notice_pdf
from docsvc.security import OPERATOR
from docsvc.services.directory import seed_demo
from docsvc.services.identity import add_system
from tests.support.worlds import add_signed_version as _sign
from tests.support.worlds import upload_and_register as _upload_and_register

PROVINCE, COMMUNE = "000.00.00.H48", "000.01.01.H48"


@pytest.fixture
def commune(runtime, app):
    with runtime.sessions() as session:
        seed_demo(session, OPERATOR)
        _, token = add_system(session, OPERATOR, organ_id=COMMUNE, name="Phần mềm QLVB xã Tịnh Ấn")
    client = app.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    return client


@pytest.fixture
def sent(client, commune, runtime) -> tuple[str, str]:
    """The province's signed notice sent to the commune: (document id, edXML DocumentId)."""
    doc = _upload_and_register(client)
    _sign(runtime, doc["id"])
    response = client.post(f"/api/v1/documents/{doc['id']}/send", json={"to": [COMMUNE]})
    assert response.status_code == 201, response.json
    [message] = response.json["messages"]
    ack = commune.post(f"/api/v1/exchange/messages/{message['id']}/ack", json={"result": "received"})
    assert ack.status_code == 200
    return doc["id"], message["document_id"]


def _submit(client, data: bytes):
    return client.post("/api/v1/exchange/messages", data=data,
                       headers={"Content-Type": "application/xml"})


def _status(document_id: str, code: str, description: str = "") -> bytes:
    return build_status_package(StatusPackage(
        sender=Organization(COMMUNE, organ_name="UBND xã Tịnh Ấn", organ_add="Tịnh Ấn"),
        response_for=ResponseFor(PROVINCE, "01/TB-UBND", dt.date(2018, 6, 19), document_id),
        status_code=code, timestamp=dt.datetime.now(VN_TZ), description=description or code))


def _pull(commune) -> list[dict]:
    page = commune.get("/api/v1/exchange/inbox").json["data"]
    for message in page:
        commune.post(f"/api/v1/exchange/messages/{message['id']}/ack", json={"result": "received"})
    return page


def _history(client, doc_id: str) -> list[str]:
    [recipient] = client.get(f"/api/v1/documents/{doc_id}/statuses").json["recipients"]
    return [h["code"] for h in recipient["history"]]


def test_the_province_revokes_a_sent_notice_and_the_commune_reports_15(client, commune, sent):
    doc_id, document_id = sent
    assert client.post(f"/api/v1/documents/{doc_id}/revoke", json={}).status_code == 400
    response = client.post(f"/api/v1/documents/{doc_id}/revoke", json={"reason": "Sai thể thức"})
    assert response.status_code == 201, response.json
    [message] = response.json["messages"]
    assert message["recipient"] == COMMUNE and message["delivery"] == "pull"
    [listed] = _pull(commune)
    assert listed["id"] == message["id"] and listed["document_id"] == document_id
    package = parse_package(commune.get(f"/api/v1/exchange/messages/{message['id']}").data).package
    assert package.bussiness.doc_type == 1 and package.bussiness.reason == "Sai thể thức"
    assert package.bussiness.document_id == document_id and package.attachments == ()
    assert _submit(commune, _status(document_id, "15", "Đã xóa")).status_code == 201
    assert _history(client, doc_id) == ["15"]
    document = client.get(f"/api/v1/documents/{doc_id}").json
    assert document["revoked"] is True and document["revoked_reason"] == "Sai thể thức"
    again = client.post(f"/api/v1/documents/{doc_id}/revoke", json={"reason": "x"})
    assert [m["id"] for m in again.json["messages"]] == [message["id"]]
    resend = client.post(f"/api/v1/documents/{doc_id}/send", json={"to": [COMMUNE]})
    assert resend.status_code == 409


def test_take_back_request_refusal_and_second_request(client, commune, sent):
    doc_id, document_id = sent
    assert client.post(f"/api/v1/documents/{doc_id}/takeback", json={}).status_code == 400
    first = client.post(f"/api/v1/documents/{doc_id}/takeback", json={"reason": "Cần sửa"})
    assert first.status_code == 201, first.json
    [thirteen] = _pull(commune)
    assert thirteen["kind"] == "status" and thirteen["status_code"] == "13"
    status = parse_package(commune.get(f"/api/v1/exchange/messages/{thirteen['id']}").data).package
    assert status.response_for.organ_id == COMMUNE and status.description == "Cần sửa"
    pending = client.post(f"/api/v1/documents/{doc_id}/takeback", json={"reason": "again"})
    assert pending.status_code == 409 and pending.json["error"]["code"] == "takeback_refused"
    assert _submit(commune, _status(document_id, "16", "Đã triển khai")).status_code == 201
    assert _history(client, doc_id) == ["16"]
    assert client.post(f"/api/v1/documents/{doc_id}/takeback",
                       json={"reason": "Lần 2"}).status_code == 201
    history = client.get(f"/api/v1/documents/{doc_id}/history").json
    refused = [e for e in history["data"] if e["action"] == "document.takeback"
               and e["outcome"] == "refused"]
    assert len(refused) == 1


def _commune_doc(number: str, *, doc_type: int = 0, target: str = "",
                 replaces: tuple[str, ...] = (), with_pdf: bool = True) -> bytes:
    return build_document_package(DocumentPackage(
        header=DocumentHeader(
            sender=Organization(COMMUNE, organ_name="UBND xã Tịnh Ấn", organ_add="Tịnh Ấn"),
            recipients=(Organization(PROVINCE, organ_name="UBND tỉnh Quảng Ngãi",
                                     organ_add="Quảng Ngãi"),),
            code=Code(number, "BC-UBND"),
            promulgation_info=PromulgationInfo("Tịnh Ấn", dt.date(2025, 3, 1)),
            document_type=DocumentType(type=14, type_detail=0, type_name="Báo cáo"),
            subject=f"Báo cáo {number}", document_id=f"{COMMUNE},2025/03/01,{number}/BC-UBND"),
        trace_headers=(TraceHeader(COMMUNE, dt.datetime(2025, 3, 1, 9, 0, tzinfo=VN_TZ)),),
        bussiness=Bussiness(doc_type=doc_type, document_id=target, reason="Thu hồi" if doc_type == 1
                            else "", replacements=tuple(ReplacementInfo(r) for r in replaces)),
        attachments=(Attachment("1", f"{number}.pdf", content_type="application/pdf",
                                data=notice_pdf([f"Báo cáo {number}"])),) if with_pdf else ()))


def _incoming(client) -> dict[str, dict]:
    rows = client.get("/api/v1/documents", query_string={"direction": "incoming"}).json["data"]
    return {r["subject"]: client.get(f"/api/v1/documents/{r['id']}").json for r in rows}


def test_commune_replaces_then_revokes_and_takes_back(client, commune, runtime):
    old_id = f"{COMMUNE},2025/03/01,20/BC-UBND"
    assert _submit(commune, _commune_doc("20")).status_code == 201
    assert _submit(commune, _commune_doc("21", doc_type=3, replaces=(old_id,))).status_code == 201
    docs = _incoming(client)
    old, new = docs["Báo cáo 20"], docs["Báo cáo 21"]
    assert new["replaces"] == [old["id"]] and old["replaced_by"] == [new["id"]]
    # the received PDFs were verified and the verdicts kept
    with runtime.sessions() as session:
        verdicts = session.execute(select(VerificationResult.verdict).where(
            VerificationResult.document_id == new["id"])).scalars().all()
    assert len(verdicts) == 1 and verdicts[0] in ("TOTAL_PASSED", "TOTAL_FAILED", "INDETERMINATE")
    # revocation of the old one: content gone (410), metadata kept, 15 to the commune
    assert _submit(commune, _commune_doc("20", doc_type=1, target=old_id,
                                         with_pdf=False)).status_code == 201
    old = client.get(f"/api/v1/documents/{old['id']}").json
    assert old["revoked"] is True and old["versions"][0]["revoked"] is True
    content = client.get(f"/api/v1/documents/{old['id']}/content")
    assert content.status_code == 410 and content.json["error"]["code"] == "content_revoked"
    codes = [m["status_code"] for m in _pull(commune) if m["kind"] == "status"]
    assert codes == ["01", "01", "15"]
    # take-back of the new one: 13 from the commune, 15 from the province's clerk
    new_doc_id = f"{COMMUNE},2025/03/01,21/BC-UBND"
    thirteen = build_status_package(StatusPackage(
        sender=Organization(COMMUNE, organ_name="UBND xã Tịnh Ấn", organ_add="Tịnh Ấn"),
        response_for=ResponseFor(PROVINCE, "21/BC-UBND", dt.date(2025, 3, 1), new_doc_id),
        status_code="13", timestamp=dt.datetime.now(VN_TZ), description="Gửi nhầm"))
    assert _submit(commune, thirteen).status_code == 201
    refused = client.post(f"/api/v1/documents/{new['id']}/status", json={"code": "16"})
    assert refused.status_code == 400  # a refusal needs a reason
    agreed = client.post(f"/api/v1/documents/{new['id']}/status", json={"code": "15"})
    assert agreed.status_code == 201, agreed.json
    assert agreed.json["document"]["revoked"] is True
    twice = client.post(f"/api/v1/documents/{new['id']}/status", json={"code": "16",
                                                                       "description": "x"})
    assert twice.status_code == 409 and twice.json["error"]["code"] == "status_transition_refused"
    assert [m["status_code"] for m in _pull(commune)] == ["15"]


def test_openapi_lists_the_new_endpoints(client):
    paths = client.get("/api/v1/openapi.json").json["paths"]
    assert "/documents/{document_id}/revoke" in paths and "/documents/{document_id}/takeback" in paths
