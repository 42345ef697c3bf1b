"""Where the recordings live: one small interface, the local data dir by default.

A recording is stored once under a content address (audio/ab/<sha256>.<ext>, a key relative to the
store) and read back by key. The service keeps the key in calls.audio_path; workers read by key, so
every worker must see the same store. With several machines, mount one shared volume (NFS, a cloud
file share, a CephFS) at the same CALLSCOPE_DATA_DIR on the service and on every `callscope worker`:
writes are a rename into place (atomic on one filesystem), names are content hashes (two machines
storing the same call write the same bytes under the same name), nothing is ever rewritten. An
object store fits the same interface: put uploads the file, local_path downloads it to a cache.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Protocol

from callscope.core.config import Settings


class AudioStore(Protocol):
    def put(self, source: Path, key: str) -> None:
        """Take the file at source (it is moved, not copied) and keep it under key."""

    def local_path(self, key: str) -> Path:
        """A local file with the recording of key, for the pipeline and the player to read."""

    def delete(self, key: str) -> None:
        """Remove key (nothing to do when it is gone already); OSError when it is still there."""


class LocalStore:
    """The data dir (CALLSCOPE_DATA_DIR): a local disk, or a shared volume mounted on every machine."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if not path.is_relative_to(self.root.resolve()):
            raise ValueError(f"audio key outside the store: {key!r}")
        return path

    def put(self, source: Path, key: str) -> None:
        target = self._path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(source, target)

    def local_path(self, key: str) -> Path:
        return self._path(key)

    def delete(self, key: str) -> None:
        path = self._path(key)
        path.unlink(missing_ok=True)
        if path.exists():
            raise OSError(f"{key}: still there after unlink")


def audio_store(settings: Settings) -> AudioStore:
    return LocalStore(Path(settings.data_dir))
