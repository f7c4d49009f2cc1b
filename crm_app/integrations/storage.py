"""Where media files live: a directory by default, behind a small interface.

An S3-compatible backend implements the same methods (`append` as a conditional write of the object).
"""

from __future__ import annotations

import contextlib
import functools
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO, Protocol

from crm_app.config import get_settings


class MediaStorage(Protocol):
    def put(self, key: str, data: bytes) -> None: ...
    def read(self, key: str) -> bytes: ...
    def exists(self, key: str) -> bool: ...
    def delete(self, key: str) -> bool: ...
    def append(self, key: str, data: bytes) -> None: ...
    def delete_prefix(self, prefix: str) -> int: ...
    def writer(self, key: str) -> contextlib.AbstractContextManager[BinaryIO]: ...
    def reader(self, key: str) -> BinaryIO: ...
    def size(self, key: str) -> int: ...


class LocalStorage:
    """Files under one root directory; writes are atomic (temp file, then rename)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if not path.is_relative_to(self.root.resolve()):
            raise ValueError("storage key escapes the media directory")
        return path

    def put(self, key: str, data: bytes) -> None:
        """Store `data` under `key`, replacing what was there."""
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)

    def read(self, key: str) -> bytes:
        """The bytes under `key`; FileNotFoundError when missing."""
        return self._path(key).read_bytes()

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    @contextlib.contextmanager
    def writer(self, key: str) -> Iterator[BinaryIO]:
        """A file to stream into; it appears under `key` only when the block ends without an error (temp file,
        fsync, rename), so a killed writer never leaves half a file under the key."""
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".part")
        try:
            with os.fdopen(fd, "wb") as fh:
                yield fh
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise

    def reader(self, key: str) -> BinaryIO:
        """The file under `key`, open for streaming reads (the caller closes it); FileNotFoundError when missing."""
        return self._path(key).open("rb")

    def size(self, key: str) -> int:
        """The size in bytes of the file under `key`; FileNotFoundError when missing."""
        return self._path(key).stat().st_size

    def append(self, key: str, data: bytes) -> None:
        """Add `data` at the end of the file under `key` (created when missing), durably.

        One `O_APPEND` write, then fsync: the kernel places each append at the end of the file under the
        inode's lock, so concurrent writers (two bulk workers erasing at once) never overwrite or interleave
        each other's records, as a read-modify-write or a temp file and rename would (the last rename wins).
        """
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            view = memoryview(data)
            while view:  # a regular file only writes short on a full disk; finish the record if it does
                view = view[os.write(fd, view):]
            os.fsync(fd)
        finally:
            os.close(fd)
        directory = os.open(path.parent, os.O_RDONLY)
        try:  # the file's own entry, when the append created it
            os.fsync(directory)
        finally:
            os.close(directory)

    def delete(self, key: str) -> bool:
        """Remove the file under `key`; False when it was already gone (deleting twice is harmless)."""
        try:
            self._path(key).unlink()
        except FileNotFoundError:
            return False
        return True

    def delete_prefix(self, prefix: str) -> int:
        """Remove every file whose key starts with the folder `prefix` ("7/", not "7"); returns how many.

        Raises:
            ValueError: `prefix` is empty or names the storage root itself.
        """
        path = self._path(prefix.strip("/"))
        if not prefix.strip("/") or path == self.root.resolve():
            raise ValueError("refusing to delete the whole media directory")
        if not path.is_dir():
            return 0
        count = sum(1 for p in path.rglob("*") if p.is_file())
        shutil.rmtree(path)
        return count


@functools.lru_cache(maxsize=1)
def get_storage() -> MediaStorage:
    """The configured media storage."""
    return LocalStorage(get_settings().data_dir / "media")
