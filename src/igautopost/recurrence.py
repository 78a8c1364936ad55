"""Recurring posts: the next occurrence of a cron rule in an IANA timezone, DST-correct.

The rule is read in local wall-clock time ("0 9 * * MON" is 09:00 in the post's zone, summer
and winter); the result is UTC. A local time that does not exist (skipped by a DST jump) moves
forward by the gap's length; a time that occurs twice is used once, at its first occurrence.
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo


def is_valid_rule(rule: str) -> bool:
    from croniter import croniter

    if len(rule.split()) != 5 or not croniter.is_valid(rule):
        return False
    try:  # a well-formed rule can still never fire, e.g. "0 9 30 2 *" (February 30th)
        croniter(rule, datetime(2000, 1, 1)).get_next(datetime)
    except ValueError:
        return False
    return True


def next_occurrence(rule: str, zone: str, after: datetime) -> datetime:
    """The first time strictly after `after` (aware) that matches `rule` in `zone`, in UTC."""
    from croniter import croniter

    tz = ZoneInfo(zone)
    local_after = after.astimezone(tz).replace(tzinfo=None)
    # Walk naive wall-clock times and attach the zone ourselves: croniter's own DST handling
    # differs between versions, and naive arithmetic is easy to reason about.
    walker = croniter(rule, local_after)
    for _ in range(1000):
        wall: datetime = walker.get_next(datetime)
        candidate = _resolve(wall, tz)
        if candidate > after.astimezone(UTC):
            return candidate
    raise ValueError(f"cron rule {rule!r} has no occurrence after {after.isoformat()}")


def _resolve(wall: datetime, tz: ZoneInfo) -> datetime:
    """Attach `tz` to a naive wall time, in UTC.

    fold=0 takes the first of two repeated times, and shifts a time inside a DST gap forward
    by the gap's length (02:30 on a spring-forward night becomes 03:30), as cron does.
    """
    return wall.replace(tzinfo=tz, fold=0).astimezone(UTC)
