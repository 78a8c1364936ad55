"""The seams between the publishing engine and the media copies it publishes from.

A post scheduled with ``media_path`` has its file copied into a `MediaStore` under the key
``<sha256 hex><extension>`` (the post's ``media_file``). When the post is published:

- a video goes to Instagram through the resumable upload, its bytes read with
  `MediaStore.open`;
- an image needs a URL Instagram can fetch: `MediaHost.url_for` gives one (a presigned
  bucket URL, or `igautopost serve`'s own address) that works at least until the container
  is made.

Once the post is published or cancelled, and a grace period has passed, the copy is deleted
(`MediaStore.delete`, `MediaHost.forget`).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import BinaryIO, Protocol

from ..errors import MediaMissing

__all__ = ["MediaHost", "MediaMissing", "MediaStore", "StoredMedia"]


@dataclass(frozen=True)
class StoredMedia:
    key: str  # "<sha256 hex><extension>", e.g. "9f86d08...0a08.jpg"
    size: int  # bytes
    content_type: str  # "image/jpeg", "video/mp4", ...
    stored_at: datetime | None = None  # UTC, when the copy was made (for pruning)


class MediaStore(Protocol):
    def add(self, source: Path) -> StoredMedia:
        """Copy a file in; the same content twice is stored once."""
        ...

    def add_stream(self, stream: BinaryIO, *, suffix: str) -> StoredMedia:
        """Copy an upload in (the API's multipart file), hashing it as it is read."""
        ...

    def info(self, key: str) -> StoredMedia:
        """Raises `MediaMissing`."""
        ...

    def open(self, key: str) -> BinaryIO:
        """The copy's bytes. Raises `MediaMissing`."""
        ...

    def delete(self, key: str) -> None:
        """Idempotent."""
        ...

    def keys(self) -> Iterator[StoredMedia]: ...


class MediaHost(Protocol):
    def url_for(self, media: StoredMedia, *, valid_for: timedelta) -> str:
        """A public URL Instagram can fetch the copy from, for at least `valid_for`."""
        ...

    def forget(self, key: str) -> None:
        """Stop serving the copy (delete the bucket object, drop the served path)."""
        ...
