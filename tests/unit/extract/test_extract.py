"""Extraction of the Phụ lục VI fields from a notice's text: the README's notice, the labelled
corpus, and PDFs without text or that cannot be read."""

from __future__ import annotations

import datetime as dt

import pytest

from docsvc.extract import extract_metadata, suggested_metadata
from docsvc.extract.rules import match_directory, reference_fields
from docsvc.samples import notice_pdf as ascii_notice
from docsvc.signing.sample import notice_pdf
from tests.notices import DIRECTORY, FIELDS, corpus, expected, extracted_values, render_pdf

PROVINCE = [("000.00.00.H48", "UBND tỉnh Quảng Ngãi")]


def test_the_readme_notice_gives_every_field_its_text_holds():
    found = extract_metadata(notice_pdf(), directory=PROVINCE)
    values = {k: v.value for k, v in found.fields.items()}
    assert values["code_number"] == "185" and values["code_notation"] == "TB-UBND"
    assert values["type_name"] == "Thông báo"
    assert values["issued_date"] == dt.date(2018, 6, 19) and values["place"] == "Quảng Ngãi"
    assert values["subject"] == "Kết luận của Phó Chủ tịch UBND tỉnh tại cuộc họp về công tác văn thư"
    assert values["organ_name"] == "UBND tỉnh Quảng Ngãi" and values["organ_id"] == "000.00.00.H48"
    assert values["drafting_unit"] == "VĂN PHÒNG"
    assert values["signer_competence_lines"] == ["TL. CHỦ TỊCH", "KT. CHÁNH VĂN PHÒNG"]
    assert values["signer_competence"] == "TL."
    assert values["signer_position"] == "PHÓ CHÁNH VĂN PHÒNG"
    assert values["signer_name"] == "Nguyễn Quốc Việt"
    assert values["recipient_lines"] == ["Các sở, ban, ngành", "UBND các xã, phường"]
    assert values["references"] == ["Nghị định số 30/2020/NĐ-CP ngày 05 tháng 3 năm 2020 của Chính phủ"]
    number = found.fields["code_number"]
    assert number.page == 1 and number.box is not None and 0.9 < number.confidence <= 1
    x1, y1, x2, y2 = number.box
    assert 90 < x1 < x2 < 210 and 740 < y1 < y2 < 760  # where "Số: 185/TB-UBND" is drawn


def test_suggestions_skip_the_fields_the_clerk_gave():
    found = extract_metadata(notice_pdf(), directory=PROVINCE)
    suggested = suggested_metadata(found, given={"subject": "Đã nhập", "code_number": ""})
    assert "subject" not in suggested and suggested["code_number"]["value"] == "185"
    assert suggested["issued_date"]["value"] == "2018-06-19"
    assert set(suggested["type_name"]) == {"value", "confidence", "page", "box"}


def test_the_labelled_corpus_is_read_exactly_for_at_least_95_percent_per_field():
    notices = corpus(18)  # every type three times; the benchmark reads 36+
    right = dict.fromkeys(FIELDS, 0)
    for notice in notices:
        got = extracted_values(extract_metadata(render_pdf(notice), directory=DIRECTORY).fields)
        want = expected(notice, scan=False)
        for name in FIELDS:
            if (want.get(name) or None) == (got.get(name) or None):
                right[name] += 1
    low = {name: n / len(notices) for name, n in right.items() if n / len(notices) < 0.95}
    assert not low


def test_the_arrival_stamp_is_read_from_a_received_copy():
    notice = corpus(1)[0]
    fields = extract_metadata(render_pdf(notice, stamp=True)).fields
    assert fields["arrival_number"].value == notice.arrival[0]
    assert fields["arrival_date"].value == notice.arrival[1]
    assert fields["code_number"].value == notice.truth["code_number"]  # the stamp's Số is not it


def test_a_pdf_without_text_gives_no_fields_and_a_reason():
    from tests.notices import render_scan

    found = extract_metadata(render_scan(render_pdf(corpus(1)[0]), dpi=50))
    assert found.fields == {} and found.has_text is False and found.reason == "no_text"


def test_an_unreadable_pdf_gives_a_reason_not_an_error():
    found = extract_metadata(b"%PDF-1.7 not really")
    assert found.fields == {} and found.reason == "unreadable_pdf"


def test_ascii_only_text_is_read_without_diacritics():
    found = extract_metadata(ascii_notice(["UBND TINH QUANG NGAI", "THONG BAO", "So: 185/TB-UBND"]))
    assert found.fields["code_number"].value == "185"


@pytest.mark.parametrize(("text", "refs"), [
    ("Căn cứ Quyết định số 415/QĐ-UBND ngày 09/6/2017 của UBND tỉnh Quảng Ngãi; xét đề nghị",
     ["Quyết định số 415/QĐ-UBND ngày 09/6/2017 của UBND tỉnh Quảng Ngãi"]),
    ("theo Nghị định số 43/2011/NĐ-CP, Thông tư số 01/2019/TT-BNV ngày 24 tháng 01 năm 2019",
     ["Nghị định số 43/2011/NĐ-CP", "Thông tư số 01/2019/TT-BNV ngày 24 tháng 01 năm 2019"]),
    ("Thông báo số 185/TB-UBND (chính văn bản này)", []),
])
def test_references_to_other_documents(text, refs):
    found = reference_fields(text, own="185/TB-UBND")
    assert (found.value if found else []) == refs


@pytest.mark.parametrize(("name", "organ_id"), [
    ("UBND xã Tịnh Ấn", "000.01.01.H48"),
    ("Ủy ban nhân dân xã Tịnh Ấn", "000.01.01.H48"),
    ("Sở Nội vụ tỉnh Quảng Ngãi;", "000.00.02.H48"),
    ("Các sở, ban, ngành", None),
])
def test_recipients_are_matched_to_the_directory(name, organ_id):
    hit = match_directory(name, DIRECTORY)
    assert (hit[0] if hit else None) == organ_id


@pytest.mark.parametrize(("printed", "standard"), [
    ("CHỦ TICH", "CHỦ TỊCH"), ("PHÓ CHỦ TICH", "PHÓ CHỦ TỊCH"), ("GIAM ĐỐC", "GIÁM ĐỐC"),
    ("PHÓ CHÁNH VĂN PHÒNG", "PHÓ CHÁNH VĂN PHÒNG"), ("TRƯỞNG KHOA", "TRƯỞNG KHOA"),
    ("Chủ tịch", "Chủ tịch"),
])
def test_positions_read_without_tone_marks_are_written_the_standard_way(printed, standard):
    from docsvc.extract.rules import standard_position

    assert standard_position(printed) == standard
