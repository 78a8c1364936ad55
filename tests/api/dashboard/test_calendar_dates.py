"""The calendar's day arithmetic: a post falls on the viewer's day, whatever the zone and
its changes of clocks; pages step by whole weeks and months."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo, available_timezones

from hypothesis import given, settings
from hypothesis import strategies as st

from igautopost.api.dashboard.calendar_dates import (
    DAY,
    View,
    day_bounds,
    day_start,
    days_shown,
    local_day,
    neighbour,
    title_of,
)

ZONES = sorted(available_timezones())
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
