"""A post published while its answer was lost gets its media id and permalink back from the
account's recent media, by an unambiguous match only (never the newest media blindly)."""

from __future__ import annotations

from datetime import timedelta

from enginetest import ACCOUNT, TOKEN, World, WorldFactory

from igautopost.models import Post, Status
from igautopost.sandbox import FaultRule

LOST = FaultRule(kind="after_success_drop", endpoints=("publish",), on_calls=(1,))


def publish_elsewhere(world: World, caption: str) -> str:
    """Another app publishes an image with `caption` on the same account, now; its media id."""
    client = world.client
    container = client.create_container(
        ACCOUNT, {"image_url": "https://cdn.example.com/other.jpg", "caption": caption}, token=TOKEN
    )
    world.clock.advance(timedelta(seconds=5))  # processed
    return client.publish(ACCOUNT, container, token=TOKEN)


def published_with_lost_answer(world: World, post: Post) -> Post:
    world.run_until(post.publish_at + timedelta(minutes=2))
    stored = world.get(post)
    assert stored.status is Status.PUBLISHED, world.details(post)
    assert "published (media id unknown)" in world.details(post)
    return stored


def test_a_lost_answer_gets_its_media_id_permalink_and_first_comment(
    make_world: WorldFactory,
) -> None:
    world = make_world(faults=(LOST,))
    post = world.schedule(caption="answer lost, media found", first_comment="First!")

    published_with_lost_answer(world, post)
    world.run_for(minutes=5)

    stored = world.assert_published_once(post)
    (mine,) = world.publishes_of(stored)
    assert stored.media_id == mine.media_id
    assert stored.permalink is not None and stored.permalink.startswith("https://www.instagram")
    assert stored.comment_id is not None
    assert f"media {mine.media_id} found among the account's recent media" in world.details(post)
    assert len(world.calls("list_media")) == 1


def test_the_newest_media_is_not_taken_when_it_is_another_post(make_world: WorldFactory) -> None:
    world = make_world(faults=(LOST,))
    post = world.schedule(caption="ours, answer lost")
    world.run_until(post.publish_at + timedelta(seconds=1))  # published; answer lost
    newer = publish_elsewhere(world, "someone else's, newer")

    world.run_for(minutes=10)

    stored = world.get(post)
    (mine,) = world.publishes_of(stored)
    assert stored.media_id == mine.media_id != newer


def test_two_media_that_could_be_the_post_leave_its_media_id_unknown(
    make_world: WorldFactory,
) -> None:
    world = make_world(faults=(LOST,))
    post = world.schedule(caption="same words")
    world.run_until(post.publish_at + timedelta(seconds=1))
    publish_elsewhere(world, "same words")  # another app, same caption, same minute

    world.run_for(minutes=10)

    stored = world.get(post)
    assert stored.status is Status.PUBLISHED
    assert stored.media_id is None and stored.permalink is None
    assert "media id not recovered: 2 recent media match it" in world.details(post)
    assert stored.next_attempt_at is None


def test_a_media_another_stored_post_recorded_is_not_taken(make_world: WorldFactory) -> None:
    second_answer_lost = FaultRule(kind="after_success_drop", endpoints=("publish",), on_calls=(2,))
    world = make_world(faults=(second_answer_lost,))
    publish_at = world.clock.now() + timedelta(hours=1)
    twin = world.schedule(caption="twins", publish_at=publish_at)  # published, recorded
    lost = world.schedule(caption="twins", publish_at=publish_at + timedelta(seconds=20))

    world.run_for(hours=2)

    for post in (twin, lost):
        stored = world.get(post)
        (mine,) = world.publishes_of(stored)
        assert stored.media_id == mine.media_id, world.details(post)
    assert "published (media id unknown)" in world.details(lost)
    assert "found among the account's recent media" in world.details(lost)


def test_a_story_is_not_looked_for_among_recent_media(make_world: WorldFactory) -> None:
    world = make_world(faults=(LOST,))
    post = world.schedule(caption=None, media_type="story")

    world.run_for(hours=2)

    stored = world.get(post)
    assert stored.status is Status.PUBLISHED and stored.media_id is None
    assert stored.next_attempt_at is None
    assert world.calls("list_media") == []
