"""Bounds of every page scan made for placement, and PDFs the signer cannot read."""

from __future__ import annotations

import time
from io import BytesIO

import pytest

from docsvc.pdf import UnsignablePdfError, is_signable, repair_pdf
from docsvc.signing import Placement, sign_pdf
from docsvc.signing.words import ScanLimitError, ScanLimits


def huge_page_tree(pages: int) -> bytes:
    """A PDF whose page tree lists the same page ``pages`` times (a 300,000-page tree)."""
    kids = b" ".join([b"3 0 R"] * pages)
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Count %d /Kids [%s] >>" % (pages, kids),
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R >>",
        b"<< /Length 0 >>\nstream\n\nendstream",
    ]
    out = BytesIO()
    out.write(b"%PDF-1.7\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n%s\nendobj\n" % (number, body))
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for offset in offsets:
        out.write(b"%010d 00000 n \n" % offset)
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n"
              % (len(objects) + 1, xref))
    return out.getvalue()


def test_a_300000_page_tree_is_refused_quickly_as_422(person_signer):
    pdf = huge_page_tree(300_000)
    started = time.monotonic()
    with pytest.raises(ScanLimitError) as caught:
        sign_pdf(pdf, signer=person_signer, role="person", limits=ScanLimits(max_pages=5000))
    assert time.monotonic() - started < 10
    assert caught.value.status == 422 and caught.value.code == "placement_limit"
    # an explicit box does not read the pages, but the tree walk is bounded all the same
    with pytest.raises(ScanLimitError):
        sign_pdf(pdf, signer=person_signer, role="person",
                 placement=Placement(page=1, box=(300, 390, 450, 455)),
                 limits=ScanLimits(max_pages=5000))


def test_scan_page_and_time_bounds(sample_pdf, person_signer):
    from docsvc.signing.sample import notice_pdf

    # the name is on page 1 of 4 and only the last 2 pages may be read: not found, a 422
    pdf = notice_pdf(extra_pages=3)
    from docsvc.signing.errors import PlacementError

    with pytest.raises(PlacementError) as caught:
        sign_pdf(pdf, signer=person_signer, role="person",
                 limits=ScanLimits(scan_pages=2, ocr=False))
    assert caught.value.details["pages_read"] == [4, 3]
    with pytest.raises(ScanLimitError):
        sign_pdf(pdf, signer=person_signer, role="person",
                 limits=ScanLimits(seconds=0.000001, ocr=False))


def test_repair_refuses_what_qpdf_cannot_read_either():
    with pytest.raises(UnsignablePdfError) as caught:
        repair_pdf(BytesIO(b"%PDF-1.7\nnothing else at all"))
    assert caught.value.status == 422 and caught.value.code == "unsignable_pdf"
    assert is_signable(BytesIO(b"%PDF-1.7\n")) is not None
