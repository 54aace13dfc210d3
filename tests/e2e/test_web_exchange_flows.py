"""The exchange's side flows through the pages, with real sessions and CSRF tokens, between the
province's clerk and a commune hosted on this instance: revocation, take-back (13 → 15 / 16),
replacement and update links; then who sees the buttons, forged posts and missing CSRF tokens.

The documents are signed by adding a signed version directly (signing has its own web test)."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from docsvc.models import AuditEntry, Document, DocumentLink, DocumentVersion, Message, StatusEvent
from docsvc.security import OPERATOR
from docsvc.services.directory import seed_demo
from docsvc.services.identity import add_user
from tests.e2e.test_web import PASSWORD, login, shown
from tests.e2e.test_web_workflow import flashes, new_document, page, post
from tests.support.worlds import add_signed_version as _sign

PROVINCE, COMMUNE, SO_NOI_VU = "000.00.00.H48", "000.01.01.H48", "000.00.53.H48"
WARNING = "Nội dung văn bản sẽ bị xóa ở nơi nhận"


@pytest.fixture
def people(runtime, app):
    """Logged-in browsers: the province's clerk and signer, the commune's clerk and signer."""
    users = {"vanthu": (["clerk"], PROVINCE), "viet": (["signer"], PROVINCE),
             "vanthu-xa": (["clerk"], COMMUNE), "lanhdao-xa": (["signer"], COMMUNE)}
    with runtime.sessions() as session:
        seed_demo(session, OPERATOR)
        for username, (roles, organ_id) in users.items():
            add_user(session, OPERATOR, username=username, roles=roles, organ_id=organ_id,
                     password=PASSWORD, full_name=f"Người dùng {username}")
    browsers = {}
    for username in users:
        browser = app.test_client()
        assert login(browser, username).status_code == 302
        browsers[username] = browser
    return browsers


def signed_document(clerk, runtime) -> str:
    """A notice uploaded and registered through the pages, then signed."""
    doc_id = new_document(clerk)
    assert post(clerk, f"/documents/{doc_id}/register").status_code == 303
    _sign(runtime, doc_id)
    return doc_id


def sent_document(clerk, runtime) -> str:
    """A signed notice sent through the pages to the commune hosted here."""
    doc_id = signed_document(clerk, runtime)
    sent = post(clerk, f"/documents/{doc_id}/send", {"to": [COMMUNE]})
    assert sent.status_code == 303, sent.data.decode()
    return doc_id


def copies(runtime, doc_id: str) -> list[str]:
    """The commune's incoming documents filed from our packages of ``doc_id``, oldest first."""
    with runtime.sessions() as session:
        return list(dict.fromkeys(session.scalars(select(Message.delivered_document_id).where(
            Message.local_document_id == doc_id, Message.recipient_organ_id == COMMUNE,
            Message.kind == "edoc", Message.delivered_document_id.is_not(None)).order_by(
            Message.created_at, Message.id))))


def state(runtime) -> tuple[int, int, int, int, int]:
    """Messages, status events, links, revoked documents and revoked versions: what a refused
    side flow must leave as it was."""
    with runtime.sessions() as session:
        def count(model, *where) -> int:
            return session.scalar(select(func.count()).select_from(model).where(*where))
        return (count(Message), count(StatusEvent), count(DocumentLink),
                count(Document, Document.revoked_at.is_not(None)),
                count(DocumentVersion, DocumentVersion.revoked_at.is_not(None)))


def form_of(html: str, action: str) -> bool:
    return f'action="{action}"' in html


