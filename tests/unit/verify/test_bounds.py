"""Issue 13, finding 4: one verification cannot hold a worker for hours. Pages past
DOCSVC_MAX_PDF_PAGES and time past DOCSVC_PDF_TIME_LIMIT are refused (422) instead."""

from __future__ import annotations

import time

import pytest

from docsvc.pdf import PdfTimeLimitError, PdfTooLargeError
from docsvc.verify import validate_pdf
from tests import hostile_pdfs


def test_more_pages_than_allowed_are_refused_quickly(trust):
    data = hostile_pdfs.many_pages(3000)
    started = time.monotonic()
    with pytest.raises(PdfTooLargeError) as caught:
        validate_pdf(data, trust, max_pages=2000)
    assert caught.value.status == 422 and caught.value.details["pages"] == 3000
    assert time.monotonic() - started < 5
    assert validate_pdf(data, trust, max_pages=3000).verdict is not None


def test_the_time_limit_stops_before_the_next_signature(trust, signed_pdf):
    with pytest.raises(PdfTimeLimitError) as caught:
        validate_pdf(signed_pdf, trust, time_limit=1e-9)
    assert caught.value.status == 422 and caught.value.code == "pdf_time_limit"
    assert validate_pdf(signed_pdf, trust, time_limit=60).signatures


@pytest.mark.parametrize("kind", ["cyclic", "deep"])
def test_hostile_page_trees_are_a_report_not_a_crash(trust, kind):
    data = (hostile_pdfs.cyclic_page_tree() if kind == "cyclic"
            else hostile_pdfs.deep_page_tree(5000))
    report = validate_pdf(data, trust)
    assert str(report.verdict) in ("INDETERMINATE", "Indication.INDETERMINATE")
