"""Domain types: what to publish (`PostSpec`) and what is stored about it (`Post`).

`PostSpec` parses types and accepts the old service's field names (``user_id``, ``token``,
``url``, ``content_type``, ``date_pub``, ``thump_offset``, ``user_tags`` as a JSON string).
Instagram's own rules (lengths, counts, which field goes with which media type) are checked
by `igautopost.validation`, so that every broken rule is reported at once.
"""

from __future__ import annotations

import hashlib
import json
import math
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AliasChoices,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationInfo,
    field_validator,
    model_validator,
)


class MediaType(StrEnum):
    IMAGE = "image"
    REEL = "reel"
    STORY = "story"
    CAROUSEL = "carousel"


# Names accepted on input (case-insensitive): ours, the old service's and the Graph API's.
MEDIA_TYPE_NAMES: dict[str, MediaType] = {
    "image": MediaType.IMAGE,
    "photo": MediaType.IMAGE,
    "reel": MediaType.REEL,
    "reels": MediaType.REEL,
    "video": MediaType.REEL,
    "story": MediaType.STORY,
    "stories": MediaType.STORY,
    "carousel": MediaType.CAROUSEL,
    "carousel_album": MediaType.CAROUSEL,
}


class ItemKind(StrEnum):
    """What a single media URL holds: a story or a carousel item is either."""

    IMAGE = "image"
    VIDEO = "video"


VIDEO_EXTENSIONS = (".mp4", ".mov", ".m4v")


def guess_kind(url: str) -> ItemKind:
    """A URL whose path ends in a video extension is a video; anything else an image."""
    path = urlsplit(url).path.lower()
    return ItemKind.VIDEO if path.endswith(VIDEO_EXTENSIONS) else ItemKind.IMAGE


class Status(StrEnum):
    SCHEDULED = "scheduled"
    PROCESSING = "processing"
    READY = "ready"
    PUBLISHED = "published"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def is_active(self) -> bool:
        """Still on its way to Instagram: the scheduler has work to do for it."""
        return self in (Status.SCHEDULED, Status.PROCESSING, Status.READY)


# The stored values of the active statuses, as SQL compares them: one list for every query.
ACTIVE_STATUS_VALUES = tuple(s.value for s in Status if s.is_active)

# Which of Meta's logins issued an account's token: it decides the API host its calls go to.


FINGERPRINT_CHARS = 32  # 128 bits of SHA-256: a collision is a warning too many, no more
UNIX_SECONDS_MAX = 253_402_300_799  # 9999-12-31T23:59:59Z, the last second a datetime holds
UNIX_SECONDS_TEXT = f"1970 and 9999 (Unix seconds 0 to {UNIX_SECONDS_MAX})"


def _from_unix_seconds(value: float) -> datetime:
    if not (math.isfinite(value) and 0 <= value <= UNIX_SECONDS_MAX):
        raise ValueError(f"must be between {UNIX_SECONDS_TEXT}")
    return datetime.fromtimestamp(value, UTC)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class UserTag(_Strict):
    """A tagged account; x and y are fractions of the media's width and height from the top left."""

    username: str
    x: float | None = None
    y: float | None = None

    @field_validator("username")
    @classmethod
    def _strip_at(cls, value: str) -> str:
        return value.strip().removeprefix("@")


def _json_list(value: Any) -> Any:
    """The old service sent lists as JSON strings (``"[{...}]"``); accept both forms."""
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return []
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"is not a JSON array ({exc.msg})") from None
        except RecursionError:
            raise ValueError("is nested too deeply to be a list of tags") from None
    return value


class CarouselItem(_Strict):
    """One image or video of a carousel: at a public URL (`media_url`) or in a local file
    (`media_path`, see `PostSpec`)."""

    media_url: str | None = Field(default=None, validation_alias=AliasChoices("media_url", "url"))
    media_path: str | None = None
    media_file: str | None = None  # set by igautopost: the copy's key in the media store
    kind: ItemKind | None = None  # default: guessed from the URL's or the file's extension
    user_tags: list[UserTag] = Field(default_factory=list)
    alt_text: str | None = None
    thumb_offset: int | None = Field(
        default=None, validation_alias=AliasChoices("thumb_offset", "thump_offset")
    )

    _user_tags = field_validator("user_tags", mode="before")(_json_list)

    @property
    def media_source(self) -> str:
        """Where the media comes from, as given: the URL, else the local path."""
        return self.media_url or self.media_path or ""

    @property
    def item_kind(self) -> ItemKind:
        return self.kind or guess_kind(self.media_source)


