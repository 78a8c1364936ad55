"""A publish call whose answer was lost leaves an open question: is the post live?

Until Instagram answers it (the container's status), the post is never failed at its
deadline, its container is never replaced, and a user's edit cannot make a second one.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from enginetest import World, WorldFactory

from igautopost.edits import edit
from igautopost.engine.policy import EnginePolicy, RetryPolicy
from igautopost.errors import InvalidTransition
from igautopost.models import Post, Status
from igautopost.sandbox import ErrorSpec, FaultRule

LOST = FaultRule(kind="after_success_drop", endpoints=("publish",), on_calls=(1,))
DROPPED = FaultRule(kind="drop", endpoints=("publish",), on_calls=(1,))  # never reached Instagram
# The first status read is the processing poll; the second asks about the lost publish.
UNREADABLE = FaultRule(
    kind="error",
    endpoints=("get_object",),
    on_calls=(2,),
    errors=(ErrorSpec(code=100, message="Invalid parameter"),),
)


def _failed_with_an_open_question(world: World, caption: str) -> Post:
    """A post whose publish call got no answer, then failed on a permanent error while
    asking about its container: nobody knows whether it is live."""
    post = world.schedule(caption=caption)
    world.run_until(post.publish_at + timedelta(minutes=5))
    failed = world.get(post)
    assert failed.status is Status.FAILED, world.details(post)
    assert failed.publish_attempted_at is not None and failed.container_id is not None
    return failed


def test_a_lost_answer_is_not_failed_at_the_deadline_and_an_edit_cannot_publish_it_twice(
    make_world: WorldFactory,
) -> None:
    """The issue's scenario: the answer is lost, the deadline passes while Instagram cannot
    be asked, the old app PATCHes date_pub. Once, and only once, on Instagram."""
    status_down = FaultRule(kind="error", endpoints=("get_object",), on_calls=tuple(range(2, 40)))
    policy = EnginePolicy(retries=RetryPolicy(max_lateness=timedelta(minutes=20)))
    world = make_world(policy=policy, faults=(LOST, status_down))
    post = world.schedule(caption="answer lost")

    world.run_until(post.publish_at + timedelta(minutes=40))  # the deadline is 20 min

    waiting = world.get(post)
    assert waiting.status is Status.READY, world.details(post)
    assert waiting.publish_attempted_at is not None
    assert "a publish call may have gone through" in world.details(post)
    assert len(world.publishes()) == 1
    later = (world.clock.now() + timedelta(hours=1)).isoformat()
    with pytest.raises(InvalidTransition, match="being published"):
        edit(world.store, post.id, {"date_pub": later}, now=world.clock.now())

    world.run_for(hours=6)  # the status reads work again after about two hours

    world.assert_published_once(post)
    assert len(world.calls("publish")) == 1
    assert len(world.calls("create_container")) == 1
    assert Status.FAILED not in {to for _, to in world.transitions(post)}
    assert "published despite errors" in world.details(post)


def test_a_failed_post_whose_publish_went_through_is_recorded_when_its_date_is_edited(
    make_world: WorldFactory,
) -> None:
    world = make_world(faults=(LOST, UNREADABLE))
    failed = _failed_with_an_open_question(world, "live but failed")
    assert len(world.publishes()) == 1

    later = (world.clock.now() + timedelta(hours=1)).isoformat()
    edited = edit(world.store, failed.id, {"date_pub": later}, now=world.clock.now())
    assert edited.container_id == failed.container_id, "kept until Instagram is asked"
    world.run_for(hours=2)

    stored = world.assert_published_once(failed)
    assert stored.container_id == failed.container_id
    assert len(world.calls("publish")) == 1
    assert len(world.calls("create_container")) == 1


def test_a_date_edit_after_a_publish_that_did_not_go_through_keeps_the_container(
    make_world: WorldFactory,
) -> None:
    world = make_world(faults=(DROPPED, UNREADABLE))
    failed = _failed_with_an_open_question(world, "not live")
    later = world.clock.now() + timedelta(hours=3)

    edit(world.store, failed.id, {"date_pub": later.isoformat()}, now=world.clock.now())
    world.run_for(minutes=1)  # the container is asked about at once: FINISHED

    asked = world.get(failed)
    assert asked.status is Status.READY and asked.container_id == failed.container_id
    assert asked.publish_attempted_at is None, "answered: the post may be changed again"
    later = later + timedelta(minutes=30)
    edit(world.store, failed.id, {"date_pub": later.isoformat()}, now=world.clock.now())
    world.run_for(hours=4)

    stored = world.assert_published_once(failed)
    assert stored.published_at == later
    assert stored.container_id == failed.container_id
    assert len(world.calls("create_container")) == 1


def test_a_content_edit_after_a_publish_that_went_through_does_not_publish_again(
    make_world: WorldFactory,
) -> None:
    world = make_world(faults=(LOST, UNREADABLE))
    failed = _failed_with_an_open_question(world, "first caption")

    later = (world.clock.now() + timedelta(hours=1)).isoformat()
    edit(
        world.store,
        failed.id,
        {"caption": "second caption", "date_pub": later},
        now=world.clock.now(),
    )
    world.run_for(hours=2)

    stored = world.get(failed)
    assert stored.status is Status.PUBLISHED
    assert [p.caption for p in world.publishes()] == ["first caption"]
    assert len(world.calls("create_container")) == 1
    assert "the edit came too late" in world.details(failed)


def test_a_content_edit_after_a_publish_that_did_not_go_through_gets_a_new_container(
    make_world: WorldFactory,
) -> None:
    world = make_world(faults=(DROPPED, UNREADABLE))
    failed = _failed_with_an_open_question(world, "first caption")

    later = (world.clock.now() + timedelta(hours=1)).isoformat()
    edit(
        world.store,
        failed.id,
        {"caption": "second caption", "date_pub": later},
        now=world.clock.now(),
    )
    world.run_for(hours=2)

    stored = world.assert_published_once(failed)
    assert [p.caption for p in world.publishes()] == ["second caption"]
    assert stored.container_id != failed.container_id
    assert f"container {failed.container_id} is FINISHED, not published" in world.details(failed)


def test_a_retried_post_whose_container_is_published_is_recorded_without_a_publish_call(
    make_world: WorldFactory,
) -> None:
    world = make_world(faults=(LOST, UNREADABLE))
    failed = _failed_with_an_open_question(world, "retried")

    from igautopost.posts import retry

    retried = retry(world.store, failed.id, now=world.clock.now())
    assert retried.status is Status.PROCESSING  # its container is asked about first
    world.run_for(hours=1)

    world.assert_published_once(failed)
    assert len(world.calls("publish")) == 1
    assert len(world.calls("create_container")) == 1


def test_the_quota_wait_keeps_an_earlier_claims_publish_attempt(make_world: WorldFactory) -> None:
    world = make_world(publishing_quota=1)
    now = world.clock.now()
    world.schedule(caption="uses the quota", publish_at=now + timedelta(minutes=30))
    post = world.schedule(caption="attempted before", publish_at=now + timedelta(hours=1))
    world.run_until(post.publish_at - timedelta(seconds=1))
    world.clock.set(post.publish_at)
    crashed = world.store.claim(
        post.id, owner="crashed", now=post.publish_at, lease=world.policy.lease
    )
    assert crashed is not None and crashed.publish_attempted_at == post.publish_at
    # ... that worker dies here: its publish call may or may not have left.

    world.run_for(minutes=10)

    waiting = world.get(post)
    assert waiting.status is Status.READY
    assert "publishing quota used up" in world.details(post)
    assert waiting.publish_attempted_at == post.publish_at, "an earlier claim's mark stays"

    world.run_for(days=1)

    world.assert_published_once(post)
    assert len(world.calls("create_container")) == 2
