"""The BlobStore protocol and the hashing helpers every store shares."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO, Protocol, cast

from docsvc.errors import BlobCorruptedError

CHUNK = 1024 * 1024
_KEY = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class BlobInfo:
    """What a store holds under one key."""

    key: str
    sha256: str
    size: int


def key_for(sha256: str) -> str:
    """Return the store key of bytes with this SHA-256 (the hex digest itself)."""
    return sha256


def is_blob_key(name: str) -> bool:
    """Tell whether ``name`` looks like a content key."""
    return bool(_KEY.match(name))


def hash_stream(stream: BinaryIO) -> tuple[str, int]:
    """Return (SHA-256 hex, size) of the rest of ``stream``."""
    digest = hashlib.sha256()
    size = 0
    while chunk := stream.read(CHUNK):
        digest.update(chunk)
        size += len(chunk)
    return digest.hexdigest(), size


def copy_hashing(source: BinaryIO, target: BinaryIO) -> tuple[str, int]:
    """Copy ``source`` into ``target`` chunk by chunk; return (SHA-256 hex, size) of what was copied."""
    digest = hashlib.sha256()
    size = 0
    while chunk := source.read(CHUNK):
        digest.update(chunk)
        target.write(chunk)
        size += len(chunk)
    return digest.hexdigest(), size


class BlobStore(Protocol):
    """Where document bytes live. Implementations raise ``StorageUnavailableError`` when the
    backend cannot be reached, ``BlobMissingError`` for an unknown key and
    ``BlobCorruptedError`` when bytes do not match their key."""

    name: str

    def put(self, stream: BinaryIO, *, sha256: str, size: int) -> BlobInfo:
        """Store the rest of ``stream``, whose hash and size the caller already measured."""
        ...

    def open(self, key: str) -> BinaryIO:
        """Open the stored bytes for reading, unchecked (see ``read_verified``)."""
        ...

    def exists(self, key: str) -> bool:
        """Tell whether ``key`` is stored."""
        ...

    def delete(self, key: str) -> None:
        """Remove ``key`` (missing keys are ignored)."""
        ...

    def keys(self) -> Iterator[str]:
        """Yield every stored key."""
        ...

    def modified(self, key: str) -> dt.datetime | None:
        """Return when ``key`` was last written (UTC), None when unknown or missing."""
        ...

    def prepare(self) -> None:
        """Create the bucket or folder and its sentinel (``docsvc init`` only)."""
        ...

    def check(self) -> None:
        """Raise ``StorageUnavailableError`` when the store is not usable or not the one ``init``
        prepared (its sentinel is gone: a wiped bucket). Reads only: never creates anything."""
        ...


SENTINEL = "docsvc-store"
"""Name of the small object ``prepare`` writes and ``check`` looks for: when it is missing, the
store was wiped or replaced, and health must say so instead of recreating an empty store."""
SENTINEL_BODY = b"docsvc blob store: do not delete (docsvc init writes it; /health reads it)\n"


def read_verified(store: BlobStore, key: str) -> BinaryIO:
    """Return a file positioned at 0 holding the bytes of ``key``, after checking their hash.

    Small blobs stay in memory, large ones spill to a temporary file, so a 200 MB PDF is
    never held in memory whole.
    """
    with store.open(key) as source:
        spool = cast(BinaryIO, tempfile.SpooledTemporaryFile(max_size=8 * CHUNK))  # noqa: SIM115 - returned
        try:
            sha256, _size = copy_hashing(source, spool)
        except BaseException:
            spool.close()
            raise
    if sha256 != key:
        spool.close()
        raise BlobCorruptedError(details={"key": key, "actual_sha256": sha256})
    spool.seek(0)
    return spool


_BACKGROUND_MIN = 4 * CHUNK


class VerifiedBytes:
    """The whole content of a key in memory, its SHA-256 checked in a background thread.

    For callers that need the bytes in memory anyway (signing): the hash (GIL released by
    hashlib) runs while they work, and ``digest()`` — call it before anything derived from
    the bytes is stored or returned — waits for it and raises ``BlobCorruptedError`` on a
    mismatch. The finished hash object also lets ``sha256_of_extension`` hash an incremental
    update of these bytes without reading them again.
    """

    def __init__(self, store: BlobStore, key: str) -> None:
        with store.open(key) as source:
            self.data = source.read()
        self.key = key
        self._hash = hashlib.sha256()
        self._thread: threading.Thread | None = None
        if len(self.data) >= _BACKGROUND_MIN:
            self._thread = threading.Thread(target=self._hash.update, args=(self.data,),
                                             name="docsvc-verify-read", daemon=True)
            self._thread.start()
        else:
            self._hash.update(self.data)

    def digest(self) -> hashlib._Hash:
        """Return the finished SHA-256 object of the bytes; raise if they do not match the key."""
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        actual = self._hash.hexdigest()
        if actual != self.key:
            raise BlobCorruptedError(details={"key": self.key, "actual_sha256": actual})
        return self._hash

    def sha256_of_extension(self, extended: bytes) -> str:
        """SHA-256 of ``extended``, continuing this hash when ``extended`` starts with these
        bytes (an incremental PDF update appends), else hashing it whole. Either way the source
        is checked first (``BlobCorruptedError``)."""
        source = self.digest()
        if len(extended) >= len(self.data) and extended.startswith(self.data):
            digest = source.copy()
            digest.update(memoryview(extended)[len(self.data):])
            return digest.hexdigest()
        return hashlib.sha256(extended).hexdigest()