def test_a_revocation_from_the_web_revokes_the_communes_copy(people, runtime):
    clerk, commune = people["vanthu"], people["vanthu-xa"]
    doc_id = sent_document(clerk, runtime)
    [copy] = copies(runtime, doc_id)
    html = page(clerk, doc_id)
    for action in ("revoke", "takeback", "update"):
        assert form_of(html, f"/documents/{doc_id}/{action}"), action
    assert WARNING in html and "Tôi xác nhận thu hồi văn bản này" in html
    assert "<legend>Cập nhật</legend>" in html and "built-in method" not in html
    assert 'name="replaces"' not in html  # a sent document cannot become a replacement
    english = clerk.get(f"/documents/{doc_id}?lang=en").data.decode()
    assert "The document&#39;s content will be deleted where it was received" in english
    assert "<legend>Send an update</legend>" in english and "built-in method" not in english
    clerk.get(f"/documents/{doc_id}?lang=vi")

    before = state(runtime)
    unconfirmed = post(clerk, f"/documents/{doc_id}/revoke", {"revoke_reason": "Ban hành sai"})
    unconfirmed = shown(clerk, unconfirmed)
    assert "Hãy đánh dấu ô xác nhận" in flashes(unconfirmed.data.decode())[0]
    assert ">Ban hành sai</textarea>" in unconfirmed.data.decode()  # what was typed stays
    no_reason = post(clerk, f"/documents/{doc_id}/revoke", {"revoke_reason": " ", "confirm": "1"})
    no_reason = shown(clerk, no_reason)
    assert "Cần nêu lý do" in flashes(no_reason.data.decode())[0]
    assert state(runtime) == before

    done = post(clerk, f"/documents/{doc_id}/revoke",
                {"revoke_reason": "Ban hành sai thẩm quyền", "confirm": "1"})
    assert done.status_code == 303
    html = page(clerk, doc_id)
    assert "Đã thu hồi văn bản; đã gửi thông báo thu hồi đến: UBND xã Tịnh Ấn." in html
    assert "Văn bản đã bị thu hồi" in html and "Ban hành sai thẩm quyền" in html
    assert not form_of(html, f"/documents/{doc_id}/revoke")  # nothing more to do with it
    assert not form_of(html, f"/documents/{doc_id}/takeback")

    received = page(commune, copy)
    assert "Văn bản đã bị thu hồi" in received and "Ban hành sai thẩm quyền" in received
    assert f"/documents/{copy}/versions/1/content" not in received
    assert "Báo tình trạng xử lý cho nơi gửi" not in received
    gone = commune.get(f"/documents/{copy}/versions/1/content")
    assert gone.status_code == 410 and "đã bị thu hồi" in gone.data.decode()
    assert "đã đồng ý (nội dung đã xóa)" in page(clerk, doc_id)  # the commune answered 15


def test_a_takeback_the_commune_agrees_to_removes_its_content(people, runtime):
    clerk, commune, commune_signer = people["vanthu"], people["vanthu-xa"], people["lanhdao-xa"]
    doc_id = sent_document(clerk, runtime)
    [copy] = copies(runtime, doc_id)
    assert "Nơi gửi đề nghị lấy lại" not in page(commune, copy)
    asked = post(clerk, f"/documents/{doc_id}/takeback",
                 {"takeback_reason": "Cần sửa trích yếu", "takeback_to": [COMMUNE]})
    assert asked.status_code == 303
    html = page(clerk, doc_id)
    assert "Đã gửi đề nghị lấy lại văn bản (13) đến: UBND xã Tịnh Ấn." in html
    assert "đang chờ trả lời đề nghị lấy lại" in html
    assert "UBND xã Tịnh Ấn: Yêu cầu lấy lại văn bản — Lý do: Cần sửa trích yếu" in html
    again = post(clerk, f"/documents/{doc_id}/takeback", {"takeback_reason": "Nhắc lại"})
    again = shown(clerk, again)  # one request at a time: the service says why
    assert "UBND xã Tịnh Ấn: đang chờ trả lời đề nghị lấy lại" in flashes(again.data.decode())[0]

    html = page(commune, copy)
    assert "Nơi gửi đề nghị lấy lại văn bản này" in html and "Cần sửa trích yếu" in html
    assert "Đồng ý trả lại" in html and "Từ chối trả lại" in html and WARNING in html
    seen = page(commune_signer, copy)  # a reader sees the request, only the clerk answers
    assert "Cần sửa trích yếu" in seen and 'name="code" value="15"' not in seen

    before = state(runtime)
    unconfirmed = post(commune, f"/documents/{copy}/status", {"code": "15"})
    unconfirmed = shown(commune, unconfirmed)
    assert "Hãy đánh dấu ô xác nhận" in unconfirmed.data.decode()
    assert state(runtime) == before
    agreed = post(commune, f"/documents/{copy}/status", {"code": "15", "confirm": "1"})
    assert agreed.status_code == 303
    html = page(commune, copy)
    assert "Đã báo tình trạng 15: Đồng ý cập nhật/lấy lại. Nội dung văn bản đã được xóa." in html
    assert "Văn bản đã bị thu hồi" in html and "Cần sửa trích yếu" in html
    assert 'name="code" value="15"' not in html and "Nơi gửi đề nghị lấy lại" not in html
    assert commune.get(f"/documents/{copy}/versions/1/content").status_code == 410
    html = page(clerk, doc_id)
    assert "đã đồng ý (nội dung đã xóa)" in html
    assert "Văn bản đã bị thu hồi" not in html  # the sender keeps its own document


