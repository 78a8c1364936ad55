"""One rule for times without an offset (issue 15, item 2): read in the post's `timezone`,
else in the zone its reader was given (IGAUTOPOST_TIMEZONE, else $TZ, else the system's);
the zone used is stored with the post."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from igautopost.errors import ConfigurationError
from igautopost.validation import parse_post
from igautopost.zones import default_zone

NOW = datetime(2030, 6, 1, tzinfo=UTC)
ZONES = ["UTC", "Europe/Paris", "America/New_York", "Asia/Kolkata", "Pacific/Chatham"]


def _post(**fields: object) -> dict[str, object]:
    return {
        "account": "17841400000000001",
        "access_token": "EAAB-zone-token",
        "media_type": "image",
        "media_url": "https://example.com/a.jpg",
        **fields,
    }


naive_times = st.datetimes(min_value=datetime(2031, 1, 1), max_value=datetime(2060, 12, 31)).map(
    lambda moment: moment.replace(second=0, microsecond=0)
)


@given(moment=naive_times, zone=st.sampled_from(ZONES), given_zone=st.sampled_from(ZONES))
def test_a_naive_time_is_read_in_the_posts_zone_else_in_the_readers(
    moment: datetime, zone: str, given_zone: str
) -> None:
    text = moment.isoformat(sep=" ", timespec="minutes")
    reader = ZoneInfo(given_zone)
    without = parse_post(_post(publish_at=text), now=NOW, zone=reader)
    assert without.publish_at == moment.replace(tzinfo=reader).astimezone(UTC)
    assert without.timezone == given_zone, "the zone used is stored with the post"
    own = parse_post(_post(publish_at=text, timezone=zone), now=NOW, zone=reader)
    assert own.publish_at == moment.replace(tzinfo=ZoneInfo(zone)).astimezone(UTC)
    assert own.timezone == zone


@given(moment=naive_times, offset=st.integers(-14 * 60, 14 * 60), zone=st.sampled_from(ZONES))
def test_an_explicit_offset_wins_over_every_zone(moment: datetime, offset: int, zone: str) -> None:
    from datetime import timezone

    aware = moment.replace(tzinfo=timezone(timedelta(minutes=offset)))
    spec = parse_post(_post(publish_at=aware.isoformat()), now=NOW, zone=ZoneInfo(zone))
    assert spec.publish_at == aware.astimezone(UTC)


def test_unix_seconds_are_absolute(monkeypatch: pytest.MonkeyPatch) -> None:
    seconds = int(datetime(2031, 1, 5, 8, tzinfo=UTC).timestamp())
    spec = parse_post(_post(publish_at=seconds), now=NOW, zone=ZoneInfo("Asia/Kolkata"))
    assert spec.publish_at == datetime(2031, 1, 5, 8, tzinfo=UTC)


def test_the_default_zone_is_the_setting_then_tz_then_the_system(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TZ", "America/New_York")
    monkeypatch.delenv("IGAUTOPOST_TIMEZONE", raising=False)
    assert default_zone().key == "America/New_York"
    monkeypatch.setenv("IGAUTOPOST_TIMEZONE", "Europe/Paris")
    assert default_zone().key == "Europe/Paris"
    assert default_zone("Asia/Tokyo").key == "Asia/Tokyo"
    monkeypatch.setenv("IGAUTOPOST_TIMEZONE", "Not/AZone")
    with pytest.raises(ConfigurationError, match="IGAUTOPOST_TIMEZONE: unknown IANA timezone"):
        default_zone()
    monkeypatch.delenv("IGAUTOPOST_TIMEZONE")
    monkeypatch.setenv("TZ", "Not/AZone")
    assert default_zone().key, "a $TZ that names no zone is passed over"
