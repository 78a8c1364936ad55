"""Request parameters per media type, as graph-api.md's "Parameters per media type" table says."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from igautopost.graph import (
    carousel_child_params,
    carousel_parent_params,
    container_params,
    image_params,
    reel_params,
    story_params,
)
from igautopost.models import CarouselItem, PostSpec

# The parameters each container may carry (R or O in the table; we send no product_tags or
# audio_name: PostSpec has no such fields).
ALLOWED = {
    "image": {"image_url", "caption", "alt_text", "location_id", "user_tags", "collaborators"},
    "reel": {
        "media_type",
        "video_url",
        "caption",
        "location_id",
        "user_tags",
        "collaborators",
        "thumb_offset",
        "cover_url",
        "share_to_feed",
    },
    "story": {"media_type", "image_url", "video_url", "user_tags"},
}
EVERYTHING: dict[str, Any] = {
    "caption": "Hello #world",
    "alt_text": "What the picture shows",
    "location_id": "110000000000001",
    "user_tags": [{"username": "@ana", "x": 0.1, "y": 0.9}],
    "collaborators": ["@bob", "carla"],
    "thumb_offset": 2500,
    "cover_url": "https://example.com/cover.jpg",
    "share_to_feed": False,
}


def spec(**fields: Any) -> PostSpec:
    return PostSpec.model_validate({"account": "1", "publish_at": 2_000_000_000, **fields})


def test_image_with_every_option():
    params = image_params(spec(media_type="image", media_url="https://e.com/a.jpg", **EVERYTHING))
    assert params == {
        "image_url": "https://e.com/a.jpg",
        "caption": "Hello #world",
        "alt_text": "What the picture shows",
        "location_id": "110000000000001",
        "user_tags": '[{"username":"ana","x":0.1,"y":0.9}]',
        "collaborators": '["bob","carla"]',
    }


def test_minimal_image_sends_only_its_url():
    assert image_params(spec(media_type="image", media_url="https://e.com/a.jpg")) == {
        "image_url": "https://e.com/a.jpg"
    }


def test_reel_with_every_option():
    params = reel_params(spec(media_type="reel", media_url="https://e.com/v.mp4", **EVERYTHING))
    assert params == {
        "media_type": "REELS",
        "video_url": "https://e.com/v.mp4",
        "caption": "Hello #world",
        "location_id": "110000000000001",
        "user_tags": '[{"username":"ana","x":0.1,"y":0.9}]',
        "collaborators": '["bob","carla"]',
        "thumb_offset": "2500",
        "cover_url": "https://example.com/cover.jpg",
        "share_to_feed": "false",
    }


@pytest.mark.parametrize(
    ("url", "kind", "param"),
    [
        ("https://e.com/s.jpg", None, "image_url"),
        ("https://e.com/s.MP4", None, "video_url"),
        ("https://e.com/s.mov?sig=1", None, "video_url"),
        ("https://e.com/render", "video", "video_url"),
        ("https://e.com/s.mp4", "image", "image_url"),
    ],
)
def test_story_picks_image_or_video_url(url: str, kind: str | None, param: str):
    post = spec(media_type="story", media_url=url, media_kind=kind, **EVERYTHING)
    assert story_params(post) == {
        "media_type": "STORIES",
        param: url,
        "user_tags": '[{"username":"ana","x":0.1,"y":0.9}]',
    }


def test_user_tags_without_coordinates():
    post = spec(media_type="story", media_url="https://e.com/s.mp4", user_tags='[{"username":"a"}]')
    assert story_params(post)["user_tags"] == '[{"username":"a"}]'


def test_carousel_children():
    image = CarouselItem.model_validate(
        {
            "url": "https://e.com/1.jpg",
            "alt_text": "One",
            "thump_offset": 9,
            "user_tags": [{"username": "@d", "x": 0, "y": 1}],
        }
    )
    video = CarouselItem.model_validate(
        {"media_url": "https://e.com/2.mp4", "alt_text": "ignored", "thumb_offset": 700}
    )
    assert carousel_child_params(image) == {
        "is_carousel_item": "true",
        "image_url": "https://e.com/1.jpg",
        "alt_text": "One",
        "user_tags": '[{"username":"d","x":0.0,"y":1.0}]',
    }
    assert carousel_child_params(video) == {
        "is_carousel_item": "true",
        "media_type": "VIDEO",
        "video_url": "https://e.com/2.mp4",
        "thumb_offset": "700",
    }


def test_carousel_parent():
    post = spec(
        media_type="carousel",
        children=[{"media_url": "https://e.com/1.jpg"}, {"media_url": "https://e.com/2.jpg"}],
        **EVERYTHING,
    )
    assert carousel_parent_params(post, ["11", "12"]) == {
        "media_type": "CAROUSEL",
        "children": "11,12",
        "caption": "Hello #world",
        "location_id": "110000000000001",
        "collaborators": '["bob","carla"]',
    }
    with pytest.raises(ValueError, match="children"):
        carousel_parent_params(post, [])
    with pytest.raises(ValueError, match="carousel"):
        container_params(post)


def test_container_params_dispatches_per_media_type():
    image = spec(media_type="Photo", media_url="https://e.com/a.jpg")
    reel = spec(media_type="video", media_url="https://e.com/a.mp4")
    story = spec(media_type="stories", media_url="https://e.com/a.jpg")
    assert container_params(image) == image_params(image)
    assert container_params(reel)["media_type"] == "REELS"
    assert container_params(story)["media_type"] == "STORIES"


def test_a_missing_media_url_is_a_value_error():
    with pytest.raises(ValueError, match="media_url"):
        image_params(spec(media_type="image"))


names = st.from_regex(r"@?[a-z0-9._]{1,30}", fullmatch=True)
optional_text = st.none() | st.text(min_size=1, max_size=40)
fractions = st.none() | st.floats(0, 1)
fields = st.fixed_dictionaries(
    {},
    optional={
        "caption": st.text(max_size=60),
        "alt_text": optional_text,
        "location_id": st.none() | st.from_regex(r"[0-9]{1,20}", fullmatch=True),
        "user_tags": st.lists(
            st.fixed_dictionaries({"username": names, "x": fractions, "y": fractions}),
            max_size=3,
        ),
        "collaborators": st.lists(names, max_size=3),
        "thumb_offset": st.none() | st.integers(0, 10**6),
        "cover_url": st.none() | st.just("https://e.com/c.jpg"),
        "share_to_feed": st.none() | st.booleans(),
    },
)
media = st.sampled_from(
    [
        ("image", "https://e.com/a.jpg"),
        ("reel", "https://e.com/a.mp4"),
        ("story", "https://e.com/a.jpg"),
        ("story", "https://e.com/a.mov"),
    ]
)


@settings(max_examples=150, deadline=None)
@given(media=media, extra=fields)
def test_params_are_strings_allowed_for_their_media_type(
    media: tuple[str, str], extra: dict[str, Any]
):
    media_type, url = media
    params = container_params(spec(media_type=media_type, media_url=url, **extra))
    assert set(params) <= ALLOWED[media_type]
    assert all(isinstance(value, str) and value != "" for value in params.values())
    assert params.get("share_to_feed") in (None, "true", "false")
    assert sum(name in params for name in ("image_url", "video_url")) == 1
    for name in json.loads(params.get("collaborators", "[]")):
        assert not name.startswith("@")
    for tag in json.loads(params.get("user_tags", "[]")):
        assert not tag["username"].startswith("@")
        assert set(tag) <= {"username", "x", "y"}
