"""User tags: our validation and the sandbox's emulation of Instagram agree on the rule
(graph-api.md: x and y in [0, 1], required on every tag but a story's), so a post that
validates is never refused for its tags, and a post that would be refused never validates."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import igautopost
from igautopost.errors import InvalidPost
from igautopost.graph.params import carousel_child_params, container_params
from igautopost.sandbox import SandboxServer
from igautopost.sandbox.errors import GraphErrorAnswer
from igautopost.sandbox.rules import check_container_params
from igautopost.validation import parse_post

NOW = datetime(2030, 1, 1, tzinfo=UTC)
ACCOUNT = "17841400000000001"
IMAGE = "https://example.com/media/a.jpg"
VIDEO = "https://example.com/media/a.mp4"

# Where a tag can go: (media_type, media_url, on a carousel item?)
PLACES = [
    ("image", IMAGE, False),
    ("reel", VIDEO, False),
    ("story", IMAGE, False),
    ("story", VIDEO, False),
    ("carousel", IMAGE, True),
    ("carousel", VIDEO, True),
]


def _post(place: tuple[str, str, bool], tags: list[dict[str, Any]]) -> dict[str, Any]:
    media_type, url, item = place
    post: dict[str, Any] = {
        "account": ACCOUNT,
        "access_token": "token",
        "media_type": media_type,
        "publish_at": (NOW + timedelta(days=1)).isoformat(),
    }
    if item:
        post["children"] = [{"media_url": url, "user_tags": tags}, {"media_url": IMAGE}]
    else:
        post["media_url"] = url
        post["user_tags"] = tags
    return post


def _validates(post: dict[str, Any]) -> bool:
    """Whether our validation accepts the post's tags (nothing else about it is wrong)."""
    try:
        parse_post(post, now=NOW)
    except InvalidPost as exc:
        assert all("user_tags" in p.field for p in exc.problems), exc.problems
        return False
    return True


def _emulator_accepts(post: dict[str, Any]) -> bool:
    """Whether the sandbox accepts the create call our client makes for the tagged media.
    The post is built without validation, as it would be if validation let it through."""
    spec = igautopost.PostSpec.model_validate(post)
    params = carousel_child_params(spec.children[0]) if spec.children else container_params(spec)
    try:
        check_container_params(params, (), 2207026)
    except GraphErrorAnswer as exc:
        assert exc.code == 100 and "User tag" in exc.message, exc.message
        return False
    return True


coordinate = st.none() | st.floats(min_value=-0.5, max_value=1.5) | st.sampled_from([0.0, 1.0])
tags = st.lists(
    st.fixed_dictionaries(
        {"username": st.from_regex(r"[a-z0-9._]{1,30}", fullmatch=True)},
        optional={"x": coordinate, "y": coordinate},
    ),
    min_size=1,
    max_size=3,
)


@settings(max_examples=300, deadline=None)
@given(place=st.sampled_from(PLACES), tags=tags)
def test_validation_and_the_emulator_agree_on_user_tags(
    place: tuple[str, str, bool], tags: list[dict[str, Any]]
) -> None:
    post = _post(place, tags)
    assert _validates(post) == _emulator_accepts(post)


@pytest.mark.parametrize("place", [p for p in PLACES if p[0] != "story"], ids=str)
def test_a_tag_without_coordinates_is_refused_before_it_is_stored(
    place: tuple[str, str, bool],
) -> None:
    post = _post(place, [{"username": "jane"}])
    with pytest.raises(InvalidPost) as caught:
        parse_post(post, now=NOW)
    where = "children[0].user_tags[0]" if place[2] else "user_tags[0]"
    assert [(p.field, p.message) for p in caught.value.problems] == [
        (f"{where}.{axis}", "is required (only a story's tags may omit it)") for axis in "xy"
    ]


def test_a_tagged_reel_that_validates_is_published(tmp_path: Any) -> None:
    clock = igautopost.FakeClock(NOW)
    settings = igautopost.Settings(
        data_dir=tmp_path, secret_key=igautopost.TokenCipher.generate_key()
    )
    store = igautopost.open_store(settings)
    reel = {
        **_post(("reel", VIDEO, False), [{"username": "jane", "x": 0.5, "y": 0.25}]),
        "publish_at": NOW + timedelta(minutes=5),
    }
    untagged_xy = {**reel, "user_tags": [{"username": "jane"}]}
    with SandboxServer(clock=clock) as sandbox, igautopost.GraphClient(base_url=sandbox.url) as c:
        result = igautopost.schedule(store, [reel], now=NOW)
        with pytest.raises(InvalidPost):
            igautopost.schedule(store, [untagged_xy], now=NOW)
        publisher = igautopost.Publisher(store, c, clock)
        igautopost.Simulation(publisher, clock).run_for(timedelta(hours=1))
        published = store.get(result.created[0].id)
        assert published.status is igautopost.Status.PUBLISHED, published.error
        assert len(sandbox.state.inspector.publishes) == 1
    store.close()
