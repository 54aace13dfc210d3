"""The SDK-speaking harness reproduces VXP-PROTOCOL.md §2.2 byte for byte, so the other tests
exercise docsvc with what the real client sends."""

from __future__ import annotations

import datetime as dt

from tests.vxp_client import (
    JavaHashMap,
    java_string_hash,
    parameter_text,
    sdk_timestamp,
    unpadded_hex,
)

CREATED = dt.datetime(2025, 3, 5, 10, 15, 0, 42_000)


def test_timestamp_hash_file_and_values_are_written_like_the_sdk() -> None:
    assert sdk_timestamp(CREATED) == "05032025T101500+0042"
    assert unpadded_hex(bytes([0x0A, 0x0B, 0x00, 0xFF])) == "ab0ff"
    assert java_string_hash("hello") == 99162322 and java_string_hash("") == 0
    assert java_string_hash("Aa") == java_string_hash("BB")  # the classic Java collision
    assert parameter_text("to", ["000.00.00.H48", "000.00.00.H41"]) == '["000.00.00.H48","000.00.00.H41"]'
    assert parameter_text("to", "X") == '"X"'
    assert parameter_text("docId", ["only"]) == "only"
    assert parameter_text("pageSize", 20) == "20" and parameter_text("all", True) == "true"


def test_map_iterates_in_java_hashmap_order_and_keeps_overwritten_places() -> None:
    params = JavaHashMap()
    for name in ("systemid", "timestamp", "Content-Type", "status", "docId"):
        params.put(name, "v")
    assert [k for k, _ in params.items()] == ["systemid", "docId", "timestamp", "Content-Type", "status"]
    params.put("status", "fail")
    assert [k for k, _ in params.items()][-1] == "status"
    for i in range(20):  # past 12 entries the table doubles: still a stable, Java-like order
        params.put(f"p{i}", str(i))
    assert len(params) == 25 and len({k for k, _ in params.items()}) == 25
