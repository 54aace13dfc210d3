"""A day's work through the pages, with real sessions and CSRF tokens: the clerk uploads and
registers a notice, the signer signs it, the clerk seals and sends it to a commune hosted here,
whose clerk accepts it (số đến); the sender follows the status and an auditor reads the
verification report. Then one test per kind of failure: CSRF, rights, bad upload, service errors.
"""

from __future__ import annotations

import io
import re
import shutil
import unicodedata

import pytest
from sqlalchemy import func, select

from docsvc.config import Settings
from docsvc.models import AuditEntry, Document, DocumentVersion
from docsvc.security import OPERATOR
from docsvc.services.directory import seed_demo
from docsvc.services.identity import add_user
from docsvc.services.signers import SigningTools, add_signer_profile, demo_profile_specs
from docsvc.signing.sample import notice_pdf
from tests.e2e.test_web import PASSWORD, csrf, login, shown
from tests.support import signing as signing_fixtures

served_pki, pki, responders = (signing_fixtures.served_pki, signing_fixtures.pki,
                               signing_fixtures.responders)

PROVINCE, COMMUNE = "000.00.00.H48", "000.01.01.H48"
FORM = {
    "direction": "outgoing", "type_name": "Thông báo", "code_notation": "TB-UBND",
    "subject": "Kết luận của Chủ tịch UBND tỉnh về cải cách hành chính",
    "organ_id": PROVINCE, "organ_name": "UBND tỉnh Quảng Ngãi", "issued_date": "2018-06-19",
    "place": "Quảng Ngãi", "signer_competence": "KT.", "signer_position": "Phó Chánh Văn phòng",
    "signer_name": "Nguyễn Quốc Việt", "priority": "1", "secrecy": "none",
    "recipients": f"{COMMUNE}\n000.00.53.H48 - Sở Nội vụ", "to_places": "Như trên\nLưu: VT",
}


@pytest.fixture
def settings(tmp_path, pki) -> Settings:
    """The app trusts the demo root, timestamps with the loopback TSA and fetches OCSP/CRL."""
    trust = tmp_path / "trust"
    trust.mkdir()
    shutil.copy(pki.root_cert_path, trust / "root.pem")
    shutil.copy(pki.chain_path, trust / "chain.pem")
    return Settings(env="test", data_dir=tmp_path / "var", max_upload_bytes=20 * 1024 * 1024,
                    tsa_url=pki.tsa_url, trust_dirs=(trust,), revocation_fetching=True,
                    network_timeout_seconds=5)


@pytest.fixture
def people(runtime, app, pki):
    """Logged-in browsers: the province's clerk, signer (demo-person), a signer without a
    profile, an auditor, and the clerk of a commune hosted on this instance."""
    tools = SigningTools(runtime.settings)
    users = {"vanthu": (["clerk"], PROVINCE), "viet": (["signer"], PROVINCE),
             "khac": (["signer"], PROVINCE), "kiemtra": (["auditor"], PROVINCE),
             "vanthu-xa": (["clerk"], COMMUNE)}
    with runtime.sessions() as session:
        seed_demo(session, OPERATOR)
        for spec in demo_profile_specs(pki, person_user="viet"):
            add_signer_profile(session, tools, OPERATOR, spec)
        for username, (roles, organ_id) in users.items():
            add_user(session, OPERATOR, username=username, roles=roles, organ_id=organ_id,
                     password=PASSWORD, full_name=f"Người dùng {username}")
    tools.close()
    browsers = {}
    for username in users:
        browser = app.test_client()
        assert login(browser, username).status_code == 302
        browsers[username] = browser
    return browsers


def token(browser) -> str:
    return csrf(browser.get("/").data)


def post(browser, url: str, data: dict | None = None, **kwargs):
    return browser.post(url, data={**(data or {}), "csrf_token": token(browser)}, **kwargs)


def upload(browser, form: dict | None = None, pdf: bytes | None = None, name: str = "tb.pdf"):
    data = dict(FORM if form is None else form)
    if pdf is not False:
        data["file"] = (io.BytesIO(pdf or notice_pdf()), name, "application/pdf")
    return post(browser, "/upload", data, content_type="multipart/form-data")


