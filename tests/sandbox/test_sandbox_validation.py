"""Create-call validation: the parameter table, URLs, captions and carousels."""

from __future__ import annotations

from typing import Any

import pytest
from sandboxtest import ACCOUNT, IMAGE, VIDEO, Graph, error_of

VALID = [
    {"image_url": IMAGE},
    {
        "image_url": IMAGE,
        "alt_text": "a cup",
        "location_id": "1",
        "product_tags": "[]",
        "user_tags": '[{"username": "ana", "x": 0.5, "y": 0.1}]',
        "collaborators": '["ana"]',
    },
    {
        "media_type": "REELS",
        "video_url": VIDEO,
        "share_to_feed": "true",
        "thumb_offset": "500",
        "cover_url": IMAGE,
        "audio_name": "song",
    },
    {"media_type": "STORIES", "image_url": IMAGE},
    {"media_type": "STORIES", "video_url": VIDEO, "user_tags": '[{"username": "ana"}]'},
    {"is_carousel_item": "true", "image_url": IMAGE, "alt_text": "x"},
    {"is_carousel_item": "true", "media_type": "VIDEO", "video_url": VIDEO, "thumb_offset": "0"},
]


@pytest.mark.parametrize("params", VALID)
def test_valid_parameters_create_a_container(graph: Graph, params: dict[str, Any]) -> None:
    assert graph.create(**params).status_code == 200


INVALID = [
    ({}, (100, None), "image_url"),
    ({"media_type": "REELS"}, (100, None), "video_url"),
    ({"media_type": "STORIES"}, (100, None), "exactly one"),
    ({"media_type": "STORIES", "image_url": IMAGE, "video_url": VIDEO}, (100, None), "exactly"),
    ({"media_type": "CAROUSEL"}, (100, None), "children"),
    ({"media_type": "GIF", "image_url": IMAGE}, (100, 2207023), "media type"),
    ({"media_type": "VIDEO", "video_url": VIDEO}, (100, 2207023), "REELS"),
    ({"image_url": VIDEO}, (36001, 2207005), ""),
    ({"image_url": "ftp://example.com/a.jpg"}, (9004, 2207052), ""),
    ({"image_url": "https://example.com/café.jpg"}, (9004, 2207052), ""),
    ({"image_url": IMAGE, "video_url": VIDEO}, (100, None), "video_url"),
    ({"media_type": "REELS", "video_url": VIDEO, "image_url": IMAGE}, (100, None), "image_url"),
    ({"media_type": "REELS", "video_url": VIDEO, "alt_text": "x"}, (100, None), "alt_text"),
    ({"image_url": IMAGE, "share_to_feed": "true"}, (100, None), "share_to_feed"),
    ({"media_type": "STORIES", "image_url": IMAGE, "location_id": "1"}, (100, None), "location"),
    ({"is_carousel_item": "true", "image_url": IMAGE, "caption": "x"}, (100, None), "caption"),
    ({"is_carousel_item": "true", "media_type": "REELS", "video_url": VIDEO}, (100, None), "item"),
    ({"image_url": IMAGE, "alt_text": "x" * 1001}, (100, None), "alt_text"),
    ({"image_url": IMAGE, "collaborators": '["a","b","c","d"]'}, (100, None), "collaborators"),
    ({"image_url": IMAGE, "user_tags": '[{"username": "a"}]'}, (100, None), "x must"),
    ({"image_url": IMAGE, "user_tags": '[{"username": "a", "x": 2, "y": 0}]'}, (100, None), "x"),
    ({"image_url": IMAGE, "user_tags": '{"username": "a"}'}, (100, None), "array"),
    ({"image_url": IMAGE, "user_tags": '["a"]'}, (100, None), "username"),
    ({"media_type": "REELS", "video_url": VIDEO, "share_to_feed": "maybe"}, (100, None), "share"),
    ({"media_type": "REELS", "video_url": VIDEO, "thumb_offset": "-5"}, (100, None), "thumb"),
]


