"""A blob store in a dict, for tests and throw-away runs."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import threading
from collections.abc import Iterator
from typing import BinaryIO

from docsvc.errors import BlobCorruptedError, BlobMissingError
from docsvc.storage.base import BlobInfo, key_for


class MemoryBlobStore:
    """Keep blobs in a dict guarded by a lock."""

    name = "memory"

    def __init__(self) -> None:
        self._blobs: dict[str, bytes] = {}
        self._written: dict[str, dt.datetime] = {}
        self._lock = threading.Lock()

    def put(self, stream: BinaryIO, *, sha256: str, size: int) -> BlobInfo:
        """Store the rest of ``stream`` under its hash."""
        data = stream.read()
        actual = hashlib.sha256(data).hexdigest()
        if actual != sha256 or len(data) != size:
            raise BlobCorruptedError(details={"expected_sha256": sha256, "actual_sha256": actual})
        key = key_for(sha256)
        with self._lock:
            self._blobs[key] = data
            self._written[key] = dt.datetime.now(dt.UTC)
        return BlobInfo(key=key, sha256=sha256, size=size)

    def open(self, key: str) -> BinaryIO:
        """Open the bytes of ``key``."""
        try:
            return io.BytesIO(self._blobs[key])
        except KeyError:
            raise BlobMissingError(details={"key": key}) from None

    def exists(self, key: str) -> bool:
        """Tell whether ``key`` is stored."""
        return key in self._blobs

    def delete(self, key: str) -> None:
        """Forget ``key``."""
        with self._lock:
            self._blobs.pop(key, None)

    def keys(self) -> Iterator[str]:
        """Yield the stored keys."""
        yield from list(self._blobs)

    def modified(self, key: str) -> dt.datetime | None:
        """Return when ``key`` was stored."""
        return self._written.get(key) if key in self._blobs else None

    def prepare(self) -> None:
        """Do nothing: memory is always there."""

    def check(self) -> None:
        """Do nothing: memory is always there."""

    def overwrite(self, key: str, data: bytes) -> None:
        """Replace the bytes under ``key`` without checking (to simulate corruption in tests)."""
        self._blobs[key] = data
