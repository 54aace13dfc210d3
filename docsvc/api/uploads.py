"""Uploads are hashed while Werkzeug spools them, so a large PDF is read one time fewer."""

from __future__ import annotations

import hashlib
import tempfile
from typing import IO, Any

from flask import Request
from werkzeug.formparser import FormDataParser, MultiPartParser


class HashingSpool:
    """A spooled temporary file that keeps the SHA-256 and size of everything written to it."""

    def __init__(self, max_size: int = 512 * 1024) -> None:
        self._file: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=max_size)  # noqa: SIM115
        self._digest = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> int:
        """Write ``data`` and add it to the running hash."""
        self._digest.update(data)
        self.size += len(data)
        return self._file.write(data)

    @property
    def sha256(self) -> str:
        """Return the hex SHA-256 of what was written."""
        return self._digest.hexdigest()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._file, name)


class UploadRequest(Request):
    """Flask request whose uploaded files are ``HashingSpool`` objects."""

    def _get_file_stream(self, total_content_length, content_type, filename=None,  # type: ignore[no-untyped-def]
                         content_length=None):
        return HashingSpool()


class _FormDataParser(FormDataParser):
    """Parse multipart bodies in larger reads than Werkzeug's 64 KiB (large PDFs).

    The read size must stay below ``max_form_memory_size`` (500 KB): Werkzeug's decoder
    refuses a buffer larger than that while it looks for part headers.
    """

    def _parse_multipart(self, stream, mimetype, content_length, options):  # type: ignore[no-untyped-def]
        parser = MultiPartParser(
            stream_factory=self.stream_factory, max_form_memory_size=self.max_form_memory_size,
            max_form_parts=self.max_form_parts, cls=self.cls, buffer_size=256 * 1024,
        )
        boundary = options.get("boundary", "").encode("ascii")
        if not boundary:
            raise ValueError("Missing boundary")
        form, files = parser.parse(stream, boundary, content_length)
        return stream, form, files


UploadRequest.form_data_parser_class = _FormDataParser
