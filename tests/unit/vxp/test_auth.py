"""Verification of SDK requests (VXP-PROTOCOL.md §2.3) and the secrets kept encrypted at rest."""

from __future__ import annotations

import base64
import datetime as dt
import logging

import pytest

from docsvc.errors import ConfigError
from docsvc.vxp import VxpSystem, decrypt_secret, encrypt_secret, generate_secret, verify_request
from docsvc.vxp.auth import SignedParams, VxpAuthError, parse_sdk_timestamp
from tests.vxp_client import JavaHashMap, encode_header_value, hmac_hex, sign_headers

SYSTEM = VxpSystem("vxp.test.01", "000.00.53.H48", "example-secret")
CREATED = "05032025T101500+0042"


def lookup(system_id: str) -> VxpSystem | None:
    return {SYSTEM.system_id: SYSTEM}.get(system_id)


def wire(headers: list[tuple[str, str]], header_bytes: str = "utf-8") -> dict[str, str]:
    """What a WSGI server hands the app: header bytes decoded as latin-1."""
    return {name: encode_header_value(value, header_bytes).decode("latin-1") for name, value in headers}


def sdk_headers(params: dict[str, str], secret: str = "example-secret",
                system_id: str = "vxp.test.01") -> list[tuple[str, str]]:
    entries = JavaHashMap()
    entries.put("systemid", system_id)
    entries.put("timestamp", CREATED)
    entries.put("Content-Type", "application/json")
    for name, value in params.items():
        entries.put(name, value)
    return sign_headers(entries.items(), secret)


def replace_header(headers: list[tuple[str, str]], name: str, value: str) -> list[tuple[str, str]]:
    return [(n, value if n == name else v) for n, v in headers]


def test_the_worked_example_verifies_and_gives_the_signed_parameters() -> None:
    headers = sdk_headers({"status": "done", "docId": "6f1c2b9e-3d4a-4e5b-8c7d-0a1b2c3d4e5f"})
    assert dict(headers)["XroadVnpt-hash-header"].startswith("84e00419")
    verified = verify_request(wire(headers), lookup, now=dt.datetime(2025, 3, 5, 10, 20))
    assert verified.system == SYSTEM
    assert verified.params.names() == ("systemid", "docId", "timestamp", "Content-Type", "status")
    assert verified.params.get("docid") == "6f1c2b9e-3d4a-4e5b-8c7d-0a1b2c3d4e5f"
    assert verified.timestamp == dt.datetime(2025, 3, 5, 10, 15, 0, 42_000)


def test_hash_header_is_compared_without_regard_to_case() -> None:
    headers = sdk_headers({"status": "done"})
    upper = replace_header(headers, "XroadVnpt-hash-header", dict(headers)["XroadVnpt-hash-header"].upper())
    assert verify_request(wire(upper), lookup).system == SYSTEM


@pytest.mark.parametrize("case", [
    "wrong secret", "unknown system", "tampered sign-header", "key order", "separate header",
    "missing signature", "no sign-header", "not json", "duplicate member", "member without prefix",
])
def test_rejections(case: str) -> None:
    headers = sdk_headers({"status": "done", "docId": "A"})
    sign = dict(headers)["XroadVnpt-sign-header"]
    if case == "wrong secret":
        headers = sdk_headers({"status": "done", "docId": "A"}, secret="example-secreT")
    elif case == "unknown system":
        headers = sdk_headers({"status": "done"}, system_id="vxp.test.02")
    elif case == "tampered sign-header":
        headers = replace_header(headers, "XroadVnpt-sign-header", sign.replace('"A"', '"B"'))
    elif case == "key order":
        keys = dict(headers)["XroadVnpt-sign-header-key"].split(";")
        headers = replace_header(headers, "XroadVnpt-sign-header-key", ";".join(reversed(keys)))
    elif case == "separate header":
        headers = replace_header(headers, "XroadVnpt-docId", "B")
    elif case == "missing signature":
        headers = [h for h in headers if h[0] != "XroadVnpt-hash-header"]
    elif case == "no sign-header":
        headers = [h for h in headers if h[0] != "XroadVnpt-sign-header"]
    else:
        forged = {
            "not json": "{not json",
            "duplicate member": sign[:-1] + ',"XroadVnpt-docId":"B"}',
            "member without prefix": sign[:-1] + ',"docId":"B"}',
        }[case]
        headers = replace_header(headers, "XroadVnpt-sign-header", forged)
        headers = replace_header(headers, "XroadVnpt-hash-header", hmac_hex("example-secret", forged))
    with pytest.raises(VxpAuthError) as caught:
        verify_request(wire(headers), lookup)
    assert caught.value.status == 401
    assert caught.value.text_en == VxpAuthError.message_en  # one public text, reason only logged


