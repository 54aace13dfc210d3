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


# -- finding 4: whole-document operations are bounded ------------------------------------------


def test_verification_and_upload_past_the_page_bound_are_a_422(tmp_path, blobs):
    from docsvc.app import build_runtime, create_app
    from docsvc.config import Settings
    from docsvc.db import upgrade
    from tests import hostile_pdfs
    from tests.conftest import NOTICE_METADATA

    settings = Settings(env="test", data_dir=tmp_path / "var", max_pdf_pages=50)
    settings.data_dir.mkdir(parents=True)
    rt = build_runtime(settings, blobs=blobs)
    upgrade(rt.engine)
    client = _as(create_app(runtime=rt), rt, "vt", ["clerk"], PROVINCE)
    data = hostile_pdfs.many_pages(51)
    verified = client.post("/api/v1/verify", data=data, content_type="application/pdf")
    assert verified.status_code == 422, verified.json
    assert verified.json["error"]["code"] == "pdf_too_many_pages"
    uploaded = post_multipart(client, "/api/v1/documents", {
        "metadata": json.dumps(NOTICE_METADATA), "file": (data, "big.pdf", "application/pdf")})
    assert uploaded.status_code == 422 and uploaded.json["error"]["code"] == "pdf_too_many_pages"
    assert client.get("/api/v1/documents").json["data"] == []
    assert client.post("/api/v1/verify", data=hostile_pdfs.many_pages(50),
                       content_type="application/pdf").status_code == 200
    rt.engine.dispose()


# -- finding 9: sessions end on logout, tokens expire, cookies are Secure, attempts throttled --


def _app_with(tmp_path, blobs, **overrides):
    from docsvc.app import build_runtime, create_app
    from docsvc.config import Settings
    from docsvc.db import upgrade

    settings = Settings(env="test", data_dir=tmp_path / "var", **overrides)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    rt = build_runtime(settings, blobs=blobs)
    upgrade(rt.engine)
    return create_app(runtime=rt), rt


def _login(browser, password=None, **kwargs):
    from tests.e2e.test_web import PASSWORD, csrf

    token = csrf(browser.get("/login", **kwargs).data)
    return browser.post("/login", data={"username": "vt", "password": password or PASSWORD,
                                        "csrf_token": token}, **kwargs)


def test_logout_ends_the_session_on_the_server(app, runtime):
    from tests.e2e.test_web import csrf

    _web_user(runtime)
    browser = app.test_client()
    assert _login(browser).status_code == 302
    cookie = browser.get_cookie("session").value
    thief = app.test_client()
    thief.set_cookie("session", cookie)
    assert thief.get("/").status_code == 200  # the copy works while the session is open
    token = csrf(browser.get("/").data)
    assert browser.post("/logout", data={"csrf_token": token}).status_code == 302
    after = thief.get("/")
    assert after.status_code == 302 and "/login" in after.headers["Location"]


def test_csrf_tokens_expire(tmp_path, blobs):
    import time

    from tests.e2e.test_web import PASSWORD, csrf

    app, rt = _app_with(tmp_path, blobs, csrf_time_limit_seconds=1)
    _web_user(rt)
    browser = app.test_client()
    token = csrf(browser.get("/login").data)
    time.sleep(2.2)
    late = browser.post("/login", data={"username": "vt", "password": PASSWORD,
                                        "csrf_token": token})
    assert late.status_code == 400 and "CSRF" in late.data.decode()
    rt.engine.dispose()


def test_behind_a_tls_proxy_the_cookie_is_secure_and_the_client_address_is_used(tmp_path,
                                                                                 blobs):
    app, rt = _app_with(tmp_path, blobs, trusted_proxies=1, secure_cookies=True,
                        login_rate_limit="1000 per minute")
    _web_user(rt)
    from docsvc.models import LoginThrottle

    proxied = {"headers": {"X-Forwarded-For": "203.0.113.50", "X-Forwarded-Proto": "https",
                           "Referer": "https://localhost/login"}}
    browser = app.test_client()
    response = _login(browser, **proxied)
    assert response.status_code == 302
    assert "Secure" in response.headers["Set-Cookie"]
    assert _login(app.test_client(), password="wrong", **proxied).status_code == 401
    with rt.sessions() as session:
        assert [(t.username, t.source) for t in session.query(LoginThrottle)] == [
            ("vt", "203.0.113.50")]
    rt.engine.dispose()


