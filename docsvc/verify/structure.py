"""Byte-level checks pyHanko does not make: the file tail after the last %%EOF and the
ByteRange layout (signature wrapping, USF), on the raw bytes.
"""

from __future__ import annotations

import re
import string
from collections.abc import Sequence

from docsvc.verify.report import Note, Severity

_EOF = b"%%EOF"
_HEX = frozenset(string.hexdigits.encode("ascii"))
_WHITESPACE = b" \t\n\r\x0b\x0c"  # what bytes.rstrip() strips
_WINDOW = 64 * 1024
_STARTXREF_EOF = re.compile(rb"startxref\s+(\d+)\s+%%EOF[\r\n]*\Z")


def revision_ends(data: bytes) -> list[int]:
    """Return the offsets just after each ``%%EOF`` marker and its end-of-line."""
    ends = []
    for m in re.finditer(re.escape(_EOF), data):
        end = m.end()
        if data[end : end + 2] == b"\r\n":
            end += 2
        elif data[end : end + 1] in (b"\r", b"\n"):
            end += 1
        ends.append(end)
    return ends


def check_tail(data: bytes) -> Note | None:
    """Return an error note unless the file ends with ``startxref N %%EOF`` and an end-of-line."""
    last = data.rfind(_EOF)
    if last < 0:
        return Note(
            "NO_EOF_MARKER",
            Severity.ERROR,
            "Tệp không kết thúc bằng dấu %%EOF: không phải tệp PDF hoàn chỉnh.",
            "The file has no %%EOF marker: not a complete PDF.",
        )
    tail = data[last + len(_EOF) :]
    if tail.strip(b"\r\n"):
        return Note(
            "DATA_AFTER_EOF",
            Severity.ERROR,
            f"Có {len(tail)} byte nằm sau dấu %%EOF cuối cùng, ngoài mọi phiên bản hợp lệ "
            "(dấu hiệu tấn công lưu gia tăng): không chữ ký nào bảo đảm nội dung này.",
            f"{len(tail)} bytes follow the last %%EOF outside any valid revision (an "
            "incremental saving attack pattern): no signature vouches for them.",
        )
    if not _STARTXREF_EOF.search(data[-4096:] if len(data) > 4096 else data):
        return Note(
            "NO_STARTXREF",
            Severity.ERROR,
            "Phiên bản cuối của tệp không có 'startxref' hợp lệ trước %%EOF.",
            "The last revision has no valid 'startxref' before %%EOF.",
        )
    return None


def last_startxref(data: bytes) -> int | None:
    """Return the offset written after the last ``startxref``, if any."""
    m = _STARTXREF_EOF.search(data[-4096:] if len(data) > 4096 else data)
    return int(m.group(1)) if m else None


def check_byte_range(data: bytes, byte_range: object, contents: bytes | None) -> list[Note]:
    """Check a signature's /ByteRange against the raw file; return error notes (empty = sound)."""
    br = _as_ints(byte_range)
    if br is None:
        return [_err("BYTERANGE_MALFORMED", "/ByteRange không phải mảng 4 số nguyên không âm.",
                     "/ByteRange is not an array of 4 non-negative integers.")]
    a, b, c, d = br
    size = len(data)
    if a != 0 or not (0 < b < c) or c + d > size:
        return [_err("BYTERANGE_OUT_OF_FILE",
                     f"/ByteRange {list(br)} không bắt đầu từ đầu tệp hoặc vượt quá kích thước "
                     f"tệp ({size} byte).",
                     f"/ByteRange {list(br)} does not start at 0 or runs past the file size "
                     f"({size} bytes).")]
    notes: list[Note] = []
    gap = data[b:c]
    if not (len(gap) >= 2 and gap[:1] == b"<" and gap[-1:] == b">"
            and all(ch in _HEX for ch in gap[1:-1])):
        notes.append(_err("BYTERANGE_GAP_NOT_CONTENTS",
                          "Khoảng trống giữa hai vùng được ký không phải đúng chuỗi /Contents "
                          "(dấu hiệu tấn công bọc chữ ký).",
                          "The gap between the signed ranges is not exactly the /Contents string "
                          "(signature wrapping pattern)."))
    elif not _ends_with(data, b, b"/Contents", _WHITESPACE):
        notes.append(_err("BYTERANGE_GAP_NOT_CONTENTS",
                          "Khoảng trống giữa hai vùng được ký không nằm ở giá trị /Contents.",
                          "The gap between the signed ranges is not the /Contents value."))
    elif contents is not None and bytes.fromhex(gap[1:-1].decode("ascii")).rstrip(b"\0") != (
        contents.rstrip(b"\0")
    ):
        notes.append(_err("CONTENTS_MISMATCH",
                          "Giá trị /Contents đọc được khác với chuỗi nằm trong khoảng trống "
                          "của /ByteRange.",
                          "The /Contents value read differs from the string in the "
                          "/ByteRange gap."))
    if not _byte_range_is_signed(data, br):
        notes.append(_err("BYTERANGE_NOT_SIGNED",
                          "Chính giá trị /ByteRange không nằm trong vùng được ký (có thể bị "
                          "thay sau khi ký).",
                          "The /ByteRange value itself is not inside a signed range (it may "
                          "have been replaced after signing)."))
    end = c + d
    if not _ends_with(data, end, _EOF, b"\r\n"):
        notes.append(_err("BYTERANGE_NOT_REVISION_END",
                          "Vùng được ký không kết thúc tại cuối một phiên bản (%%EOF) của tệp.",
                          "The signed range does not end at the end of a revision (%%EOF)."))
    return notes


def _ends_with(data: bytes, end: int, token: bytes, strip: bytes) -> bool:
    """Return ``data[:end].rstrip(strip).endswith(token)`` without copying the whole file."""
    start = max(0, end - _WINDOW)
    stripped = data[start:end].rstrip(strip)
    if stripped or start == 0:
        stop = start + len(stripped)
    else:  # a run of whitespace longer than the window: the slow way, rarely
        stop = len(data[:end].rstrip(strip))
    return stop >= len(token) and data[stop - len(token):stop] == token


def _byte_range_is_signed(data: bytes, br: Sequence[int]) -> bool:
    a, b, c, d = br
    pattern = re.compile(
        rb"/ByteRange\s*\[\s*0*%d\s+0*%d\s+0*%d\s+0*%d\s*\]" % (a, b, c, d)
    )
    # The signature dictionary sits next to its /Contents: look just before and after the
    # gap first, and scan the whole signed ranges only when it is not there.
    near = ((max(a, b - _WINDOW), b), (c, min(c + d, c + _WINDOW)))
    for start, stop in (*near, (a, a + b), (c, c + d)):
        if pattern.search(data, start, stop):
            return True
    return False


def _as_ints(value: object) -> tuple[int, int, int, int] | None:
    if not isinstance(value, list | tuple) or len(value) != 4:
        return None
    out = []
    for item in value:
        if isinstance(item, bool) or not isinstance(item, int) or item < 0:
            return None
        out.append(int(item))
    return (out[0], out[1], out[2], out[3])


def _err(code: str, vi: str, en: str) -> Note:
    return Note(code, Severity.ERROR, vi, en)
