"""First look at an uploaded file: is it a PDF, is it readable, what is its hash.

The file is read in chunks and parsed by pyHanko's reader (which seeks rather than loading
the whole file), so a 200 MB upload is never held in memory.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import BinaryIO, cast

from docsvc.errors import InvalidPdfError, UnprocessableError, UnsupportedMediaTypeError
from docsvc.storage import hash_stream

log = logging.getLogger(__name__)
PDF_MEDIA_TYPE = "application/pdf"
DEFAULT_MAX_PAGES = 5000
"""Default of ``DOCSVC_MAX_PDF_PAGES``: more pages are refused (422) by every whole-document
operation, so one request cannot hold a worker for hours."""
MAX_PAGE_TREE_DEPTH = 64
"""Real page trees are a few levels deep; a deeper (or cyclic) one is an attack on parsers."""


class PdfTooLargeError(InvalidPdfError):
    code = "pdf_too_many_pages"
    message_vi = "Tệp PDF có quá nhiều trang để xử lý."
    message_en = "The PDF has too many pages to be processed."


class PdfTimeLimitError(UnprocessableError):
    code = "pdf_time_limit"
    message_vi = "Xử lý tệp PDF vượt quá thời gian cho phép (DOCSVC_PDF_TIME_LIMIT)."
    message_en = "Processing the PDF took longer than allowed (DOCSVC_PDF_TIME_LIMIT)."


def check_page_tree(root: object, *, max_pages: int = DEFAULT_MAX_PAGES) -> int:
    """Walk a pyHanko ``/Pages`` dictionary without recursion; return the number of pages.

    Raises ``PdfTooLargeError`` past ``max_pages`` and ``InvalidPdfError`` for a cycle, a tree
    deeper than ``MAX_PAGE_TREE_DEPTH`` or a node that is neither a page nor a page tree.
    """
    from pyhanko.pdf_utils import generic

    top = root.get_object() if isinstance(root, generic.IndirectObject) else root
    declared = top.get("/Count") if isinstance(top, generic.DictionaryObject) else None
    if isinstance(declared, int) and declared > max_pages:
        raise PdfTooLargeError(details={"pages": int(declared), "max_pages": max_pages})
    pages = 0
    seen: set[tuple[int, int]] = set()
    stack: list[tuple[object, int]] = [(root, 0)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, generic.IndirectObject):
            ref = (node.idnum, node.generation)
            if ref in seen:
                raise InvalidPdfError(details={"reason": "page tree: cycle"})
            seen.add(ref)
            node = node.get_object()
        if not isinstance(node, generic.DictionaryObject):
            raise InvalidPdfError(details={"reason": "page tree: not a dictionary"})
        if depth > MAX_PAGE_TREE_DEPTH:
            raise InvalidPdfError(details={"reason": "page tree: too deep"})
        kids = node.get("/Kids")
        if node.get("/Type") == "/Pages" or kids is not None:
            kids = kids.get_object() if isinstance(kids, generic.IndirectObject) else kids
            if not isinstance(kids, generic.ArrayObject):
                raise InvalidPdfError(details={"reason": "page tree: /Kids"})
            if pages + len(kids) > max_pages * 4:
                raise PdfTooLargeError(details={"max_pages": max_pages})
            stack.extend((kid, depth + 1) for kid in reversed(list(kids.iterate())))
        else:
            pages += 1
            if pages > max_pages:
                raise PdfTooLargeError(details={"max_pages": max_pages})
    return pages


@dataclass(frozen=True)
class PdfInfo:
    """What the registry records about an uploaded PDF."""

    sha256: str
    size: int
    page_count: int
    encrypted: bool


def inspect_pdf(stream: BinaryIO, *, known: tuple[str, int] | None = None,
                max_pages: int = DEFAULT_MAX_PAGES) -> PdfInfo:
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
    page_count, encrypted = _parse(stream, max_pages)
    stream.seek(0)
    return PdfInfo(sha256=sha256, size=size, page_count=page_count, encrypted=encrypted)


def _parse(stream: BinaryIO, max_pages: int) -> tuple[int, bool]:
    # pyHanko raises many exception types on malformed input; each one means "damaged".
    from pyhanko.pdf_utils.reader import PdfFileReader

    try:
        reader = PdfFileReader(stream, strict=False)
        encrypted = reader.encrypt_dict is not None
        if encrypted:
            return 0, True
        pages = reader.root.raw_get("/Pages")
        count = check_page_tree(pages, max_pages=max_pages)
        if count < 1:
            raise ValueError("document has no pages")
        return count, False
    except InvalidPdfError:
        raise
    except Exception as exc:  # noqa: BLE001 - PdfError, zlib.error, OverflowError …: all "damaged"
        log.info("invalid pdf: %s: %s", type(exc).__name__, exc)
        raise InvalidPdfError(details={"reason": f"{type(exc).__name__}: {exc}"[:300]}) from exc


class UnsignablePdfError(InvalidPdfError):
    code = "unsignable_pdf"
    message_vi = ("Tệp PDF có lỗi cấu trúc mà trình ký số không đọc được và không sửa được; "
                  "hãy xuất lại tệp PDF (in ra PDF hoặc quét lại) rồi tải lên.")
    message_en = ("The PDF has structural errors the signer cannot read and that could not be "
                  "repaired; export (print to PDF) or scan it again and upload it.")


def is_signable(stream: BinaryIO) -> str | None:
    """Open ``stream`` as the signer does (pyHanko's strict incremental writer); return None
    when it can, else the reason."""
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.pdf_utils.misc import PdfError

    stream.seek(0)
    try:
        writer = IncrementalPdfFileWriter(stream)
        writer.root["/Pages"]["/Count"]  # noqa: B018 - the signer touches the page tree too
        return None
    except (PdfError, ValueError, TypeError, KeyError, IndexError, AttributeError,
            AssertionError, OSError, RecursionError, UnicodeDecodeError) as exc:
        return f"{type(exc).__name__}: {exc}"[:300]
    finally:
        stream.seek(0)


def repair_pdf(stream: BinaryIO) -> BinaryIO:
    """Rewrite ``stream`` with qpdf (pikepdf): a clean cross-reference table and objects.

    Returns a seekable file with the repaired PDF, checked with :func:`is_signable`; raises
    ``UnsignablePdfError`` when qpdf cannot read it either or the result is still refused.
    """
    import tempfile

    import pikepdf

    stream.seek(0)
    out = cast(BinaryIO, tempfile.SpooledTemporaryFile(max_size=32 * 1024 * 1024))  # noqa: SIM115 - returned
    try:
        with pikepdf.open(stream) as pdf:
            pdf.save(out, fix_metadata_version=False,
                     object_stream_mode=pikepdf.ObjectStreamMode.preserve)
    except (pikepdf.PdfError, ValueError, OSError) as exc:
        out.close()
        raise UnsignablePdfError(details={"reason": f"{type(exc).__name__}: {exc}"[:300]}) from exc
    still = is_signable(out)
    if still is not None:
        out.close()
        raise UnsignablePdfError(details={"reason": still})
    out.seek(0)
    return out
