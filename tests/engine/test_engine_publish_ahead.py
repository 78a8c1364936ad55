"""Ready posts are claimed `publish_ahead` before their time and published on the mark.

The claim, the credentials, the quota check and the request itself are done ahead; the step
then waits for the publish time and only sends. Never early: the publish call's arrival at
the sandbox is at or after the publish time.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from enginetest import World, WorldFactory, sandbox_time, wall_time

from igautopost.models import Post, Status
from igautopost.scheduler import LocalScheduler

AHEAD = timedelta(milliseconds=500)


def _ready(world: World, **overrides: Any) -> Post:
    post = world.schedule(**overrides)
    world.run_until(post.publish_at - timedelta(seconds=5))
    assert world.get(post).status is Status.READY
    return post


def test_a_claim_with_ahead_takes_ready_posts_due_within_it_and_marks_the_attempt(
    make_world: WorldFactory,
) -> None:
    world = make_world()
    post = _ready(world, publish_at=world.clock.now() + timedelta(minutes=10))
    store, clock = world.store, world.clock
    clock.set(post.publish_at - timedelta(milliseconds=700))
    assert (
        store.claim_due(
            owner="w", now=clock.now(), lease=timedelta(minutes=1), limit=10, ahead=AHEAD
        )
        == []
    )

    clock.set(post.publish_at - timedelta(milliseconds=300))
    assert store.next_due(clock.now(), ahead=AHEAD) == post.publish_at - AHEAD
    assert store.next_due(clock.now()) == post.publish_at
    claimed = store.claim_due(
        owner="w", now=clock.now(), lease=timedelta(minutes=1), limit=10, ahead=AHEAD
    )
    assert [p.id for p in claimed] == [post.id]
    # the claim itself stored the publish attempt, as it does for a post already due
    assert claimed[0].publish_attempted_at == clock.now() == claimed[0].claimed_at


def test_posts_not_ready_are_not_claimed_ahead(make_world: WorldFactory) -> None:
    world = make_world()
    post = world.schedule(publish_at=world.clock.now() + timedelta(minutes=10))
    due = world.get(post).next_attempt_at
    assert due is not None and world.get(post).status is Status.SCHEDULED
    world.clock.set(due - timedelta(milliseconds=300))
    claimed = world.store.claim_due(
        owner="w", now=world.clock.now(), lease=timedelta(minutes=1), limit=10, ahead=AHEAD
    )
    assert claimed == []
    assert world.store.next_due(world.clock.now(), ahead=AHEAD) == due


def test_a_post_claimed_ahead_is_published_on_the_mark_never_before(
    make_world: WorldFactory,
) -> None:
    world = make_world()
    post = _ready(world, publish_at=world.clock.now() + timedelta(minutes=10))
    world.clock.set(post.publish_at - timedelta(milliseconds=400))
    (claimed,) = world.store.claim_due(
        owner=world.publisher.owner,
        now=world.clock.now(),
        lease=world.policy.lease,
        limit=10,
        ahead=world.policy.publish_ahead,
    )

    world.publisher.step(claimed)

    (call,) = world.calls("publish")
    assert sandbox_time(call.sandbox_time) == post.publish_at  # waited for the mark exactly
    world.assert_published_once(post)


def test_live_ready_posts_leave_on_their_second_not_before(
    make_sql_world: WorldFactory, make_scheduler: Callable[..., LocalScheduler]
) -> None:
    world = make_sql_world(live=True, image_processing_seconds=0)
    publish_at = world.clock.now() + timedelta(seconds=2.5)
    posts = [world.schedule(caption=f"on the mark {i}", publish_at=publish_at) for i in range(10)]
    make_scheduler(world.publisher, workers=16).wake()

    assert world.wait_for(lambda: len(world.publishes()) == 10, timeout=15)
    world.wait_for(lambda: all(world.get(p).status is Status.PUBLISHED for p in posts), 5)
    arrivals = [wall_time(c) for c in world.calls("publish")]
    assert min(arrivals) >= publish_at
    for post in posts:
        stored = world.assert_published_once(post)
        # claimed ahead: the attempt was stored before the publish time, not after it
        assert stored.publish_attempted_at is not None
        assert stored.publish_attempted_at < publish_at


def test_the_sweepers_due_query_sends_ready_posts_ahead_and_others_on_time(
    make_world: WorldFactory,
) -> None:
    world = make_world()
    ready = _ready(world, caption="ready", publish_at=world.clock.now() + timedelta(minutes=10))
    later = world.schedule(caption="scheduled", publish_at=ready.publish_at + timedelta(hours=2))
    prepare_at = world.get(later).next_attempt_at
    assert prepare_at is not None
    store, clock = world.store, world.clock

    clock.set(ready.publish_at - timedelta(seconds=1.2))
    assert store.due_by(clock.now() + timedelta(seconds=1), limit=10, ahead=AHEAD) == [
        (ready.id, ready.publish_at - AHEAD)
    ]
    assert store.due_by(clock.now() + timedelta(seconds=1), limit=10) == []

    clock.set(prepare_at - timedelta(seconds=1.2))  # a scheduled post is never sent early
    due = store.due_by(clock.now() + timedelta(seconds=1), limit=10, ahead=AHEAD)
    assert later.id not in {post_id for post_id, _ in due}
    clock.set(prepare_at - timedelta(seconds=0.5))
    due = store.due_by(clock.now() + timedelta(seconds=1), limit=10, ahead=AHEAD)
    assert (later.id, prepare_at) in due


def test_claim_many_takes_the_due_posts_of_a_batch_in_one_write(make_world: WorldFactory) -> None:
    world = make_world()
    publish_at = world.clock.now() + timedelta(minutes=10)
    posts = [world.schedule(caption=f"batch {i}", publish_at=publish_at) for i in range(3)]
    world.run_until(publish_at - timedelta(seconds=5))
    assert all(world.get(p).status is Status.READY for p in posts)
    not_due = world.schedule(caption="not due", publish_at=publish_at + timedelta(hours=3))
    world.clock.set(publish_at - timedelta(milliseconds=200))
    ids = [p.id for p in posts] + [not_due.id]

    claimed = world.store.claim_many(
        ids, owner="w", now=world.clock.now(), lease=timedelta(minutes=1), ahead=AHEAD
    )

    assert sorted(p.id for p in claimed) == sorted(p.id for p in posts)
    assert all(p.publish_attempted_at == world.clock.now() for p in claimed)
    again = world.store.claim_many(
        ids, owner="other", now=world.clock.now(), lease=timedelta(minutes=1), ahead=AHEAD
    )
    assert again == []  # leased: no second worker takes them
