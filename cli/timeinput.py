"""Times typed on the command line: ISO 8601 with an offset, Unix seconds, or a naive local time."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


def local_zone(configured: str | None = None) -> ZoneInfo:
    """The zone naive times are read in: the setting, else $TZ, else the system's, else UTC."""
    for name in (configured, os.environ.get("TZ", "").lstrip(":"), _system_zone_name()):
        if name:
            try:
                return ZoneInfo(name)
            except (ZoneInfoNotFoundError, ValueError):
                continue
    return ZoneInfo("UTC")


def _system_zone_name() -> str | None:
    try:
        target = str(Path("/etc/localtime").resolve())
    except OSError:
        return None
    marker = "zoneinfo/"
    return target.split(marker, 1)[1] if marker in target else None


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