def test_refusing_a_takeback_needs_a_reason(people, runtime):
    clerk, commune = people["vanthu"], people["vanthu-xa"]
    doc_id = sent_document(clerk, runtime)
    [copy] = copies(runtime, doc_id)
    assert post(clerk, f"/documents/{doc_id}/takeback",
                {"takeback_reason": "Cần sửa trích yếu"}).status_code == 303
    before = state(runtime)
    refused = post(commune, f"/documents/{copy}/status", {"code": "16", "description": "  "})
    refused = shown(commune, refused)
    assert "Từ chối trả lại phải nêu lý do" in flashes(refused.data.decode())[0]
    assert "Nơi gửi đề nghị lấy lại văn bản này" in refused.data.decode()  # still pending
    assert state(runtime) == before
    assert "đang chờ trả lời đề nghị lấy lại" in page(clerk, doc_id)

    refused = post(commune, f"/documents/{copy}/status",
                   {"code": "16", "description": "Đã phân công xử lý, đề nghị ban hành văn bản thay thế"})
    assert refused.status_code == 303
    html = page(commune, copy)
    assert "Đã báo tình trạng 16: Từ chối cập nhật/lấy lại." in html
    assert "Nơi gửi đề nghị lấy lại" not in html and "Văn bản đã bị thu hồi" not in html
    assert commune.get(f"/documents/{copy}/versions/1/content").status_code == 200
    assert "từ chối trả lại: Đã phân công xử lý" in page(clerk, doc_id)
    shown(commune, post(commune, f"/documents/{copy}/status",  # answered: nothing pending any more
                        {"code": "15", "confirm": "1"}))


def test_a_replacement_sent_from_the_web_links_the_communes_copies(people, runtime):
    clerk, commune = people["vanthu"], people["vanthu-xa"]
    old = sent_document(clerk, runtime)
    new = signed_document(clerk, runtime)
    html = page(clerk, new)
    assert re.search(rf'<option value="{old}">[^<]*</option>', html)  # the picker offers it
    assert f'<option value="{new}">' not in html
    before = state(runtime)
    no_reason = post(clerk, f"/documents/{new}/send", {"to": [COMMUNE], "replaces": [old]})
    no_reason = shown(clerk, no_reason)
    assert "Văn bản thay thế phải nêu lý do" in flashes(no_reason.data.decode())[0]
    assert state(runtime) == before

    sent = post(clerk, f"/documents/{new}/send", {"to": [COMMUNE], "replaces": [old],
                                                  "replace_reason": "Thay thế do sai thể thức"})
    assert sent.status_code == 303
    html = page(clerk, new)
    assert "Đã gửi văn bản thay thế đến: UBND xã Tịnh Ấn." in html
    assert "Thay thế văn bản" in html and f'href="/documents/{old}"' in html
    assert "Thay thế do sai thể thức" in html
    html = page(clerk, old)
    assert "Bị thay thế bởi" in html and f'href="/documents/{new}"' in html
    assert "Thay thế do sai thể thức" in html

    [old_copy], [new_copy] = copies(runtime, old), copies(runtime, new)
    html = page(commune, new_copy)
    assert "Thay thế văn bản" in html and f'href="/documents/{old_copy}"' in html
    assert "Thay thế do sai thể thức" in html
    html = page(commune, old_copy)
    assert "Bị thay thế bởi" in html and f'href="/documents/{new_copy}"' in html

    third = signed_document(clerk, runtime)
    assert f'<option value="{old}">' not in page(clerk, third)  # replaced already
    twice = post(clerk, f"/documents/{third}/send", {"to": [COMMUNE], "replaces": [old],
                                                     "replace_reason": "Lần nữa"})
    twice = shown(clerk, twice)
    assert f"{old}: đã bị văn bản khác thay thế" in flashes(twice.data.decode())[0]


