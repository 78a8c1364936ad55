"""Exactly once: a publish that may have happened is never repeated, and never gets a new container.

The sandbox does the work and then misbehaves (`after_success_*` faults), or the worker
"crashes" (it claimed the post and stops; its lease expires and the simulation takes over).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from enginetest import TOKEN, WorldFactory

from igautopost.graph.params import carousel_child_params, container_params
from igautopost.models import Status
from igautopost.sandbox import ErrorSpec, FaultRule

AFTER_SUCCESS: dict[str, dict[str, Any]] = {
    "error-code-2": {"kind": "after_success_error", "errors": (ErrorSpec(code=2),)},
    "error-server": {
        "kind": "after_success_error",
        "errors": (ErrorSpec(code=-1, subcode=2207001, http_status=500),),
    },
    "error-restricted-2207051": {
        "kind": "after_success_error",
        "errors": (ErrorSpec(code=4, subcode=2207051),),
    },
    "drop": {"kind": "after_success_drop"},
    "timeout": {"kind": "after_success_slow", "delay_seconds": 1.0},
}


@pytest.mark.parametrize("fault", list(AFTER_SUCCESS))
def test_a_publish_that_succeeded_behind_an_error_is_recorded_once(
    make_world: WorldFactory, fault: str
) -> None:
    rule = FaultRule(endpoints=("publish",), on_calls=(1,), **AFTER_SUCCESS[fault])
    world = make_world(faults=(rule,), timeout=0.4)
    post = world.schedule(caption=f"live despite {fault}", first_comment="hello")

    world.run_for(hours=2)
    world.wait_for_calls("publish", 1)  # a slow answer is logged once it is sent

    stored = world.assert_published_once(post)
    assert len(world.calls("publish")) == 1, "the container said PUBLISHED: no second call"
    assert len(world.calls("create_container")) == 1
    assert stored.containers_created == 1
    assert world.state.inspector.repeat_attempts == {}
    assert stored.published_at is not None
    assert stored.published_at - post.publish_at < timedelta(minutes=5)
    assert world.transitions(post)[-1] == (Status.READY, Status.PUBLISHED)


def test_crash_after_the_publish_call_publishes_once_without_a_new_container(
    make_world: WorldFactory,
) -> None:
    world = make_world()
    post = world.schedule(caption="crash after the call")
    world.run_until(post.publish_at - timedelta(seconds=1))
    world.clock.set(post.publish_at)
    ready = world.store.claim(
        post.id, owner="crashed", now=post.publish_at, lease=world.policy.lease
    )
    assert ready is not None and ready.status is Status.READY
    assert world.store.save_progress(
        ready, owner="crashed", changes={"publish_attempted_at": post.publish_at}
    )
    world.client.publish(post.account, ready.container_id or "", token=TOKEN)
    # ... and the worker dies here, before saving anything.

    world.run_for(hours=1)

    stored = world.assert_published_once(post)
    assert len(world.calls("publish")) == 1
    assert len(world.calls("create_container")) == 1
    assert stored.containers_created == 1
    assert stored.published_at is not None
    assert stored.published_at >= post.publish_at + world.policy.lease  # after the takeover
    assert world.leases()[post.id] == (None, None)


def test_crash_after_storing_the_attempt_but_before_the_call_publishes_once(
    make_world: WorldFactory,
) -> None:
    world = make_world()
    post = world.schedule(caption="crash before the call")
    world.run_until(post.publish_at - timedelta(seconds=1))
    world.clock.set(post.publish_at)
    ready = world.store.claim(
        post.id, owner="crashed", now=post.publish_at, lease=world.policy.lease
    )
    assert ready is not None
    world.store.save_progress(
        ready, owner="crashed", changes={"publish_attempted_at": post.publish_at}
    )

    world.run_for(hours=1)

    stored = world.assert_published_once(post)
    assert len(world.calls("publish")) == 1
    assert stored.containers_created == 1
    assert stored.media_id is not None and stored.permalink is not None


def test_crash_right_after_the_claim_publishes_once(make_world: WorldFactory) -> None:
    world = make_world()
    post = world.schedule(caption="crash after the claim")
    world.run_until(post.publish_at - timedelta(seconds=1))
    world.clock.set(post.publish_at)
    assert (
        world.store.claim(post.id, owner="crashed", now=post.publish_at, lease=world.policy.lease)
        is not None
    )

    world.run_for(hours=1)

    stored = world.assert_published_once(post)
    assert stored.published_at == post.publish_at + world.policy.lease
    assert stored.media_id is not None


def test_crash_after_creating_the_container_does_not_create_a_second_one(
    make_world: WorldFactory,
) -> None:
    world = make_world()
    post = world.schedule(caption="crash after create")
    prepare_at = world.policy.leads.prepare_at(post.spec)
    world.run_until(prepare_at - timedelta(seconds=1))
    world.clock.set(prepare_at)
    claimed = world.store.claim(post.id, owner="crashed", now=prepare_at, lease=world.policy.lease)
    assert claimed is not None
    container = world.client.create_container(
        post.account, container_params(post.spec), token=TOKEN
    )
    world.store.save_progress(
        claimed,
        owner="crashed",
        changes={
            "container_id": container,
            "container_created_at": prepare_at,
            "containers_created": 1,
        },
    )

    world.run_for(hours=1)

    stored = world.assert_published_once(post)
    assert stored.container_id == container
    assert len(world.calls("create_container")) == 1


def test_crash_while_creating_carousel_items_resumes_the_items(make_world: WorldFactory) -> None:
    world = make_world()
    children = [{"media_url": f"https://cdn.example.com/c/{i}.jpg"} for i in range(3)]
    post = world.schedule(
        media_type="carousel", media_url=None, children=children, caption="crash mid-carousel"
    )
    prepare_at = world.policy.leads.prepare_at(post.spec)
    world.run_until(prepare_at - timedelta(seconds=1))
    world.clock.set(prepare_at)
    claimed = world.store.claim(post.id, owner="crashed", now=prepare_at, lease=world.policy.lease)
    assert claimed is not None
    first = world.client.create_container(
        post.account, carousel_child_params(post.spec.children[0]), token=TOKEN
    )
    world.store.save_progress(
        claimed,
        owner="crashed",
        changes={"child_container_ids": [first], "container_created_at": prepare_at},
    )

    world.run_for(hours=1)

    stored = world.assert_published_once(post)
    assert stored.child_container_ids[0] == first
    assert len(stored.child_container_ids) == 3
    assert len(world.calls("create_container")) == 4  # three items and the parent
    media = world.state.media[stored.media_id or ""]
    assert len(media.children) == 3
