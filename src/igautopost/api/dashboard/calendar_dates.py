"""The calendar's days: which days a week or month view shows, where a day starts in the
viewer's zone, on which day a post falls, and the dates of the previous and next pages.

Days are the viewer's: a post at 23:30 UTC is on the next day in Berlin. A day starts at its
first local instant, so around a change of clocks a day lasts 23 or 25 hours, and a day that
a zone skipped (Samoa's 30 December 2011) is an empty span that no post falls in. Weeks start
on Monday (ISO 8601).
"""

from __future__ import annotations

import calendar
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from enum import StrEnum

DAY = timedelta(days=1)
WEEK = timedelta(days=7)
SECOND = timedelta(seconds=1)


class View(StrEnum):
    MONTH = "month"
    WEEK = "week"


def local_day(moment: datetime, zone: tzinfo) -> date:
    """The day `moment` falls on for a viewer in `zone`."""
    return moment.astimezone(zone).date()


def day_start(day: date, zone: tzinfo) -> datetime:
    """The first instant of `day` in `zone`, in UTC. Where midnight does not exist (clocks
    jump forward at 00:00) that is the instant of the jump; where it happens twice, the first."""
    return datetime.combine(day, time(), tzinfo=zone).astimezone(UTC)


def days_shown(view: View, anchor: date) -> list[date]:
    """The days of the week holding `anchor`, or the whole weeks covering its month."""
    if view is View.WEEK:
        first = _monday_of(anchor)
        return [first + offset * DAY for offset in range(7)]
    first = _monday_of(anchor.replace(day=1))
    last = anchor.replace(day=calendar.monthrange(anchor.year, anchor.month)[1])
    return [first + offset * DAY for offset in range((last - first).days + 1 + 6 - last.weekday())]


def day_bounds(days: list[date], zone: tzinfo) -> list[datetime]:
    """Each day's first instant in UTC, and the instant after the last day."""
    return [day_start(day, zone) for day in days] + [day_start(days[-1] + DAY, zone)]


def neighbour(view: View, anchor: date, step: int) -> date:
    """The date of the page `step` pages away: a week, or a month's first day."""
    if view is View.WEEK:
        return anchor + step * WEEK
    months = anchor.year * 12 + anchor.month - 1 + step
    return date(months // 12, months % 12 + 1, 1)


def title_of(view: View, anchor: date) -> str:
    """``December 2026``, or ``Week of 7 December 2026``."""
    if view is View.WEEK:
        monday = _monday_of(anchor)
        return f"Week of {monday.day} {monday:%B %Y}"
    return f"{anchor:%B %Y}"


def _monday_of(day: date) -> date:
    return day - day.weekday() * DAY


def hour_start(day: date, hour: int, zone: tzinfo) -> datetime:
    """The first instant, in UTC, at which a clock in `zone` shows `hour`:00 of `day` or
    later. Where that time happens twice (clocks go back) it is the first; where the clocks
    jumped over it, the instant of the jump: the hour's slot then holds only what is left of
    it, or nothing when the whole hour was skipped."""
    wall = datetime.combine(day, time(hour))
    first = wall.replace(tzinfo=zone).astimezone(UTC)  # fold=0: the earlier reading
    if _wall_of(first, zone) == wall:
        return first
    # In a gap, fold=0 reads `wall` with the offset from before the jump (an instant after
    # it) and fold=1 with the offset from after (an instant before it): the jump is between.
    before, after = wall.replace(tzinfo=zone, fold=1).astimezone(UTC), first
    if before > after:
        before, after = after, before
    while after - before > SECOND:
        middle = before + SECOND * ((after - before) // SECOND // 2)
        if _wall_of(middle, zone) >= wall:
            after = middle
        else:
            before = middle
    return after


def hour_bounds(day: date, zone: tzinfo) -> list[datetime]:
    """The 24 hour slots of `day` in `zone` as 25 increasing instants (UTC): slot ``h`` is
    ``[bounds[h], bounds[h + 1])``, from the day's start to the next day's. A slot lasts an
    hour but on a change of clocks: none (the hour was skipped), or two (it happened twice).
    Together they cover the day exactly, so each of its posts is in one slot."""
    start, end = day_start(day, zone), day_start(day + DAY, zone)
    bounds = [start]
    for hour in range(1, 24):  # kept within the day and increasing whatever the zone did
        bounds.append(min(max(hour_start(day, hour, zone), bounds[-1]), end))
    bounds.append(end)
    return bounds


def slot_bounds(days: list[date], zone: tzinfo) -> list[datetime]:
    """Each day's 24 hour slots in turn, as one list of ``24 * len(days) + 1`` bounds."""
    bounds: list[datetime] = []
    for day in days:
        bounds.extend(hour_bounds(day, zone)[:-1])
    bounds.append(day_start(days[-1] + DAY, zone))
    return bounds


def _wall_of(moment: datetime, zone: tzinfo) -> datetime:
    return moment.astimezone(zone).replace(tzinfo=None, fold=0)
