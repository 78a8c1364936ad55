"""The calendar's day arithmetic: a post falls on the viewer's day, whatever the zone and
its changes of clocks; pages step by whole weeks and months."""

from __future__ import annotations

import itertools
from bisect import bisect_right
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypeVar
from zoneinfo import ZoneInfo, available_timezones

from hypothesis import example, given, settings
from hypothesis import strategies as st

from igautopost.api.dashboard.calendar_dates import (
    DAY,
    View,
    day_bounds,
    day_start,
    days_shown,
    hour_bounds,
    local_day,
    neighbour,
    slot_bounds,
    title_of,
)

ZONES = sorted(available_timezones())


def example_all(cases: list[tuple[datetime, str]]) -> Callable[[T], T]:
    """Hypothesis's @example for each (moment, zone name)."""

    def decorate(test: T) -> T:
        for moment, zone_name in cases:
            test = example(moment=moment, zone_name=zone_name)(test)
        return test

    return decorate


T = TypeVar("T", bound=Callable[..., Any])
moments = st.datetimes(
    min_value=datetime(1971, 1, 1), max_value=datetime(2099, 12, 31), timezones=st.just(UTC)
)


@settings(max_examples=400, deadline=None)
@given(moment=moments, zone_name=st.sampled_from(ZONES))
def test_a_moment_lies_within_the_span_of_the_day_it_falls_on(
    moment: datetime, zone_name: str
) -> None:
    zone = ZoneInfo(zone_name)
    day = local_day(moment, zone)
    assert day_start(day, zone) <= moment < day_start(day + DAY, zone)
    assert moment.astimezone(zone).date() == day  # the viewer's calendar says so too


@settings(max_examples=200, deadline=None)
@given(
    anchor=st.dates(min_value=date(1971, 1, 1), max_value=date(2099, 12, 31)),
    zone_name=st.sampled_from(ZONES),
    view=st.sampled_from(list(View)),
)
def test_the_shown_days_are_whole_weeks_and_their_bounds_increase(
    anchor: date, zone_name: str, view: View
) -> None:
    days = days_shown(view, anchor)
    assert anchor in days
    assert days[0].weekday() == 0 and len(days) % 7 == 0
    assert all(b - a == DAY for a, b in itertools.pairwise(days))
    if view is View.MONTH:
        assert days[0] <= anchor.replace(day=1) and days[0] > anchor.replace(day=1) - 7 * DAY
        assert (days[-1] + DAY).month != anchor.month
    bounds = day_bounds(days, ZoneInfo(zone_name))
    assert len(bounds) == len(days) + 1
    assert all(a <= b for a, b in itertools.pairwise(bounds))


def test_berlin_days_start_at_local_midnight_and_last_23_or_25_hours_on_clock_changes() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    assert day_start(date(2030, 1, 16), berlin) == datetime(2030, 1, 15, 23, tzinfo=UTC)
    assert local_day(datetime(2030, 1, 15, 23, 30, tzinfo=UTC), berlin) == date(2030, 1, 16)
    spring = day_start(date(2030, 4, 1), berlin) - day_start(date(2030, 3, 31), berlin)
    autumn = day_start(date(2030, 10, 28), berlin) - day_start(date(2030, 10, 27), berlin)
    assert (spring, autumn) == (timedelta(hours=23), timedelta(hours=25))


def test_a_day_a_zone_skipped_is_empty() -> None:
    apia = ZoneInfo("Pacific/Apia")  # Samoa went from 29 to 31 December 2011
    skipped = day_start(date(2011, 12, 30), apia)
    assert skipped == day_start(date(2011, 12, 31), apia)
    assert local_day(skipped, apia) == date(2011, 12, 31)


def test_pages_step_by_week_and_by_month_across_years() -> None:
    assert neighbour(View.MONTH, date(2030, 1, 31), -1) == date(2029, 12, 1)
    assert neighbour(View.MONTH, date(2030, 12, 5), 1) == date(2031, 1, 1)
    assert neighbour(View.MONTH, date(2030, 3, 31), -1) == date(2030, 2, 1)
    assert neighbour(View.WEEK, date(2030, 12, 30), 1) == date(2031, 1, 6)
    assert title_of(View.MONTH, date(2030, 2, 14)) == "February 2030"
    assert title_of(View.WEEK, date(2031, 1, 1)) == "Week of 30 December 2030"


# Moments on days the clocks change (random ones seldom are): an hour skipped and repeated
# (Berlin), half an hour (Lord Howe), changes at 00:01 that cross midnight (St John's in
# 1990), a whole day skipped (Apia), changes at midnight (Havana, Santiago).
CHANGE_DAYS = [
    (datetime(2030, 3, 31, 1, 30, tzinfo=UTC), "Europe/Berlin"),
    (datetime(2030, 10, 27, 0, 30, tzinfo=UTC), "Europe/Berlin"),
    (datetime(2030, 10, 27, 1, 30, tzinfo=UTC), "Europe/Berlin"),
    (datetime(2030, 10, 5, 15, 45, tzinfo=UTC), "Australia/Lord_Howe"),
    (datetime(2030, 4, 6, 15, 15, tzinfo=UTC), "Australia/Lord_Howe"),
    (datetime(1990, 4, 1, 3, 45, tzinfo=UTC), "America/St_Johns"),
    (datetime(1990, 10, 28, 2, 45, tzinfo=UTC), "America/St_Johns"),
    (datetime(2011, 12, 30, 10, 0, tzinfo=UTC), "Pacific/Apia"),
    (datetime(2026, 3, 8, 5, 30, tzinfo=UTC), "America/Havana"),
    (datetime(2026, 4, 5, 3, 30, tzinfo=UTC), "America/Santiago"),
]


