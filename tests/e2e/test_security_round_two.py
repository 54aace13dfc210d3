"""Issue 13 (security round two): each finding's regression test through the real app."""

from __future__ import annotations

import json

import pytest

from tests.conftest import make_user, post_multipart
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


# -- finding 5: usernames cannot be told apart; finding 9: no stranger locks a named account --


def test_login_takes_as_long_for_an_unknown_name_as_for_a_real_one(session):
    """The unknown name pays one argon2 computation too (it answered 40 times faster)."""
    import time

    from docsvc.errors import AuthenticationError
    from docsvc.security import OPERATOR
    from docsvc.services import identity

    identity.add_user(session, OPERATOR, username="vt", roles=["clerk"], organ_id=PROVINCE,
                      password="mat-khau-rat-dai")

    def timed(name: str) -> float:
        best = float("inf")
        for _ in range(3):
            start = time.perf_counter()
            with pytest.raises(AuthenticationError):
                identity.login(session, name, "wrong-password", source=f"{name}-probe")
            best = min(best, time.perf_counter() - start)
        return best

    real, unknown = timed("vt"), timed("nobody-here")
    assert unknown > real / 3, (real, unknown)


def test_unknown_names_lock_like_real_ones(session):
    from docsvc.errors import AuthenticationError
    from docsvc.security import OPERATOR
    from docsvc.services import identity

    identity.add_user(session, OPERATOR, username="vt", roles=["clerk"], organ_id=PROVINCE,
                      password="mat-khau-rat-dai")
    answers = {}
    for name in ("vt", "nobody-here"):
        seen = []
        for _ in range(identity.MAX_FAILED_LOGINS + 1):
            with pytest.raises(AuthenticationError) as caught:
                identity.login(session, name, "wrong", source="203.0.113.9")
            seen.append((caught.value.code, caught.value.details, caught.value.text_en))
        answers[name] = seen
    assert answers["vt"] == answers["nobody-here"]
    assert answers["vt"][-1][1] == {"reason": "locked"}


def test_a_stranger_cannot_lock_a_named_person_out(session):
    from docsvc.errors import AuthenticationError
    from docsvc.security import OPERATOR
    from docsvc.services import identity

    identity.add_user(session, OPERATOR, username="vt", roles=["clerk"], organ_id=PROVINCE,
                      password="mat-khau-rat-dai")
    for _ in range(identity.MAX_FAILED_LOGINS + 2):
        with pytest.raises(AuthenticationError):
            identity.login(session, "vt", "guess", source="198.51.100.7")
    with pytest.raises(AuthenticationError) as caught:  # locked from the stranger's address
        identity.login(session, "vt", "mat-khau-rat-dai", source="198.51.100.7")
    assert caught.value.details == {"reason": "locked"}
    assert identity.login(session, "vt", "mat-khau-rat-dai", source="10.0.0.5").username == "vt"


def test_token_issuing_answers_alike_for_unknown_and_foreign_users(app, runtime):
    province_admin = _as(app, runtime, "quantri", ["admin"], PROVINCE)
    make_user(runtime, "xa-vt", ["clerk"], "000.02.02.H48")  # not under the province here
    clerk = _as(app, runtime, "vt", ["clerk"], PROVINCE)
    unknown = province_admin.post("/api/v1/users/nobody-here/tokens", json={})
    foreign = province_admin.post("/api/v1/users/xa-vt/tokens", json={})
    assert (unknown.status_code, unknown.json["error"]["code"]) == (404, "not_found")
    assert (foreign.status_code, foreign.json["error"]["code"]) == (404, "not_found")
    assert clerk.post("/api/v1/users/nobody-here/tokens", json={}).status_code == 403
    assert clerk.post("/api/v1/users/xa-vt/tokens", json={}).status_code == 403


# -- finding 6: unsafe file names are normalised where they enter -----------------------------


