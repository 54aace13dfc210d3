"""A blob store in an S3 bucket through the ``minio`` client (MinIO, Ceph, AWS, moto …)."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterator
from typing import BinaryIO, cast

import urllib3
from minio import Minio
from minio.error import MinioException, S3Error

from docsvc.errors import BlobCorruptedError, BlobMissingError, StorageUnavailableError
from docsvc.storage.base import CHUNK, SENTINEL, SENTINEL_BODY, BlobInfo, is_blob_key, key_for

PART_SIZE = 16 * 1024 * 1024
_OUTAGE = (urllib3.exceptions.HTTPError, OSError, MinioException)


class _HashingReader:
    """Wrap a stream so the bytes minio uploads are hashed on the way."""

    def __init__(self, stream: BinaryIO) -> None:
        self._stream = stream
        self.digest = hashlib.sha256()
        self.size = 0

    def read(self, size: int = -1) -> bytes:
        chunk = self._stream.read(size)
        self.digest.update(chunk)
        self.size += len(chunk)
        return chunk


class S3BlobStore:
    """Store blobs as objects named ``sha256/<hex>`` in one bucket."""

    name = "s3"
    prefix = "sha256/"

    def __init__(self, client: Minio, bucket: str) -> None:
        self.client = client
        self.bucket = bucket

    @classmethod
    def from_settings(cls, settings) -> S3BlobStore:  # type: ignore[no-untyped-def]
        """Build the client from ``DOCSVC_S3_*``; nothing connects yet."""
        # Few retries and short timeouts: a dead server must become a 503 in seconds, not minutes.
        http = urllib3.PoolManager(
            timeout=urllib3.Timeout(connect=3.0, read=60.0),
            retries=urllib3.Retry(total=2, backoff_factor=0.2, status_forcelist=(500, 502, 503, 504)),
            maxsize=16,
        )
        client = Minio(
            settings.s3_endpoint,
            access_key=settings.s3_access_key,
            secret_key=settings.s3_secret_key,
            secure=settings.s3_secure,
            region=settings.s3_region or None,
            http_client=http,
        )
        return cls(client, settings.s3_bucket)

    def _object(self, key: str) -> str:
        if not is_blob_key(key):
            raise BlobMissingError(details={"key": key})
        return self.prefix + key

    def put(self, stream: BinaryIO, *, sha256: str, size: int) -> BlobInfo:
        """Upload ``stream`` in parts, hashing on the way; delete the object on a mismatch."""
        key = key_for(sha256)
        name = self._object(key)
        reader = _HashingReader(stream)
        try:
            if self.exists(key):
                return BlobInfo(key=key, sha256=sha256, size=size)
            self.client.put_object(
                self.bucket, name, cast(BinaryIO, reader), length=size, part_size=max(PART_SIZE, 5 * CHUNK),
                content_type="application/octet-stream",
            )
        except _OUTAGE as exc:
            raise StorageUnavailableError(details={"reason": type(exc).__name__}) from exc
        actual = reader.digest.hexdigest()
        if actual != sha256 or reader.size != size:
            self.delete(key)
            raise BlobCorruptedError(details={"expected_sha256": sha256, "actual_sha256": actual})
        return BlobInfo(key=key, sha256=sha256, size=size)

    def open(self, key: str) -> BinaryIO:
        """Open a streaming download of ``key``."""
        try:
            response = self.client.get_object(self.bucket, self._object(key))
        except S3Error as exc:
            if exc.code in ("NoSuchKey", "NoSuchObject"):
                raise BlobMissingError(details={"key": key}) from None
            raise StorageUnavailableError(details={"reason": exc.code}) from exc
        except _OUTAGE as exc:
            raise StorageUnavailableError(details={"reason": type(exc).__name__}) from exc
        return _Download(response)  # type: ignore[return-value]

    def exists(self, key: str) -> bool:
        """Tell whether the object of ``key`` exists."""
        try:
            self.client.stat_object(self.bucket, self._object(key))
        except S3Error as exc:
            if exc.code in ("NoSuchKey", "NoSuchObject", "NotFound"):
                return False
            raise StorageUnavailableError(details={"reason": exc.code}) from exc
        except _OUTAGE as exc:
            raise StorageUnavailableError(details={"reason": type(exc).__name__}) from exc
        return True

    def delete(self, key: str) -> None:
        """Remove the object of ``key``."""
        try:
            self.client.remove_object(self.bucket, self._object(key))
        except _OUTAGE as exc:
            raise StorageUnavailableError(details={"reason": type(exc).__name__}) from exc

    def modified(self, key: str) -> dt.datetime | None:
        """Return the object's last modification time."""
        try:
            when = self.client.stat_object(self.bucket, self._object(key)).last_modified
        except S3Error:
            return None
        except _OUTAGE as exc:
            raise StorageUnavailableError(details={"reason": type(exc).__name__}) from exc
        return when.astimezone(dt.UTC) if when is not None else None

    def keys(self) -> Iterator[str]:
        """Yield every stored key."""
        try:
            for obj in self.client.list_objects(self.bucket, prefix=self.prefix, recursive=True):
                name = obj.object_name.removeprefix(self.prefix)
                if is_blob_key(name):
                    yield name
        except _OUTAGE as exc:
            raise StorageUnavailableError(details={"reason": type(exc).__name__}) from exc

    def prepare(self) -> None:
        """Create the bucket (if we may) and its sentinel object."""
        import io

        try:
            if not self.client.bucket_exists(self.bucket):
                self.client.make_bucket(self.bucket)
            self.client.put_object(self.bucket, SENTINEL, io.BytesIO(SENTINEL_BODY), len(SENTINEL_BODY),
                                   content_type="text/plain")
        except _OUTAGE as exc:
            raise StorageUnavailableError(details={"reason": type(exc).__name__}) from exc

    def check(self) -> None:
        """Make sure the bucket ``prepare`` made is there with its sentinel (reads only)."""
        try:
            if not self.client.bucket_exists(self.bucket):
                raise StorageUnavailableError(details={
                    "reason": f"bucket {self.bucket} is missing (run docsvc init)"})
            self.client.stat_object(self.bucket, SENTINEL)
        except S3Error as exc:
            if exc.code in ("NoSuchKey", "NoSuchObject", "NoSuchBucket", "ResourceNotFound"):
                raise StorageUnavailableError(details={
                    "reason": f"bucket {self.bucket} has no {SENTINEL}: wiped or not prepared "
                              "(run docsvc init)"}) from None
            raise StorageUnavailableError(details={"reason": exc.code}) from exc
        except _OUTAGE as exc:
            raise StorageUnavailableError(details={"reason": type(exc).__name__}) from exc


class _Download:
    """A file-like view of a minio response that releases the connection when closed."""

    def __init__(self, response) -> None:  # type: ignore[no-untyped-def]
        self._response = response

    def read(self, size: int = -1) -> bytes:
        try:
            return self._response.read(None if size < 0 else size)
        except _OUTAGE as exc:
            raise StorageUnavailableError(details={"reason": type(exc).__name__}) from exc

    def close(self) -> None:
        self._response.close()
        self._response.release_conn()

    def __enter__(self) -> _Download:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