@settings(max_examples=400, deadline=None)
@given(moment=moments, zone_name=st.sampled_from(ZONES))
@example_all(CHANGE_DAYS)
def test_a_days_hour_slots_cover_it_exactly_and_a_moment_is_in_its_local_hour(
    moment: datetime, zone_name: str
) -> None:
    zone = ZoneInfo(zone_name)
    # the day whose span holds it: its local day, but where a clock went back across
    # midnight (St John's at 00:01 in 1990) a moment may read the day before the one it is in
    local = local_day(moment, zone)
    day = next(d for d in (local, local - DAY, local + DAY) if _holds(d, zone, moment))
    bounds = hour_bounds(day, zone)
    assert len(bounds) == 25
    assert bounds[0] == day_start(day, zone) and bounds[-1] == day_start(day + DAY, zone)
    assert all(low <= high for low, high in itertools.pairwise(bounds))
    slot = bisect_right(bounds, moment) - 1
    assert 0 <= slot < 24
    # The slot is the hour a clock in the zone shows, unless that day the clock went back
    # across the start of an hour (it then reads that hour twice, apart: the slot is the
    # first reading's).
    shown = moment.astimezone(zone)
    if not _clock_went_back_across_an_hour(day, zone):
        assert slot == shown.hour, (day, zone_name, shown, bounds)


def _holds(day: date, zone: ZoneInfo, moment: datetime) -> bool:
    return day_start(day, zone) <= moment < day_start(day + DAY, zone)


def _clock_went_back_across_an_hour(day: date, zone: ZoneInfo) -> bool:
    start, end = day_start(day, zone), day_start(day + DAY, zone)
    step = timedelta(minutes=1)
    previous = start.astimezone(zone).replace(tzinfo=None)
    moment = start + step
    while moment < end:  # minute by minute: only the few days with a change are slow
        if moment.astimezone(zone).utcoffset() != (moment - step).astimezone(zone).utcoffset():
            shown = moment.astimezone(zone).replace(tzinfo=None)
            if shown < previous and (
                shown.hour != previous.hour or shown.date() != previous.date()
            ):
                return True
        previous = moment.astimezone(zone).replace(tzinfo=None)
        moment += step
    return False


@settings(max_examples=200, deadline=None)
@given(
    day=st.dates(min_value=date(1971, 1, 1), max_value=date(2099, 12, 25)),
    zone_name=st.sampled_from(ZONES),
)
def test_a_weeks_slots_are_its_days_hours_in_turn(day: date, zone_name: str) -> None:
    zone = ZoneInfo(zone_name)
    days = days_shown(View.WEEK, day)
    bounds = slot_bounds(days, zone)
    assert len(bounds) == 7 * 24 + 1
    assert all(low <= high for low, high in itertools.pairwise(bounds))
    for index, shown in enumerate(days):
        assert bounds[index * 24 : index * 24 + 25] == hour_bounds(shown, zone)


def test_berlins_hour_slots_around_its_changes_of_clocks() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    spring = hour_bounds(date(2030, 3, 31), berlin)
    autumn = hour_bounds(date(2030, 10, 27), berlin)
    lengths = [high - low for low, high in itertools.pairwise(spring)]
    assert lengths[2] == timedelta(0)  # 02:00-03:00 skipped
    assert lengths.count(timedelta(hours=1)) == 23
    assert spring[3] == datetime(2030, 3, 31, 1, tzinfo=UTC)  # 03:00 +02:00
    lengths = [high - low for low, high in itertools.pairwise(autumn)]
    assert lengths[2] == timedelta(hours=2)  # 02:00-03:00 twice
    assert autumn[2] == datetime(2030, 10, 27, 0, tzinfo=UTC)  # the first 02:00 (+02:00)
    assert autumn[3] == datetime(2030, 10, 27, 2, tzinfo=UTC)  # 03:00 +01:00


def test_a_half_hour_jump_leaves_half_an_hour_in_its_slot() -> None:
    lord_howe = ZoneInfo("Australia/Lord_Howe")  # 02:00 -> 02:30 on 2030-10-06
    bounds = hour_bounds(date(2030, 10, 6), lord_howe)
    assert bounds[3] - bounds[2] == timedelta(minutes=30)
    assert bounds[2].astimezone(lord_howe).strftime("%H:%M") == "02:30"


def test_the_day_samoa_skipped_has_24_empty_slots() -> None:
    apia = ZoneInfo("Pacific/Apia")
    bounds = hour_bounds(date(2011, 12, 30), apia)
    assert len(set(bounds)) == 1
