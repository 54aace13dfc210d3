"""First look at an uploaded file: is it a PDF, is it readable, what is its hash.

The file is read in chunks and parsed by pyHanko's reader (which seeks rather than loading
the whole file), so a 200 MB upload is never held in memory.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import BinaryIO

from docsvc.errors import InvalidPdfError, UnsupportedMediaTypeError
from docsvc.storage import hash_stream

log = logging.getLogger(__name__)
PDF_MEDIA_TYPE = "application/pdf"


@dataclass(frozen=True)
class PdfInfo:
    """What the registry records about an uploaded PDF."""

    sha256: str
    size: int
    page_count: int
    encrypted: bool


def inspect_pdf(stream: BinaryIO, *, known: tuple[str, int] | None = None) -> PdfInfo:
    """Hash and parse ``stream`` (seekable); raise 415 for non-PDF, 422 for damaged PDF.

    ``known`` is (SHA-256, size) when the caller already hashed the bytes while receiving them.
    """
    stream.seek(0)
    head = stream.read(1024)
    if b"%PDF-" not in head:
        raise UnsupportedMediaTypeError(
            "Tệp không phải PDF (thiếu phần đầu %PDF-).",
            "The file is not a PDF (no %PDF- header).",
            details={"expected": PDF_MEDIA_TYPE},
        )
    stream.seek(0)
    sha256, size = known or hash_stream(stream)
    stream.seek(0)
    page_count, encrypted = _parse(stream)
    stream.seek(0)
    return PdfInfo(sha256=sha256, size=size, page_count=page_count, encrypted=encrypted)


def _parse(stream: BinaryIO) -> tuple[int, bool]:
    # pyHanko raises many exception types on malformed input; each one means "damaged".
    from pyhanko.pdf_utils.misc import PdfError
    from pyhanko.pdf_utils.reader import PdfFileReader

    try:
        reader = PdfFileReader(stream, strict=False)
        encrypted = reader.encrypt_dict is not None
        if encrypted:
            return 0, True
        pages = reader.root["/Pages"]
        count = int(pages["/Count"])
        if count < 1:
            raise ValueError("document has no pages")
        return count, False
    except (PdfError, ValueError, TypeError, KeyError, IndexError, AttributeError,
            AssertionError, OSError, RecursionError, UnicodeDecodeError) as exc:
        log.info("invalid pdf: %s: %s", type(exc).__name__, exc)
        raise InvalidPdfError(details={"reason": f"{type(exc).__name__}: {exc}"[:300]}) from exc
