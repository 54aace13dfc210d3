"""One contract for every blob store: memory, local folder and S3 (moto_server on loopback)."""

from __future__ import annotations

import hashlib
import io
import os

import pytest

from docsvc.errors import BlobCorruptedError, BlobMissingError, StorageUnavailableError
from docsvc.storage import LocalBlobStore, MemoryBlobStore, VerifiedBytes, read_verified
from docsvc.storage.s3 import S3BlobStore
from tests.support.net import free_port


@pytest.fixture(params=["memory", "local", pytest.param("s3", marks=pytest.mark.s3)])
def store(request, tmp_path):
    if request.param == "memory":
        return MemoryBlobStore()
    if request.param == "local":
        return LocalBlobStore(tmp_path / "blobs")
    return request.getfixturevalue("s3_store")


def put(store, data: bytes):
    return store.put(io.BytesIO(data), sha256=hashlib.sha256(data).hexdigest(), size=len(data))


def test_put_is_content_addressed_and_idempotent(store):
    data = b"%PDF-1.7 notice"
    info = put(store, data)
    assert info.key == hashlib.sha256(data).hexdigest() == info.sha256
    assert put(store, data).key == info.key
    assert list(store.keys()) == [info.key]
    assert store.exists(info.key)


def test_read_verified_returns_the_bytes(store):
    data = os.urandom(3 * 1024 * 1024 + 17)  # several chunks, not a multiple of the chunk size
    info = put(store, data)
    with read_verified(store, info.key) as stream:
        assert stream.read() == data


def test_wrong_claimed_hash_is_refused_and_not_stored(store):
    with pytest.raises(BlobCorruptedError):
        store.put(io.BytesIO(b"real bytes"), sha256="0" * 64, size=len(b"real bytes"))
    assert list(store.keys()) == []


def test_missing_key(store):
    with pytest.raises(BlobMissingError):
        read_verified(store, "a" * 64)
    assert not store.exists("a" * 64)
    with pytest.raises(BlobMissingError):
        store.open("../../etc/passwd")


def test_delete(store):
    info = put(store, b"to delete")
    store.delete(info.key)
    store.delete(info.key)  # twice is fine
    assert not store.exists(info.key)


def test_modified_tells_when_a_key_was_written(store):
    """Issue 13: ``check --repair`` removes only orphans older than its grace period."""
    import datetime as dt

    before = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
    info = put(store, b"written now")
    written = store.modified(info.key)
    assert written is not None and written.tzinfo is not None
    assert before < written < dt.datetime.now(dt.UTC) + dt.timedelta(minutes=5)
    store.delete(info.key)
    assert store.modified(info.key) is None


def test_large_blob_streams(store):
    data = os.urandom(40 * 1024 * 1024)  # crosses S3 multipart part size
    info = put(store, data)
    digest = hashlib.sha256()
    with read_verified(store, info.key) as stream:
        while chunk := stream.read(1 << 20):
            digest.update(chunk)
    assert digest.hexdigest() == info.key


def _tamper(store, key: str) -> None:
    """Change the stored bytes of ``key`` behind the store's back."""
    if isinstance(store, MemoryBlobStore):
        store.overwrite(key, b"tampered bytes")
    elif isinstance(store, LocalBlobStore):
        store._path(key).write_bytes(b"tampered bytes")
    else:
        store.client.put_object(store.bucket, store.prefix + key, io.BytesIO(b"tampered"), 8)


def test_corruption_is_detected_on_read(store, tmp_path):
    info = put(store, b"original bytes")
    _tamper(store, info.key)
    with pytest.raises(BlobCorruptedError):
        read_verified(store, info.key)


@pytest.mark.parametrize("size", [14, 5 * 1024 * 1024])  # inline hash, background hash
def test_verified_bytes_checks_the_address_and_hashes_an_extension(store, size):
    data = os.urandom(size)
    info = put(store, data)
    read = VerifiedBytes(store, info.key)
    assert read.data == data and read.digest().hexdigest() == info.key
    extended = data + b"\n% incremental update\n"
    assert read.sha256_of_extension(extended) == hashlib.sha256(extended).hexdigest()
    other = b"X" + data[1:]
    assert read.sha256_of_extension(other) == hashlib.sha256(other).hexdigest()


def test_verified_bytes_refuses_corrupted_bytes(store):
    info = put(store, os.urandom(5 * 1024 * 1024))
    _tamper(store, info.key)
    read = VerifiedBytes(store, info.key)
    with pytest.raises(BlobCorruptedError):
        read.digest()
    with pytest.raises(BlobCorruptedError):
        read.sha256_of_extension(read.data + b"more")
    with pytest.raises(BlobCorruptedError):  # also when the result is not an extension
        VerifiedBytes(store, info.key).sha256_of_extension(b"rewritten entirely")


def test_local_write_is_atomic(tmp_path):
    store = LocalBlobStore(tmp_path / "blobs")

    class Broken(io.BytesIO):
        def read(self, size=-1):
            if self.tell() > 0:
                raise OSError(28, "No space left on device")
            return super().read(4)

    with pytest.raises(StorageUnavailableError):
        store.put(Broken(b"x" * 100), sha256="b" * 64, size=100)
    assert list(store.keys()) == []
    assert [p for p in (tmp_path / "blobs").rglob("*") if p.is_file()] == []


@pytest.mark.s3
def test_s3_server_down_is_storage_unavailable(s3_server):
    from dataclasses import replace

    settings = replace(s3_server.settings("docs"), s3_endpoint=f"127.0.0.1:{free_port()}")
    store = S3BlobStore.from_settings(settings)
    with pytest.raises(StorageUnavailableError):
        put(store, b"bytes")
    with pytest.raises(StorageUnavailableError):
        store.check()


@pytest.mark.parametrize("kind", ["local", pytest.param("s3", marks=pytest.mark.s3)])
def test_check_only_reads_and_a_wiped_store_is_unavailable(kind, tmp_path, request):
    """/health calls check(): it must never recreate a wiped bucket or folder (before: it made
    the bucket again and said "storage: ok" while every blob was gone)."""
    import shutil

    if kind == "local":
        store = LocalBlobStore(tmp_path / "blobs")
        with pytest.raises(StorageUnavailableError):
            store.check()  # never prepared
        assert not (tmp_path / "blobs").exists()
        store.prepare()
        store.check()
        key = put(store, b"kept").key
        shutil.rmtree(tmp_path / "blobs")
        wipe_again = None
    else:
        store = request.getfixturevalue("s3_store")
        store.check()
        key = put(store, b"kept").key
        for name in [o.object_name for o in store.client.list_objects(store.bucket, recursive=True)]:
            store.client.remove_object(store.bucket, name)
        wipe_again = store.bucket
    with pytest.raises(StorageUnavailableError) as caught:
        store.check()
    assert "docsvc init" in caught.value.details["reason"]
    assert not store.exists(key)
    if kind == "local":
        assert not (tmp_path / "blobs").exists()  # check created nothing
    else:
        store.client.remove_bucket(wipe_again)
        with pytest.raises(StorageUnavailableError):
            store.check()
        assert not store.client.bucket_exists(wipe_again)