def test_password_attempts_are_rate_limited_per_address(tmp_path, blobs):
    app, rt = _app_with(tmp_path, blobs, login_rate_limit="3 per minute")
    _web_user(rt)
    browser = app.test_client()
    statuses = [_login(browser, password="wrong").status_code for _ in range(4)]
    assert statuses == [401, 401, 401, 429]
    page = _login(browser).data.decode()
    assert "Quá nhiều lần thử" in page
    rt.engine.dispose()


def test_failed_bearer_authentication_is_rate_limited(tmp_path, blobs):
    app, rt = _app_with(tmp_path, blobs, auth_failure_rate_limit="5 per minute")
    good = make_user(rt, "vt", ["clerk"], PROVINCE)
    client = app.test_client()
    for _ in range(20):  # successes are not counted
        assert client.get("/api/v1/documents",
                          headers={"Authorization": f"Bearer {good}"}).status_code == 200
    statuses = [client.get("/api/v1/documents", headers={
        "Authorization": "Bearer dsv_guess"}).status_code for _ in range(6)]
    assert statuses == [401] * 5 + [429]
    blocked = client.get("/api/v1/documents", headers={"Authorization": "Bearer dsv_guess"})
    assert blocked.json["error"]["code"] == "too_many_requests"
    rt.engine.dispose()


def test_rate_limits_are_shared_through_redis(tmp_path, blobs):
    """Two instances count together when DOCSVC_RATELIMIT_STORAGE_URL names a Redis."""
    import uuid

    redis = pytest.importorskip("redis")
    try:
        redis.Redis(host="127.0.0.1", port=6379, socket_connect_timeout=1).ping()
    except redis.exceptions.ConnectionError:
        pytest.skip("no Redis on 127.0.0.1:6379")
    shared = {"ratelimit_storage_url": "redis://127.0.0.1:6379/0",
              "login_rate_limit": "2 per minute", "organ_id": f"t{uuid.uuid4().hex[:12]}"}
    first, rt1 = _app_with(tmp_path / "a", blobs, **shared)
    second, rt2 = _app_with(tmp_path / "b", blobs, **shared)
    _web_user(rt1)
    _web_user(rt2)
    assert _login(first.test_client(), password="wrong").status_code == 401
    assert _login(second.test_client(), password="wrong").status_code == 401
    assert _login(first.test_client(), password="wrong").status_code == 429
    rt1.engine.dispose()
    rt2.engine.dispose()


def test_a_startxref_too_large_for_a_machine_integer_is_a_422(client, runtime):
    """Found by atheris (issue 13): OverflowError escaped the PDF reader on upload and signing."""
    from docsvc.signing import Placement, sign_pdf
    from docsvc.signing.errors import DamagedPdfError
    from tests import hostile_pdfs
    from tests.conftest import NOTICE_METADATA
    from tests.fuzz.corpus import throwaway_signer

    data = hostile_pdfs.huge_startxref()
    response = post_multipart(client, "/api/v1/documents", {
        "metadata": json.dumps(NOTICE_METADATA), "file": (data, "x.pdf", "application/pdf")})
    assert response.status_code == 422 and response.json["error"]["code"] == "invalid_pdf"
    with pytest.raises(DamagedPdfError):
        sign_pdf(data, signer=throwaway_signer(), role="agency", level="B-B",
                 placement=Placement(page=1, box=(300, 380, 420, 480)), agency_name="x")
    assert client.post("/api/v1/verify", data=data,
                       content_type="application/pdf").status_code == 200
