"""The clerk's desk in a real browser (issue 14): Debian's chromium, driven by Playwright, on the
real app served on a loopback port, at 1366×768 and 390×844. Each step asserts on what a person
sees, runs axe-core (no serious or critical finding) and saves a screenshot.

The day: the clerk uploads a notice (a first try with a missing subject keeps the chosen PDF),
picking two communes in the directory tree, and registers it; the signer signs it from the
"Chờ ký" inbox; the clerk seals it and sends it to the two communes; a commune's clerk, whose
"Văn bản đến mới" inbox shows it, reports 03 then 06 (02 is never preselected); the sender sees
each recipient's progress; an auditor reads the reports of a valid, a tampered and an unsigned
file."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from docsvc.security import OPERATOR
from docsvc.services.directory import seed_demo
from docsvc.services.identity import add_user
from docsvc.services.signers import SigningTools, add_signer_profile, demo_profile_specs
from docsvc.signing.sample import notice_pdf
from tests.e2e.test_web import PASSWORD
from tests.e2e.test_web_workflow import settings  # noqa: F401  (the app trusts the demo PKI)
from tests.integration.signing import conftest as signing_fixtures
from tests.support.browser import (
    VIEWPORTS,
    LiveServer,
    check_accessibility,
    chromium,  # noqa: F401  (fixture)
    page_width,
    shots,  # noqa: F401  (fixture)
)

served_pki, pki, responders = (signing_fixtures.served_pki, signing_fixtures.pki,
                               signing_fixtures.responders)

PROVINCE, TINH_AN, TINH_LONG = "000.00.00.H48", "000.01.01.H48", "000.01.02.H48"
SUBJECT = "Kết luận của Chủ tịch UBND tỉnh về cải cách hành chính năm 2026"


@pytest.fixture
def desk(runtime, app, pki, tmp_path):
    """The people of the day and the app on a loopback port."""
    tools = SigningTools(runtime.settings)
    users = {"vanthu": (["clerk"], PROVINCE, "Trần Thị Văn Thư"),
             "viet": (["signer"], PROVINCE, "Nguyễn Quốc Việt"),
             "kiemtra": (["auditor"], PROVINCE, "Lê Văn Kiểm Tra"),
             "vanthu-xa": (["clerk"], TINH_AN, "Phạm Thị Xã")}
    with runtime.sessions() as session:
        seed_demo(session, OPERATOR)
        for spec in demo_profile_specs(pki, person_user="viet"):
            add_signer_profile(session, tools, OPERATOR, spec)
        for username, (roles, organ_id, name) in users.items():
            add_user(session, OPERATOR, username=username, roles=roles, organ_id=organ_id,
                     password=PASSWORD, full_name=name)
    tools.close()
    pdf = tmp_path / "thong-bao.pdf"
    pdf.write_bytes(notice_pdf())
    with LiveServer(app) as server:
        yield server, pdf


class Person:
    """One person's browser (own cookies) at one viewport."""

    def __init__(self, browser, server, username: str, viewport: str, folder: Path) -> None:
        self.context = browser.new_context(viewport=VIEWPORTS[viewport], locale="vi-VN",
                                            timezone_id="Asia/Ho_Chi_Minh")
        self.page = self.context.new_page()
        self.page.set_default_timeout(20_000)
        self.server, self.viewport, self.shots, self.username = server, viewport, folder, username
        self.page.goto(server.url + "/login")
        self.page.get_by_label("Tên đăng nhập").fill(username)
        self.page.get_by_label("Mật khẩu").fill(PASSWORD)
        self.page.get_by_role("button", name="Đăng nhập").click()
        self.page.wait_for_url(re.compile(r"/$"))

    def look(self, name: str) -> None:
        """Check the page as people see it: no sideways scrolling, axe-core, a screenshot."""
        page = self.page
        width = VIEWPORTS[self.viewport]["width"]
        assert page_width(page) <= width, f"{name}: {page_width(page)} px wide on {width} px"
        check_accessibility(page, f"{name} ({self.viewport})")
        page.screenshot(path=str(self.shots / f"{name}-{self.viewport}.png"), full_page=True)

    def visible(self, text: str) -> None:
        loc = self.page.get_by_text(text, exact=False).first
        assert loc.is_visible(), f"not visible: {text}"

    def inbox(self, name: str) -> str:
        """Return the header's count of an inbox (opening the menu is never needed)."""
        link = self.page.locator(f'header a[data-inbox="{name}"]')
        assert link.is_visible(), f"{name} not in the header"
        return link.locator(".badge").inner_text()


