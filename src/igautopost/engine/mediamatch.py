"""Find the media of a post published while its answer was lost: unambiguous matches only.

A publish call can go through although its answer never arrives (a timeout, a dropped
connection, a worker killed mid-call); the container then reads PUBLISHED, and the post is
recorded as published with its media id unknown. The Graph API has no way from a container
to its media, so the media id and permalink are looked for among the account's recent media
(`GET /{ig-user-id}/media`). Never the newest one blindly (another post, from this app or
any other, may be newer): a media matches only when

- its type is the post's (an image, a reel, a carousel album),
- its caption is the post's,
- its timestamp lies between the first publish attempt and the moment the post was seen
  published (give or take `SKEW`, for the clocks of Meta and of this machine), and
- no other post in the store has recorded it.

Exactly one match is taken. None (the listing may lag) is tried again a few times; two or
more leave the media id unknown, with the reason in the post's event log.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from ..graph.client import GraphClient, Token
from ..graph.responses import MediaInfo
from ..models import MediaType, Post
from ..storage.protocols import Store

SKEW = timedelta(minutes=2)
LISTED_TYPES = {
    MediaType.IMAGE: ("IMAGE", None),
    MediaType.REEL: ("VIDEO", "REELS"),
    MediaType.CAROUSEL: ("CAROUSEL_ALBUM", None),
}


@dataclass(frozen=True)
class Match:
    """The post's media, or why it was not found (`retry`: it may be listed later)."""

    media: MediaInfo | None
    reason: str = ""
    retry: bool = False


def searchable(post: Post) -> str | None:
    """Why the post's media cannot be looked for among recent media; None if it can."""
    if post.media_type not in LISTED_TYPES:
        return f"{post.media_type} posts are not listed among the account's media"
    return None


def window(post: Post) -> tuple[datetime, datetime]:
    """From the first publish attempt (or the container's creation) to when the post was
    seen published, widened by `SKEW`."""
    start = post.publish_attempted_at or post.container_created_at or post.publish_at
    end = post.published_at or start
    return start - SKEW, end + SKEW


def match_media(post: Post, recent: Sequence[MediaInfo], recorded: Collection[str]) -> Match:
    """The one media in `recent` that can be this post's (see the module text); `recorded`
    holds the media ids other posts of the account have already."""
    found = [media for media in recent if _fits(post, media) and media.id not in recorded]
    if len(found) == 1:
        return Match(found[0])
    if not found:
        return Match(None, "no recent media of the account matches it", retry=True)
    ids = ", ".join(media.id for media in found)
    return Match(None, f"{len(found)} recent media match it ({ids}): none taken")


def _fits(post: Post, media: MediaInfo) -> bool:
    kind, product = LISTED_TYPES.get(post.media_type, (None, None))
    if media.media_type != kind or (product and media.media_product_type != product):
        return False
    if (media.caption or "").strip() != (post.spec.caption or "").strip():
        return False
    start, end = window(post)
    return media.timestamp is not None and start <= media.timestamp <= end


RECENT = 50  # media read: more than an account publishes in the window (quota: 50 a day)


def find_media(
    client: GraphClient, store: Store, post: Post, token: Token, *, host: str | None
) -> Match:
    """Read the account's recent media, from `host` (None: the client's default), and match
    the post among them (raises the `GraphError` of the read)."""
    reason = searchable(post)
    if reason is not None:
        return Match(None, reason)
    recent = client.recent_media(post.account, token=token, limit=RECENT, host=host)
    recorded = store.recorded_media(post.account, since=window(post)[0])
    return match_media(post, recent, recorded)
