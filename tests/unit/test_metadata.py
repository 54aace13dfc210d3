"""Metadata checking: every bad field is reported at once; types, dates and text normalised."""

import unicodedata

import pytest

from docsvc.errors import InvalidMetadataError
from docsvc.metadata import fold, parse_metadata, resolve_type
from tests.support.data import NOTICE_METADATA


def test_valid_notice_is_parsed_and_typed():
    meta = parse_metadata(dict(NOTICE_METADATA))
    assert meta.type_name == "Thông báo" and meta.type_abbr == "TB"
    assert meta.issued_date.isoformat() == "2018-06-19"
    assert meta.signer_competence == "KT."
    assert meta.recipients == [{"organ_id": "000.00.53.H48", "organ_name": "Sở Nội vụ"}]
    assert meta.secrecy == "none" and meta.priority == 1


@pytest.mark.parametrize(
    ("given", "name", "abbr"),
    [("TB", "Thông báo", "TB"), ("thong bao", "Thông báo", "TB"), ("HD", "Hướng dẫn", "HD"),
     ("HĐ", "Hợp đồng", "HĐ"), ("Công văn", "Công văn", None), ("qd", "Quyết định", "QĐ")],
)
def test_type_by_name_or_abbreviation(given, name, abbr):
    assert resolve_type(given) == (name, abbr)


def test_every_bad_field_is_listed_at_once():
    raw = {"direction": "sideways", "organ_id": "H48", "type_name": "Sắc lệnh",
           "priority": 9, "issued_date": "19/06/2018", "secrecy": "top", "colour": "red",
           "recipients": [{"organ_id": "000.00.53.H48"}]}
    with pytest.raises(InvalidMetadataError) as info:
        parse_metadata(raw)
    fields = {p["field"]: p["code"] for p in info.value.details["fields"]}
    assert fields == {
        "direction": "choice", "organ_id": "format", "type_name": "unknown_type",
        "priority": "range", "issued_date": "format", "secrecy": "choice", "colour": "unknown",
        "organ_name": "required", "subject": "required", "recipients[0].organ_name": "required",
    }


def test_text_is_stored_nfc():
    decomposed = unicodedata.normalize("NFD", "Về việc cải cách hành chính")
    meta = parse_metadata({**NOTICE_METADATA, "subject": decomposed})
    assert meta.subject == unicodedata.normalize("NFC", decomposed)
    assert meta.subject != decomposed


def test_length_limits_follow_phu_luc_vi():
    with pytest.raises(InvalidMetadataError) as info:
        parse_metadata({**NOTICE_METADATA, "subject": "x" * 501, "code_number": "12a"})
    codes = {p["field"]: p["code"] for p in info.value.details["fields"]}
    assert codes == {"subject": "too_long", "code_number": "format"}


def test_arrival_fields_only_for_incoming():
    with pytest.raises(InvalidMetadataError):
        parse_metadata({**NOTICE_METADATA, "arrival_number": 6079})
    meta = parse_metadata({**NOTICE_METADATA, "direction": "incoming", "arrival_number": 6079,
                           "arrival_date": "2018-06-20"})
    assert meta.arrival_number == 6079


def test_non_standard_organ_id_needs_the_allow_list():
    raw = {**NOTICE_METADATA, "organ_id": "vxp.saas.03"}
    with pytest.raises(InvalidMetadataError):
        parse_metadata(raw)
    assert parse_metadata(raw, allowed_organ_ids=frozenset({"vxp.saas.03"})).organ_id == "vxp.saas.03"


@pytest.mark.parametrize(
    ("text", "folded"),
    [("Cải cách hành chính", "cai cach hanh chinh"), ("ĐÀ NẴNG", "da nang"),
     ("  Quảng   Ngãi ", "quang ngai")],
)
def test_fold_removes_diacritics_and_case(text, folded):
    assert fold(text) == folded


@pytest.mark.parametrize("typed, stored, prefix", [
    ("KT.", "KT.", "KT."),
    ("tl. chủ tịch", "TL. chủ tịch", "TL."),
    ("TL. CHỦ TỊCH", "TL. CHỦ TỊCH", "TL."),
    ("TL. CHỦ TỊCH / KT. CHÁNH VĂN PHÒNG", "TL. CHỦ TỊCH\nKT. CHÁNH VĂN PHÒNG", "TL."),
    ("TL. CHỦ TỊCH\r\n  KT.   CHÁNH VĂN PHÒNG", "TL. CHỦ TỊCH\nKT. CHÁNH VĂN PHÒNG", "TL."),
    ("TM. ỦY BAN NHÂN DÂN", "TM. ỦY BAN NHÂN DÂN", "TM."),
    ("TL BO TRUONG", "TL. BO TRUONG", "TL."),
    (unicodedata.normalize("NFD", "TUQ. GIÁM ĐỐC"), "TUQ. GIÁM ĐỐC", "TUQ."),
])
def test_competence_is_kept_as_printed_with_its_prefix_derived(typed, stored, prefix):
    from docsvc.metadata import competence_prefix

    meta = parse_metadata({**NOTICE_METADATA, "signer_competence": typed})
    assert meta.signer_competence == stored
    assert unicodedata.is_normalized("NFC", meta.signer_competence)
    assert competence_prefix(meta.signer_competence) == prefix


@pytest.mark.parametrize("typed", ["CHỦ TỊCH", "TL. CHỦ TỊCH / PHÓ CHÁNH VĂN PHÒNG", "TLX. A",
                                   "TL. " + "A" * 250])
def test_competence_lines_must_start_with_an_authority(typed):
    with pytest.raises(InvalidMetadataError) as caught:
        parse_metadata({**NOTICE_METADATA, "signer_competence": typed})
    assert [f["field"] for f in caught.value.details["fields"]] == ["signer_competence"]
