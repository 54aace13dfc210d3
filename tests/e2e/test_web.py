"""The pages: login with CSRF and lock-out, the document list, a document with its history."""

from __future__ import annotations

import re

from docsvc.security import OPERATOR
from docsvc.services.identity import add_user
from tests.e2e.test_api_registry import post_document

PASSWORD = "mat-khau-du-dai-123"


def csrf(page: bytes) -> str:
    return re.search(rb'name="csrf_token" value="([^"]+)"', page).group(1).decode()


def login(client, username="vt", password=PASSWORD):
    token = csrf(client.get("/login").data)
    return client.post("/login", data={"username": username, "password": password,
                                       "csrf_token": token})


def shown(browser, response):
    """Follow a failed form's redirect (post/redirect/get) and return the page it shows, with the
    error flashed and the form as it was filled."""
    assert response.status_code == 303, response.status_code
    page = browser.get(response.headers["Location"])
    assert page.status_code == 200
    return page


def test_login_then_find_and_open_a_document(app, runtime, client, notice_metadata):
    with runtime.sessions() as session:
        add_user(session, OPERATOR, username="vt", roles=["clerk"], organ_id="000.00.00.H48",
                 password=PASSWORD)
    doc = post_document(client, notice_metadata).json
    client.post(f"/api/v1/documents/{doc['id']}/register")

    browser = app.test_client()
    assert browser.get("/").status_code == 302  # not logged in: to the login page
    response = login(browser)
    assert response.status_code == 302
    page = browser.get("/?q=cai cach").data.decode()
    assert "01/TB-UBND" in page and notice_metadata["subject"] in page and "Văn bản đi" in page
    detail = browser.get(f"/documents/{doc['id']}").data.decode()
    assert "Lịch sử xử lý" in detail and "Vào sổ" in detail
    assert "document.register" not in detail and "user:" not in detail  # words, not codes
    assert "Đã vào sổ, chờ ký" in detail  # the stage in words
    assert browser.get(f"/documents/{doc['id']}?lang=en").data.decode().count("History") == 1
    pdf = browser.get(f"/documents/{doc['id']}/versions/1/content")
    assert pdf.data.startswith(b"%PDF") and pdf.headers["X-Frame-Options"] == "DENY"


def test_forms_need_the_csrf_token(app, runtime):
    with runtime.sessions() as session:
        add_user(session, OPERATOR, username="vt", roles=["clerk"], organ_id="000.00.00.H48",
                 password=PASSWORD)
    browser = app.test_client()
    browser.get("/login")
    response = browser.post("/login", data={"username": "vt", "password": PASSWORD})
    assert response.status_code == 400
    assert browser.get("/").status_code == 302  # still not logged in


def test_wrong_passwords_lock_the_account(app, runtime):
    with runtime.sessions() as session:
        add_user(session, OPERATOR, username="vt", roles=["clerk"], organ_id="000.00.00.H48",
                 password=PASSWORD)
    browser = app.test_client()
    for _ in range(5):
        assert login(browser, password="sai").status_code == 401
    locked = login(browser)
    assert locked.status_code == 401
    assert "tạm khóa" in locked.data.decode()
