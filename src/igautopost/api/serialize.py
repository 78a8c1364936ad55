"""A post as the API shows it: the old service's fields (never the token) plus its state.

The pydantic models here describe the bodies for the OpenAPI schema; handlers build plain
dicts with `post_body`: an answer is built from a post already valid, so validating it
again per response would be work for nothing (docs/benchmarks.md).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from ..models import Event, MediaType, Post, PostSpec, UserTag
from .legacy import TOKEN_PLACEHOLDER

# The old service's content_type for each media type (it knew Photo and Video only).
CONTENT_TYPES = {
    MediaType.IMAGE: "Photo",
    MediaType.REEL: "Video",
    MediaType.STORY: "Story",
    MediaType.CAROUSEL: "Carousel",
}
# Extension fields, shown only when the post has them.
EXTRAS = (
    "media_path",  # an uploaded file's name (its media has no URL: `url` is empty)
    "children",
    "media_kind",
    "cover_url",
    "share_to_feed",
    "collaborators",
    "alt_text",
    "first_comment",
    "timezone",
    "recurrence",
    "prepare_ahead",
    "client_key",
)


def iso(moment: datetime | None) -> str | None:
    """ISO 8601 in UTC with a ``Z``, as DRF writes times."""
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def post_body(post: Post) -> dict[str, Any]:
    """The old service's fields with their old JSON types (api-contract.md, "Fields
    returned"), then the extensions: `account` keeps every digit of the IG user id as text."""
    spec = post.spec
    body: dict[str, Any] = {
        "id": post.id,
        "user_id": int(spec.account),  # validation keeps accounts numeric
        "account": spec.account,
        "url": spec.media_url or _cover_url(spec),
        "content_type": CONTENT_TYPES[spec.media_type],
        "media_type": spec.media_type.value,
        "date_pub": int(spec.publish_at.timestamp()),
        "publish_at": iso(spec.publish_at),
        "caption": spec.caption or None,
        "location_id": spec.location_id,
        "user_tags": _tags_text(spec.user_tags),
        "thump_offset": None if spec.thumb_offset is None else str(spec.thumb_offset),
        "token": TOKEN_PLACEHOLDER,
        "schedule_id": post.id,  # no separate schedule row: the post's id serves
        "status": post.status.value,
        "media_id": post.media_id,
        "permalink": post.permalink,
        "published_at": iso(post.published_at),
        "error": post.error_summary(),
        "created_at": iso(post.created_at),
        "updated_at": iso(post.updated_at),
    }
    for name in EXTRAS:
        value = getattr(spec, name)
        if value not in (None, [], "UTC"):
            body[name] = _plain(value)
    return body


def _cover_url(spec: PostSpec) -> str:
    """A carousel's `url` (the old field is never null): its first item's."""
    return spec.children[0].media_source if spec.children else ""


def _tags_text(tags: list[UserTag]) -> str | None:
    """User tags as the old service stored them: the JSON text of the array, null for none."""
    if not tags:
        return None
    return json.dumps([tag.model_dump(exclude_none=True) for tag in tags])


def _plain(value: Any) -> Any:
    if isinstance(value, list):
        return [
            item.model_dump(mode="json", exclude_none=True) if isinstance(item, BaseModel) else item
            for item in value
        ]
    return value.value if hasattr(value, "value") else value


def event_body(event: Event) -> dict[str, Any]:
    return {
        "at": iso(event.at),
        "from": event.from_status.value if event.from_status else None,
        "to": event.to_status.value,
        "detail": event.detail,
    }


# -- schemas for the OpenAPI document ------------------------------------------------------


class PostIn(BaseModel):
    """A post to schedule (JSON or form). Our field names are accepted too: account,
    access_token, media_url, media_type, publish_at, thumb_offset, children, first_comment..."""

    model_config = ConfigDict(extra="allow")

    user_id: int | str = Field(description="Instagram professional account id (IG user id)")
    token: str = Field(
        description="That account's access token; write-only, stored encrypted. The "
        f"placeholder {TOKEN_PLACEHOLDER!r} keeps the stored token"
    )
    url: str = Field(max_length=4000, description="Public media URL (photo or video)")
    content_type: str = Field(description="Photo or Video; also Reel, Story, Carousel")
    date_pub: int | str = Field(description="Unix seconds, or ISO 8601 with an offset; future")
    caption: str | None = None
    location_id: str | None = None
    user_tags: list[dict[str, Any]] | str | None = Field(
        None, description='[{"username", "x", "y"}] or the same as a JSON string'
    )
    thump_offset: int | str | None = Field(None, description="Video thumbnail offset, ms")


class PostErrorOut(BaseModel):
    """Why a post failed, or why it waits to try again, as returned: Instagram's code and
    subcode, the message, and when it tries again (`retry_at`, ISO 8601; null once it has
    failed)."""

    code: int | None
    subcode: int | None
    message: str
    retry_at: str | None = None


class PostOut(BaseModel):
    """A post as returned: the old service's fields with their old JSON types (`user_id` a
    number, `user_tags` and `thump_offset` text, `token` a placeholder), then extensions;
    the optional extension fields appear when set."""

    model_config = ConfigDict(extra="allow")

    id: int
    user_id: int = Field(description="The IG user id as a number (the old BigIntegerField)")
    account: str = Field(description="Extension: the IG user id as text, every digit exact")
    url: str = Field(description="The media URL; a carousel's first item")
    content_type: str
    media_type: str = Field(description="Extension: image, reel, story or carousel")
    date_pub: int
    publish_at: str
    caption: str | None
    location_id: str | None
    user_tags: str | None = Field(description="The tags' JSON text, null for none")
    thump_offset: str | None = Field(description="Milliseconds, as text")
    token: str = Field(description=f"Always the placeholder {TOKEN_PLACEHOLDER!r}")
    schedule_id: int = Field(description="The post's id (there is no separate schedule)")
    status: str = Field(description="scheduled, processing, ready, published, failed, cancelled")
    media_id: str | None
    permalink: str | None
    published_at: str | None
    error: PostErrorOut | None
    created_at: str
    updated_at: str


class PostPage(BaseModel):
    count: int
    next: str | None
    previous: str | None
    results: list[PostOut]


class EventOut(BaseModel):
    at: str
    from_: str | None = Field(alias="from")
    to: str
    detail: str


class TokenOut(BaseModel):
    token: str


class Detail(BaseModel):
    detail: str
