"""Attachment content while parsing: base64 decoded chunk by chunk into memory or a spool file,
then unzipped when the sender zipped it like the official SDK, never holding a file twice.
"""

from __future__ import annotations

import binascii
import hashlib
import io
import mimetypes
import os
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import IO, BinaryIO

from docsvc.exchange.errors import AttachmentTooLargeError

ZIP_MAGIC = b"PK\x03\x04"
ZIP_TYPES = frozenset({"application/zip", "application/x-zip-compressed", "application/x-zip"})
_COPY_CHUNK = 1024 * 1024
_WHITESPACE = str.maketrans("", "", " \t\r\n")


@dataclass(frozen=True)
class StoredContent:
    """Bytes of one attachment, in memory (``data``) or in a spool file (``path``)."""

    data: bytes | None
    path: Path | None
    size: int
    sha256: str
    head: bytes
    """The first bytes, to recognise a ZIP without reopening the file."""


class Spool:
    """A write-once destination for one attachment, with a size cap and a running SHA-256."""

    def __init__(self, directory: Path | None, name: str, max_bytes: int) -> None:
        self._max = max_bytes
        self._hash = hashlib.sha256()
        self._size = 0
        self._head = b""
        self.path: Path | None = None
        if directory is None:
            self._chunks: list[bytes] | None = []
            self._file: BinaryIO | None = None
        else:
            self._chunks = None
            self.path = directory / name
            # O_EXCL: never follow or overwrite a file planted in the caller's folder.
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            self._file = os.fdopen(fd, "wb")

    def write(self, chunk: bytes) -> None:
        """Append ``chunk``; raise AttachmentTooLargeError past the cap."""
        if not chunk:
            return
        self._size += len(chunk)
        if self._size > self._max:
            raise AttachmentTooLargeError(
                f"Tệp đính kèm lớn hơn {self._max} byte.",
                f"An attachment is larger than {self._max} bytes.",
                details={"limit": self._max},
            )
        if len(self._head) < 8:
            self._head = (self._head + chunk[:8])[:8]
        self._hash.update(chunk)
        if self._file is not None:
            self._file.write(chunk)
        else:
            assert self._chunks is not None
            self._chunks.append(chunk)

    def finish(self) -> StoredContent:
        """Close the destination and describe what it holds."""
        data = None
        if self._file is not None:
            self._file.close()
        else:
            assert self._chunks is not None
            data = b"".join(self._chunks)
            self._chunks = []
        return StoredContent(data, self.path, self._size, self._hash.hexdigest(), self._head)

    def discard(self) -> None:
        """Drop what was written (and the spool file)."""
        if self._file is not None:
            self._file.close()
        if self._chunks is not None:
            self._chunks = []
        if self.path is not None:
            self.path.unlink(missing_ok=True)


class Base64Decoder:
    """Decode base64 text fed in arbitrary pieces into a :class:`Spool`.

    Invalid base64 does not raise: the decoder records ``error`` and ignores the rest, so a
    placeholder attachment (seen in public samples) is reported instead of failing the package.
    """

    def __init__(self, spool: Spool) -> None:
        self.spool = spool
        self._rest = ""
        self.error: str | None = None

    def feed(self, text: str) -> None:
        """Decode every complete 4-character group of ``text`` seen so far."""
        if self.error is not None:
            return
        buffer = self._rest + text.translate(_WHITESPACE)
        cut = len(buffer) - len(buffer) % 4
        self._rest = buffer[cut:]
        if cut:
            self._decode(buffer[:cut])

    def close(self) -> StoredContent | None:
        """Finish decoding; return the content, or None when it was not valid base64."""
        if self.error is None and self._rest:
            if len(self._rest) == 1:
                self.error = "not_base64"
            else:  # tolerate missing padding
                self._decode(self._rest + "=" * (4 - len(self._rest)))
        if self.error is not None:
            self.spool.discard()
            return None
        return self.spool.finish()

    def _decode(self, text: str) -> None:
        try:
            self.spool.write(binascii.a2b_base64(text, strict_mode=True))
        except (binascii.Error, ValueError):
            self.error = "not_base64"


def is_zip_type(content_type: str) -> bool:
    """Return whether a declared MIME type means a ZIP archive."""
    return content_type.split(";")[0].strip().lower() in ZIP_TYPES


def guess_type(name: str) -> str:
    """Return the MIME type of a file name, ``application/octet-stream`` when unknown."""
    guessed, _ = mimetypes.guess_type(name, strict=False)
    return guessed or "application/octet-stream"


def unzip_single(
    stored: StoredContent, directory: Path | None, name: str, max_bytes: int
) -> tuple[StoredContent | None, str | None]:
    """Extract the one file of an SDK-style ZIP; return (content, None) or (None, reason)."""
    source: IO[bytes]
    if stored.data is not None:
        source = io.BytesIO(stored.data)
    else:
        assert stored.path is not None  # content is either in memory or in a file
        source = open(stored.path, "rb")  # noqa: SIM115 - closed below
    try:
        try:
            archive = zipfile.ZipFile(source)
        except (zipfile.BadZipFile, OSError, ValueError):
            return None, "zip_unreadable"
        with archive:
            members = [i for i in archive.infolist() if not i.is_dir()]
            if len(members) != 1:
                return None, "zip_not_single_file"
            member = members[0]
            if member.flag_bits & 0x1:
                return None, "zip_encrypted"
            spool = Spool(directory, name, max_bytes)
            try:
                with archive.open(member) as entry:
                    while chunk := entry.read(_COPY_CHUNK):
                        spool.write(chunk)
            except AttachmentTooLargeError:
                spool.discard()
                raise
            except (
                zipfile.BadZipFile,
                zlib.error,
                OSError,
                ValueError,
                EOFError,
                NotImplementedError,
            ):
                spool.discard()
                return None, "zip_unreadable"
            return spool.finish(), None
    finally:
        source.close()
