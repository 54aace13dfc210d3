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


def test_inboxes_count_in_the_header_and_registers_show_nghi_dinh_30_columns(app, runtime, client,
                                                                             notice_metadata):
    with runtime.sessions() as session:
        add_user(session, OPERATOR, username="vt", roles=["clerk"], organ_id="000.00.00.H48",
                 password=PASSWORD)
    late = post_document(client, {**notice_metadata, "due_date": "2020-01-31"}).json
    client.post(f"/api/v1/documents/{late['id']}/register")
    incoming = post_document(client, {**notice_metadata, "direction": "incoming",
                                      "organ_id": "000.00.53.H48", "organ_name": "Sở Nội vụ",
                                      "code_number": "12", "code_notation": "SNV"}).json
    client.post(f"/api/v1/documents/{incoming['id']}/register")
    post_document(client, {**notice_metadata, "code_notation": "CV-UBND"})  # a draft to number

    browser = app.test_client()
    login(browser)
    page = browser.get("/").data.decode()
    counts = dict(re.findall(r'data-inbox="(\w+)">[^<]*<span class="badge[^"]*">(\d+)</span>', page))
    assert counts == {"to_seal": "1", "to_send": "0", "new_incoming": "1", "overdue": "1"}
    overdue = browser.get("/inbox/overdue").data.decode()
    assert "Quá hạn xử lý" in overdue and "01/TB-UBND" in overdue and "31/01/2020" in overdue
    assert 'class="pill overdue"' in overdue
    assert 'class="pill">Mới<' in browser.get("/inbox/new_incoming").data.decode()
    assert browser.get("/inbox/nothing").status_code == 404

    outgoing = browser.get("/registers/outgoing").data.decode()
    assert "Sổ đăng ký văn bản đi" in outgoing and "Tên loại và trích yếu nội dung văn bản" in outgoing
    assert "Thông báo: " + notice_metadata["subject"] in outgoing and "Sở Nội vụ" in outgoing
    register = browser.get("/registers/incoming?format=csv")
    text = register.data.decode("utf-8")
    assert register.mimetype == "text/csv" and text.startswith("\ufeffNgày đến,Số đến,Tác giả")
    assert "12/SNV" in text
    assert "Không tìm thấy văn bản nào khớp với “zzzz”." in browser.get("/?q=zzzz").data.decode()
    only_in = browser.get("/?direction=incoming").data.decode()
    assert "12/SNV" in only_in and "01/TB-UBND" not in only_in
    assert "12/SNV" not in browser.get("/?year=2017").data.decode()  # issued in 2018
    assert "12/SNV" in browser.get("/?year=2018&type_name=Thông báo").data.decode()


def test_a_clerk_corrects_the_metadata_in_the_page(app, runtime, client, notice_metadata):
    with runtime.sessions() as session:
        add_user(session, OPERATOR, username="vt", roles=["clerk"], organ_id="000.00.00.H48",
                 password=PASSWORD, full_name="Trần Văn Thư")
    doc = post_document(client, notice_metadata).json
    browser = app.test_client()
    login(browser)
    url = f"/documents/{doc['id']}"
    page = browser.get(url).data.decode()
    assert "Sửa thông tin văn bản" in page
    token = csrf(page.encode())
    form = {"csrf_token": token, "subject": "Kết luận đã sửa", "signer_name": "Nguyễn Quốc Việt",
            "priority": "1", "due_date": "31/01/2020", "to_places": "Như trên\nLưu: VT"}
    bad = shown(browser, browser.post(f"{url}/metadata", data=form))
    html = bad.data.decode()
    assert 'id="m-due_date" type="date" name="due_date" value="31/01/2020" aria-invalid="true"' in html
    assert "Kết luận đã sửa" in html  # what was typed stays
    done = browser.post(f"{url}/metadata", data={**form, "due_date": "2020-01-31"})
    assert done.status_code == 303
    html = browser.get(url).data.decode()
    assert "Đã sửa: Trích yếu, Hạn trả lời." in html and "Kết luận đã sửa" in html
    assert "Sửa thông tin văn bản" in html and "31/01/2020" in html
    history = html.split('id="h-history"')[1]
    assert "Trần Văn Thư" in history and "Sửa thông tin văn bản" in history
