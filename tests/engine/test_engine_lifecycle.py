"""Every media type goes scheduled -> processing -> ready -> published, on simulated time.

The container is created at publish_at - lead, the publish call lands exactly at publish_at,
the first comment is posted, the permalink stored and every transition logged.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from enginetest import WorldFactory, sandbox_time

from igautopost.engine.policy import EnginePolicy, LeadTimes
from igautopost.models import Status

LIFECYCLE = [
    (Status.SCHEDULED, Status.PROCESSING),
    (Status.PROCESSING, Status.READY),
    (Status.READY, Status.PUBLISHED),
]

MEDIA: dict[str, tuple[dict[str, Any], timedelta]] = {
    "image": ({"media_type": "image"}, timedelta(minutes=2)),
    "reel": (
        {
            "media_type": "reel",
            "media_url": "https://cdn.example.com/v/clip.mp4",
            "share_to_feed": True,
        },
        timedelta(minutes=30),
    ),
    "story-image": (
        {"media_type": "story", "media_url": "https://cdn.example.com/s/story.jpg", "caption": ""},
        timedelta(minutes=2),
    ),
    "story-video": (
        {"media_type": "story", "media_url": "https://cdn.example.com/s/story.mp4", "caption": ""},
        timedelta(minutes=30),
    ),
    "carousel-images": (
        {
            "media_type": "carousel",
            "media_url": None,
            "children": [
                {"media_url": "https://cdn.example.com/c/1.jpg"},
                {"media_url": "https://cdn.example.com/c/2.jpg"},
            ],
        },
        timedelta(minutes=5),
    ),
    "carousel-image-and-video": (
        {
            "media_type": "carousel",
            "media_url": None,
            "children": [
                {"media_url": "https://cdn.example.com/c/1.jpg"},
                {"media_url": "https://cdn.example.com/c/2.mp4"},
                {"media_url": "https://cdn.example.com/c/3.jpg", "alt_text": "a cat"},
            ],
        },
        timedelta(minutes=30),
    ),
}


@pytest.mark.parametrize("name", list(MEDIA))
def test_every_media_type_is_published_once_at_its_publish_time(
    make_world: WorldFactory, name: str
) -> None:
    world = make_world(video_processing_seconds=90, image_processing_seconds=3)
    overrides, lead = MEDIA[name]
    caption_key = {"caption": f"{name} caption"} if "caption" not in overrides else {}
    is_story = overrides["media_type"] == "story"
    comment = None if is_story else f"first on {name}"  # stories take no comments
    post = world.schedule(**overrides, **caption_key, first_comment=comment)

    world.run_for(hours=2)

    stored = world.assert_published_once(post)
    assert world.transitions(stored) == [(None, Status.SCHEDULED), *LIFECYCLE]
    # The publish call arrived exactly at publish_at (simulated time) and only then.
    [publish_call] = world.calls("publish")
    assert sandbox_time(publish_call.sandbox_time) == post.publish_at
    assert publish_call.status == 200
    assert stored.published_at == post.publish_at
    # Containers were created at publish_at - lead (a carousel: its items; then the parent).
    creates = world.calls("create_container")
    assert sandbox_time(creates[0].sandbox_time) == post.publish_at - lead
    expected_containers = len(post.spec.children) + 1 if post.spec.children else 1
    assert len(creates) == expected_containers
    assert stored.containers_created == 1
    # The media, its permalink and the first comment.
    state = world.state
    media = state.media[stored.media_id or ""]
    assert media.container_id == stored.container_id
    assert stored.permalink == media.permalink
    assert [state.comments[c].text for c in media.comments] == ([comment] if comment else [])
    assert ("first comment posted" in world.details(stored)) is not is_story
    assert f"published as media {stored.media_id}" in world.details(stored)
    assert stored.error is None and stored.next_attempt_at is None


def test_a_carousel_publishes_its_items_as_children(make_world: WorldFactory) -> None:
    world = make_world(video_processing_seconds=60)
    overrides, _ = MEDIA["carousel-image-and-video"]
    post = world.schedule(**overrides, caption="album")

    world.run_for(hours=2)

    stored = world.assert_published_once(post)
    media = world.state.media[stored.media_id or ""]
    assert media.media_type == "CAROUSEL_ALBUM"
    assert len(media.children) == 3
    assert len(stored.child_container_ids) == 3
    # The parent was created only once every item had finished processing.
    parent = world.state.containers[stored.container_id or ""]
    video_item = world.state.containers[stored.child_container_ids[1]]
    assert parent.created_at >= video_item.created_at + timedelta(seconds=60)


def test_per_post_prepare_ahead_overrides_the_lead(make_world: WorldFactory) -> None:
    world = make_world()
    post = world.schedule(
        publish_at=world.clock.now() + timedelta(hours=10), prepare_ahead=8 * 3600
    )

    world.run_for(hours=11)

    stored = world.assert_published_once(post)
    container = world.state.containers[stored.container_id or ""]
    assert container.created_at == post.publish_at - timedelta(hours=8)
    assert stored.published_at == post.publish_at


def test_lead_times_come_from_the_policy(make_world: WorldFactory) -> None:
    leads = LeadTimes(image=timedelta(minutes=7), video=timedelta(minutes=45))
    world = make_world(policy=EnginePolicy(leads=leads))
    image = world.schedule(caption="photo")
    reel = world.schedule(
        caption="reel",
        media_type="reel",
        media_url="https://cdn.example.com/v/r.mp4",
        publish_at=world.clock.now() + timedelta(hours=2),
    )

    world.run_for(hours=3)

    for post, lead in ((image, leads.image), (reel, leads.video)):
        stored = world.assert_published_once(post)
        container = world.state.containers[stored.container_id or ""]
        assert container.created_at == post.publish_at - lead
        assert stored.published_at == post.publish_at


def test_many_posts_over_three_days_each_land_on_time(make_world: WorldFactory) -> None:
    world = make_world(video_processing_seconds=120)
    start = world.clock.now()
    posts = [
        world.schedule(
            caption=f"post {i}",
            publish_at=start + timedelta(minutes=37 * i),
            **(
                {"media_type": "reel", "media_url": f"https://cdn.example.com/{i}.mp4"}
                if i % 3 == 0
                else {}
            ),
        )
        for i in range(1, 40)
    ]

    world.run_for(days=3)

    for post in posts:
        stored = world.assert_published_once(post)
        assert stored.published_at == post.publish_at
    assert len(world.publishes()) == len(posts)
    times = {p.container_id: sandbox_time(p.sandbox_time) for p in world.publishes()}
    for post in posts:
        assert times[world.get(post).container_id or ""] == post.publish_at


def test_a_processing_image_is_polled_without_blocking(make_world: WorldFactory) -> None:
    """Polls are separate steps: two posts interleave their polls in simulated time."""
    world = make_world(image_processing_seconds=20)
    first = world.schedule(caption="one")
    second = world.schedule(caption="two", publish_at=first.publish_at + timedelta(seconds=5))

    world.run_for(hours=2)

    for post in (first, second):
        stored = world.assert_published_once(post)
        assert stored.published_at == post.publish_at
    polls = [c.object_id for c in world.calls("get_object")]
    firsts = [i for i, cid in enumerate(polls) if cid == world.get(first).container_id]
    seconds = [i for i, cid in enumerate(polls) if cid == world.get(second).container_id]
    assert min(seconds) < max(firsts), "the second post's polls waited for the first's"
