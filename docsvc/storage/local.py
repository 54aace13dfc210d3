"""A blob store in a local folder: ``root/ab/cd/<sha256>``, written atomically."""

from __future__ import annotations

import datetime as dt
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from docsvc.errors import BlobCorruptedError, BlobMissingError, StorageUnavailableError
from docsvc.storage.base import SENTINEL, SENTINEL_BODY, BlobInfo, copy_hashing, is_blob_key, key_for


class LocalBlobStore:
    """Store blobs as files; a blob is visible only once completely written and synced."""

    name = "local"

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        if not is_blob_key(key):
            raise BlobMissingError(details={"key": key})
        return self.root / key[:2] / key[2:4] / key

    def put(self, stream: BinaryIO, *, sha256: str, size: int) -> BlobInfo:
        """Copy ``stream`` to a temporary file, check its hash, fsync and rename into place."""
        key = key_for(sha256)
        target = self._path(key)
        try:
            if target.exists() and target.stat().st_size == size:
                return BlobInfo(key=key, sha256=sha256, size=size)
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp_name = tempfile.mkstemp(prefix=".incoming-", dir=target.parent)
            try:
                with os.fdopen(fd, "wb") as tmp:
                    actual, actual_size = copy_hashing(stream, tmp)
                    tmp.flush()
                    os.fsync(tmp.fileno())
                if actual != sha256 or actual_size != size:
                    raise BlobCorruptedError(
                        details={"expected_sha256": sha256, "actual_sha256": actual}
                    )
                os.replace(tmp_name, target)
            finally:
                if os.path.exists(tmp_name):
                    os.unlink(tmp_name)
        except OSError as exc:
            raise StorageUnavailableError(details={"reason": exc.strerror or str(exc)}) from exc
        return BlobInfo(key=key, sha256=sha256, size=size)

    def open(self, key: str) -> BinaryIO:
        """Open the file of ``key``."""
        try:
            return self._path(key).open("rb")
        except FileNotFoundError:
            raise BlobMissingError(details={"key": key}) from None
        except OSError as exc:
            raise StorageUnavailableError(details={"reason": exc.strerror or str(exc)}) from exc

    def exists(self, key: str) -> bool:
        """Tell whether the file of ``key`` exists."""
        return is_blob_key(key) and self._path(key).is_file()

    def delete(self, key: str) -> None:
        """Remove the file of ``key``."""
        if is_blob_key(key):
            self._path(key).unlink(missing_ok=True)

    def keys(self) -> Iterator[str]:
        """Yield every stored key."""
        if not self.root.is_dir():
            return
        for path in self.root.glob("??/??/*"):
            if is_blob_key(path.name):
                yield path.name

    def modified(self, key: str) -> dt.datetime | None:
        """Return the file's modification time."""
        try:
            return dt.datetime.fromtimestamp(self._path(key).stat().st_mtime, dt.UTC)
        except (OSError, BlobMissingError):
            return None

    def stale_temporaries(self, older_than: dt.datetime) -> list[Path]:
        """Return the ``.incoming-*`` files a killed writer left behind before ``older_than``."""
        if not self.root.is_dir():
            return []
        return [p for p in self.root.glob("??/??/.incoming-*")
                if dt.datetime.fromtimestamp(p.stat().st_mtime, dt.UTC) < older_than]

    def prepare(self) -> None:
        """Create the folder and its sentinel file."""
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            sentinel = self.root / SENTINEL
            if not sentinel.is_file():
                sentinel.write_bytes(SENTINEL_BODY)
        except OSError as exc:
            raise StorageUnavailableError(details={"reason": exc.strerror or str(exc)}) from exc
        self.check()

    def check(self) -> None:
        """Make sure the folder ``prepare`` made is there, with its sentinel, and writable."""
        if not self.root.is_dir():
            raise StorageUnavailableError(details={"reason": f"{self.root} is missing (run docsvc init)"})
        if not (self.root / SENTINEL).is_file():
            raise StorageUnavailableError(details={
                "reason": f"{self.root} has no {SENTINEL}: wiped or not prepared (run docsvc init)"})
        if not os.access(self.root, os.W_OK | os.X_OK):
            raise StorageUnavailableError(details={"reason": f"{self.root} is not writable"})
