"""Media copies in a folder: `FolderMediaStore`.

A copy's name is its key, ``<sha256 hex><lowercased extension>``, so the same content is
stored once however many posts use it, and a key names its bytes for good (a copy is never
rewritten in place). A copy is written to a temporary file in the same folder, flushed to disk
and renamed into place, so a reader (the served route, the publishing engine) sees the whole
file or none. The folder is the owner's only (0700) and every copy 0600: they are what the
user scheduled, perhaps not yet public.

`stored_at` is the file's modification time, set from the store's clock when the copy is
added, and refreshed when the same content is added again: the pruner deletes a copy that no
post references once it is older than the grace period, and a copy just added for a post
about to be saved must not look old.
"""

from __future__ import annotations

import hashlib
import mimetypes
import os
import re
import tempfile
from collections.abc import Iterator
from contextlib import suppress
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from ..clock import Clock, SystemClock
from .protocols import MediaMissing, StoredMedia

OWNER_ONLY_DIR = 0o700
OWNER_ONLY_FILE = 0o600
CHUNK_BYTES = 1024 * 1024

KEY_PATTERN = re.compile(r"[0-9a-f]{64}(\.[a-z0-9]{1,10})?")
SUFFIX_PATTERN = re.compile(r"(\.[a-z0-9]{1,10})?")

# Explicit, because `mimetypes` reads the machine's tables and they differ between systems.
CONTENT_TYPES = {
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".png": "image/png",
    ".gif": "image/gif",
    ".webp": "image/webp",
    ".heic": "image/heic",
    ".mp4": "video/mp4",
    ".m4v": "video/mp4",
    ".mov": "video/quicktime",
}


def is_media_key(key: str) -> bool:
    """Whether `key` has the shape of a store key: it also keeps any path out of a name."""
    return KEY_PATTERN.fullmatch(key) is not None


def media_suffix(name: str) -> str:
    """The lowercased extension of a file name, as a key ends with it ("" when none fits)."""
    suffix = Path(name).suffix.lower()
    return suffix if SUFFIX_PATTERN.fullmatch(suffix) else ""


def content_type_of(key: str) -> str:
    suffix = Path(key).suffix
    return (
        CONTENT_TYPES.get(suffix)
        or mimetypes.guess_type(f"x{suffix}")[0]
        or ("application/octet-stream")
    )


class FolderMediaStore:
    """A `MediaStore` in a local folder, created (0700) on the first copy."""

    def __init__(self, path: Path, *, clock: Clock | None = None) -> None:
        self.path = Path(path)
        self._clock = clock or SystemClock()

    def add(self, source: Path) -> StoredMedia:
        with Path(source).open("rb") as stream:
            return self.add_stream(stream, suffix=media_suffix(str(source)))

    def add_stream(self, stream: BinaryIO, *, suffix: str) -> StoredMedia:
        suffix = suffix.lower()
        if not SUFFIX_PATTERN.fullmatch(suffix):
            raise ValueError(f"not a media file extension: {suffix!r}")
        self._private_folder()
        descriptor, temporary = tempfile.mkstemp(dir=self.path, prefix=".incoming-")
        try:
            digest = _write_hashing(descriptor, stream)
            key = digest + suffix
            final = self.path / key
            if self._restamped(final):  # the same content, stored already: keep that one
                os.unlink(temporary)
            else:
                os.chmod(temporary, OWNER_ONLY_FILE)
                os.replace(temporary, final)
                _fsync_directory(self.path)
                self._stamp(final)
        except BaseException:
            with suppress(FileNotFoundError):
                os.unlink(temporary)
            raise
        return self.info(key)

    def info(self, key: str) -> StoredMedia:
        try:
            status = self._path_of(key).stat()
        except FileNotFoundError:
            raise MediaMissing(key) from None
        return StoredMedia(
            key=key,
            size=status.st_size,
            content_type=content_type_of(key),
            stored_at=datetime.fromtimestamp(status.st_mtime, UTC),
        )

    def open(self, key: str) -> BinaryIO:
        try:
            return self._path_of(key).open("rb")
        except FileNotFoundError:
            raise MediaMissing(key) from None

    def delete(self, key: str) -> None:
        self._path_of(key).unlink(missing_ok=True)

    def keys(self) -> Iterator[StoredMedia]:
        """Every copy, in key order; temporary files of copies being written are not."""
        if not self.path.is_dir():
            return
        for name in sorted(os.listdir(self.path)):
            if is_media_key(name):
                with suppress(MediaMissing):  # deleted while listing
                    yield self.info(name)

    def _path_of(self, key: str) -> Path:
        if not is_media_key(key):
            raise MediaMissing(key)
        return self.path / key

    def _private_folder(self) -> None:
        if not self.path.is_dir():
            self.path.mkdir(mode=OWNER_ONLY_DIR, parents=True, exist_ok=True)
        with suppress(PermissionError):
            self.path.chmod(OWNER_ONLY_DIR)

    def _restamped(self, path: Path) -> bool:
        """Refresh an existing copy's stored-at; False when there is none (or it was pruned
        a moment ago: then the new file takes its place)."""
        try:
            self._stamp(path)
        except FileNotFoundError:
            return False
        return True

    def _stamp(self, path: Path) -> None:
        moment = self._clock.now().timestamp()
        os.utime(path, (moment, moment))


def _write_hashing(descriptor: int, stream: BinaryIO) -> str:
    """Copy `stream` to the open file, flushed to disk; the sha256 hex of what was copied."""
    digest = hashlib.sha256()
    with os.fdopen(descriptor, "wb") as target:
        while chunk := stream.read(CHUNK_BYTES):
            digest.update(chunk)
            target.write(chunk)
        target.flush()
        os.fsync(target.fileno())
    return digest.hexdigest()


def _fsync_directory(path: Path) -> None:
    """Make the rename durable (a no-op where directories cannot be opened, e.g. Windows)."""
    with suppress(OSError):
        descriptor = os.open(path, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)


__all__ = ["FolderMediaStore", "content_type_of", "is_media_key", "media_suffix"]
