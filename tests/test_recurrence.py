"""next_occurrence: cron rules read in local wall-clock time, DST-correct, returned in UTC."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from igautopost.recurrence import is_valid_rule, next_occurrence

ZONES = ["Europe/Paris", "America/New_York", "UTC", "Asia/Kolkata", "Australia/Sydney"]

afters = st.datetimes(
    min_value=datetime(2025, 1, 1), max_value=datetime(2035, 12, 31), timezones=st.just(UTC)
)


def exists(wall: datetime, zone: ZoneInfo) -> bool:
    """Whether a naive wall time happens in `zone` (False inside a spring-forward gap)."""
    there = wall.replace(tzinfo=zone)
    return there.astimezone(UTC).astimezone(zone).replace(tzinfo=None) == wall


def first_instant(wall: datetime, zone: ZoneInfo) -> datetime:
    """The first UTC instant showing `wall` on the local clock (fold=0 of a repeated time)."""
    return wall.replace(tzinfo=zone, fold=0).astimezone(UTC)


@settings(max_examples=150, deadline=None)
@given(
    minute=st.integers(0, 59),
    hour=st.integers(0, 23),
    zone=st.sampled_from(ZONES),
    after=afters,
)
def test_daily_rule_is_the_first_matching_local_time_after(minute, hour, zone, after):
    tz = ZoneInfo(zone)
    result = next_occurrence(f"{minute} {hour} * * *", zone, after)

    assert result.tzinfo is UTC
    assert result > after
    local = result.astimezone(tz)
    wall = local.replace(tzinfo=None, hour=hour, minute=minute, second=0, microsecond=0)
    if exists(wall, tz):
        assert (local.hour, local.minute, local.second) == (hour, minute, 0)
        assert result == first_instant(wall, tz)  # a repeated time: its first occurrence
    else:  # skipped by a DST jump: moved forward by the gap's length
        gap = tz.utcoffset(wall.replace(fold=1)) - tz.utcoffset(wall.replace(fold=0))
        assert local.replace(tzinfo=None) == wall + gap

    # Nothing in between matches: scan every minute strictly between `after` and the result.
    moment = after.replace(second=0, microsecond=0) + timedelta(minutes=1)
    while moment < result:
        seen = moment.astimezone(tz)
        assert not ((seen.hour, seen.minute) == (hour, minute) and seen.fold == 0), moment
        moment += timedelta(minutes=1)


@given(
    rule=st.sampled_from(["0 9 * * MON", "30 18 * * 1-5", "15 */6 * * *", "0 0 1 * *"]),
    zone=st.sampled_from(ZONES),
    after=afters,
)
def test_result_matches_the_rule_in_local_time(rule, zone, after):
    from croniter import croniter

    result = next_occurrence(rule, zone, after)
    assert result > after
    assert result.tzinfo is UTC
    # None of these rules fire between 01:00 and 03:59 local, so no DST gap can shift them.
    local = result.astimezone(ZoneInfo(zone)).replace(tzinfo=None)
    assert croniter.match(rule, local)


@given(zone=st.sampled_from(ZONES), after=afters)
def test_chained_occurrences_strictly_increase(zone, after):
    first = next_occurrence("*/20 * * * *", zone, after)
    second = next_occurrence("*/20 * * * *", zone, first)
    assert after < first < second <= first + timedelta(minutes=80)


@pytest.mark.parametrize(
    ("zone", "start", "utc_hours"),
    [
        # Spring forward (CET -> CEST on 2030-03-31) then fall back (2030-10-27).
        ("Europe/Paris", datetime(2030, 3, 28, 12, tzinfo=UTC), [8, 8, 7, 7]),
        ("Europe/Paris", datetime(2030, 10, 24, 12, tzinfo=UTC), [7, 7, 8, 8]),
        # EST -> EDT on 2030-03-10, back on 2030-11-03.
        ("America/New_York", datetime(2030, 3, 7, 18, tzinfo=UTC), [14, 14, 13, 13]),
        ("America/New_York", datetime(2030, 10, 31, 18, tzinfo=UTC), [13, 13, 14, 14]),
    ],
)
def test_daily_0900_stays_0900_local_across_dst(zone, start, utc_hours):
    moment, seen = start, []
    for _ in utc_hours:
        moment = next_occurrence("0 9 * * *", zone, moment)
        local = moment.astimezone(ZoneInfo(zone))
        assert (local.hour, local.minute) == (9, 0)
        seen.append(moment.hour)
    assert seen == utc_hours


@pytest.mark.parametrize(
    ("zone", "day", "expected_local"),
    [
        ("Europe/Paris", datetime(2030, 3, 30, 12, tzinfo=UTC), datetime(2030, 3, 31, 3, 30)),
        ("America/New_York", datetime(2030, 3, 9, 12, tzinfo=UTC), datetime(2030, 3, 10, 3, 30)),
    ],
)
def test_a_time_in_the_spring_forward_gap_moves_forward(zone, day, expected_local):
    tz = ZoneInfo(zone)
    result = next_occurrence("30 2 * * *", zone, day)
    assert result.astimezone(tz).replace(tzinfo=None) == expected_local
    # and the day after, 02:30 exists again
    following = next_occurrence("30 2 * * *", zone, result).astimezone(tz)
    next_day = (expected_local + timedelta(days=1)).date()
    assert (following.date(), following.hour, following.minute) == (next_day, 2, 30)


@pytest.mark.parametrize(
    ("zone", "rule", "day", "first_utc"),
    [
        # 02:30 happens twice in Paris on 2030-10-27: 00:30 UTC (CEST) and 01:30 UTC (CET).
        (
            "Europe/Paris",
            "30 2 * * *",
            datetime(2030, 10, 26, 12, tzinfo=UTC),
            datetime(2030, 10, 27, 0, 30, tzinfo=UTC),
        ),
        # 01:30 happens twice in New York on 2030-11-03: 05:30 UTC (EDT) and 06:30 UTC (EST).
        (
            "America/New_York",
            "30 1 * * *",
            datetime(2030, 11, 2, 12, tzinfo=UTC),
            datetime(2030, 11, 3, 5, 30, tzinfo=UTC),
        ),
    ],
)
def test_an_ambiguous_time_is_used_once(zone, rule, day, first_utc):
    first = next_occurrence(rule, zone, day)
    assert first == first_utc
    second = next_occurrence(rule, zone, first)
    assert second - first > timedelta(hours=23)  # not again an hour later
    # even when asked from between the two occurrences
    assert next_occurrence(rule, zone, first + timedelta(minutes=30)) == second


def test_hourly_rule_through_fall_back_lists_each_wall_time_once():
    tz = ZoneInfo("Europe/Paris")
    moment = datetime(2030, 10, 26, 22, tzinfo=UTC)  # 00:00 CEST
    walls = []
    for _ in range(5):
        moment = next_occurrence("0 * * * *", "Europe/Paris", moment)
        walls.append(moment.astimezone(tz).hour)
    assert walls == [1, 2, 3, 4, 5]


def test_after_may_be_in_any_zone():
    after = datetime(2030, 6, 1, 8, 59, tzinfo=ZoneInfo("Asia/Tokyo"))
    assert next_occurrence("0 9 * * *", "Asia/Tokyo", after) == datetime(
        2030, 6, 1, 0, 0, tzinfo=UTC
    )


def test_exactly_on_an_occurrence_gives_the_next_one():
    at = datetime(2030, 6, 1, 9, tzinfo=UTC)
    assert next_occurrence("0 9 * * *", "UTC", at) == at + timedelta(days=1)


@pytest.mark.parametrize(
    "rule",
    ["", "bogus", "0 9 * *", "0 0 9 * * *", "60 9 * * *", "0 25 * * *", "@daily", "0 9 30 2 *"],
)
def test_invalid_rules_are_rejected(rule):
    assert not is_valid_rule(rule)


@pytest.mark.parametrize("rule", ["0 9 * * MON", "*/5 * * * *", "0 12 29 2 *", "0 9 1-7 * 1"])
def test_valid_rules_are_accepted(rule):
    assert is_valid_rule(rule)
    assert next_occurrence(rule, "UTC", datetime(2030, 1, 1, tzinfo=UTC)) > datetime(
        2030, 1, 1, tzinfo=UTC
    )


@pytest.mark.parametrize("rule", ["bogus", "0 9 30 2 *"])
def test_next_occurrence_of_an_invalid_rule_raises_value_error(rule):
    with pytest.raises(ValueError):
        next_occurrence(rule, "UTC", datetime(2030, 1, 1, tzinfo=UTC))