def _media_type(value: Any) -> Any:
    if isinstance(value, str):
        found = MEDIA_TYPE_NAMES.get(value.strip().lower())
        if found is None:
            names = "image (Photo), reel (Video), story, carousel"
            raise ValueError(f"unknown media type {value!r}; use one of: {names}")
        return found
    return value


class PostSpec(_Strict):
    """Everything needed to publish one post. Build it from a dict with `PostSpec.model_validate`.

    >>> spec = PostSpec.model_validate({
    ...     "user_id": "17841400000000000", "token": "EAAB...", "url": "https://example.com/a.jpg",
    ...     "content_type": "Photo", "date_pub": 1900000000})
    >>> spec.media_type, spec.publish_at.isoformat()
    (<MediaType.IMAGE: 'image'>, '2030-03-17T17:46:40+00:00')
    """

    account: str = Field(validation_alias=AliasChoices("account", "user_id", "ig_user_id"))
    access_token: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("access_token", "token"), repr=False
    )
    media_type: MediaType = Field(validation_alias=AliasChoices("media_type", "content_type"))
    media_url: str | None = Field(default=None, validation_alias=AliasChoices("media_url", "url"))
    # A local file instead of a URL (the CLI and the library; the API takes an upload): read
    # relative to the post file's folder, checked, and copied into the media store when the
    # post is scheduled, which sets `media_file` to the copy's key (its content hash).
    media_path: str | None = None
    media_file: str | None = None
    media_kind: ItemKind | None = None  # stories only; default: guessed from the URL or path
    children: list[CarouselItem] = Field(default_factory=list)
    caption: str = ""
    location_id: str | None = None
    user_tags: list[UserTag] = Field(default_factory=list)
    thumb_offset: int | None = Field(
        default=None, validation_alias=AliasChoices("thumb_offset", "thump_offset")
    )
    cover_url: str | None = None
    share_to_feed: bool | None = None
    collaborators: list[str] = Field(default_factory=list)
    alt_text: str | None = None
    first_comment: str | None = None
    timezone: str = "UTC"  # declared before publish_at: naive times are read in this zone
    publish_at: AwareDatetime = Field(validation_alias=AliasChoices("publish_at", "date_pub"))
    recurrence: str | None = None  # a cron rule, evaluated in `timezone`
    prepare_ahead: int | None = None  # seconds before publish_at to create the container
    client_key: str | None = None  # the caller's idempotency key, unique per account

    _media_type = field_validator("media_type", mode="before")(_media_type)
    _user_tags = field_validator("user_tags", mode="before")(_json_list)
    _collaborators = field_validator("collaborators", mode="before")(_json_list)

    def content_fingerprint(self) -> str:
        """What the near-duplicate warning compares, as a short hash stored and indexed with
        the post: its media (every carousel item's) and its caption."""
        media = [self.media_identity] + [
            child.media_url or _file_identity(child.media_file, child.media_path)
            for child in self.children
        ]
        text = json.dumps([media, self.caption], ensure_ascii=False)
        return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:FINGERPRINT_CHARS]

    @field_validator("caption", mode="before")
    @classmethod
    def _no_caption(cls, value: Any) -> Any:
        return "" if value is None else value  # the old service sent null for "no caption"

    @field_validator("account", mode="before")
    @classmethod
    def _account_text(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else value

    @field_validator("collaborators")
    @classmethod
    def _strip_at(cls, value: list[str]) -> list[str]:
        return [name.strip().removeprefix("@") for name in value]

    @model_validator(mode="before")
    @classmethod
    def _default_zone(cls, data: Any, info: ValidationInfo) -> Any:
        """A post without `timezone` takes the zone its reader was given (the validation
        context's ``zone``: `IGAUTOPOST_TIMEZONE`, else the system's; see igautopost.zones),
        so that its naive times, and its recurrence, are read in that zone, and the zone
        used is stored with it."""
        zone = (info.context or {}).get("zone")
        if zone is not None and isinstance(data, dict) and data.get("timezone") is None:
            data = {**data, "timezone": str(zone)}
        return data

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown IANA timezone {value!r} (e.g. 'Europe/Paris')") from None
        return value

    @field_validator("publish_at", mode="before")
    @classmethod
    def _read_time(cls, value: Any, info: ValidationInfo) -> Any:
        digits = value.strip().lstrip("-") if isinstance(value, str) else ""
        if digits.isascii() and digits.isdigit():
            value = int(value)  # Unix seconds sent as a form field
        if isinstance(value, bool):
            raise ValueError("must be a time, not true/false")
        if isinstance(value, int | float):
            return _from_unix_seconds(value)
        zone = info.data.get("timezone")
        if isinstance(value, str) and zone:
            try:
                value = datetime.fromisoformat(value)
            except ValueError:
                return value  # let pydantic name the problem
        if isinstance(value, datetime) and value.tzinfo is None and zone:
            return value.replace(tzinfo=ZoneInfo(zone))
        return value

    @field_validator("publish_at")
    @classmethod
    def _to_utc(cls, value: datetime) -> datetime:
        try:
            return value.astimezone(UTC)
        except (OverflowError, ValueError):  # 0001-01-01T00:00+01:00 is before year 1 in UTC
            raise ValueError(f"must be between {UNIX_SECONDS_TEXT}") from None

    @property
    def media_source(self) -> str:
        """Where a single post's media comes from, as given: the URL, else the local path."""
        return self.media_url or self.media_path or ""

    @property
    def media_identity(self) -> str:
        """What makes two posts' media the same: the URL, else the stored copy's content hash
        (the same photo from two paths is the same media), else the path."""
        return self.media_url or _file_identity(self.media_file, self.media_path)

    @property
    def is_video(self) -> bool:
        if self.media_type is MediaType.REEL:
            return True
        if self.media_type is MediaType.STORY and self.media_source:
            return (self.media_kind or guess_kind(self.media_source)) is ItemKind.VIDEO
        return False

    def token_value(self) -> str | None:
        return self.access_token.get_secret_value() if self.access_token else None

    def public_dict(self) -> dict[str, Any]:
        """The spec as JSON-ready data, without the access token."""
        return self.model_dump(mode="json", exclude={"access_token"}, exclude_none=True)


def _file_identity(media_file: str | None, media_path: str | None) -> str:
    if media_file:
        return f"file:{media_file}"
    return f"path:{media_path}" if media_path else ""


class PostError(BaseModel):
    """Why a post failed: Instagram's code and message when Instagram said no."""

    model_config = ConfigDict(frozen=True)

    message: str
    code: int | None = None
    subcode: int | None = None


class Post(BaseModel):
    """A stored post: its spec, where it is in its lifecycle, and what Instagram gave it."""

    model_config = ConfigDict(frozen=True)

    id: int
    spec: PostSpec
    status: Status
    owner_id: int | None = None
    has_token: bool = False  # an access token is stored (encrypted) for this post
    next_attempt_at: datetime | None = None
    attempts: int = 0
    container_id: str | None = None
    child_container_ids: list[str] = Field(default_factory=list)
    containers_created: int = 0
    container_created_at: datetime | None = None
    publish_attempted_at: datetime | None = None  # set before every publish call
    lease_until: datetime | None = None  # a worker is running a step for it until then
    claimed_at: datetime | None = None  # when the current (or last) lease was taken
    # Set on a post as its claim returns it: the claim itself stored `publish_attempted_at`
    # (a due ready post), and no publish call has left since. A step that makes no call
    # takes that mark back; an attempt stored before the claim may have reached Instagram.
    publish_marked: bool = Field(default=False, exclude=True)
    token_ciphertext: str | None = Field(default=None, exclude=True, repr=False)
    media_id: str | None = None
    permalink: str | None = None
    published_at: datetime | None = None
    comment_id: str | None = None  # the first comment, once posted
    comment_attempted_at: datetime | None = None
    error: PostError | None = None
    created_at: datetime
    updated_at: datetime

    @property
    def account(self) -> str:
        return self.spec.account

    @property
    def publish_at(self) -> datetime:
        return self.spec.publish_at

    @property
    def media_type(self) -> MediaType:
        return self.spec.media_type

    def error_summary(self) -> dict[str, Any] | None:
        """The last error, as the CLI's JSON and the HTTP API show it: Instagram's code and
        subcode, the message, and, while the post waits to try again, when (`retry_at`)."""
        if self.error is None:
            return None
        waiting = self.status.is_active and self.next_attempt_at is not None
        retry_at = self.next_attempt_at.isoformat() if waiting and self.next_attempt_at else None
        return {**self.error.model_dump(), "retry_at": retry_at}


class Event(BaseModel):
    """One entry of a post's history: a status change, or a step worth recording."""

    model_config = ConfigDict(frozen=True)

    post_id: int
    at: datetime
    from_status: Status | None
    to_status: Status
    detail: str = ""
