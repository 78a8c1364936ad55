"""The zone a time without an offset is read in, everywhere (files, the command line, the
library, the HTTP API): the post's own `timezone`, else this one, which comes from
`IGAUTOPOST_TIMEZONE` (`Settings.timezone`), else ``$TZ``, else the system's, else UTC.

>>> default_zone("Europe/Paris").key
'Europe/Paris'
"""

from __future__ import annotations

import functools
import os
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .errors import ConfigurationError

ZONE_SETTING = "IGAUTOPOST_TIMEZONE"


def default_zone(configured: str | None = None) -> ZoneInfo:
    """`configured` (the setting, when the caller has read it), else $IGAUTOPOST_TIMEZONE,
    else $TZ, else the system's zone (/etc/localtime), else UTC. A setting that names no
    zone is an error (`ConfigurationError`); a $TZ that names none is passed over."""
    setting = configured or os.environ.get(ZONE_SETTING)
    if setting:
        try:
            return ZoneInfo(setting)
        except (ZoneInfoNotFoundError, ValueError):
            raise ConfigurationError(
                f"{ZONE_SETTING}: unknown IANA timezone {setting!r} (e.g. 'Europe/Paris')"
            ) from None
    for name in (os.environ.get("TZ", "").lstrip(":"), _system_zone_name()):
        if name:
            try:
                return ZoneInfo(name)
            except (ZoneInfoNotFoundError, ValueError):
                continue
    return ZoneInfo("UTC")


@functools.cache  # asked on every request that reads a time; the machine's zone stays put
def _system_zone_name() -> str | None:
    try:
        target = str(Path("/etc/localtime").resolve())
    except OSError:
        return None
    marker = "zoneinfo/"
    return target.split(marker, 1)[1] if marker in target else None
