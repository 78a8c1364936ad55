"""A stored post that cannot be read back fails alone: its batch, its owner's other posts and
everyone else's posts carry on (issue 12, item 0)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import sqlalchemy as sa
from enginetest import World, WorldFactory

import igautopost
from igautopost.models import Post, Status
from igautopost.posts import cancel
from igautopost.scheduler import LocalScheduler
from igautopost.storage import PostQuery
from igautopost.storage.sql.tables import posts

MakeScheduler = Callable[..., LocalScheduler]
# What `json.dumps` writes for a caption holding a lone surrogate, which a strict JSON reader
# then refuses: how such rows came to be stored (see the issue).
LONE_SURROGATE = "a\\ud800b"


def schedule_for(world: World, owner_id: int, caption: str, publish_in: timedelta) -> Post:
    data = world.post_data(caption=caption, publish_at=world.clock.now() + publish_in)
    result = igautopost.schedule(
        world.store, [data], now=world.clock.now(), owner_id=owner_id, leads=world.policy.leads
    )
    return result.created[0]


def spoil(world: World, post: Post) -> None:
    """Rewrite the post's stored spec as the old code wrote a lone surrogate caption."""
    with world.store.engine.begin() as conn:
        text = conn.execute(sa.select(posts.c.spec_json).where(posts.c.id == post.id)).scalar()
        spoiled = text.replace(f'"caption":"{post.spec.caption}"', f'"caption":"{LONE_SURROGATE}"')
        assert spoiled != text
        conn.execute(posts.update().where(posts.c.id == post.id).values(spec_json=spoiled))


def test_the_local_scheduler_fails_the_unreadable_post_and_publishes_the_others(
    make_sql_world: WorldFactory, make_scheduler: MakeScheduler
) -> None:
    world = make_sql_world(live=True, image_processing_seconds=0)
    soon = timedelta(seconds=1)
    bad = schedule_for(world, 1, "to be spoiled", soon)
    spoil(world, bad)
    healthy = [schedule_for(world, 1 + i % 2, f"healthy {i}", soon) for i in range(6)]

    scheduler = make_scheduler(world.publisher, workers=8)
    scheduler.wake()

    done = {Status.PUBLISHED}
    assert world.wait_for(lambda: all(world.get(p).status in done for p in healthy), 10)
    for post in healthy:
        world.assert_published_once(post)
    failed = world.get(bad)
    assert failed.status is Status.FAILED
    assert failed.error is not None and "surrogate" in failed.error.message
    assert "caption" in failed.error.message
    assert (Status.SCHEDULED, Status.FAILED) in world.transitions(bad)
    assert failed.lease_until is None and failed.next_attempt_at is None
    # nothing was sent to Instagram for it
    assert len(world.calls("create_container")) == len(world.publishes()) == len(healthy)


def test_a_batch_claim_sets_the_unreadable_post_aside_and_returns_the_rest(
    make_sql_world: WorldFactory,
) -> None:
    world = make_sql_world()
    bad = schedule_for(world, 1, "to be spoiled", timedelta(minutes=5))
    spoil(world, bad)
    good = [schedule_for(world, 2, f"good {i}", timedelta(minutes=5)) for i in range(3)]
    world.clock.advance(timedelta(minutes=10))

    claimed = world.store.claim_due(
        owner="w", now=world.clock.now(), lease=timedelta(minutes=2), limit=100
    )

    assert sorted(p.id for p in claimed) == sorted(p.id for p in good)
    stored = world.get(bad)
    assert stored.status is Status.FAILED and stored.lease_until is None
    assert world.store.claim(bad.id, owner="w", now=world.clock.now(), lease=timedelta(1)) is None


def test_the_owner_can_list_show_and_cancel_an_unreadable_post(
    make_sql_world: WorldFactory,
) -> None:
    world = make_sql_world()
    bad = schedule_for(world, 1, "to be spoiled", timedelta(hours=1))
    spoil(world, bad)
    other = schedule_for(world, 1, "fine", timedelta(hours=2))

    listed = world.store.list(PostQuery(owner_id=1))
    assert [p.id for p in listed] == [bad.id, other.id]
    shown = world.store.get(bad.id, owner_id=1)
    assert shown.status is Status.FAILED  # it can never be published as stored
    assert shown.error is not None and "caption" in shown.error.message
    assert "\ud800" not in shown.spec.caption  # what is shown can be sent as JSON
    shown.model_dump_json()

    cancelled = cancel(world.store, bad.id, now=world.clock.now(), owner_id=1)
    assert cancelled.status is Status.CANCELLED
    assert world.get(other).status is Status.SCHEDULED
