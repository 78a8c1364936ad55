"""The objects the sandbox keeps: containers, published media and comments.

A container's status is not stored but derived from sandbox time, so moving the clock is all
it takes to finish processing or to expire a container.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

_SHORTCODE_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"

STATUS_TEXT = {
    "FINISHED": "Finished: Media has been uploaded and it is ready to be published.",
    "IN_PROGRESS": "In Progress: Media is still being processed.",
    "EXPIRED": "Expired: Media was not published within 24 hours.",
    "PUBLISHED": "Published: Media has been published.",
}


def graph_timestamp(when: datetime) -> str:
    """Meta's timestamp format: `2021-07-26T10:45:20+0000`."""
    return when.strftime("%Y-%m-%dT%H:%M:%S+0000")


def shortcode_for(media_id: str, seed: int) -> str:
    """An 11-character shortcode, stable for a (seed, media id)."""
    digest = hashlib.sha256(f"{seed}:{media_id}".encode()).digest()
    return "".join(_SHORTCODE_ALPHABET[b % 64] for b in digest[:11])


@dataclass
class Container:
    """A media container (`POST /{ig-user-id}/media`)."""

    id: str
    account_id: str
    kind: str  # IMAGE, VIDEO or CAROUSEL
    product_type: str  # FEED, REELS or STORY
    created_at: datetime
    ready_at: datetime | None  # None: waiting for a resumable upload
    media_url: str | None = None
    caption: str | None = None
    is_carousel_item: bool = False
    children: tuple[str, ...] = ()
    failure_subcode: int | None = None
    published_media_id: str | None = None
    params: dict[str, str] = field(default_factory=dict)
    # A resumable container's upload: the size announced, the bytes received so far, and
    # the file's first bytes (what it is); processing starts once all have arrived.
    resumable: bool = False
    upload_size: int | None = None
    upload_received: int = 0
    upload_head: bytes = b""

    def status_code(self, now: datetime, ttl: timedelta) -> str:
        """IN_PROGRESS, FINISHED, ERROR, EXPIRED or PUBLISHED at sandbox time `now`."""
        if self.published_media_id is not None:
            return "PUBLISHED"
        if now >= self.created_at + ttl:
            return "EXPIRED"
        if self.ready_at is None or now < self.ready_at:
            return "IN_PROGRESS"
        return "ERROR" if self.failure_subcode is not None else "FINISHED"

    def fields(self, now: datetime, ttl: timedelta) -> dict[str, Any]:
        code = self.status_code(now, ttl)
        text = STATUS_TEXT.get(code)
        if code == "ERROR":
            text = f"Error: Media upload has failed with error code {self.failure_subcode}"
        return {"id": self.id, "status_code": code, "status": text}


@dataclass
class Media:
    """A published post (or a carousel child of one)."""

    id: str
    account_id: str
    container_id: str
    media_type: str  # IMAGE, VIDEO or CAROUSEL_ALBUM
    product_type: str
    published_at: datetime
    shortcode: str
    username: str
    caption: str | None = None
    media_url: str | None = None
    children: tuple[str, ...] = ()
    comments: list[str] = field(default_factory=list)

    @property
    def permalink(self) -> str:
        return f"https://www.instagram.com/p/{self.shortcode}/"

    def fields(self) -> dict[str, Any]:
        values: dict[str, Any] = {
            "id": self.id,
            "media_type": self.media_type,
            "media_product_type": self.product_type,
            "timestamp": graph_timestamp(self.published_at),
            "permalink": self.permalink,
            "shortcode": self.shortcode,
            "username": self.username,
            "owner": {"id": self.account_id},
            "ig_id": str(int(self.id) * 7 % 10**19),
            "comments_count": len(self.comments),
            "like_count": 0,
            "is_comment_enabled": True,
            "media_url": self.media_url,
        }
        # None: a field the node type has but this object lacks (left out of answers)
        values["caption"] = self.caption
        video = self.media_type == "VIDEO"
        values["thumbnail_url"] = f"{self.media_url}.thumbnail.jpg" if video else None
        return values


@dataclass
class Comment:
    id: str
    media_id: str
    text: str
    created_at: datetime
    username: str

    def fields(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "like_count": 0,
            "text": self.text,
            "timestamp": graph_timestamp(self.created_at),
            "username": self.username,
        }