def test_an_update_from_the_web_reaches_the_commune_once(people, runtime):
    clerk, commune = people["vanthu"], people["vanthu-xa"]
    doc_id = sent_document(clerk, runtime)
    before = state(runtime)
    shown(clerk, post(clerk, f"/documents/{doc_id}/update", {"update_reason": ""}))
    stranger = post(clerk, f"/documents/{doc_id}/update",
                    {"update_reason": "Sửa nơi nhận", "update_to": [SO_NOI_VU]})
    stranger = shown(clerk, stranger)
    assert "Văn bản chưa gửi cho: Sở Nội vụ tỉnh Quảng Ngãi" in flashes(stranger.data.decode())[0]
    assert state(runtime) == before

    assert post(clerk, f"/documents/{doc_id}/update",
                {"update_reason": "Sửa nơi nhận", "update_to": [COMMUNE]}).status_code == 303
    assert "Đã gửi bản cập nhật đến: UBND xã Tịnh Ấn." in page(clerk, doc_id)
    assert post(clerk, f"/documents/{doc_id}/update", {"update_reason": "Sửa nơi nhận"}).status_code == 303
    assert "Không có gì thay đổi nên không gửi lại cho: UBND xã Tịnh Ấn." in page(clerk, doc_id)
    first, update = copies(runtime, doc_id)
    html = page(commune, update)
    assert "Là bản cập nhật của" in html and f'href="/documents/{first}"' in html
    assert "Sửa nơi nhận" in html
    html = page(commune, first)
    assert "Được cập nhật bởi" in html and f'href="/documents/{update}"' in html


def test_people_without_the_right_see_no_buttons_and_forged_posts_change_nothing(people, runtime):
    clerk, signer = people["vanthu"], people["viet"]
    commune, commune_signer = people["vanthu-xa"], people["lanhdao-xa"]
    doc_id = sent_document(clerk, runtime)
    [copy] = copies(runtime, doc_id)
    html = page(signer, doc_id)
    for action in ("revoke", "takeback", "update"):
        assert not form_of(html, f"/documents/{doc_id}/{action}"), action
    assert WARNING not in html
    before = state(runtime)
    forged = {"revoke": {"revoke_reason": "x", "confirm": "1"}, "takeback": {"takeback_reason": "x"},
              "update": {"update_reason": "x"}}
    for action, data in forged.items():
        assert post(signer, f"/documents/{doc_id}/{action}", data).status_code == 403, action
        assert post(commune, f"/documents/{doc_id}/{action}", data).status_code == 404, action
    assert state(runtime) == before

    assert post(clerk, f"/documents/{doc_id}/takeback", {"takeback_reason": "Cần sửa"}).status_code == 303
    before = state(runtime)
    html = page(commune_signer, copy)
    assert "Cần sửa" in html and 'name="code" value="16"' not in html
    for data in ({"code": "15", "confirm": "1"}, {"code": "16", "description": "Không"}):
        assert post(commune_signer, f"/documents/{copy}/status", data).status_code == 403
        assert post(clerk, f"/documents/{copy}/status", data).status_code == 404
    assert state(runtime) == before
    assert commune.get(f"/documents/{copy}/versions/1/content").status_code == 200
    with runtime.sessions() as session:
        denied = set(session.scalars(select(AuditEntry.action).where(AuditEntry.outcome == "denied")))
    assert {"document.revoke", "document.takeback", "document.update", "document.status"} <= denied


def test_side_flow_forms_without_the_csrf_token_are_refused(people, runtime):
    clerk, commune = people["vanthu"], people["vanthu-xa"]
    doc_id = sent_document(clerk, runtime)
    [copy] = copies(runtime, doc_id)
    assert post(clerk, f"/documents/{doc_id}/takeback", {"takeback_reason": "Cần sửa"}).status_code == 303
    before = state(runtime)
    for browser, url, data in (
            (clerk, f"/documents/{doc_id}/revoke", {"revoke_reason": "x", "confirm": "1"}),
            (clerk, f"/documents/{doc_id}/update", {"update_reason": "x"}),
            (clerk, f"/documents/{doc_id}/send", {"to": [SO_NOI_VU]}),
            (commune, f"/documents/{copy}/status", {"code": "15", "confirm": "1"})):
        refused = browser.post(url, data=data)
        assert refused.status_code == 400 and "CSRF" in refused.data.decode(), url
        forged = browser.post(url, data={**data, "csrf_token": "not-the-token"})
        assert forged.status_code == 400, url
    assert state(runtime) == before
    assert "Nơi gửi đề nghị lấy lại văn bản này" in page(commune, copy)
