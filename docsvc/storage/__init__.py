"""Content-addressed blob storage: one protocol, three stores (local folder, S3, memory).

Keys are the SHA-256 of the bytes. Stores hash what they write and refuse a mismatch, and
every read is checked against the key, so a row can never silently point at other bytes.
"""

from docsvc.storage.base import (
    BlobInfo,
    BlobStore,
    VerifiedBytes,
    copy_hashing,
    hash_stream,
    is_blob_key,
    key_for,
    read_verified,
)
from docsvc.storage.local import LocalBlobStore
from docsvc.storage.memory import MemoryBlobStore

__all__ = [
    "BlobInfo",
    "BlobStore",
    "LocalBlobStore",
    "MemoryBlobStore",
    "VerifiedBytes",
    "copy_hashing",
    "hash_stream",
    "is_blob_key",
    "key_for",
    "read_verified",
    "make_blob_store",
]


def make_blob_store(settings) -> BlobStore:  # type: ignore[no-untyped-def]
    """Build the store that ``settings`` chooses (``DOCSVC_BLOB_BACKEND``)."""
    if settings.blob_backend == "memory":
        return MemoryBlobStore()
    if settings.blob_backend == "s3":
        from docsvc.storage.s3 import S3BlobStore

        return S3BlobStore.from_settings(settings)
    return LocalBlobStore(settings.effective_blob_dir)
