"""A stored row is read back without validating the `Post` (`storage.construct`): for any
valid post, what that gives equals what validating the same values gives (issue 14)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from igautopost.crypto import TokenCipher
from igautopost.models import CarouselItem, MediaType, Post, PostError, PostSpec, Status, UserTag
from igautopost.storage.construct import constructed
from igautopost.storage.records import new_post_row
from igautopost.storage.sql.rows import read_post

NOW = datetime(2030, 1, 1, tzinfo=UTC)
CIPHER = TokenCipher([TokenCipher.generate_key()])
text = st.text(st.characters(codec="utf-8"), max_size=30)
moments = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
)
tags = st.lists(
    st.builds(
        dict,
        username=st.from_regex(r"[a-z0-9_.]{1,20}", fullmatch=True),
        x=st.none() | st.floats(0, 1),
        y=st.none() | st.floats(0, 1),
    ),
    max_size=3,
)


@st.composite
def specs(draw: st.DrawFn) -> PostSpec:
    media_type = draw(st.sampled_from(MediaType))
    data = {
        "account": draw(st.from_regex(r"[0-9]{5,17}", fullmatch=True)),
        "media_type": media_type.value,
        "caption": draw(text),
        "publish_at": draw(moments).isoformat(),
        "access_token": draw(st.none() | st.just("EAAB-token")),
        "client_key": draw(st.none() | text),
        "user_tags": draw(tags),
        "first_comment": draw(st.none() | text),
        "share_to_feed": draw(st.none() | st.booleans()),
        "timezone": draw(st.sampled_from(["UTC", "Europe/Paris", "America/Sao_Paulo"])),
    }
    if media_type is MediaType.CAROUSEL:
        data["children"] = [
            {"media_url": f"https://example.com/{n}.jpg", "user_tags": draw(tags)}
            for n in range(draw(st.integers(2, 4)))
        ]
    else:
        data["media_url"] = "https://example.com/a.mp4"
    return PostSpec.model_validate(data)


@st.composite
def rows(draw: st.DrawFn) -> dict[str, object]:
    row = new_post_row(
        draw(specs()),
        now=NOW,
        owner_id=draw(st.none() | st.integers(1, 9)),
        cipher=CIPHER,
        encrypted={},
    )
    maybe_moment = st.none() | moments
    row.update(
        id=draw(st.integers(1, 10**9)),
        status=draw(st.sampled_from(Status)).value,
        attempts=draw(st.integers(0, 5)),
        container_id=draw(st.none() | st.just("c-1")),
        child_container_ids=json.dumps(draw(st.lists(st.just("c-2"), max_size=3))),
        container_created_at=draw(maybe_moment),
        publish_attempted_at=draw(maybe_moment),
        published_at=draw(maybe_moment),
        lease_until=draw(maybe_moment),
        claimed_at=draw(maybe_moment),
        comment_id=None,
        comment_attempted_at=draw(maybe_moment),
        media_id=draw(st.none() | st.just("m-1")),
        permalink=None,
        error_message=draw(st.none() | st.just("Instagram said no")),
        error_code=draw(st.none() | st.integers(1, 400)),
        error_subcode=None,
    )
    return row


@given(rows())
@settings(max_examples=200, deadline=None)
def test_a_stored_row_reads_as_its_validated_post(row: dict[str, object]) -> None:
    post, problem = read_post(row)

    assert problem is None
    validated_spec = PostSpec.model_validate_json(str(row["spec_json"]))
    validated = Post.model_validate(
        {
            **{name: row.get(name) for name in Post.model_fields if name in row},
            "spec": validated_spec,
            "has_token": row["token_ciphertext"] is not None,
            "child_container_ids": json.loads(str(row["child_container_ids"])),
            "error": (
                PostError(message=str(row["error_message"]), code=row["error_code"])
                if row["error_message"]
                else None
            ),
        }
    )
    assert post.spec == validated_spec
    assert post == validated
    assert post.model_dump() == validated.model_dump()
    assert list(post.__dict__) == list(Post.model_fields)  # the fields' order, as validated


def test_constructed_fills_defaults_as_model_construct_does() -> None:
    values: dict[str, Any] = {"media_url": "https://example.com/a.jpg"}
    built = constructed(CarouselItem, dict(values))

    assert built == CarouselItem.model_construct(**values)
    assert built.model_fields_set == {"media_url"}
    assert (
        built.user_tags == [] and built.user_tags is not constructed(CarouselItem, values).user_tags
    )
    assert constructed(UserTag, {"username": "a"}) == UserTag(username="a")


def test_a_post_read_twice_shares_no_lists() -> None:
    spec = PostSpec.model_validate(
        {
            "account": "1",
            "media_type": "image",
            "media_url": "https://example.com/a.jpg",
            "publish_at": NOW + timedelta(days=1),
        }
    )
    row = new_post_row(spec, now=NOW, owner_id=None, cipher=CIPHER, encrypted={})
    row.update(id=1, child_container_ids=None)
    first, second = read_post(dict(row))[0], read_post(dict(row))[0]

    assert first == second
    assert first.child_container_ids is not second.child_container_ids
