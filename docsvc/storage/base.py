"""The BlobStore protocol and the hashing helpers every store shares."""

from __future__ import annotations

import hashlib
import re
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO, Protocol

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

    def check(self) -> None:
        """Raise ``StorageUnavailableError`` when the backend cannot be used."""
        ...


def read_verified(store: BlobStore, key: str) -> BinaryIO:
    """Return a file positioned at 0 holding the bytes of ``key``, after checking their hash.

    Small blobs stay in memory, large ones spill to a temporary file, so a 200 MB PDF is
    never held in memory whole.
    """
    with store.open(key) as source:
        spool = tempfile.SpooledTemporaryFile(max_size=8 * CHUNK)  # noqa: SIM115 - returned
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
