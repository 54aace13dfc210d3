"""Issue 13 (security round two): each finding's regression test through the real app."""

from __future__ import annotations

import pytest

from tests.conftest import make_user
from tests.e2e.test_api_registry import post_document

PROVINCE, COMMUNE = "000.00.00.H48", "000.01.01.H48"


def _as(app, runtime, username: str, roles: list[str], organ_id: str):
    client = app.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = (
        f"Bearer {make_user(runtime, username, roles, organ_id)}")
    return client


# -- finding 2: the issuing body of an outgoing document is its owner --------------------------


def test_a_commune_clerk_cannot_issue_in_the_provinces_name(app, runtime, notice_metadata):
    commune = _as(app, runtime, "xa", ["clerk"], COMMUNE)
    forged = post_document(commune, {**notice_metadata, "organ_id": PROVINCE})
    assert forged.status_code == 400, forged.json
    assert forged.json["error"]["code"] == "invalid_metadata"
    assert [(f["field"], f["code"]) for f in forged.json["error"]["details"]["fields"]] == [
        ("organ_id", "not_owner")]
    assert commune.get("/api/v1/documents").json["data"] == []


def test_a_joint_document_lists_the_other_issuers_separately(app, runtime, notice_metadata):
    commune = _as(app, runtime, "xa", ["clerk"], COMMUNE)
    joint = post_document(commune, {
        **notice_metadata, "organ_id": COMMUNE, "organ_name": "UBND xã Tịnh Ấn",
        "joint_organs": [{"organ_id": PROVINCE, "organ_name": "UBND tỉnh Quảng Ngãi"}]})
    assert joint.status_code == 201, joint.json
    assert joint.json["organ_id"] == COMMUNE
    assert joint.json["joint_organs"] == [{"organ_id": PROVINCE,
                                           "organ_name": "UBND tỉnh Quảng Ngãi"}]
    # Moving the issuing body to another agency by a correction is refused too.
    moved = commune.patch(f"/api/v1/documents/{joint.json['id']}", json={"organ_id": PROVINCE})
    assert moved.status_code == 400 and moved.json["error"]["code"] == "invalid_metadata"


def test_an_old_row_in_another_agencys_name_is_never_sent(app, runtime, client, notice_metadata):
    import datetime as dt

    from docsvc.models import Document, Organization
    from docsvc.services.exchange.errors import DocumentNotSendableError
    from docsvc.services.exchange.sending import document_package

    doc_id = post_document(client, {**notice_metadata, "code_number": "1"}).json["id"]
    with runtime.sessions() as session:
        session.add(Organization(organ_id=COMMUNE, name="UBND xã Tịnh Ấn"))
        document = session.get(Document, doc_id)
        document.owner_organ_id = COMMUNE  # as written before the rule existed
        session.commit()
        with pytest.raises(DocumentNotSendableError) as caught:
            document_package(session, runtime.blobs, document, ["000.00.53.H48"],
                             dt.datetime.now(dt.UTC))
    assert caught.value.details["reason"] == "issuing_body_not_owner"


# -- finding 3 (and 7, CRLF): the target after login stays on this host ------------------------


def _web_user(runtime, username="vt") -> None:
    from docsvc.security import OPERATOR
    from docsvc.services.identity import add_user
    from tests.e2e.test_web import PASSWORD

    with runtime.sessions() as session:
        add_user(session, OPERATOR, username=username, roles=["clerk"], organ_id=PROVINCE,
                 password=PASSWORD)


@pytest.mark.parametrize("raw_next, location", [
    ("/%09/evil.example", "/"),
    ("/%0d%0a/x", "/"),
    ("/%0aSet-Cookie:%20x=1", "/"),
    ("//evil.example", "/"),
    ("/\\evil.example", "/"),
    ("%5C%5Cevil.example", "/"),
    ("https://evil.example/", "/"),
    ("javascript:alert(1)", "/"),
    ("/%2F/evil.example", "/evil.example"),  # ///evil.example: a path of this host
    ("/documents/abc?lang=en", "/documents/abc?lang=en"),
])
def test_login_redirects_only_to_this_host(app, runtime, raw_next, location):
    from tests.e2e.test_web import PASSWORD, csrf

    _web_user(runtime)
    browser = app.test_client()
    token = csrf(browser.get("/login").data)
    response = browser.post(f"/login?next={raw_next}", data={
        "username": "vt", "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 302
    assert response.headers["Location"] == location
