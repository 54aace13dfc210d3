"""Small, valid PDFs built from scratch, for tests, benchmarks and demos (no dependency).

``notice_pdf`` writes a one-page notice; ``padding`` adds an unreferenced stream of random
bytes to reach a given size (for upload and memory benchmarks).
"""

from __future__ import annotations

import os


def notice_pdf(lines: list[str] | None = None, *, padding: int = 0) -> bytes:
    """Return a valid one-page PDF showing ``lines`` (ASCII), optionally padded with ``padding`` bytes."""
    lines = lines or ["UBND TINH QUANG NGAI", "THONG BAO", "So: 185/TB-UBND"]
    text = ["BT", "/F1 14 Tf", "72 760 Td", "18 TL"]
    for line in lines:
        safe = line.encode("ascii", "replace").decode().replace("\\", "\\\\")
        safe = safe.replace("(", "\\(").replace(")", "\\)")
        text.append(f"({safe}) Tj T*")
    text.append("ET")
    content = "\n".join(text).encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    if padding > 0:
        objects.append(b"<< /Length %d >>\nstream\n" % padding + os.urandom(padding) + b"\nendstream")
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)