@pytest.mark.parametrize("viewport", ["desktop", "phone"])
def test_a_day_at_the_desk(chromium, desk, shots, viewport):  # noqa: F811
    server, pdf = desk
    clerk = Person(chromium, server, "vanthu", viewport, shots)
    page = clerk.page
    clerk.look("01-list")
    assert page.locator("header").get_by_text("English").is_visible()

    # -- upload: a forgotten subject keeps the chosen file; recipients from the directory tree
    page.get_by_role("link", name="Tải lên văn bản").first.click()
    page.set_input_files("input[name=file]", str(pdf))
    # the form reads the PDF and pre-fills the empty fields (issue 12); wait for it to finish
    page.wait_for_function("() => document.getElementById('prefill-status').textContent"
                           " !== document.getElementById('prefill-status').dataset.hint",
                           timeout=20000)
    annex = pdf.with_name("phu-luc-1.csv")
    annex.write_text("STT,Nội dung\n1,Cải cách thủ tục hành chính\n", encoding="utf-8")
    page.select_option("select[name=type_name]", "Thông báo")
    page.fill("input[name=code_notation]", "TB-UBND")
    page.fill("input[name=signer_name]", "Nguyễn Quốc Việt")
    page.fill("input[name=signer_position]", "Chủ tịch")
    filter_box = page.get_by_label("Lọc theo tên hoặc mã")
    filter_box.fill("tinh an")  # no accents typed: still found
    assert page.get_by_text("UBND xã Tịnh Ấn").is_visible()
    assert not page.get_by_text("Sở Tư pháp tỉnh Quảng Ngãi").is_visible()
    page.get_by_label(re.compile("UBND xã Tịnh Ấn")).check()
    filter_box.fill("Tịnh Long")
    page.get_by_label(re.compile("UBND xã Tịnh Long")).check()
    filter_box.fill("")
    page.fill("textarea[name=subject]", "")  # the clerk clears the pre-filled abstract…
    page.evaluate("() => document.querySelector('textarea[name=subject]').removeAttribute('required')")
    clerk.look("02-upload")
    page.get_by_role("button", name="Lưu văn bản").click()
    page.wait_for_url(re.compile(r"/upload$"))  # post/redirect/get: a reload sends nothing
    clerk.visible("Siêu dữ liệu văn bản không hợp lệ.")
    assert page.locator("#err-subject").is_visible()  # the problem next to its field
    clerk.visible("Đã giữ lại tệp thong-bao.pdf")
    assert page.get_by_label(re.compile("UBND xã Tịnh Long")).is_checked()  # still picked
    clerk.look("03-upload-error")
    page.fill("textarea[name=subject]", SUBJECT)
    page.set_input_files("input[name=annexes]", str(annex))
    page.get_by_role("button", name="Lưu văn bản").click()
    page.wait_for_url(re.compile(r"/documents/[0-9a-f-]+$"))
    doc_url = page.url
    clerk.visible("Dự thảo (chưa vào sổ)")
    assert page.locator("#stage").inner_text() == "Dự thảo (chưa vào sổ)"
    clerk.visible("1. Bản gốc (chưa ký)")
    assert page.locator("#h-versions ~ table").last.get_by_text("phu-luc-1.csv").is_visible()
    assert not page.get_by_text(re.compile(r"\b\d{5,} B\b")).count()  # sizes in KB, not bytes
    assert clerk.inbox("to_seal") == "1"
    page.get_by_role("button", name="Vào sổ").click()
    clerk.visible("Đã vào sổ văn bản đi: số 01/TB-UBND.")
    assert page.locator("#stage").inner_text() == "Đã vào sổ, chờ ký"
    clerk.look("04-registered")

    # -- the signer signs from the inbox
    signer = Person(chromium, server, "viet", viewport, shots)
    assert signer.inbox("to_sign") == "1"
    signer.page.locator('header a[data-inbox="to_sign"]').click()
    signer.visible("Văn bản đã vào sổ, chờ người có thẩm quyền ký số.")
    signer.look("05-inbox-to-sign")
    signer.page.get_by_role("link", name="01/TB-UBND").click()
    button = signer.page.get_by_role("button", name="Ký số cá nhân")
    button.click()
    signer.visible("Đã ký số: phiên bản 3")  # (2 is the annex)
    assert signer.page.locator("#stage").inner_text() == "Đã ký, chờ đóng dấu và phát hành"
    signer.visible("3. Bản có chữ ký số của người ký")
    assert signer.inbox("to_sign") == "0"

    # -- the clerk seals and sends to the two communes picked at upload
    page.goto(doc_url)
    assert clerk.inbox("to_seal") == "1"
    page.get_by_role("button", name="Ký số của cơ quan (đóng dấu)").click()
    clerk.visible("4. Bản có dấu số của cơ quan (bản ban hành)")
    assert page.locator("#stage").inner_text() == "Đã phát hành, chờ gửi"
    assert clerk.inbox("to_send") == "1"
    picker = page.locator("#picker-to")
    assert picker.get_by_label(re.compile("UBND xã Tịnh Ấn")).is_checked()
    assert picker.get_by_label(re.compile("UBND xã Tịnh Long")).is_checked()
    clerk.look("06-sealed")
    page.get_by_role("button", name="Gửi văn bản").click()
    clerk.visible("Đã gửi đến: UBND xã Tịnh Ấn, UBND xã Tịnh Long.")
    assert page.locator("#stage").inner_text() == "Đã gửi, chờ nơi nhận xử lý"
    delivery = page.locator("table.delivery")
    assert delivery.get_by_text("UBND xã Tịnh Ấn").is_visible()
    assert delivery.get_by_text("UBND xã Tịnh Long").is_visible()
    # recipients' progress comes before the versions and the history
    order = page.evaluate("""() => ['h-delivery', 'h-versions', 'h-history'].map(
        id => document.getElementById(id).getBoundingClientRect().top)""")
    assert order == sorted(order)

    # -- the commune: a new incoming document, 03 then 06; 02 is never the default
    commune = Person(chromium, server, "vanthu-xa", viewport, shots)
    assert commune.inbox("new_incoming") == "1"
    commune.page.locator('header a[data-inbox="new_incoming"]').click()
    commune.visible("Mới")
    commune.page.get_by_role("link", name="01/TB-UBND").click()
    select = commune.page.locator("select[name=code]")
    assert select.input_value() == ""  # nothing preselected
    select.select_option("02")
    assert commune.page.get_by_text("Tôi xác nhận từ chối tiếp nhận văn bản này").is_visible()
    commune.look("07-commune-received")
    select.select_option("03")
    assert not commune.page.get_by_text("Tôi xác nhận từ chối tiếp nhận văn bản này").is_visible()
    commune.page.get_by_role("button", name="Báo tình trạng xử lý cho nơi gửi").click()
    commune.visible("Đã vào sổ văn bản đến: số đến 1.")
    assert commune.inbox("new_incoming") == "0"
    commune.page.locator("select[name=code]").select_option("06")
    commune.page.get_by_role("button", name="Báo tình trạng xử lý cho nơi gửi").click()
    commune.visible("Đã báo tình trạng 06: Hoàn thành xử lý.")
    assert commune.page.locator("#stage").inner_text() == "Nơi nhận đã xử lý xong"
    commune.look("08-commune-handled")

    # -- the sender follows each recipient
    page.goto(doc_url)
    row = page.locator("table.delivery tr", has_text="UBND xã Tịnh Ấn")
    assert "Hoàn thành xử lý" in row.inner_text()
    assert "+07:00" in page.locator("table.delivery time").first.get_attribute("datetime")
    history = page.locator("ol.history")
    assert "Trần Thị Văn Thư" in history.inner_text() and "user:" not in history.inner_text()
    assert "document." not in history.inner_text()
    clerk.look("09-sent-progress")
    page.get_by_role("link", name="Vết trao đổi liên thông").click()
    assert "hop · edoc" not in page.inner_text("main") and "UBND xã Tịnh Long" in page.inner_text("main")
    clerk.look("10-trace")

    # -- the auditor: a valid, a tampered and an unsigned file
    auditor = Person(chromium, server, "kiemtra", viewport, shots)
    auditor.page.goto(doc_url)
    with auditor.page.expect_navigation():
        auditor.page.locator("table.versions tr", has_text="4. Bản có dấu").get_by_role(
            "button", name="Kiểm tra chữ ký").click()
    report = auditor.page
    verdict = report.locator("#verdict")
    assert verdict.inner_text().startswith("Tệp hợp lệ: 2 chữ ký số đều đúng")
    assert report.get_by_text("01/TB-UBND").first.is_visible() and report.get_by_text(SUBJECT).is_visible()
    assert report.get_by_text(re.compile("^1. Chữ ký số cá nhân")).is_visible()
    assert report.get_by_text(re.compile("^2. Chữ ký số của cơ quan")).is_visible()
    assert not report.get_by_text("Chỉ dẫn ETSI EN 319 102-1").first.is_visible()  # folded
    assert report.get_by_role("button", name="In báo cáo").is_visible()
    assert report.get_by_role("link", name=re.compile("Quay lại văn bản")).first.is_visible()
    auditor.look("11-report-valid")
    sealed = auditor.context.request.get(f"{doc_url}/versions/4/content").body()

    tampered_path = pdf.with_name("sua-doi.pdf")
    moved = sealed.replace(b"BT /F1 12 Tf 77.15", b"BT /F1 12 Tf 77.16", 1)  # a signed line moved
    assert moved != sealed
    tampered_path.write_bytes(moved)
    for name, path, expected in (("12-report-tampered", tampered_path, "Tệp KHÔNG hợp lệ"),
                                 ("13-report-unsigned", pdf, "Không có chữ ký số")):
        report.goto(server.url + "/verify")
        report.set_input_files("input[name=file]", str(path))
        report.get_by_role("button", name="Kiểm tra").click()
        report.wait_for_selector("#verdict")
        text = report.locator("#verdict").inner_text()
        assert text.startswith(expected), text
        summary = report.locator("main").inner_text()
        if "tampered" in name:
            assert "không phải ở tổ chức cấp chứng thư" in text
            assert "Không tin cậy" not in summary
        assert "HASH_FAILURE" not in summary and "INDETERMINATE" not in summary
        auditor.look(name)
    # -- the registers, with the columns of Nghị định 30
    page.goto(server.url + "/registers/outgoing")
    assert page.get_by_role("heading", name=re.compile("Sổ đăng ký văn bản đi")).is_visible()
    assert page.locator("table.register").get_by_text("01/TB-UBND").is_visible()
    assert page.get_by_role("link", name="Tải về CSV").is_visible()
    clerk.look("14-register")
    for person in (clerk, signer, commune, auditor):
        person.context.close()


def test_the_accessibility_check_does_find_problems(chromium):  # noqa: F811
    page = chromium.new_page()
    page.set_content('<html><body><input type="text"><img src="x.png"></body></html>')
    with pytest.raises(AssertionError, match="image-alt"):
        check_accessibility(page, "a bad page")
    page.close()