def page(browser, doc_id: str) -> str:
    response = browser.get(f"/documents/{doc_id}")
    assert response.status_code == 200
    return response.data.decode()


def new_document(browser) -> str:
    response = upload(browser)
    assert response.status_code == 303, response.data.decode()
    return response.headers["Location"].rsplit("/", 1)[1]


def counts(runtime) -> tuple[int, int, int]:
    with runtime.sessions() as session:
        return (session.scalar(select(func.count()).select_from(Document)),
                session.scalar(select(func.count()).select_from(DocumentVersion)),
                len(runtime.blobs._blobs))


def flashes(html: str) -> list[str]:
    return re.findall(r'<p class="flash[^"]*" role="alert">([^<]*)</p>', html)


def test_a_notice_from_upload_to_the_communes_acceptance(people, runtime):
    clerk, signer, auditor, commune = (people["vanthu"], people["viet"], people["kiemtra"],
                                       people["vanthu-xa"])
    form = clerk.get("/upload").data.decode()
    assert 'enctype="multipart/form-data"' in form and 'value="UBND tỉnh Quảng Ngãi"' in form
    doc_id = new_document(clerk)
    html = page(clerk, doc_id)
    assert "Đã tải lên văn bản." in html and "Sở Nội vụ" in html
    assert "UBND xã Tịnh Ấn" in html  # the name came from the directory
    assert "Dự thảo (chưa vào sổ)" in html  # the stage, in words
    # a draft is registered, or signed by the person and then issued by the agency signature
    assert "/register\"" in html and "Ký số" in html

    done = post(clerk, f"/documents/{doc_id}/register")
    assert done.status_code == 303
    html = page(clerk, doc_id)
    assert "Đã vào sổ văn bản đi: số 01/TB-UBND." in html and "Đã vào sổ, chờ ký" in html

    offered = page(signer, doc_id)
    assert 'name="signer" value="demo-person"' in offered and "demo-agency" not in offered
    assert "B-LTA" in offered and "/register\"" not in offered and "Gửi văn bản" not in offered
    assert 'name="signer"' not in page(people["khac"], doc_id)  # a signer with no profile
    signed = post(signer, f"/documents/{doc_id}/sign",
                  {"role": "person", "signer": "demo-person", "based_on": "1", "level": "B-LT"})
    assert signed.status_code == 303
    html = page(signer, doc_id)
    assert "Đã ký số: phiên bản 2, mức B-LT." in html and "Đã ký, chờ đóng dấu và phát hành" in html
    assert "2. Bản có chữ ký số của người ký" in html and "1. Bản gốc (chưa ký)" in html

    sealing = page(clerk, doc_id)
    assert 'name="signer" value="demo-agency"' in sealing and "demo-person" not in sealing
    sealed = post(clerk, f"/documents/{doc_id}/sign",
                  {"role": "agency", "signer": "demo-agency", "based_on": "2", "level": "B-LT"})
    assert sealed.status_code == 303
    html = page(clerk, doc_id)
    assert "phiên bản 3" in html and 'name="signer"' not in html  # nothing after the seal
    assert "3. Bản có dấu số của cơ quan (bản ban hành)" in html and "Đã phát hành, chờ gửi" in html
    assert f'name="to" value="{COMMUNE}" checked' in html  # picked in the directory tree
    sent = post(clerk, f"/documents/{doc_id}/send", {"to": [COMMUNE]})
    assert sent.status_code == 303
    html = page(clerk, doc_id)
    assert "Đã gửi đến: UBND xã Tịnh Ấn." in html and "Trong hệ thống này" in html
    assert 'class="code code-01">Đã đến<' in html  # the hosted commune answered 01 at once
    assert "Đã gửi, chờ nơi nhận xử lý" in html

    listing = commune.get("/").data.decode()
    [received] = re.findall(r'href="/documents/([^"]+)"', listing)
    assert FORM["subject"] in listing and "Văn bản đến" in listing
    html = page(commune, received)
    assert "Báo tình trạng xử lý cho nơi gửi" in html and "/register\"" not in html
    assert '<option value="" selected>' in html  # no preselected status, least of all 02
    unconfirmed = post(commune, f"/documents/{received}/status", {"code": "02", "description": "Sai"})
    unconfirmed = shown(commune, unconfirmed)
    assert "Hãy đánh dấu ô xác nhận" in unconfirmed.data.decode()
    refused = post(commune, f"/documents/{received}/status",
                   {"code": "02", "description": " ", "confirm": "1"})
    refused = shown(commune, refused)  # a rejection needs a reason: shown, nothing sent
    assert "Từ chối phải nêu lý do" in refused.data.decode()
    accepted = post(commune, f"/documents/{received}/status", {"code": "03"})
    assert accepted.status_code == 303
    html = page(commune, received)
    assert "Đã báo tình trạng 03: Đã tiếp nhận, vào sổ đến. Đã vào sổ văn bản đến: số đến 1." in html
    assert "Số đến 1" in html

    html = page(clerk, doc_id)
    assert 'class="code code-03">Đã tiếp nhận, vào sổ đến<' in html
    trace = clerk.get(f"/documents/{doc_id}/trace").data.decode()
    assert "Đã tiếp nhận, vào sổ đến" in trace and "UBND xã Tịnh Ấn" in trace
    assert "hop · edoc" not in trace and "Tạo gói tin" in trace

    audited = page(auditor, doc_id)
    link = f"/documents/{doc_id}/versions/3/verification"
    assert f'action="{link}"' in audited and "Lịch sử xử lý" in audited
    assert auditor.get(link).status_code == 405  # running a verification is a POST (CSRF)
    report = post(auditor, link)
    assert report.status_code == 200 and report.mimetype == "text/html"
    text = report.data.decode()
    assert "BÁO CÁO KIỂM TRA CHỮ KÝ SỐ" in text and "HỢP LỆ" in text and "Nguyễn Quốc Việt" in text
    assert unicodedata.is_normalized("NFC", text)
    english = post(auditor, link + "?lang=en").data.decode()
    assert "DIGITAL SIGNATURE VERIFICATION REPORT" in english  # and the session keeps English

    pdf = auditor.get(f"/documents/{doc_id}/versions/3/content").data
    checked = post(auditor, "/verify?lang=vi", {"file": (io.BytesIO(pdf), "sealed.pdf", "application/pdf")},
                   content_type="multipart/form-data")
    assert checked.status_code == 200 and "HỢP LỆ" in checked.data.decode()
    not_pdf = post(auditor, "/verify", {"file": (io.BytesIO(b"hello"), "a.txt", "text/plain")},
                   content_type="multipart/form-data")
    assert not_pdf.status_code == 415 and "Tệp không phải PDF" in not_pdf.data.decode()


