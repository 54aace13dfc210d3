"""Hand-written hostile PDFs for the robustness tests (issue 13): page trees that are cyclic or
very deep, written with a correct cross-reference table so parsers reach the tree."""

from __future__ import annotations


def _pdf(objects: list[bytes]) -> bytes:
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1, xref)
    return bytes(out)


_PAGE = (b"<< /Type /Page /Parent %d 0 R /MediaBox [0 0 595 842] /Contents %d 0 R "
         b"/Resources << >> >>")
_CONTENT = b"<< /Length 0 >>\nstream\n\nendstream"


def cyclic_page_tree() -> bytes:
    """A /Pages node whose kid is a /Pages node whose kid is the first one again."""
    return _pdf([
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R 4 0 R] /Count 2 >>",
        b"<< /Type /Pages /Parent 2 0 R /Kids [2 0 R] /Count 1 >>",
        _PAGE % (2, 5),
        _CONTENT,
    ])


def deep_page_tree(depth: int = 50_000) -> bytes:
    """A chain of ``depth`` /Pages nodes with one page at the bottom."""
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>"]
    for level in range(depth):
        number = 2 + level
        parent = b" /Parent %d 0 R" % (number - 1) if level else b""
        objects.append(b"<< /Type /Pages%s /Kids [%d 0 R] /Count 1 >>" % (parent, number + 1))
    page = 2 + depth
    objects.append(_PAGE % (page - 1, page + 1))
    objects.append(_CONTENT)
    return _pdf(objects)


def many_pages(count: int) -> bytes:
    """A flat page tree of ``count`` empty pages sharing one content stream."""
    kids = b" ".join(b"%d 0 R" % (4 + i) for i in range(count))
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>",
               b"<< /Type /Pages /Kids [" + kids + b"] /Count %d >>" % count,
               _CONTENT]
    objects += [_PAGE % (2, 3) for _ in range(count)]
    return _pdf(objects)


def huge_startxref() -> bytes:
    """The sample notice whose ``startxref`` does not fit in a machine integer (found by the
    atheris run of issue 13: an OverflowError, a 500, on upload and signing)."""
    from docsvc.signing.sample import notice_pdf

    data = notice_pdf()
    return data[:data.rindex(b"startxref")] + b"startxref\n99999999999999999999999\n%%EOF\n"
