"""Publishing from local copies: which media source a container gets, and the video upload.

A post (or carousel item) scheduled from a local file carries ``media_file``, the key of its
copy in the `MediaStore`. When its container is made:

- a video (a reel, a story video, a carousel video item) gets a resumable container, and
  its bytes are streamed from `MediaStore.open` to the container's upload ``uri``;
- an image gets ``image_url`` from the `MediaHost`, valid for `EnginePolicy.media_url_life`:
  Instagram fetches it while the create call and the container's processing run, which take
  seconds to a few minutes, so an hour covers a slow fetch with a wide margin while a URL
  that leaks stops working soon. A new container (after an ERROR or expiry) asks for a new
  URL.

What cannot work (no store, no host, a copy pruned meanwhile) raises `LocalMediaUnavailable`,
whose text the post fails with: it says what to set or do; it is never retried, since no
amount of waiting makes a missing copy appear.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from ..errors import LocalMediaUnavailable
from ..graph.client import GraphClient, Token
from ..graph.params import UPLOAD, MediaSource
from ..graph.responses import UploadContainer
from ..media.protocols import MediaHost, MediaMissing, MediaStore
from ..models import CarouselItem, ItemKind, MediaType, PostSpec, guess_kind

NO_STORE = (
    "{what} is a local file, but this worker has no media store to read its copy from: "
    "run the worker with the IGAUTOPOST_MEDIA_STORE setting the post was scheduled with"
)
NO_HOST = (
    "{what} is an image from a local file, and Instagram needs a URL to fetch an image: set "
    "IGAUTOPOST_PUBLIC_URL (igautopost serve then serves it) or an s3:// "
    "IGAUTOPOST_MEDIA_STORE, then retry the post"
)
MISSING = (
    "the copy of {what} ({key}) is no longer in the media store (pruned, or kept on another "
    "machine): schedule the post again with its file"
)


NOT_COPIED = (
    "{what} names a local file ({path}) but no copy of it was stored when it was scheduled: "
    "schedule the post again with its file"
)


@dataclass(frozen=True)
class LocalMedia:
    """The media store and host a publisher publishes local copies from (either may be
    None: posts with URLs need neither)."""

    store: MediaStore | None
    host: MediaHost | None
    url_life: timedelta

    def post_source(self, spec: PostSpec) -> MediaSource | None:
        """Where a single post's container gets its media; None: the spec's own URL."""
        what = "the post's media"
        if spec.media_file is None:
            _check_copied(spec.media_url, spec.media_path, what)
            return None
        return self._source(spec.media_file, post_kind(spec), what)

    def item_source(self, item: CarouselItem, number: int) -> MediaSource | None:
        """Where carousel item `number` (from 1) gets its media; None: its own URL."""
        what = f"carousel item {number}"
        if item.media_file is None:
            _check_copied(item.media_url, item.media_path, what)
            return None
        return self._source(item.media_file, item.item_kind, what)

    def upload(
        self, client: GraphClient, container: UploadContainer, key: str, *, token: Token
    ) -> None:
        """Stream the copy's bytes to the container's upload uri (from its first byte)."""
        store = self._store(key, "the video")
        try:
            size = store.info(key).size
            media = store.open(key)
        except MediaMissing:
            raise LocalMediaUnavailable(MISSING.format(what="the video", key=key)) from None
        with media:
            client.upload_video(container.uri, media, token=token, size=size)

    def _source(self, key: str, kind: ItemKind, what: str) -> MediaSource:
        store = self._store(key, what)
        if kind is not ItemKind.VIDEO and self.host is None:
            raise LocalMediaUnavailable(NO_HOST.format(what=what))
        try:  # before any container is made for it
            stored = store.info(key)
        except MediaMissing:
            raise LocalMediaUnavailable(MISSING.format(what=what, key=key)) from None
        if kind is ItemKind.VIDEO:
            return UPLOAD
        assert self.host is not None
        return MediaSource(url=self.host.url_for(stored, valid_for=self.url_life))

    def _store(self, key: str, what: str) -> MediaStore:
        if self.store is None:
            raise LocalMediaUnavailable(NO_STORE.format(what=what))
        return self.store


def _check_copied(url: str | None, path: str | None, what: str) -> None:
    """A local path without a stored copy cannot be published (nor retried into working)."""
    if url is None and path is not None:
        raise LocalMediaUnavailable(NOT_COPIED.format(what=what, path=path))


def post_kind(spec: PostSpec) -> ItemKind:
    """Whether a single post's media is a video (a reel, a story video) or an image."""
    if spec.media_type is MediaType.REEL:
        return ItemKind.VIDEO
    if spec.media_type is MediaType.STORY:
        return spec.media_kind or guess_kind(spec.media_source)
    return ItemKind.IMAGE


def uploads(spec: PostSpec) -> bool:
    """Whether the post's single container is made with ``upload_type=resumable``."""
    return spec.media_file is not None and post_kind(spec) is ItemKind.VIDEO


def item_uploads(item: CarouselItem) -> bool:
    return item.media_file is not None and item.item_kind is ItemKind.VIDEO
