from datetime import date, datetime

import pytest

from docsvc.exchange import is_valid_organ_id, make_document_id, split_document_id


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("000.00.00.H48", True),
        ("000.00.53.H48", True),
        ("002.00.20.H13", True),
        ("000.00.00.G22", True),
        ("000.00.00.h48", False),  # level-1 letter is a capital
        ("000.00.00.H4", False),
        ("00.00.00.H48", False),
        ("000.00.00.H48\n", False),  # fullmatch: no trailing newline
        (" 000.00.00.H48", False),
        ("000.00.0٣.H48", False),  # Arabic-Indic digit: \d would have accepted it
        ("28.22.H17", False),
        ("01.02.G22", False),
        ("vxp.saas.03", False),
        ("H37.DN.001", False),
        ("", False),
    ],
)
def test_organ_id_format(value, expected):
    assert is_valid_organ_id(value) is expected


def test_organ_id_allow_list_admits_nonstandard_ids_only():
    allow = frozenset({"vxp.saas.03", "H37.DN.001"})
    assert is_valid_organ_id("vxp.saas.03", allow)
    assert is_valid_organ_id("H37.DN.001", allow)
    assert not is_valid_organ_id("vxp.saas.04", allow)
    assert not is_valid_organ_id(None)  # type: ignore[arg-type]


def test_make_document_id_matches_domain_example():
    assert (
        make_document_id("000.00.00.H48", date(2018, 6, 19), "185", "TB-UBND")
        == "000.00.00.H48,2018/06/19,185/TB-UBND"
    )
    assert make_document_id("000.00.00.H48", datetime(2018, 1, 5, 9), 5, "UBND-VP") == (
        "000.00.00.H48,2018/01/05,5/UBND-VP"
    )


def test_make_document_id_normalises_to_nfc():
    result = make_document_id("000.00.00.G22", date(2015, 9, 30), "7816", "TTe\u0301")
    assert result.endswith("7816/TT\u00e9")


@pytest.mark.parametrize(
    ("organ_id", "number", "notation"),
    [("", "1", "TB"), ("000.00.00.H48", "", "TB"), ("a,b", "1", "TB"), ("x", "1/2", "TB"),
     ("x", "1", ""), ("x", "1", "TB,UBND")],
)  # fmt: skip
def test_make_document_id_refuses_ambiguous_parts(organ_id, number, notation):
    with pytest.raises(ValueError):
        make_document_id(organ_id, date(2018, 6, 19), number, notation)


def test_split_document_id_roundtrip_and_foreign_ids():
    assert split_document_id("000.00.00.G22,2015/09/30,7816/VPCP-TTĐT") == (
        "000.00.00.G22", date(2015, 9, 30), "7816", "VPCP-TTĐT",
    )  # fmt: skip
    assert split_document_id("9fbfbad2-f1f8-4256-a2eb-50fb1061cddb") is None
    assert split_document_id("000.00.00.G22,2014/02/30,7806/VPCP-TTĐT") is None  # 30 February