def test_forms_without_the_csrf_token_are_refused(people, runtime):
    clerk = people["vanthu"]
    doc_id = new_document(clerk)
    before = counts(runtime)
    response = clerk.post(f"/documents/{doc_id}/register")
    assert response.status_code == 400 and "CSRF" in response.data.decode()
    data = {**FORM, "file": (io.BytesIO(notice_pdf()), "tb.pdf", "application/pdf")}
    assert clerk.post("/upload", data=data, content_type="multipart/form-data").status_code == 400
    assert clerk.post(f"/documents/{doc_id}/sign", data={"role": "agency",
                                                         "signer": "demo-agency"}).status_code == 400
    assert counts(runtime) == before
    assert "Dự thảo (chưa vào sổ)" in page(clerk, doc_id)


def test_people_without_the_right_get_403_or_404_and_nothing_changes(people, runtime):
    clerk, signer, auditor, commune = (people["vanthu"], people["viet"], people["kiemtra"],
                                       people["vanthu-xa"])
    doc_id = new_document(clerk)
    assert post(signer, f"/documents/{doc_id}/register").status_code == 403
    assert post(auditor, f"/documents/{doc_id}/register").status_code == 403
    assert commune.get(f"/documents/{doc_id}").status_code == 404  # existence is not revealed
    assert post(commune, f"/documents/{doc_id}/register").status_code == 404
    assert auditor.get("/upload").status_code == 403
    assert upload(auditor).status_code == 403
    assert post(clerk, f"/documents/{doc_id}/register").status_code == 303
    before = counts(runtime)
    refused = post(signer, f"/documents/{doc_id}/sign", {"role": "agency", "signer": "demo-agency"})
    assert refused.status_code == 403 and "không có quyền" in refused.data.decode()
    assert post(people["khac"], f"/documents/{doc_id}/sign",
                {"role": "person", "signer": "demo-person"}).status_code == 403
    assert post(auditor, f"/documents/{doc_id}/sign",
                {"role": "person", "signer": "demo-person"}).status_code == 403
    assert post(signer, f"/documents/{doc_id}/send", {"to": [COMMUNE]}).status_code == 403
    assert post(commune, f"/documents/{doc_id}/status", {"code": "03"}).status_code == 404
    assert counts(runtime) == before
    with runtime.sessions() as session:
        denied = session.scalars(select(AuditEntry.action).where(
            AuditEntry.outcome == "denied")).all()
    assert "document.sign" in denied and "document.upload" in denied


