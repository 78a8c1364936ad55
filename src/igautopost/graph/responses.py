"""What the Graph client returns: small frozen value objects parsed from Meta's answers."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import SecretStr

from .error_table import error_from_status, parse_status_subcode
from .errors import GraphError

DEFAULT_QUOTA_TOTAL = 50  # graph-api.md: Meta's pages disagree (100, 50, 25); read it when possible
DEFAULT_QUOTA_DURATION = 86400


class ContainerStatusCode(StrEnum):
    """The ``status_code`` values of a media container (compare with `ContainerStatus`)."""

    IN_PROGRESS = "IN_PROGRESS"
    FINISHED = "FINISHED"
    ERROR = "ERROR"
    EXPIRED = "EXPIRED"
    PUBLISHED = "PUBLISHED"


@dataclass(frozen=True)
class ContainerStatus:
    """A container's processing state. ``status_code`` is kept as text: Meta may add values."""

    id: str
    status_code: str
    status: str | None = None
    error_subcode: int | None = None  # parsed from ``status`` when status_code is ERROR

    @classmethod
    def from_json(cls, data: dict[str, Any], container_id: str) -> ContainerStatus:
        status_code = str(data.get("status_code") or "")
        status = _text(data.get("status"))
        subcode = parse_status_subcode(status) if status_code == ContainerStatusCode.ERROR else None
        return cls(str(data.get("id") or container_id), status_code, status, subcode)

    @property
    def is_finished(self) -> bool:
        return self.status_code == ContainerStatusCode.FINISHED

    @property
    def is_in_progress(self) -> bool:
        return self.status_code == ContainerStatusCode.IN_PROGRESS

    @property
    def is_error(self) -> bool:
        return self.status_code == ContainerStatusCode.ERROR

    @property
    def is_expired(self) -> bool:
        return self.status_code == ContainerStatusCode.EXPIRED

    @property
    def is_published(self) -> bool:
        return self.status_code == ContainerStatusCode.PUBLISHED

    def error(self) -> GraphError | None:
        """For an ERROR container, the exception its status text maps to; else None."""
        if not self.is_error:
            return None
        return error_from_status(self.status or "", container_id=self.id)


@dataclass(frozen=True)
class MediaInfo:
    """A published media object; fields Meta did not send are None."""

    id: str
    permalink: str | None = None
    shortcode: str | None = None
    timestamp: datetime | None = None
    media_type: str | None = None
    media_product_type: str | None = None
    caption: str | None = None

    @classmethod
    def from_json(cls, data: dict[str, Any], media_id: str) -> MediaInfo:
        return cls(
            id=str(data.get("id") or media_id),
            permalink=_text(data.get("permalink")),
            shortcode=_text(data.get("shortcode")),
            timestamp=_time(data.get("timestamp")),
            media_type=_text(data.get("media_type")),
            media_product_type=_text(data.get("media_product_type")),
            caption=_text(data.get("caption")),
        )


@dataclass(frozen=True)
class PublishingLimit:
    """How many posts the account published in the current window, out of how many."""

    quota_usage: int
    quota_total: int = DEFAULT_QUOTA_TOTAL
    quota_duration: int = DEFAULT_QUOTA_DURATION  # seconds

    @property
    def remaining(self) -> int:
        return max(self.quota_total - self.quota_usage, 0)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PublishingLimit:
        entries = data.get("data")
        entry = _mapping(entries[0] if isinstance(entries, list) and entries else None)
        config = _mapping(entry.get("config"))
        return cls(
            quota_usage=_int(entry.get("quota_usage"), 0),
            quota_total=_int(config.get("quota_total"), DEFAULT_QUOTA_TOTAL),
            quota_duration=_int(config.get("quota_duration"), DEFAULT_QUOTA_DURATION),
        )


@dataclass(frozen=True)
class LongLivedToken:
    """A long-lived access token; ``expires_in`` seconds from when it was issued (None: never)."""

    access_token: SecretStr = field(repr=False)
    token_type: str = "bearer"
    expires_in: int | None = None

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> LongLivedToken:
        expires_in = data.get("expires_in")
        return cls(
            access_token=SecretStr(str(data.get("access_token") or "")),
            token_type=str(data.get("token_type") or "bearer"),
            expires_in=_int(expires_in, 0) if expires_in is not None else None,
        )


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _int(value: Any, default: int) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return default


def _time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value)  # Meta sends 2021-07-26T10:45:20+0000
    except ValueError:
        return None


@dataclass(frozen=True)
class UploadContainer:
    """A container made with ``upload_type=resumable``: its id, and the address its video's
    bytes go to (`GraphClient.upload_video`), to be used verbatim."""

    id: str
    uri: str = field(repr=False)  # its path holds the container id only, but keep repr short
