"""Where media files live: a directory by default, behind a small interface.

An S3-compatible backend implements the same three methods.
"""

from __future__ import annotations

import functools
import os
import tempfile
from pathlib import Path
from typing import Protocol

from crm_app.config import get_settings


class MediaStorage(Protocol):
    def put(self, key: str, data: bytes) -> None: ...
    def read(self, key: str) -> bytes: ...
    def exists(self, key: str) -> bool: ...
    def delete(self, key: str) -> bool: ...


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

    def delete(self, key: str) -> bool:
        """Remove the file under `key`; False when it was already gone (deleting twice is harmless)."""
        try:
            self._path(key).unlink()
        except FileNotFoundError:
            return False
        return True


@functools.lru_cache(maxsize=1)
def get_storage() -> MediaStorage:
    """The configured media storage."""
    return LocalStorage(get_settings().data_dir / "media")