@pytest.mark.parametrize(("params", "expected", "words"), INVALID)
def test_invalid_parameters_answer_the_real_error(
    graph: Graph, params: dict[str, Any], expected: tuple[int, int | None], words: str
) -> None:
    response = graph.create(**params)
    assert response.status_code == 400
    assert error_of(response) == expected
    error = response.json()["error"]
    assert words in error["message"] + error.get("error_user_msg", "")


@pytest.mark.parametrize(
    "caption",
    [
        "x" * 2201,
        " ".join(f"#tag{i}" for i in range(31)),
        " ".join(f"@user{i}" for i in range(21)),
    ],
)
def test_caption_limits_answer_36004(graph: Graph, caption: str) -> None:
    assert error_of(graph.create(image_url=IMAGE, caption=caption)) == (36004, 2207010)


@pytest.mark.parametrize(
    "caption",
    [
        "x" * 2200,
        " ".join(f"#tag{i}" for i in range(30)),
        " ".join(f"@u{i}" for i in range(20)),
        "email me at a@b.com #one",
        "C# and F#",
    ],
)
def test_captions_at_the_limits_pass(graph: Graph, caption: str) -> None:
    assert graph.create(image_url=IMAGE, caption=caption).status_code == 200


def children(graph: Graph, count: int) -> str:
    return ",".join(graph.image(is_carousel_item="true") for _ in range(count))


@pytest.mark.parametrize("count", [2, 10])
def test_carousel_with_2_to_10_finished_items(graph: Graph, count: int) -> None:
    parent = graph.create(media_type="CAROUSEL", children=children(graph, count))
    assert parent.status_code == 200


@pytest.mark.parametrize("count", [1, 11])
def test_carousel_size_out_of_range_is_2207028(graph: Graph, count: int) -> None:
    response = graph.create(media_type="CAROUSEL", children=children(graph, count))
    assert error_of(response) == (100, 2207028)


def test_carousel_child_must_exist_on_the_account(graph: Graph) -> None:
    other = graph.image(account="17841400000000999", is_carousel_item="true")
    response = graph.create(media_type="CAROUSEL", children=f"{children(graph, 1)},{other}")
    assert error_of(response) == (24, 2207006)
    response = graph.create(media_type="CAROUSEL", children=f"{children(graph, 1)},123")
    assert error_of(response) == (24, 2207006)


def test_carousel_child_must_be_a_carousel_item(graph: Graph) -> None:
    response = graph.create(media_type="CAROUSEL", children=f"{children(graph, 1)},{graph.image()}")
    assert error_of(response) == (100, None)
    assert "not a carousel item" in response.json()["error"]["message"]


def test_carousel_child_must_be_finished(graph: Graph) -> None:
    video = graph.create_id(is_carousel_item="true", media_type="VIDEO", video_url=VIDEO)
    response = graph.create(media_type="CAROUSEL", children=f"{children(graph, 1)},{video}")
    assert error_of(response) == (9007, 2207027)
    graph.advance(20)
    assert graph.create(media_type="CAROUSEL", children=f"{children(graph, 1)},{video}").is_success


def test_carousel_child_expired(graph: Graph) -> None:
    old = children(graph, 2)
    graph.advance(24 * 3600)
    assert error_of(graph.create(media_type="CAROUSEL", children=old)) == (-2, 2207020)


def test_a_carousel_item_cannot_be_published_alone(graph: Graph) -> None:
    child = graph.image(is_carousel_item="true")
    assert error_of(graph.publish(child)) == (100, None)


def test_publish_needs_a_known_creation_id(graph: Graph) -> None:
    assert error_of(graph.post(f"/{ACCOUNT}/media_publish")) == (100, None)
    assert error_of(graph.publish("17890000000099999")) == (24, 2207006)
    other = graph.image(account="17841400000000999")
    assert error_of(graph.publish(other)) == (24, 2207006)