def test_a_bad_upload_shows_every_bad_field_and_stores_nothing(people, runtime):
    clerk = people["vanthu"]
    bad = {**FORM, "subject": "", "organ_id": "H48", "issued_date": "19/06/2018",
           "recipients": "not-an-id Nơi nào đó\n000.09.09.H48", "type_name": "Thư tình"}
    response = upload(clerk, bad, pdf=False)
    response = shown(clerk, response)
    html = response.data.decode()
    assert "Siêu dữ liệu văn bản không hợp lệ." in flashes(html)
    for label in ("Tệp PDF", "Trích yếu", "Mã định danh cơ quan ban hành", "Ngày ban hành",
                  "Loại văn bản", "Cơ quan nhận thứ 1 (mã định danh)",
                  "Cơ quan nhận thứ 2 (tên cơ quan)"):
        assert label in html, label
    assert "recipients[0]" not in html  # the problems are said in words, not internal names
    assert 'value="TB-UBND"' in html and "Nguyễn Quốc Việt" in html  # what was typed stays
    assert counts(runtime) == (0, 0, 0)

    not_pdf = shown(clerk, upload(clerk, pdf=b"not a pdf at all", name="tb.pdf"))
    assert "Tệp không phải PDF" in flashes(not_pdf.data.decode())[0]
    assert FORM["subject"] in not_pdf.data.decode()
    assert 'name="kept_file"' not in not_pdf.data.decode()  # a refused file is not kept
    english = shown(clerk, post(clerk, "/upload?lang=en", {
        **bad, "file": (io.BytesIO(notice_pdf()), "tb.pdf")}, content_type="multipart/form-data"))
    assert "Invalid document metadata." in english.data.decode()
    assert counts(runtime) == (0, 0, 0)
    # the chosen PDF was kept: the corrected form is sent without choosing it again
    html = english.data.decode()
    assert "The file tb.pdf was kept" in html and 'name="kept_file" value="1"' in html
    fixed = post(clerk, "/upload", {**FORM, "kept_file": "1"}, content_type="multipart/form-data")
    assert fixed.status_code == 303 and "/documents/" in fixed.headers["Location"]
    assert counts(runtime)[:2] == (1, 1)
    assert not list((runtime.settings.data_dir / "web-kept-uploads").iterdir())  # cleaned up


def test_the_upload_form_picks_recipients_from_the_directory_tree(people, runtime):
    clerk = people["vanthu"]
    form = clerk.get("/upload").data.decode()
    assert 'type="search"' in form and 'name="recipient" value="000.01.02.H48"' in form
    assert 'data-search="ubnd xa tinh long 000.01.02.h48"' in form  # filtered without accents
    data = {**FORM, "recipients": "", "recipient": ["000.01.01.H48", "000.01.02.H48"]}
    doc_id = upload(clerk, data).headers["Location"].rsplit("/", 1)[1]
    html = page(clerk, doc_id)
    assert "UBND xã Tịnh Ấn<br>UBND xã Tịnh Long<br>" in html


