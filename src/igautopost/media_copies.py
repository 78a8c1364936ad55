"""What is kept of local files' media copies, and pruning what no post needs any more.

A copy (media/store.py, media/bucket.py) is kept while a post may still publish it, and for
a grace period (``media_keep_seconds``, a day by default) after the last one is finished:
long enough to look into a failure, or retry it, with the file at hand. `prune_media`
deletes a copy when:

- every post using it is published, cancelled or failed, and has been for longer than the
  grace period (its status last changed before the cutoff); or
- no post uses it (an upload whose post was never saved), and it is older than that;

and never a copy a scheduled, processing or ready post uses, nor one (re)added within the
grace period: scheduling adds the copy before it saves the post, so a fresh copy without
users is a post on its way. A failed post retried after its copy was pruned fails again
with the copy missing: schedule it again from the file.

`igautopost media prune` runs it, and the worker's periodic upkeep.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import islice

from .clock import Clock
from .config import Settings
from .media.hosting import media_store_from
from .media.protocols import MediaHost, MediaMissing, MediaStore, StoredMedia
from .periodic import Periodic
from .storage.protocols import MediaUse, PostStore

log = logging.getLogger("igautopost.media")

LOOKUP_CHUNK = 500  # copies whose users are read in one query


@dataclass(frozen=True)
class MediaCopy:
    """A copy in the store and the posts that use it (by post id)."""

    media: StoredMedia
    uses: list[MediaUse]

    @property
    def in_use(self) -> bool:
        """A scheduled, processing or ready post may still publish it."""
        return any(use.status.is_active for use in self.uses)

    def prunable(self, cutoff: datetime) -> bool:
        """Whether nothing may need the copy any more (see the module's docstring)."""
        if self.in_use:
            return False
        if self.media.stored_at is not None and self.media.stored_at > cutoff:
            return False
        return all(use.updated_at <= cutoff for use in self.uses)


@dataclass(frozen=True)
class Pruned:
    """What `prune_media` deleted (or, dry, would delete), and how many copies it kept."""

    deleted: list[StoredMedia] = field(default_factory=list)
    kept: int = 0

    @property
    def bytes_freed(self) -> int:
        return sum(media.size for media in self.deleted)


def media_copies(store: PostStore, media: MediaStore) -> Iterator[MediaCopy]:
    """Every copy in `media` with its users, in the store's order; one query per
    `LOOKUP_CHUNK` copies."""
    listed = iter(media.keys())
    while chunk := list(islice(listed, LOOKUP_CHUNK)):
        uses = store.media_uses(item.key for item in chunk)
        for item in chunk:
            yield MediaCopy(item, uses.get(item.key, []))


def prune_media(
    store: PostStore,
    media: MediaStore,
    *,
    now: datetime,
    keep: timedelta,
    host: MediaHost | None = None,
    dry_run: bool = False,
) -> Pruned:
    """Delete the copies no post needs any more (`MediaCopy.prunable` at ``now - keep``),
    from the store and from `host` when it keeps its own (a bucket that is also the store is
    deleted once). `dry_run`: only say which."""
    cutoff = now - keep
    deleted: list[StoredMedia] = []
    kept = 0
    for copy in media_copies(store, media):
        if not copy.prunable(cutoff) or not _still_prunable(store, media, copy, cutoff):
            kept += 1
            continue
        if not dry_run:
            _delete(media, host, copy.media.key)
        deleted.append(copy.media)
    return Pruned(deleted, kept)


def _still_prunable(store: PostStore, media: MediaStore, copy: MediaCopy, cutoff: datetime) -> bool:
    """Read again just before deleting: a post may have been scheduled with this copy since
    the chunk was read (it re-added the copy, refreshing its stored-at, then saved itself)."""
    try:
        fresh = media.info(copy.media.key)
    except MediaMissing:
        return False  # gone already
    uses = store.media_uses([copy.media.key]).get(copy.media.key, [])
    return MediaCopy(fresh, uses).prunable(cutoff)


def _delete(media: MediaStore, host: MediaHost | None, key: str) -> None:
    if host is not None and id(host) != id(media):  # a bucket is both: delete it once
        host.forget(key)
    media.delete(key)


class MediaKeeper:
    """Prunes the copies every `interval` on a thread (`start`, `stop`), as the worker's
    periodic upkeep; a failed pass is logged and tried again at the next."""

    def __init__(
        self,
        store: PostStore,
        media: MediaStore,
        clock: Clock,
        *,
        keep: timedelta,
        host: MediaHost | None = None,
        interval: timedelta = timedelta(hours=1),
    ) -> None:
        self.store, self.media, self.host, self.clock = store, media, host, clock
        self.keep, self.interval = keep, interval
        self._periodic = Periodic(
            self.run_once,
            every=self.interval.total_seconds,
            name="igautopost-media",
            failure="pruning media copies failed",
            log=log,
        )

    @classmethod
    def from_settings(cls, settings: Settings, store: PostStore, clock: Clock) -> MediaKeeper:
        """The keeper of the media store and host `settings` name, keeping copies
        ``media_keep_seconds`` after their last post is finished."""
        # No host: a bucket is the store itself, and `igautopost serve` serves only what
        # the store holds; neither keeps copies of its own to forget.
        media = media_store_from(settings, clock=clock)
        keep = timedelta(seconds=settings.media_keep_seconds)
        return cls(store, media, clock, keep=keep)

    def run_once(self) -> Pruned:
        pruned = prune_media(
            self.store, self.media, now=self.clock.now(), keep=self.keep, host=self.host
        )
        if pruned.deleted:
            log.info(
                "media copies pruned: %d (%d bytes), %d kept",
                len(pruned.deleted),
                pruned.bytes_freed,
                pruned.kept,
            )
        return pruned

    def start(self) -> MediaKeeper:
        """A pass at once (a worker started now and then still prunes), then every
        `interval` until `stop`."""
        self._periodic.start()
        return self

    def stop(self, timeout: float | None = None) -> None:
        self._periodic.stop(timeout)


__all__ = ["MediaCopy", "MediaKeeper", "Pruned", "media_copies", "prune_media"]
