"""Full-text search on SQLite FTS5 and PostgreSQL (unaccent): the same answers on both."""

from __future__ import annotations

import datetime as dt
import io

import pytest

from docsvc.errors import BadRequestError, PermissionDeniedError
from docsvc.metadata import parse_metadata
from docsvc.search import fold_same_length, parse_query, snippet
from docsvc.security import Actor
from docsvc.services import documents as docs
from docsvc.services import search as svc
from docsvc.signing.sample import notice_pdf
from tests.notices import corpus, render_pdf

CLERK = Actor(kind="user", name="vanthu", organ_id="000.00.00.H48", roles=frozenset({"clerk"}))
OTHER = Actor(kind="user", name="x", organ_id="000.00.53.H48", roles=frozenset({"clerk"}))

META_185 = {"direction": "outgoing", "organ_id": "000.00.00.H48", "organ_name": "UBND tỉnh Quảng Ngãi",
            "type_name": "Thông báo", "code_number": "185", "code_notation": "TB-UBND",
            "issued_date": "2018-06-19",
            "subject": "Kết luận của Phó Chủ tịch UBND tỉnh tại cuộc họp về công tác văn thư"}


def _upload(session, blobs, pdf, metadata, actor=CLERK):
    doc, _ = docs.upload_document(session, blobs, stream=io.BytesIO(pdf), filename="x.pdf",
                                  metadata=parse_metadata(metadata), owner_organ_id=actor.organ_id,
                                  actor=actor)
    return doc


@pytest.fixture
def filled(session, blobs):
    notice = _upload(session, blobs, notice_pdf(), META_185)
    others = []
    for n in corpus(4)[1:]:  # three other notices
        t = n.truth
        meta = {"direction": "incoming", "organ_id": "000.00.02.H48", "organ_name": t["organ_name"][:200],
                "type_name": t["type_name"], "code_number": t["code_number"],
                "code_notation": t["code_notation"], "issued_date": t["issued_date"],
                "subject": t["subject"]}
        others.append(_upload(session, blobs, render_pdf(n), meta))
    return notice, others


def test_the_notice_is_found_by_number_notation_and_words_without_diacritics(session, filled):
    notice, _ = filled
    for q in ["185", "185/TB-UBND", "cong tac van thu", "KẾT LUẬN", "đóng dấu", "dong dau ky so",
              '"van thu co quan"']:
        hits = svc.search_documents(session, svc.SearchQuery(q=q), CLERK)
        assert notice.id in [h.document.id for h in hits], q


def test_words_of_the_body_not_in_the_metadata_are_found_with_a_highlighted_snippet(session, filled):
    notice, _ = filled
    hits = svc.search_documents(session, svc.SearchQuery(q='"nhu sau"'), CLERK)
    assert [h.document.id for h in hits] == [notice.id] and hits[0].version_number == 1
    assert "<mark>như</mark> <mark>sau</mark>" in hits[0].snippet


def test_cai_cach_hanh_chinh_finds_the_notices_that_say_it(session, filled):
    notice, others = filled
    hits = svc.search_documents(session, svc.SearchQuery(q="cai cach hanh chinh"), CLERK)
    assert {o.id for o in others} <= {h.document.id for h in hits}
    assert notice.id not in {h.document.id for h in hits}  # the 185 notice does not say it
    assert "<mark>cải</mark> <mark>cách</mark> <mark>hành</mark> <mark>chính</mark>" in hits[0].snippet


def test_ranking_puts_the_better_match_first(session, filled):
    notice, _ = filled
    hits = svc.search_documents(session, svc.SearchQuery(q="185 TB-UBND van thu"), CLERK)
    assert [h.document.id for h in hits] == [notice.id]
    many = svc.search_documents(session, svc.SearchQuery(q="van ban"), CLERK)
    assert len(many) >= 2 and many[0].rank >= many[-1].rank


def test_filters_combine_with_the_text(session, filled):
    notice, others = filled
    outgoing = svc.search_documents(session, svc.SearchQuery(q="van thu", direction="outgoing"), CLERK)
    assert [h.document.id for h in outgoing] == [notice.id]
    by_number = svc.search_documents(session, svc.SearchQuery(q="van", code_number="185",
                                                              code_notation="tb-ubnd"), CLERK)
    assert [h.document.id for h in by_number] == [notice.id]
    by_date = svc.search_documents(session, svc.SearchQuery(
        q="van", issued_from=dt.date(2018, 6, 19), issued_to=dt.date(2018, 6, 19), type_name="TB"), CLERK)
    assert [h.document.id for h in by_date] == [notice.id]
    body = svc.search_documents(session, svc.SearchQuery(q="van", organ_id="000.00.02.H48"), CLERK)
    assert body and notice.id not in [h.document.id for h in body]


def test_filters_alone_list_newest_first(session, filled):
    notice, _ = filled
    hits = svc.search_documents(session, svc.SearchQuery(code_notation="TB-UBND"), CLERK)
    assert [h.document.id for h in hits] == [notice.id] and hits[0].snippet is None


def test_other_agencies_documents_are_not_found(session, filled):
    assert svc.search_documents(session, svc.SearchQuery(q="185"), OTHER) == []
    system = Actor(kind="system", name="s", organ_id="000.01.01.H48", roles=frozenset())
    with pytest.raises(PermissionDeniedError):
        svc.search_documents(session, svc.SearchQuery(q="185"), system)


def test_a_query_of_punctuation_only_is_refused(session, filled):
    with pytest.raises(BadRequestError):
        svc.search_documents(session, svc.SearchQuery(q="/-'\""), CLERK)


def test_registration_reindexes_the_metadata(session, filled):
    from zoneinfo import ZoneInfo

    _, others = filled
    doc, _ = docs.register_document(session, document_id=others[0].id, actor=CLERK,
                                    zone=ZoneInfo("Asia/Ho_Chi_Minh"))
    hits = svc.search_documents(session, svc.SearchQuery(q=f"so den {doc.arrival_number}"), CLERK)
    assert doc.id in [h.document.id for h in hits]


def test_hostile_query_text_is_only_words():
    parsed = parse_query("185/TB-UBND \"hành chính\" ') OR 1=1 -- NEAR(a b) *")
    assert parsed.terms[0] == ("185", "tb", "ubnd") and ("hanh", "chinh") in parsed.terms
    assert all(t.isalnum() for t in parsed.tokens)
    assert "'" not in parsed.fts5().replace('"', "") and ";" not in parsed.tsquery()


def test_folding_keeps_offsets_and_snippets_escape_html():
    text = "Đường <b>Cải cách</b> hành chính"
    assert len(fold_same_length(text)) == len(text)
    assert fold_same_length(text) == "duong <b>cai cach</b> hanh chinh"
    out = snippet(text, parse_query("cai cach"))
    assert out == "Đường &lt;b&gt;<mark>Cải</mark> <mark>cách</mark>&lt;/b&gt; hành chính"