def test_non_ascii_values_verify_over_the_raw_utf8_bytes() -> None:
    headers = sdk_headers({"description": "Văn thư xã Tịnh Ấn", "note": 'a "quoted" \\ value'})
    verified = verify_request(wire(headers), lookup)
    assert verified.params.get("description") == "Văn thư xã Tịnh Ấn"
    assert verified.params.get("note") == 'a "quoted" \\ value'


def test_truncated_non_ascii_fails_with_a_hint() -> None:
    headers = sdk_headers({"description": "Hà Nội"})
    with pytest.raises(VxpAuthError) as caught:
        verify_request(wire(headers, header_bytes="truncate"), lookup)
    assert "0x7F" in caught.value.text_en and "0x7F" in caught.value.text_vi
    assert "XroadVnpt-description" in caught.value.details["non_ascii_headers"]


def test_a_non_ascii_secret_is_used_as_utf8_text() -> None:
    system = VxpSystem("vxp.vn", "000.00.53.H48", "bí-mật/Ấn==")
    headers = sdk_headers({}, secret=system.secret, system_id="vxp.vn")
    assert verify_request(wire(headers), lambda sid: system).system is system


def test_piled_up_parameters_are_kept_but_only_asked_names_are_read() -> None:
    headers = sdk_headers({"filePath": "xml", "status": "done", "hash-file": "ab0ff", "from": "x",
                           "to": '["a","b"]', "docid": "OLD", "docId": "NEW"})
    params = verify_request(wire(headers), lookup).params
    assert params.get("docId") == "NEW"      # the exact spelling wins over a piled-up docid
    assert params.get("messagetype") is None
    assert {"filePath", "hash-file", "from", "to"} <= set(params.names())


def test_case_blind_lookup_prefers_the_exact_spelling_and_logs_disagreement(caplog) -> None:
    params = SignedParams((("docid", "A"), ("docId", "B")))
    with caplog.at_level(logging.WARNING, logger="docsvc.vxp.auth"):
        assert params.get("docId") == "B"
        assert params.get("docid") == "A"
    assert "disagree" in caplog.text
    assert SignedParams((("DocID", "C"),)).get("docId") == "C"


def test_stale_timestamps_are_accepted_and_the_skew_logged(caplog) -> None:
    headers = sdk_headers({"status": "done"})
    with caplog.at_level(logging.INFO, logger="docsvc.vxp.auth"):
        verified = verify_request(wire(headers), lookup, now=dt.datetime(2025, 3, 20, 9, 0))
    assert verified.system == SYSTEM and verified.notes
    assert "05032025T101500+0042" in caplog.text and "example-secret" not in caplog.text


def test_sdk_timestamp_parsing() -> None:
    assert parse_sdk_timestamp("31122024T235959+0999") == dt.datetime(2024, 12, 31, 23, 59, 59, 999_000)
    for bad in ("2025-03-05T10:15:00+07:00", "05032025T1015+0042", "05032025T101500"):
        with pytest.raises(ValueError):
            parse_sdk_timestamp(bad)


KEY = "k" * 40


def test_secrets_are_sealed_per_system_and_open_with_the_right_key_only() -> None:
    secret = generate_secret()
    assert len(secret) >= 43 and generate_secret() != secret
    sealed = encrypt_secret(secret, KEY, system_id="vxp.test.01")
    assert secret not in sealed and sealed != encrypt_secret(secret, KEY, system_id="vxp.test.01")
    assert decrypt_secret(sealed, KEY, system_id="vxp.test.01") == secret
    assert decrypt_secret(sealed, ["n" * 40, KEY], system_id="vxp.test.01") == secret  # rotation
    for key, system_id in (("x" * 40, "vxp.test.01"), (KEY, "vxp.test.02")):
        with pytest.raises(ConfigError):
            decrypt_secret(sealed, key, system_id=system_id)
    blob = bytearray(base64.urlsafe_b64decode(sealed.removeprefix("f1:")))
    blob[40] ^= 1
    tampered = "f1:" + base64.urlsafe_b64encode(bytes(blob)).decode()
    with pytest.raises(ConfigError):
        decrypt_secret(tampered, KEY, system_id="vxp.test.01")
    with pytest.raises(ConfigError):
        encrypt_secret(secret, "short", system_id="vxp.test.01")
    with pytest.raises(ConfigError):
        decrypt_secret("plain-text", KEY, system_id="vxp.test.01")
