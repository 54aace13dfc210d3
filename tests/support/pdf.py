"""PDF makers of the tests: a small classic-xref PDF built by hand (``make_pdf``), incremental
updates appended in proper or broken ways (``append_update``). The Vietnamese sample notice
is ``docsvc.samples.notice_pdf``.
"""

from __future__ import annotations

import re


def make_pdf(text: str = "Van ban thu nghiem", *, extra_objects: dict[int, bytes] | None = None,
             with_text_field: bool = False, page_size: tuple[int, int] = (595, 842),
             padding: int = 0) -> bytes:
    """Build a small classic-xref PDF by hand (objects 1..n) with one page."""
    w, h = page_size
    content = f"BT /F1 24 Tf 72 700 Td ({text}) Tj ET".encode()
    objs: dict[int, bytes] = {
        1: b"<< /Type /Catalog /Pages 2 0 R"
           + (b" /AcroForm << /Fields [6 0 R] /DA (/Helv 12 Tf 0 g) >>" if with_text_field
              else b"") + b" >>",
        2: b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        3: (f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {w} {h}] /Contents 4 0 R "
            f"/Resources << /Font << /F1 5 0 R >> >>".encode()
            + (b" /Annots [6 0 R]" if with_text_field else b"") + b" >>"),
        4: b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
        5: b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    }
    if with_text_field:
        objs[6] = (b"<< /Type /Annot /Subtype /Widget /FT /Tx /T (Note) /V (benign) "
                   b"/Rect [72 600 300 630] /P 3 0 R /F 4 /AP << /N 7 0 R >> >>")
        ap = b"1 1 1 rg 0 0 228 30 re f BT /F1 12 Tf 0 g 2 10 Td (benign) Tj ET"
        objs[7] = (b"<< /Type /XObject /Subtype /Form /BBox [0 0 228 30] "
                   b"/Resources << /Font << /F1 5 0 R >> >> /Length %d >>\nstream\n" % len(ap)
                   + ap + b"\nendstream")
    if padding:
        blob = bytes(range(256)) * (padding // 256 + 1)
        objs[8] = b"<< /Length %d >>\nstream\n" % len(blob) + blob + b"\nendstream"
    objs.update(extra_objects or {})
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = {}
    for num in sorted(objs):
        offsets[num] = len(out)
        out += b"%d 0 obj\n" % num + objs[num] + b"\nendobj\n"
    size = max(objs) + 1
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % size
    for num in range(1, size):
        if num in offsets:
            out += b"%010d 00000 n \n" % offsets[num]
        else:
            out += b"0000000000 65535 f \n"
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (size, xref)
    return bytes(out)


def append_update(pdf: bytes, objects: dict[int, bytes], *, mode: str = "proper") -> bytes:
    """Append an incremental update redefining ``objects``.

    ``mode``: ``proper`` (xref + trailer /Prev + startxref), ``empty-xref`` (bare ``xref``
    keyword and a trailer without /Prev), ``trailer-only`` (no xref keyword), ``bare`` (objects
    only, nothing after them).
    """
    out = bytearray(pdf)
    offsets = {}
    for num in sorted(objects):
        offsets[num] = len(out)
        out += b"%d 0 obj\n" % num + objects[num] + b"\nendobj\n"
    if mode == "bare":
        return bytes(out)
    prev = int(re.findall(rb"startxref\s+(\d+)", pdf)[-1])
    size = int(re.findall(rb"/Size (\d+)", pdf)[-1])
    size = max(size, max(objects) + 1)
    root = re.findall(rb"/Root (\d+ \d+ R)", pdf)[-1]
    xref = len(out)
    if mode == "proper":
        out += b"xref\n"
        for num in sorted(objects):
            out += b"%d 1\n%010d 00000 n \n" % (num, offsets[num])
        out += b"trailer\n<< /Size %d /Root %s /Prev %d >>\n" % (size, root, prev)
    elif mode == "empty-xref":
        out += b"xref\ntrailer\n<< /Size %d /Root %s >>\n" % (size, root)
    elif mode == "trailer-only":
        out += b"trailer\n<< /Size %d /Root %s >>\n" % (size, root)
    out += b"startxref\n%d\n%%%%EOF\n" % xref
    return bytes(out)
