"""The HTTP response for a stored version's bytes, shared by the API and the pages."""

from __future__ import annotations

from types import SimpleNamespace
from typing import BinaryIO
from urllib.parse import quote

from flask import Response, request, stream_with_context

from docsvc.filenames import safe_filename
from docsvc.models import DocumentVersion
from docsvc.storage.base import CHUNK


def version_response(version: DocumentVersion | SimpleNamespace, stream: BinaryIO, document_id: str
                     ) -> Response:
    """Stream the (already hash-checked) bytes with ETag = SHA-256; answer 304 when unchanged."""
    etag = f'"{version.sha256}"'
    if request.if_none_match.contains(version.sha256):
        stream.close()
        return Response(status=304, headers={"ETag": etag})

    def chunks():  # type: ignore[no-untyped-def]
        with stream:
            while chunk := stream.read(CHUNK):
                yield chunk

    filename = safe_filename(version.filename, f"{document_id}-v{version.number}.pdf")
    ascii_name = filename.encode("ascii", "replace").decode().replace('"', "")
    return Response(
        stream_with_context(chunks()),
        mimetype=version.media_type,
        headers={
            "ETag": etag,
            "Content-Length": str(version.size),
            "Content-Disposition": f"attachment; filename=\"{ascii_name}\"; "
                                   f"filename*=UTF-8''{quote(filename)}",
            "X-Content-SHA256": version.sha256,
            "Cache-Control": "private, no-cache",
        },
    )