def test_service_errors_are_flashed_over_the_page(people, runtime, responders):
    clerk, signer = people["vanthu"], people["viet"]
    doc_id = new_document(clerk)
    assert post(clerk, f"/documents/{doc_id}/register").status_code == 303
    unsigned = post(clerk, f"/documents/{doc_id}/send", {"to": [COMMUNE]})
    unsigned = shown(clerk, unsigned)
    [message] = flashes(unsigned.data.decode())
    assert "chưa có đủ chữ ký cá nhân và của cơ quan" in message
    nobody = post(clerk, f"/documents/{doc_id}/send", {})
    nobody = shown(clerk, nobody)
    assert "danh sách mã định danh" in nobody.data.decode()

    responders.tsa_available = False
    down = post(signer, f"/documents/{doc_id}/sign",
                {"role": "person", "signer": "demo-person", "based_on": "1", "level": "B-LT"})
    down = shown(signer, down)
    assert flashes(down.data.decode())
    assert 'name="allow_lower_level" value="1"' in down.data.decode()
    stale = post(signer, f"/documents/{doc_id}/sign",
                 {"role": "person", "signer": "demo-person", "based_on": "7", "level": "B-B"})
    stale = shown(signer, stale)
    assert "phiên bản mới" in stale.data.decode()
    assert counts(runtime)[1] == 1
    lowered = post(signer, f"/documents/{doc_id}/sign", {
        "role": "person", "signer": "demo-person", "based_on": "1", "level": "B-LT",
        "allow_lower_level": "1"})
    assert lowered.status_code == 303
    assert "Đã ký ở mức B-B thay cho B-LT" in page(signer, doc_id)


def test_revoked_content_shows_as_such_without_a_download_link(people, runtime):
    clerk = people["vanthu"]
    doc_id = new_document(clerk)
    with runtime.sessions() as session:
        version = session.scalars(select(DocumentVersion).where(
            DocumentVersion.document_id == doc_id)).one()
        version.revoked_at = version.created_at
        session.commit()
    html = page(clerk, doc_id)
    assert "Đã thu hồi" in html and f"/documents/{doc_id}/versions/1/content" not in html
    assert f"/documents/{doc_id}/versions/1/verification" not in html
    gone = clerk.get(f"/documents/{doc_id}/versions/1/content")
    assert gone.status_code == 410 and "đã bị thu hồi" in gone.data.decode()


def test_both_languages_have_every_text():
    from docsvc.web.texts import TEXTS

    vi, en = TEXTS["vi"], TEXTS["en"]
    assert set(vi) == set(en)
    assert all(set(vi[k]) == set(en[k]) for k in vi if isinstance(vi[k], dict))
    assert all(unicodedata.is_normalized("NFC", v) for v in vi.values() if isinstance(v, str))


def test_a_strange_based_on_is_a_400_not_a_500(people, runtime, app):
    app.testing = False  # the real error page, not a propagated exception
    clerk, signer = people["vanthu"], people["viet"]
    doc_id = new_document(clerk)
    assert post(clerk, f"/documents/{doc_id}/register").status_code == 303
    for based_on in ("²", "9" * 5000):
        answer = post(signer, f"/documents/{doc_id}/sign",
                      {"role": "person", "signer": "1", "based_on": based_on})
        answer = shown(signer, answer)



def test_signer_previews_the_place_and_moves_the_signature(people, runtime):
    from docsvc.signing import existing_signatures

    clerk, signer = people["vanthu"], people["viet"]
    doc_id = new_document(clerk)
    html = page(signer, doc_id)
    assert "Xem trước vị trí chữ ký" in html
    preview = signer.get(f"/documents/{doc_id}/sign/preview.png?role=person&signer=demo-person")
    assert preview.status_code == 200 and preview.mimetype == "image/png"
    assert preview.data.startswith(b"\x89PNG") and preview.headers["X-Docsvc-Page"] == "1"
    assert len(preview.headers["X-Docsvc-Person-Box"].split()) == 4
    nowhere = signer.get(f"/documents/{doc_id}/sign/preview.png?role=person&signer=demo-person"
                         "&box=1+2")
    assert nowhere.status_code == 400 and "không hợp lệ" in nowhere.get_data(as_text=True)
    moved = post(signer, f"/documents/{doc_id}/sign",
                 {"role": "person", "signer": "demo-person", "level": "B-B",
                  "page": "1", "box": "300 400 420 452"})
    assert moved.status_code == 303, moved.data.decode()[:500]
    from docsvc.storage import read_verified

    with runtime.sessions() as session:
        key = session.get(Document, doc_id).latest_version.blob_key
    with read_verified(runtime.blobs, key) as stream:
        data = stream.read()
    assert existing_signatures(data)[0].box == (300, 400, 420, 452)
