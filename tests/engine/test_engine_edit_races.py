"""Edits and cancels racing a claim: the rules that allow a change are checked in the same
write that makes it, so a claim landing between a change's read and its write is seen."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any, cast

import pytest
from enginetest import World, WorldFactory

from igautopost.edits import edit
from igautopost.errors import InvalidTransition
from igautopost.models import Post, Status
from igautopost.posts import cancel, reschedule
from igautopost.storage.sql import SqlStore


class ClaimAfterRead:
    """The store, with a worker's claim landing right after the change has read the post."""

    def __init__(self, store: SqlStore, claim: Callable[[], object]) -> None:
        self._store = store
        self._claim = claim

    def get(self, post_id: int, **options: Any) -> Post:
        post = self._store.get(post_id, **options)
        self._claim()
        return post

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)


def _claimed_ahead_between_read_and_write(world: World) -> tuple[Post, SqlStore, list[Post]]:
    """A ready post half a second before its time, and a store on which a change's read is
    followed by the scheduler claiming it ahead (the claim stores its publish attempt)."""
    post = world.schedule(caption="old caption")
    world.run_until(post.publish_at - timedelta(seconds=5))
    assert world.get(post).status is Status.READY
    world.clock.set(post.publish_at - timedelta(milliseconds=300))
    claimed: list[Post] = []

    def claim() -> None:
        claimed.extend(
            world.store.claim_due(
                owner=world.publisher.owner,
                now=world.clock.now(),
                lease=world.policy.lease,
                limit=10,
                ahead=world.policy.publish_ahead,
            )
        )

    return post, cast(SqlStore, ClaimAfterRead(world.store, claim)), claimed


CHANGES: dict[str, Callable[[SqlStore, Post, World], object]] = {
    "edit": lambda store, post, world: edit(
        store, post.id, {"caption": "new caption"}, now=world.clock.now()
    ),
    "cancel": lambda store, post, world: cancel(store, post.id, now=world.clock.now()),
    "reschedule": lambda store, post, world: reschedule(
        store, post.id, post.publish_at + timedelta(hours=1), now=world.clock.now()
    ),
}


@pytest.mark.parametrize("change", list(CHANGES))
def test_a_claim_between_a_changes_read_and_its_write_refuses_the_change(
    make_world: WorldFactory, change: str
) -> None:
    world = make_world()
    post, racing_store, claimed = _claimed_ahead_between_read_and_write(world)

    with pytest.raises(InvalidTransition, match="being published"):
        CHANGES[change](racing_store, post, world)

    assert [p.id for p in claimed] == [post.id]
    kept = world.get(post)
    assert kept.status is Status.READY and kept.container_id is not None
    world.publisher.step(claimed[0])  # the claimed step sends its call, as it would have
    world.run_for(hours=2)
    stored = world.assert_published_once(post)
    assert stored.spec.caption == "old caption"
    assert len(world.calls("create_container")) == 1
    assert [p.caption for p in world.publishes()] == ["old caption"]


def test_a_change_planned_on_a_post_a_worker_changed_meanwhile_is_planned_again(
    make_world: WorldFactory,
) -> None:
    """The worker made the container between the edit's read and its write: the edit, read
    on a post without a container, is planned again on the post as it now is."""
    world = make_world()
    post = world.schedule(caption="old caption")
    prepare_at = world.policy.leads.prepare_at(post.spec)
    world.clock.set(prepare_at)
    reads: list[Post] = []

    def step() -> None:
        reads.append(world.get(post))
        world.publisher.advance(post.id)  # creates the container: scheduled -> processing

    racing_store = cast(SqlStore, ClaimAfterRead(world.store, step))
    edited = edit(racing_store, post.id, {"caption": "new caption"}, now=prepare_at)

    assert [p.status for p in reads] == [Status.SCHEDULED, Status.PROCESSING]
    assert edited.status is Status.SCHEDULED and edited.container_id is None
    assert "the prepared container is discarded" in world.details(post)
    world.run_for(hours=2)
    world.assert_published_once(post)
    assert [p.caption for p in world.publishes()] == ["new caption"]
