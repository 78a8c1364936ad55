"""PostSpec parsing: types, the old service's field names, times and the secret token."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from igautopost.models import (
    CarouselItem,
    ItemKind,
    MediaType,
    Post,
    PostSpec,
    Status,
    UserTag,
    guess_kind,
)


def spec(data: dict) -> PostSpec:
    return PostSpec.model_validate(data)


# -- aliases of the old field names ------------------------------------------------------------


def test_old_field_names_map_to_the_new_ones(make_post):
    new = make_post()
    old = {
        "user_id": new["account"],
        "token": new["access_token"],
        "url": new["media_url"],
        "content_type": "Photo",
        "date_pub": int(datetime.fromisoformat(new["publish_at"]).timestamp()),
        "caption": new["caption"],
    }
    assert spec(old) == spec(new)


@pytest.mark.parametrize("seconds", [1_900_000_000, "1900000000", " 1900000000 "])
def test_date_pub_is_unix_seconds_as_int_or_numeric_string(make_post, seconds):
    data = make_post(date_pub=seconds)
    del data["publish_at"]
    assert spec(data).publish_at == datetime.fromtimestamp(1_900_000_000, UTC)


def test_date_pub_true_is_not_a_time(make_post):
    data = make_post(date_pub=True)
    del data["publish_at"]
    with pytest.raises(ValidationError, match="true/false"):
        spec(data)


def test_content_type_video_is_a_reel(make_post):
    data = make_post(content_type="Video", media_url="https://example.com/clip.mp4")
    del data["media_type"]
    assert spec(data).media_type is MediaType.REEL


def test_thump_offset_alias_on_post_and_carousel_item(make_post):
    reel = spec(make_post(media_type="reel", media_url="https://e.com/a.mp4", thump_offset=1500))
    assert reel.thumb_offset == 1500
    item = CarouselItem.model_validate({"url": "https://e.com/b.mp4", "thump_offset": 250})
    assert (item.media_url, item.thumb_offset) == ("https://e.com/b.mp4", 250)


def test_user_tags_as_a_json_string(make_post):
    tags = [{"username": "jane", "x": 0.25, "y": 0.75}, {"username": "@tom", "x": 0, "y": 1}]
    parsed = spec(make_post(user_tags=json.dumps(tags))).user_tags
    assert parsed == [UserTag(username="jane", x=0.25, y=0.75), UserTag(username="tom", x=0, y=1)]
    raw_item = {"url": "https://e.com/a.jpg", "user_tags": json.dumps(tags)}
    item = CarouselItem.model_validate(raw_item)
    assert [t.username for t in item.user_tags] == ["jane", "tom"]


@pytest.mark.parametrize("text", ["", "   "])
def test_blank_user_tags_string_is_no_tags(make_post, text):
    assert spec(make_post(user_tags=text)).user_tags == []


def test_user_tags_string_that_is_not_json(make_post):
    with pytest.raises(ValidationError, match="not a JSON array"):
        spec(make_post(user_tags="[{oops"))


def test_collaborators_as_json_string_lose_their_at_sign(make_post):
    parsed = spec(make_post(collaborators='["@jane", " tom "]'))
    assert parsed.collaborators == ["jane", "tom"]


def test_account_as_an_integer_becomes_text(make_post):
    assert spec(make_post(account=17841400000000001)).account == "17841400000000001"


def test_unknown_field_is_refused(make_post):
    with pytest.raises(ValidationError) as info:
        spec(make_post(captoin="typo"))
    assert info.value.errors()[0]["loc"] == ("captoin",)


# -- media type names --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("image", MediaType.IMAGE),
        ("IMAGE", MediaType.IMAGE),
        ("Photo", MediaType.IMAGE),
        ("pHoTo", MediaType.IMAGE),
        ("Video", MediaType.REEL),
        ("VIDEO", MediaType.REEL),
        ("REELS", MediaType.REEL),
        (" reel ", MediaType.REEL),
        ("Stories", MediaType.STORY),
        ("CAROUSEL_ALBUM", MediaType.CAROUSEL),
        ("Carousel", MediaType.CAROUSEL),
    ],
)
def test_media_type_names_are_case_insensitive(make_post, name, expected):
    assert spec(make_post(media_type=name)).media_type is expected


@pytest.mark.parametrize("name", ["gif", "photos ", "igtv", ""])
def test_unknown_media_type_names_the_choices(make_post, name):
    with pytest.raises(ValidationError, match="unknown media type") as info:
        spec(make_post(media_type=name))
    assert "Photo" in str(info.value)


# -- publish time ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("naive", "zone", "utc"),
    [
        ("2031-01-06 09:00", "Europe/Paris", datetime(2031, 1, 6, 8, tzinfo=UTC)),  # CET
        ("2031-07-06T09:00:00", "Europe/Paris", datetime(2031, 7, 6, 7, tzinfo=UTC)),  # CEST
        ("2031-07-06T09:00:00", "America/New_York", datetime(2031, 7, 6, 13, tzinfo=UTC)),
        ("2031-07-06T09:00:00", "UTC", datetime(2031, 7, 6, 9, tzinfo=UTC)),
    ],
)
def test_naive_publish_time_is_read_in_the_posts_timezone(make_post, naive, zone, utc):
    parsed = spec(make_post(publish_at=naive, timezone=zone))
    assert parsed.publish_at == utc
    assert parsed.publish_at.tzinfo is UTC


def test_naive_publish_time_without_timezone_is_utc(make_post):
    assert spec(make_post(publish_at="2031-07-06T09:00")).publish_at == datetime(
        2031, 7, 6, 9, tzinfo=UTC
    )


def test_naive_datetime_object_is_read_in_the_posts_timezone(make_post):
    naive = datetime(2031, 7, 6, 9)
    parsed = spec(make_post(publish_at=naive, timezone="Asia/Tokyo"))
    assert parsed.publish_at == naive.replace(tzinfo=ZoneInfo("Asia/Tokyo"))


def test_explicit_offset_wins_over_timezone(make_post):
    parsed = spec(make_post(publish_at="2031-07-06T09:00:00+02:00", timezone="America/New_York"))
    assert parsed.publish_at == datetime(2031, 7, 6, 7, tzinfo=UTC)
    assert parsed.timezone == "America/New_York"  # kept: recurrence is evaluated in it


def test_aware_publish_time_is_converted_to_utc(make_post):
    tokyo = datetime(2031, 7, 6, 9, tzinfo=ZoneInfo("Asia/Tokyo"))
    parsed = spec(make_post(publish_at=tokyo))
    assert parsed.publish_at.tzinfo is UTC
    assert parsed.publish_at == tokyo


@pytest.mark.parametrize("zone", ["Mars/Olympus", "", "Europe/Pariss", "../etc/passwd"])
def test_unknown_timezone_is_refused(make_post, zone):
    with pytest.raises(ValidationError, match="IANA timezone"):
        spec(make_post(timezone=zone))


def test_unparseable_publish_time_is_refused(make_post):
    with pytest.raises(ValidationError) as info:
        spec(make_post(publish_at="next tuesday", timezone="Europe/Paris"))
    assert [e["loc"] for e in info.value.errors()] == [("publish_at",)]


# -- the token never shows ---------------------------------------------------------------------


def test_token_never_appears_in_repr_str_or_json(make_post):
    token = make_post()["access_token"]
    parsed = spec(make_post())
    assert parsed.token_value() == token  # it is there...
    for text in (
        repr(parsed),
        str(parsed),
        json.dumps(parsed.model_dump(mode="json")),
        parsed.model_dump_json(),
        json.dumps(parsed.public_dict()),
        repr(parsed.access_token),
    ):
        assert token not in text  # ...but never shown
    assert "access_token" not in parsed.public_dict()


def test_token_never_appears_in_a_post(make_post):
    token = make_post()["access_token"]
    now = datetime(2030, 1, 1, tzinfo=UTC)
    post = Post(
        id=1, spec=spec(make_post()), status=Status.SCHEDULED, created_at=now, updated_at=now
    )
    for text in (repr(post), str(post), post.model_dump_json(), str(post.model_dump(mode="json"))):
        assert token not in text


def test_missing_token_is_allowed(make_post):
    data = make_post()
    del data["access_token"]
    assert spec(data).token_value() is None


# -- small behaviours --------------------------------------------------------------------------


def test_spec_is_frozen(make_post):
    parsed = spec(make_post())
    with pytest.raises(ValidationError):
        parsed.caption = "changed"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("url", "kind"),
    [
        ("https://e.com/a.mp4", ItemKind.VIDEO),
        ("https://e.com/a.MOV?x=1", ItemKind.VIDEO),
        ("https://e.com/a.m4v", ItemKind.VIDEO),
        ("https://e.com/a.jpg", ItemKind.IMAGE),
        ("https://e.com/mp4/a.jpeg?f=.mp4", ItemKind.IMAGE),
    ],
)
def test_guess_kind_reads_the_path_extension(url, kind):
    assert guess_kind(url) is kind


def test_carousel_item_kind_overrides_the_guess():
    item = CarouselItem.model_validate({"media_url": "https://e.com/stream", "kind": "video"})
    assert item.item_kind is ItemKind.VIDEO


@pytest.mark.parametrize(
    ("media_type", "url", "media_kind", "is_video"),
    [
        ("reel", "https://e.com/a.mp4", None, True),
        ("image", "https://e.com/a.jpg", None, False),
        ("story", "https://e.com/a.mp4", None, True),
        ("story", "https://e.com/a.jpg", None, False),
        ("story", "https://e.com/stream", "video", True),
    ],
)
def test_is_video(make_post, media_type, url, media_kind, is_video):
    parsed = spec(make_post(media_type=media_type, media_url=url, media_kind=media_kind))
    assert parsed.is_video is is_video


def test_active_statuses():
    active = {s for s in Status if s.is_active}
    assert active == {Status.SCHEDULED, Status.PROCESSING, Status.READY}


def test_round_trip_through_public_json_keeps_every_field(make_post):
    original = spec(
        make_post(
            publish_at=(datetime(2031, 1, 1, tzinfo=UTC) + timedelta(minutes=7)).isoformat(),
            user_tags=[{"username": "jane", "x": 0.5, "y": 0.5}],
            timezone="Europe/Paris",
            recurrence="0 9 * * MON",
        )
    )
    again = PostSpec.model_validate_json(json.dumps(original.public_dict()))
    assert again == original.model_copy(update={"access_token": None})


def test_a_null_caption_from_the_old_service_means_no_caption(make_post):
    from igautopost.models import PostSpec

    spec = PostSpec.model_validate({**make_post(), "caption": None})
    assert spec.caption == ""