@pytest.mark.parametrize("raw, stored", [
    ("tb\x00.pdf", "tb.pdf"),
    ("../../../etc/passwd.pdf", "passwd.pdf"),
    ("..", "document.pdf"),
    ("\u202egpj.pdf", "gpj.pdf"),
    ("thông báo.pdf", "thông báo.pdf"),
])
def test_uploaded_file_names_are_made_safe(client, notice_metadata, raw, stored):
    from docsvc.signing.sample import notice_pdf

    response = post_document(client, notice_metadata, pdf=notice_pdf(), filename=raw)
    assert response.status_code == 201, response.json
    assert response.json["versions"][0]["filename"] == stored
    download = client.get(f"/api/v1/documents/{response.json['id']}/content")
    assert download.status_code == 200
    disposition = download.headers["Content-Disposition"]
    assert "/" not in disposition.split("filename*=")[0] and ".." not in disposition
    download.close()


def test_a_stored_unsafe_name_from_before_still_downloads(client, runtime, notice_metadata):
    from docsvc.models import DocumentVersion

    doc_id = post_document(client, notice_metadata).json["id"]
    with runtime.sessions() as session:
        version = session.query(DocumentVersion).filter_by(document_id=doc_id).one()
        version.filename = "../x\x00y.pdf"
        session.commit()
    download = client.get(f"/api/v1/documents/{doc_id}/content")
    assert download.status_code == 200
    assert 'filename="xy.pdf"' in download.headers["Content-Disposition"]
    download.close()


def test_received_and_sent_attachment_names_are_made_safe():
    from docsvc.filenames import safe_filename

    assert safe_filename("../../evil/thong-bao.pdf") == "thong-bao.pdf"
    assert safe_filename("..\\..\\windows\\x.pdf") == "x.pdf"
    assert safe_filename("a\r\nContent-Type: text.pdf") == "aContent-Type: text.pdf"
    assert safe_filename("x" * 300 + ".pdf") == "x" * 196 + ".pdf"
    assert safe_filename(None, "01-TB-UBND.pdf") == "01-TB-UBND.pdf"


# -- finding 7: deep JSON and a locked SQLite database are 4xx/503, not 500 ---------------------


def test_metadata_nested_100000_deep_is_a_400(client, notice_metadata):
    deep = "[" * 100_000 + "]" * 100_000
    raw = json.dumps(notice_metadata)[:-1] + f', "description": {deep}}}'
    response = post_document_raw(client, raw)
    assert response.status_code == 400, response.json
    assert response.json["error"]["code"] == "nesting_too_deep"
    assert client.get("/api/v1/documents").json["data"] == []
    body = client.patch("/api/v1/documents/x", data='{"a": ' + deep + "}",
                        content_type="application/json")
    assert body.status_code == 400 and body.json["error"]["code"] == "nesting_too_deep"


def post_document_raw(client, metadata: str):
    from docsvc.signing.sample import notice_pdf

    return post_multipart(client, "/api/v1/documents", {
        "metadata": metadata, "file": (notice_pdf(), "tb.pdf", "application/pdf")})


def test_a_locked_sqlite_database_is_a_503_page_on_the_web(tmp_path, blobs):
    """Parallel logins on SQLite: the one that waits past the lock timeout sees a clear 503."""
    import sqlite3

    from docsvc.app import build_runtime, create_app
    from docsvc.config import Settings
    from docsvc.db import upgrade
    from tests.e2e.test_web import PASSWORD, csrf

    settings = Settings(env="test", data_dir=tmp_path / "var", db_timeout_seconds=0.2)
    settings.data_dir.mkdir(parents=True)
    rt = build_runtime(settings, blobs=blobs)
    upgrade(rt.engine)
    app = create_app(runtime=rt)
    _web_user(rt)
    browser = app.test_client()
    token = csrf(browser.get("/login").data)
    holder = sqlite3.connect(str(settings.data_dir / "docsvc.sqlite3"))
    holder.execute("BEGIN IMMEDIATE")  # another worker's write transaction
    try:
        response = browser.post("/login", data={"username": "vt", "password": PASSWORD,
                                                "csrf_token": token})
    finally:
        holder.rollback()
        holder.close()
    assert response.status_code == 503
    assert "Cơ sở dữ liệu tạm thời không truy cập được" in response.data.decode()
    rt.engine.dispose()
