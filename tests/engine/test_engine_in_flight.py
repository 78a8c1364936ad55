"""Publish calls in flight hold no step thread (issue 14): calls due together leave
together, however few threads the scheduler has; the thread count bounds the work of
preparing calls, not how many are out at once.

The Graph stand-in holds every publish answer until the test lets it go, so what is
asserted is an order of events (every call had left before any answer came back), not how
fast the machine is.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta

from enginetest import World, WorldFactory, sandbox_time, wall_time

from igautopost.engine.policy import EnginePolicy
from igautopost.engine.publisher import Publisher
from igautopost.graph.client import GraphClient
from igautopost.graph.transport import MockTransport, Request, Response
from igautopost.models import Post, Status
from igautopost.sandbox.inprocess import sandbox_handler
from igautopost.scheduler import LocalScheduler

MakeScheduler = Callable[..., LocalScheduler]
HOLD_AT_MOST = 30.0  # seconds: a test that fails, fails by this; one that passes never waits it


class HeldAnswers:
    """The in-process sandbox, except that a publish call's answer waits for `release`
    (or for `expected` publish calls to have arrived, with `release_when_all_arrived`)."""

    def __init__(self, world: World, expected: int) -> None:
        self._sandbox = sandbox_handler(world.state)
        self.expected = expected
        self.arrived = 0
        self.answered = 0
        self.all_arrived = threading.Event()
        self.released = threading.Event()
        self.release_when_all_arrived = False
        self._lock = threading.Lock()

    def __call__(self, request: Request) -> Response:
        if not request.path.endswith("/media_publish"):
            return self._sandbox(request)
        with self._lock:
            self.arrived += 1
            if self.arrived == self.expected:
                self.all_arrived.set()
                if self.release_when_all_arrived:
                    self.released.set()
        self.released.wait(HOLD_AT_MOST)
        with self._lock:
            self.answered += 1
        return self._sandbox(request)


def publisher_on(world: World, handler: HeldAnswers) -> Publisher:
    client = GraphClient(base_url=world.base_url, transport=MockTransport(handler))
    return Publisher(world.store, client, world.clock, policy=world.policy, owner="in-flight")


def schedule_due_together(world: World, count: int) -> list[Post]:
    publish_at = world.clock.now() + timedelta(seconds=2)
    return [world.schedule(caption=f"together {i}", publish_at=publish_at) for i in range(count)]


def test_ten_calls_due_together_are_all_out_at_once_with_two_threads(
    make_world: WorldFactory, make_scheduler: MakeScheduler
) -> None:
    world = make_world(live=True, image_processing_seconds=0)
    held = HeldAnswers(world, expected=10)
    held.release_when_all_arrived = True
    posts = schedule_due_together(world, 10)
    make_scheduler(publisher_on(world, held), workers=2).wake()

    # Before issue 14, each of the two threads waited for its call's answer: two calls were
    # out at a time, and the tenth was never sent while the first answers were held.
    assert held.all_arrived.wait(HOLD_AT_MOST), f"only {held.arrived} of 10 calls left"
    assert world.wait_for(lambda: all(world.get(p).status is Status.PUBLISHED for p in posts))
    for post in posts:
        world.assert_published_once(post)
    assert held.answered == 10


def test_stop_waits_for_the_calls_in_flight_and_saves_their_outcomes(
    make_world: WorldFactory, make_scheduler: MakeScheduler
) -> None:
    world = make_world(live=True, image_processing_seconds=0)
    held = HeldAnswers(world, expected=4)
    posts = schedule_due_together(world, 4)
    scheduler = make_scheduler(publisher_on(world, held), workers=1)
    scheduler.wake()
    assert held.all_arrived.wait(HOLD_AT_MOST)  # four calls out, from one step thread
    assert scheduler.running_steps() == 4  # in flight counts as running

    stopping = threading.Thread(target=scheduler.stop, kwargs={"timeout": HOLD_AT_MOST})
    stopping.start()
    stopping.join(0.3)
    assert stopping.is_alive(), "stop returned while publish calls were in flight"
    held.released.set()
    stopping.join(HOLD_AT_MOST)

    assert not stopping.is_alive()
    assert scheduler.running_steps() == 0
    for post in posts:
        assert world.get(post).status is Status.PUBLISHED
        world.assert_published_once(post)
    leases = world.leases()
    assert all(owner is None and until is None for owner, until in leases.values()), leases


def test_a_lease_is_renewed_while_its_call_is_in_flight(
    make_world: WorldFactory, make_scheduler: MakeScheduler
) -> None:
    world = make_world(live=True, image_processing_seconds=0)
    held = HeldAnswers(world, expected=1)
    [post] = schedule_due_together(world, 1)
    publisher = publisher_on(world, held)
    make_scheduler(publisher, workers=1).wake()
    assert held.all_arrived.wait(HOLD_AT_MOST)
    leased_at_the_call = world.get(post).lease_until
    assert leased_at_the_call is not None

    # The renewals (every third of the lease) reach a step whose thread has gone on: its
    # lease moves past the one it had when its call left, and no other worker can take it.
    assert world.wait_for(
        lambda: (world.get(post).lease_until or leased_at_the_call) > leased_at_the_call,
        timeout=HOLD_AT_MOST,
    )
    other = world.another_worker("worker-b")
    assert other.advance(post.id) is None
    held.released.set()

    assert world.wait_for(lambda: world.get(post).status is Status.PUBLISHED)
    world.assert_published_once(post)
    assert world.leases()[post.id] == (None, None)


# -- a burst is claimed early enough to prepare all its calls ---------------------------


def test_the_claim_ahead_window_grows_with_the_posts_due_soon_up_to_a_bound() -> None:
    policy = EnginePolicy()
    assert policy.claim_ahead(0) == policy.publish_ahead
    per_post = policy.prepare_cost
    assert policy.claim_ahead(1000) == policy.publish_ahead + 1000 * per_post
    assert policy.claim_ahead(10**9) == policy.burst_ahead
    assert EnginePolicy(burst_ahead=timedelta(0)).claim_ahead(1000) == policy.publish_ahead


def ready_burst(world: World, count: int) -> list[Post]:
    publish_at = world.clock.now() + timedelta(minutes=10)
    posts = [world.schedule(caption=f"burst {i}", publish_at=publish_at) for i in range(count)]
    world.run_until(publish_at - timedelta(seconds=5))
    assert all(world.get(post).status is Status.READY for post in posts)
    return posts


def test_a_burst_is_claimed_earlier_than_half_a_second(make_world: WorldFactory) -> None:
    world = make_world(image_processing_seconds=0)
    posts = ready_burst(world, 400)  # 0.5 s + 400 x 3 ms to prepare them: 1.7 s
    world.clock.set(posts[0].publish_at - timedelta(seconds=1.5))
    scheduler = LocalScheduler(world.publisher, workers=8)  # not started: no step runs

    claimed = scheduler._claim_and_submit()

    assert claimed == 8  # as many as it has free threads, a second and a half ahead
    held = [p for p in posts if world.get(p).publish_attempted_at is not None]
    assert len(held) == 8


def test_a_post_claimed_further_ahead_is_published_on_its_mark_not_put_back(
    make_world: WorldFactory,
) -> None:
    world = make_world(image_processing_seconds=0)
    [post] = ready_burst(world, 1)
    publisher = world.publisher
    world.clock.set(post.publish_at - timedelta(seconds=2))
    [claimed] = world.store.claim_due(
        owner=publisher.owner,
        now=world.clock.now(),
        lease=world.policy.lease,
        limit=10,
        ahead=timedelta(seconds=3),
        hold=publisher.leases.launch_window,
    )
    assert claimed.publish_marked

    publisher.step(claimed)

    published = world.assert_published_once(post)
    assert published.published_at == post.publish_at  # on the mark, never before
    [call] = world.calls("publish")
    assert sandbox_time(call.sandbox_time) == post.publish_at


def test_over_http_calls_handed_off_leave_on_their_mark_once_each(
    make_sql_world: WorldFactory, make_scheduler: MakeScheduler
) -> None:
    # Held connections written as prepared bytes, answers read by the answer threads.
    world = make_sql_world(live=True, image_processing_seconds=0, latency={"publish": 0.2})
    posts = schedule_due_together(world, 12)
    make_scheduler(world.publisher, workers=2).wake()

    assert world.wait_for(lambda: all(world.get(p).status is Status.PUBLISHED for p in posts), 30)
    for post in posts:
        world.assert_published_once(post)
    arrivals = [wall_time(call) for call in world.calls("publish")]
    assert len(arrivals) == 12
    assert min(arrivals) >= posts[0].publish_at  # never early
