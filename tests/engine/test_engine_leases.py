"""Leases: short, renewed while a step runs, held over the publish call (see leases.py).

- A publish call in flight keeps its post: no other worker can take it over meanwhile.
- A step that lost its claim before its publish call does not send it.
- A dead worker's posts are taken over within one short lease, not minutes later.
"""

from __future__ import annotations

import contextlib
import random
import threading
from collections.abc import Callable
from datetime import timedelta

from enginetest import World, WorldFactory

from igautopost.engine.publisher import Publisher
from igautopost.graph.client import GraphClient
from igautopost.graph.prepared import Pending, SentLater
from igautopost.graph.transport import Closeable, Request, Response, Transport
from igautopost.models import Post, Status


class Killed(BaseException):
    """The worker process died: nothing after this point runs (not even an except block)."""


class HeldPublish:
    """A transport that holds every publish call on its way until released: the call is in
    flight (the step made it) while the test moves time and lets other workers try. With
    `dies`, the worker dies once the call has reached Instagram, before reading its answer."""

    def __init__(self, inner: Transport, *, dies: bool = False) -> None:
        self.inner = inner
        self.dies = dies
        self.in_flight = threading.Event()
        self.release = threading.Event()

    def _hold(self, request: Request) -> None:
        if request.path.endswith("/media_publish"):
            self.in_flight.set()
            assert self.release.wait(10), "the test never released the publish call"

    def send(self, request: Request) -> Response:
        self._hold(request)
        answer = self.inner.send(request)
        if self.dies and request.path.endswith("/media_publish"):
            raise Killed
        return answer

    def open(self, request: Request) -> Pending:
        return SentLater(self.send, request)  # held like any other call

    def close(self) -> None:
        if isinstance(self.inner, Closeable):
            self.inner.close()


def publisher_on(world: World, owner: str, client: GraphClient) -> Publisher:
    return Publisher(
        world.store, client, world.clock, policy=world.policy, owner=owner, rng=random.Random(1)
    )


def ready_and_due(world: World, caption: str) -> Post:
    post = world.schedule(caption=caption)
    world.run_until(post.publish_at - timedelta(seconds=1))
    assert world.get(post).status is Status.READY
    world.clock.set(post.publish_at)
    return post


def in_thread(action: Callable[[], object]) -> threading.Thread:
    def run() -> None:
        with contextlib.suppress(Killed):
            action()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def test_no_worker_takes_over_a_post_while_its_publish_call_is_in_flight(
    make_world: WorldFactory,
) -> None:
    # Graph calls may take 90 s to connect and 90 s to read: longer than any fixed lease.
    world = make_world(timeout=90.0)
    post = ready_and_due(world, "slow publish")
    held = HeldPublish(world.transport())
    slow_client = world.new_client(timeout=90.0, transport=held)
    slow = publisher_on(world, "worker-slow", slow_client)
    other = publisher_on(world, "worker-other", world.new_client())

    step = in_thread(lambda: slow.advance(post.id))
    assert held.in_flight.wait(10)
    taken = []
    for _ in range(60):  # 150 s of a slow answer; the live worker renews as its thread would
        slow.leases.renew()
        world.clock.advance(world.policy.lease / 4)
        taken.append(other.advance(post.id))
    held.release.set()
    step.join(10)

    assert taken == [None] * 60, "another worker took over a post whose publish call was in flight"
    world.assert_published_once(post)
    assert len(world.calls("publish")) == 1
    other.client.close()
    slow_client.close()


def test_a_post_whose_worker_died_with_its_call_in_flight_is_recorded_not_republished(
    make_world: WorldFactory,
) -> None:
    world = make_world()
    post = ready_and_due(world, "worker died mid-call")
    held = HeldPublish(world.transport(), dies=True)
    dying = publisher_on(world, "worker-dying", world.new_client(transport=held))
    other = world.another_worker("worker-other")

    step = in_thread(lambda: dying.advance(post.id))
    assert held.in_flight.wait(10)
    held.release.set()  # the call reaches Instagram; its worker dies before saving anything
    step.join(10)
    world.clock.advance(world.policy.lease + timedelta(seconds=12))  # no renewal: it is dead
    assert other.advance(post.id) is not None

    stored = world.assert_published_once(post)
    assert len(world.calls("publish")) == 1
    assert "container already published" in world.details(post)
    assert stored.status is Status.PUBLISHED
    dying.client.close()


def test_a_step_that_lost_its_claim_before_the_publish_call_does_not_send_it(
    make_world: WorldFactory,
) -> None:
    world = make_world()
    post = ready_and_due(world, "stalled before publishing")
    stalled = world.store.claim(
        post.id, owner="worker-a", now=world.clock.now(), lease=world.policy.lease
    )
    assert stalled is not None and stalled.lease_until is not None
    world.clock.set(stalled.lease_until + timedelta(seconds=1))  # worker-a stalled meanwhile
    other = world.another_worker("worker-b")
    assert other.advance(post.id) is not None  # took over, and published
    assert len(world.calls("publish")) == 1

    assert world.publisher.step(stalled) is None  # worker-a resumes: its claim is gone

    assert len(world.calls("publish")) == 1, "a step without its claim sent a publish call"
    world.assert_published_once(post)


def test_a_dead_workers_post_is_taken_over_within_one_short_lease(
    make_world: WorldFactory,
) -> None:
    world = make_world()
    post = world.schedule(caption="owner killed")
    prepare_at = world.policy.leads.prepare_at(post.spec)
    world.clock.set(prepare_at)
    # The dead worker claimed it the way a scheduler does, then was killed: no step, no renewal.
    dead = world.store.claim_due(owner="killed", now=prepare_at, lease=world.policy.lease, limit=10)
    assert [p.id for p in dead] == [post.id]

    world.run_for(hours=1)

    stored = world.assert_published_once(post)
    container = world.state.containers[stored.container_id or ""]
    assert container.created_at - prepare_at <= timedelta(seconds=10)


def test_a_running_step_keeps_its_post_until_its_deadline(make_world: WorldFactory) -> None:
    world = make_world()
    post = world.schedule(caption="long step")
    prepare_at = world.policy.leads.prepare_at(post.spec)
    world.clock.set(prepare_at)
    claimed = world.store.claim(post.id, owner="worker-a", now=prepare_at, lease=world.policy.lease)
    assert claimed is not None
    keeper = world.publisher.leases
    other = world.another_worker("worker-b")
    renewals = 0

    with keeper.running(claimed):
        deadline = prepare_at + world.policy.step_limit
        while world.clock.now() + world.policy.lease <= deadline:
            renewals += keeper.renew()
            world.clock.advance(world.policy.lease / 2)
            assert (
                other.store.claim(
                    post.id, owner="worker-b", now=world.clock.now(), lease=world.policy.lease
                )
                is None
            ), f"taken over {world.clock.now() - prepare_at} into a live step"
        assert renewals >= 2 * world.policy.step_limit / world.policy.lease - 3
        assert keeper.renew() == 0  # past its deadline: no longer renewed
        world.clock.advance(world.policy.lease)
        assert (
            other.store.claim(
                post.id, owner="worker-b", now=world.clock.now(), lease=world.policy.lease
            )
            is not None
        ), "a step past its deadline kept its post"
