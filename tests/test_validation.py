"""Instagram's rules (../shared/graph-api.md), each with a passing and a failing case."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from igautopost.errors import InvalidPost, Problem
from igautopost.models import PostSpec
from igautopost.posts import parse_posts
from igautopost.validation import parse_post

NOW = datetime(2030, 1, 1, tzinfo=UTC)
IMAGE = "https://example.com/media/a.jpg"
VIDEO = "https://example.com/media/a.mp4"


def problems(data) -> list[Problem]:
    """The problems of one raw post; [] when it is valid."""
    try:
        parse_post(data, now=NOW)
    except InvalidPost as exc:
        assert exc.problems, "InvalidPost raised without problems"
        return exc.problems
    return []


def fields(data) -> list[str]:
    return [p.field for p in problems(data)]


def by_type(make_post, media_type: str, **overrides):
    """A valid post of each media type, plus overrides."""
    base = {
        "image": {"media_url": IMAGE},
        "reel": {"media_url": VIDEO, "caption": "clip"},
        "story": {"media_url": IMAGE, "caption": ""},
        "carousel": {"media_url": None, "children": [{"media_url": IMAGE}] * 2},
    }[media_type]
    data = make_post(media_type=media_type, **base)
    if data["media_url"] is None:
        del data["media_url"]
    data.update(overrides)
    return data


@pytest.mark.parametrize("media_type", ["image", "reel", "story", "carousel"])
def test_a_valid_post_of_each_type_passes(make_post, media_type):
    assert problems(by_type(make_post, media_type)) == []


def test_parse_post_returns_the_spec(make_post):
    spec = parse_post(make_post(caption="hello"), now=NOW)
    assert spec.caption == "hello"


# -- caption, hashtags, mentions (numeric: hypothesis) ---------------------------------------


@given(length=st.integers(min_value=2150, max_value=2250))
def test_caption_length_limit(make_post, length):
    found = problems(make_post(caption="x" * length))
    assert (found == []) == (length <= 2200)
    if found:
        assert found[0].field == "caption"
        assert str(length) in found[0].message


@given(count=st.integers(min_value=0, max_value=40), sep=st.sampled_from([" ", "\n", ""]))
def test_hashtag_limit(make_post, count, sep):
    caption = sep.join(f"#tag{i}" for i in range(count)) if sep else " ".join(["#a"] * count)
    found = problems(make_post(caption=caption))
    assert (found == []) == (count <= 30)
    if found:
        assert [p.field for p in found] == ["caption"]
        assert f"{count} hashtags" in found[0].message


@given(count=st.integers(min_value=0, max_value=30))
def test_mention_limit(make_post, count):
    caption = " ".join(f"@user_{i}" for i in range(count))
    found = problems(make_post(caption=caption))
    assert (found == []) == (count <= 20)
    if found:
        assert f"{count} @-mentions" in found[0].message


def test_email_addresses_and_html_entities_are_not_mentions_or_hashtags(make_post):
    caption = " ".join(f"me{i}@example.com" for i in range(25)) + " &#39;" * 35
    assert problems(make_post(caption=caption)) == []


@pytest.mark.parametrize(
    ("comment", "ok"),
    [
        ("first!", True),
        ("#more " * 30, True),
        ("#more " * 31, False),
        ("@someone " * 21, False),
        ("y" * 2201, False),
        ("   ", False),
    ],
)
def test_first_comment_follows_the_caption_rules(make_post, comment, ok):
    assert (fields(make_post(first_comment=comment)) == []) == ok
    if not ok:
        assert set(fields(make_post(first_comment=comment))) == {"first_comment"}


@pytest.mark.parametrize(("length", "ok"), [(1000, True), (1001, False)])
def test_alt_text_limit(make_post, length, ok):
    assert (fields(make_post(alt_text="a" * length)) == []) == ok
    child = {"media_url": IMAGE, "alt_text": "a" * length}
    found = fields(by_type(make_post, "carousel", children=[child, {"media_url": IMAGE}]))
    assert (found == []) == ok
    assert found == ([] if ok else ["children[0].alt_text"])


# -- user tags and collaborators -------------------------------------------------------------

coordinate = st.floats(min_value=-2, max_value=3, allow_nan=False)


@given(x=coordinate, y=coordinate)
def test_user_tag_coordinates_must_be_within_0_and_1(make_post, x, y):
    found = fields(make_post(user_tags=[{"username": "jane", "x": x, "y": y}]))
    expected = [f"user_tags[0].{axis}" for axis, v in (("x", x), ("y", y)) if not 0 <= v <= 1]
    assert found == expected


@given(x=coordinate)
def test_carousel_child_tag_coordinates(make_post, x):
    child = {"media_url": IMAGE, "user_tags": [{"username": "jane", "x": x, "y": 0.5}]}
    found = fields(by_type(make_post, "carousel", children=[{"media_url": IMAGE}, child]))
    assert found == ([] if 0 <= x <= 1 else ["children[1].user_tags[0].x"])


def test_image_and_reel_tags_need_x_and_y_but_story_tags_do_not(make_post):
    tag = [{"username": "jane"}]
    assert fields(make_post(user_tags=tag)) == ["user_tags[0].x", "user_tags[0].y"]
    assert fields(by_type(make_post, "reel", user_tags=tag)) == ["user_tags[0].x", "user_tags[0].y"]
    assert fields(by_type(make_post, "story", user_tags=tag)) == []


@pytest.mark.parametrize("url", [IMAGE, VIDEO])
def test_carousel_item_tags_need_x_and_y(make_post, url):
    children = [{"media_url": url, "user_tags": [{"username": "jane"}]}, {"media_url": IMAGE}]
    assert fields(by_type(make_post, "carousel", children=children)) == [
        "children[0].user_tags[0].x",
        "children[0].user_tags[0].y",
    ]


@given(count=st.integers(min_value=0, max_value=25))
def test_user_tag_count_limit(make_post, count):
    tags = [{"username": f"user{i}", "x": 0.5, "y": 0.5} for i in range(count)]
    assert (fields(make_post(user_tags=tags)) == []) == (count <= 20)


@pytest.mark.parametrize(
    ("username", "ok"),
    [("jane.doe_1", True), ("@jane", True), ("jane doe", False), ("x" * 31, False), ("é", False)],
)
def test_user_tag_username(make_post, username, ok):
    found = fields(make_post(user_tags=[{"username": username, "x": 0, "y": 1}]))
    assert found == ([] if ok else ["user_tags[0].username"])


@given(count=st.integers(min_value=0, max_value=6))
def test_collaborator_count_limit(make_post, count):
    names = [f"friend{i}" for i in range(count)]
    assert (fields(make_post(collaborators=names)) == []) == (count <= 3)


def test_collaborator_names_must_be_usernames(make_post):
    assert fields(make_post(collaborators=["@ok.name", "not ok"])) == ["collaborators[1]"]


# -- carousel --------------------------------------------------------------------------------


@given(size=st.integers(min_value=0, max_value=12))
def test_carousel_has_2_to_10_items(make_post, size):
    found = problems(by_type(make_post, "carousel", children=[{"media_url": IMAGE}] * size))
    assert (found == []) == (2 <= size <= 10)
    if found:
        assert [p.field for p in found] == ["children"]
        assert f"got {size}" in found[0].message


def test_carousel_takes_no_media_url(make_post):
    assert fields(by_type(make_post, "carousel", media_url=IMAGE)) == ["media_url"]


def test_only_a_carousel_has_children(make_post):
    assert fields(make_post(children=[{"media_url": IMAGE}] * 2)) == ["children"]


def test_carousel_item_fields_follow_the_item_kind(make_post):
    children = [
        {"media_url": VIDEO, "alt_text": "a clip", "thumb_offset": 100},
        {"media_url": IMAGE, "thumb_offset": 100, "alt_text": "a photo"},
        {"media_url": VIDEO, "thumb_offset": -1},
    ]
    assert fields(by_type(make_post, "carousel", children=children)) == [
        "children[0].alt_text",
        "children[1].thumb_offset",
        "children[2].thumb_offset",
    ]


def test_carousel_item_urls_are_checked_with_their_path(make_post):
    children = [{"media_url": IMAGE}] * 3 + [{"media_url": "ftp://example.com/a.jpg"}]
    assert fields(by_type(make_post, "carousel", children=children)) == ["children[3].media_url"]


# -- media and URLs --------------------------------------------------------------------------


@pytest.mark.parametrize("media_type", ["image", "reel", "story"])
def test_media_url_is_required_except_for_a_carousel(make_post, media_type):
    data = by_type(make_post, media_type)
    del data["media_url"]
    assert fields(data) == ["media_url"]


def test_an_image_post_cannot_be_a_video(make_post):
    found = problems(make_post(media_url=VIDEO))
    assert [p.field for p in found] == ["media_url"]
    assert "reel" in found[0].message


@pytest.mark.parametrize(
    ("url", "ok"),
    [
        ("https://example.com/a.jpg", True),
        ("http://example.com/a.jpg?size=large", True),
        ("ftp://example.com/a.jpg", False),
        ("example.com/a.jpg", False),
        ("https:///a.jpg", False),
        ("file:///etc/a.jpg", False),
        ("https://exämple.com/a.jpg", False),
        ("https://example.com/café.jpg", False),
    ],
)
def test_media_urls_are_public_ascii_http(make_post, url, ok):
    assert fields(make_post(media_url=url)) == ([] if ok else ["media_url"])
    reel = by_type(make_post, "reel", cover_url=url)
    assert fields(reel) == ([] if ok else ["cover_url"])


# Which optional field each media type takes, written from graph-api.md's table (not copied
# from validation.ALLOWED, so that the two are checked against each other).
DOC_ALLOWED = {
    "caption": ("x", {"image", "reel", "carousel"}),
    "location_id": ("110843418940484", {"image", "reel", "carousel"}),
    "user_tags": ([{"username": "jane", "x": 0.1, "y": 0.9}], {"image", "reel", "story"}),
    "collaborators": (["jane"], {"image", "reel", "carousel"}),
    "alt_text": ("a description", {"image"}),
    "thumb_offset": (0, {"reel"}),
    "cover_url": ("https://example.com/cover.jpg", {"reel"}),
    "share_to_feed": (False, {"reel"}),
    "first_comment": ("first!", {"image", "reel", "carousel"}),
    "media_kind": ("image", {"story"}),
}


@pytest.mark.parametrize("field", sorted(DOC_ALLOWED))
@pytest.mark.parametrize("media_type", ["image", "reel", "story", "carousel"])
def test_fields_each_media_type_takes(make_post, field, media_type):
    value, takers = DOC_ALLOWED[field]
    found = problems(by_type(make_post, media_type, **{field: value}))
    if media_type in takers:
        assert found == []
    else:
        assert [p.field for p in found] == [field]
        article = "an" if media_type == "image" else "a"
        assert f"not allowed on {article} {media_type} " in found[0].message  # not "a image"


# -- numbers and ids -------------------------------------------------------------------------


@given(offset=st.integers(min_value=-10_000, max_value=10_000))
def test_thumb_offset_is_not_negative(make_post, offset):
    found = fields(by_type(make_post, "reel", thumb_offset=offset))
    assert found == ([] if offset >= 0 else ["thumb_offset"])


@pytest.mark.parametrize(("location", "ok"), [("110843418940484", True), ("paris", False)])
def test_location_id_is_a_numeric_page_id(make_post, location, ok):
    assert fields(make_post(location_id=location)) == ([] if ok else ["location_id"])


@pytest.mark.parametrize(("account", "ok"), [("17841400000000001", True), ("@jane", False)])
def test_account_is_a_numeric_ig_user_id(make_post, account, ok):
    assert fields(make_post(account=account)) == ([] if ok else ["account"])


@pytest.mark.parametrize(("token", "ok"), [("EAAB", True), ("", False)])
def test_access_token_must_not_be_empty(make_post, token, ok):
    assert fields(make_post(access_token=token)) == ([] if ok else ["access_token"])


@given(length=st.integers(min_value=0, max_value=210))
def test_client_key_length(make_post, length):
    found = fields(make_post(client_key="k" * length))
    assert found == ([] if 1 <= length <= 200 else ["client_key"])


# -- time, recurrence, timezone --------------------------------------------------------------


@given(seconds=st.integers(min_value=-3 * 86400, max_value=3 * 86400))
def test_publish_time_must_be_in_the_future_with_a_minute_of_grace(make_post, seconds):
    when = NOW + timedelta(seconds=seconds)
    found = problems(make_post(publish_at=when.isoformat()))
    assert (found == []) == (seconds >= -60)
    if found:
        assert [p.field for p in found] == ["publish_at"]
        assert "future" in found[0].message


def test_past_time_says_how_long_ago(make_post):
    found = problems(make_post(publish_at=(NOW - timedelta(hours=3)).isoformat()))
    assert "3 hours ago" in found[0].message


@pytest.mark.parametrize(
    ("rule", "ok"),
    [
        ("0 9 * * MON", True),
        ("*/15 8-18 * * 1-5", True),
        ("0 9 * *", False),
        ("0 0 9 * * *", False),
        ("61 9 * * *", False),
        ("@weekly", False),
        ("0 9 30 2 *", False),  # February 30th never comes
    ],
)
def test_recurrence_must_be_a_five_field_cron_rule(make_post, rule, ok):
    assert fields(make_post(recurrence=rule)) == ([] if ok else ["recurrence"])


def test_unknown_timezone_is_a_problem_on_its_field(make_post):
    assert fields(make_post(timezone="Europe/Atlantis")) == ["timezone"]


# -- reporting -------------------------------------------------------------------------------


def test_every_problem_is_reported_at_once_with_its_path(make_post):
    children = [{"media_url": IMAGE}] * 10 + [
        {"media_url": "nope", "thumb_offset": 5},
    ]
    data = by_type(
        make_post,
        "carousel",
        children=children,
        caption="#a " * 31 + "x" * 2200,
        account="me",
        location_id="here",
        thumb_offset=10,
        publish_at=(NOW - timedelta(days=2)).isoformat(),
        recurrence="whenever",
    )
    assert set(fields(data)) == {
        "children",
        "children[10].media_url",
        "children[10].thumb_offset",
        "caption",
        "account",
        "location_id",
        "thumb_offset",
        "publish_at",
        "recurrence",
    }
    assert fields(data).count("caption") == 2  # too long and too many hashtags


def test_type_errors_are_all_reported_with_paths(make_post):
    data = make_post(
        caption=123,
        share_to_feed="maybe",
        children="not a list",
        user_tags=[{"username": "a", "x": "left", "y": 0}],
        extra_field=1,
    )
    del data["account"]
    found = {p.field: p.message for p in problems(data)}
    assert set(found) == {
        "caption",
        "share_to_feed",
        "children",
        "user_tags[0].x",
        "extra_field",
        "account",
    }
    assert found["account"] == "is required"
    assert found["extra_field"] == "is not a known field"


@pytest.mark.parametrize("item", [[1, 2], "text", 3, None])
def test_a_post_must_be_an_object(item):
    found = problems(item)
    assert [p.field for p in found] == ["(post)"]
    assert type(item).__name__ in found[0].message


def test_parse_posts_reports_every_item_with_its_position(make_post):
    items = [make_post(), make_post(caption="#a " * 31), make_post(), "junk"]
    with pytest.raises(InvalidPost) as info:
        parse_posts(items, now=NOW)
    assert [(p.index, p.field) for p in info.value.problems] == [(1, "caption"), (3, "(post)")]
    lines = str(info.value).splitlines()
    assert lines[0].startswith("post 2: caption: ")
    assert lines[1].startswith("post 4: (post): ")


def test_parse_posts_checks_ready_made_specs_too(make_post):
    good = parse_post(make_post(), now=NOW)
    stale = parse_post(make_post(), now=NOW)
    assert parse_posts([good, make_post()], now=NOW)[0] is good
    with pytest.raises(InvalidPost) as info:
        parse_posts([stale], now=datetime(2040, 1, 1, tzinfo=UTC))
    assert [(p.index, p.field) for p in info.value.problems] == [(0, "publish_at")]


def test_a_spec_built_directly_is_checked_for_text_that_is_not_unicode(make_post):
    from igautopost.validation import check_post

    spec = PostSpec.model_validate(make_post(caption="a\ud800b"))
    problems = check_post(spec, now=datetime(2030, 1, 1, tzinfo=UTC))
    assert [p.field for p in problems] == ["caption"]
    assert "lone surrogate" in problems[0].message


def _every_bad_string(value: object, where: str = "") -> list[tuple[str, str]]:
    """The fields and strings `text_problems` must name, found the slow way: every string
    and key tried, in the order its stack visits them."""
    found: list[tuple[str, str]] = []
    pending: list[tuple[object, str]] = [(value, where)]
    while pending:
        item, at = pending.pop()
        if isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                found.append((at or "(post)", item))
        elif isinstance(item, dict):
            for key, child in item.items():
                try:
                    str(key).encode("utf-8")
                except UnicodeEncodeError:
                    found.append((at or "(post)", str(key)))
                    continue
                pending.append((child, f"{at}.{key}" if at else str(key)))
        elif isinstance(item, list | tuple):
            pending.extend((child, f"{at}[{i}]") for i, child in enumerate(item))
    return found


SURROGATES = st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF)
TEXT = st.one_of(  # ASCII, other Unicode text, and text with a lone surrogate in it
    st.text(st.characters(codec="ascii"), max_size=8),
    st.text(max_size=8),
    st.builds(lambda a, s, b: a + s + b, st.text(max_size=4), SURROGATES, st.text(max_size=4)),
)
JSON_LIKE = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), TEXT),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4),
    max_leaves=20,
)


@given(JSON_LIKE)
def test_text_problems_names_every_lone_surrogate_in_order(value: object) -> None:
    """ASCII strings and numbers are passed over without being tried (issue 14): the
    problems found are still every one the full walk finds, in the same order."""
    from igautopost.validation import text_problems

    expected = _every_bad_string(value)
    problems = text_problems(value)

    assert [p.field for p in problems] == [field for field, _ in expected]
    assert all("lone surrogate" in p.message for p in problems)
