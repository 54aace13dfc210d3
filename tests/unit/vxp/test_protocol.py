"""The SDK's wire rules as pure functions: envelope, bodies, hash-file, parameters, item shapes."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from zoneinfo import ZoneInfo

import pytest

from docsvc.errors import BadRequestError, NotFoundError
from docsvc.vxp import Agency, ReceivedItem, SentItem
from docsvc.vxp import protocol as p

ZONE = ZoneInfo("Asia/Ho_Chi_Minh")


def test_success_and_failure_envelopes_always_carry_the_three_fields() -> None:
    assert p.success(DocId="x") == {"status": "OK", "ErrorCode": "0", "ErrorDesc": "Success", "DocId": "x"}
    for op, extra in (("sendEdoc", {"DocId": ""}), ("getReceivedEdocList", {"data": ()}),
                      ("getEdoc", {"data": ""}), ("countReceiveEdoc", {"count": 0}), ("updateStatus", {})):
        reply = p.failure(p.OPERATIONS[op], "404", "Không có")
        assert reply == {"status": "FAIL", "ErrorCode": "404", "ErrorDesc": "Không có", **extra}
    with pytest.raises(ValueError):
        p.failure(None, "0", "no")


def test_replies_are_ascii_json_without_nulls_or_newlines() -> None:
    body = p.encode_reply(p.success(data=[{"name": "UBND tỉnh Quảng Ngãi\nLine", "mail": None}]))
    assert body.isascii() and b"\n" not in body and b"null" not in body
    assert json.loads(body)["data"][0] == {"name": "UBND tỉnh Quảng Ngãi\nLine", "mail": ""}


@pytest.mark.parametrize(("status", "code"), [(400, "400"), (401, "401"), (403, "403"), (404, "404"),
                                              (409, "409"), (413, "413"), (422, "400"), (415, "400"),
                                              (418, "400"), (500, "500"), (503, "500")])
def test_error_codes(status: int, code: str) -> None:
    assert p.error_code_for(status) == code


def test_describe_gives_vietnamese_then_english() -> None:
    assert p.describe(NotFoundError("Không có.", "Not there.")) == "Không có. / Not there."


PACKAGE = b"<edXML>\xe1\xba\xa4n</edXML>\r\n"  # a file that itself ends in CRLF


@pytest.mark.parametrize("hash_of", ["unpadded", "padded", "PADDED"])
def test_extract_package_strips_one_crlf_and_checks_the_hash(hash_of: str) -> None:
    digest = hashlib.sha256(PACKAGE).digest()
    claimed = {"unpadded": p.unpadded_hex(digest), "padded": digest.hex(), "PADDED": digest.hex().upper()}
    package, sha256 = p.extract_package(PACKAGE + b"\r\n", claimed[hash_of])
    assert package == PACKAGE and sha256 == digest.hex()


def test_extract_package_without_the_crlf_and_mismatches() -> None:
    plain = b"<edXML/>"
    digest = hashlib.sha256(plain).digest()
    assert p.extract_package(plain, p.unpadded_hex(digest))[0] == plain
    assert len(p.unpadded_hex(bytes([0, 1, 2, 255]))) == 5
    for claimed in ("", None, p.unpadded_hex(hashlib.sha256(b"other").digest())):
        with pytest.raises(p.HashFileError):
            p.extract_package(plain + b"\r\n", claimed)


def test_bodies_the_sdk_sends_for_ignored_operations() -> None:
    assert p.is_ignorable_body(b"") and p.is_ignorable_body(b"{}") and p.is_ignorable_body(b" {}\r\n")
    assert not p.is_ignorable_body(b'{"x":1}')


def test_agency_body_is_parsed_and_malformed_ones_refused() -> None:
    reg = p.parse_agency_body('{"id":"","pcode":"000.00.00.H48","code":"000.00.54.H48","name":"Xã Tịnh Bắc",'
                              '"mail":null,"mobile":"09"}'.encode())
    assert (reg.code, reg.parent_code, reg.name, reg.mail, reg.mobile) == (
        "000.00.54.H48", "000.00.00.H48", "Xã Tịnh Bắc", "", "09")
    for body in (b'{"id":"",pcode:"x"', b"[]", b'{"code":"x"}', b"\xff"):
        with pytest.raises(BadRequestError):
            p.parse_agency_body(body)


def test_parameters() -> None:
    assert p.parse_message_type(None) == "edoc" and p.parse_message_type("Status") == "status"
    assert p.parse_message_type(" EDOC ") == "edoc"
    with pytest.raises(BadRequestError):
        p.parse_message_type("invoice")
    assert [p.parse_ack_status(s) for s in ("done", "FAIL", "Processing")] == ["done", "fail", "processing"]
    with pytest.raises(BadRequestError):
        p.parse_ack_status("archived")
    assert p.parse_to('["000.00.00.H48","000.00.00.H41","000.00.00.H48"]') == (
        "000.00.00.H48", "000.00.00.H41")
    assert p.parse_to('"000.00.00.H48"') == ("000.00.00.H48",)
    assert p.parse_to("000.00.00.H48, 000.00.00.H41") == ("000.00.00.H48", "000.00.00.H41")
    assert p.parse_to(None) is None and p.parse_to("[]") is None and p.parse_to(" ") is None
    with pytest.raises(BadRequestError):
        p.parse_to('{"a":1}')
    with pytest.raises(BadRequestError):
        p.require(" ", "docId")


def test_item_shapes_are_exactly_what_the_client_reads() -> None:
    at = dt.datetime(2025, 3, 5, 3, 15, tzinfo=dt.UTC)
    [received] = p.received_items([ReceivedItem("d1", "A", "B", "edoc", created_at=at)], ZONE)
    assert received == {"docId": "d1", "from": "A", "to": "B", "serviceType": "eDoc", "messageType": "edoc",
                        "status": "initial", "status_desc": "", "created_time": "2025-03-05 10:15:00",
                        "updated_time": ""}
    [sent] = p.sent_items([SentItem("s", "r", "A", "B", "status", notation="42/BC-UBND")], ZONE)
    assert set(sent) == {"senderDocId", "receiverDocId", "fromCode", "toCode", "serviceType", "messageType",
                         "title", "notation", "sentTime", "receivedTime", "sendStatus", "sendStatusDesc",
                         "receiveStatus", "receiveStatusDesc"}
    assert all(isinstance(v, str) for v in sent.values())
    agency = Agency("1", "000.00.00.H48", "UBND", pid="", code102="H48", version=3, modified_at=at)
    assert set(p.agency_items([agency], "agencies", ZONE)[0]) == {
        "id", "pid", "code", "name", "mail", "oldCode"}
    assert set(p.agency_items([agency], "qd20", ZONE)[0]) == {"id", "code", "name", "mail", "code102"}
    sync = p.agency_items([agency], "sync", ZONE)[0]
    assert (sync["version"], sync["deleted"], sync["isAgency"], sync["modifyDate"]) == (
        3, False, True, "2025-03-05 10:15:00")
    assert p.package_base64(b"<edXML/>") == "PGVkWE1MLz4="
