"""Times typed on the command line (ISO 8601 with an offset, Unix seconds, or a naive local
time) and the one rule for naive times, as files and the HTTP API read them too (issue 15):
read in the post's `timezone`, else in `igautopost.zones.default_zone` (IGAUTOPOST_TIMEZONE,
else $TZ, else the system's zone). The zone used is said once on stderr (`zone_notice`)."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from igautopost.zones import ZONE_SETTING

TIME_FIELDS = ("publish_at", "date_pub")


def parse_time(text: str, zone: ZoneInfo) -> datetime:
    """An aware UTC datetime; naive input is read in `zone`. Raises ValueError with the rule."""
    value = text.strip()
    if value.lstrip("-").isdigit():
        return datetime.fromtimestamp(int(value), UTC)
    try:
        parsed = datetime.fromisoformat(value.replace(" ", "T", 1) if "T" not in value else value)
    except ValueError:
        raise ValueError(
            f"{text!r} is not a time: use ISO 8601 like 2030-01-01T09:00:00+01:00, "
            "a local time like '2030-01-01 09:00', or Unix seconds"
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=zone)
    return parsed.astimezone(UTC)


def is_naive(text: str) -> bool:
    """`text` is an ISO time without an offset (Unix seconds are absolute)."""
    value = text.strip()
    if not value or value.lstrip("-").replace(".", "", 1).isdigit():
        return False
    try:
        return datetime.fromisoformat(value).tzinfo is None
    except ValueError:
        return False


class NaiveTimes:
    """Watches posts stream by and notes whether one takes the reader's zone: it has a time
    without an offset and no `timezone` of its own."""

    def __init__(self) -> None:
        self.seen = False

    def watched(self, items: Iterable[Any]) -> Iterator[Any]:
        for item in items:
            if not self.seen and isinstance(item, dict) and item.get("timezone") is None:
                self.seen = any(
                    isinstance(item.get(name), str) and is_naive(item[name]) for name in TIME_FIELDS
                )
            yield item


def zone_notice(zone: ZoneInfo, configured: str | None) -> str:
    """The line that says which zone naive times were read in, and where it came from."""
    if configured or os.environ.get(ZONE_SETTING):
        source = ZONE_SETTING
    elif os.environ.get("TZ", "").lstrip(":") == zone.key:
        source = "$TZ"
    else:
        source = "the system's zone; set IGAUTOPOST_TIMEZONE to choose"
    return f"times without an offset read in {zone.key} ({source})"
