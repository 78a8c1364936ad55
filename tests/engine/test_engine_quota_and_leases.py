"""The publishing quota delays posts (never fails them); leases keep every post single-owned."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

from enginetest import WorldFactory, sandbox_time

from igautopost.engine.policy import EnginePolicy, PollPolicy
from igautopost.engine.publisher import Publisher
from igautopost.engine.quota import QuotaTracker
from igautopost.graph.responses import PublishingLimit
from igautopost.models import Status
from igautopost.sandbox import ErrorSpec, FaultRule

# -- quota ---------------------------------------------------------------------------------


def test_the_third_post_waits_for_the_24_hour_window_then_publishes(
    make_world: WorldFactory,
) -> None:
    world = make_world(publishing_quota=2)
    now = world.clock.now()
    posts = [
        world.schedule(caption=f"quota {i}", publish_at=now + timedelta(minutes=20 * i))
        for i in (1, 2, 3)
    ]

    world.run_until(posts[2].publish_at + timedelta(minutes=5))

    third = world.get(posts[2])
    assert third.status is Status.READY
    assert third.error is None
    assert "publishing quota used up" in world.details(third)
    window_frees = posts[0].publish_at + timedelta(hours=24)
    assert third.next_attempt_at == window_frees
    assert len(world.publishes()) == 2

    world.run_for(days=1)

    for post in posts:
        world.assert_published_once(post)
    assert world.get(posts[2]).published_at == window_frees
    publish_calls = world.calls("publish")
    assert all(c.status == 200 for c in publish_calls), "the engine never hit the quota"


def test_a_quota_reached_answer_delays_the_post_instead_of_failing_it(
    make_world: WorldFactory,
) -> None:
    rule = FaultRule(
        kind="error",
        endpoints=("publish",),
        on_calls=(1,),
        errors=(ErrorSpec(code=9, subcode=2207042),),
    )
    world = make_world(faults=(rule,))
    post = world.schedule(caption="quota answer")

    world.run_until(post.publish_at + timedelta(minutes=1))

    waiting = world.get(post)
    assert waiting.status is Status.READY  # not failed: it waits, and says why
    assert waiting.error is not None and (waiting.error.code, waiting.error.subcode) == (9, 2207042)
    assert "publishing quota reached" in world.details(post)
    assert waiting.next_attempt_at is not None and waiting.next_attempt_at > post.publish_at

    world.run_for(days=1)

    stored = world.assert_published_once(post)
    assert stored.published_at == waiting.next_attempt_at
    assert len(world.calls("publish")) == 2
    assert stored.error is None, "published: the wait is over"


def test_one_failed_read_of_the_limit_does_not_delay_the_post(make_world: WorldFactory) -> None:
    """An unknown quota is not a used-up quota: the read is tried again at once."""
    limit_down = FaultRule(
        kind="server_error", endpoints=("publishing_limit",), on_calls=(2,), http_statuses=(503,)
    )
    world = make_world(policy=EnginePolicy(quota_default=2), faults=(limit_down,))
    now = world.clock.now()
    first = [
        world.schedule(caption=f"early {i}", publish_at=now + timedelta(minutes=30 + i))
        for i in (0, 1)
    ]
    post = world.schedule(caption="after the 503", publish_at=now + timedelta(hours=2))

    world.run_until(post.publish_at + timedelta(minutes=1))

    for early in first:
        world.assert_published_once(early)
    stored = world.assert_published_once(post)
    assert stored.published_at == post.publish_at
    assert [c.status for c in world.calls("publishing_limit")] == [200, 503, 200]


def test_a_limit_that_cannot_be_read_at_all_lets_posts_publish_on_time(
    make_world: WorldFactory,
) -> None:
    """Instagram refuses a publish beyond the limit (9/2207042) if it is really reached."""
    limit_down = FaultRule(kind="server_error", endpoints=("publishing_limit",), rate=1.0)
    world = make_world(
        policy=EnginePolicy(quota_default=2), faults=(limit_down,), publishing_quota=3
    )
    now = world.clock.now()
    posts = [
        world.schedule(caption=f"unknown quota {i}", publish_at=now + timedelta(minutes=30 * i))
        for i in (1, 2, 3, 4)
    ]

    world.run_until(posts[-1].publish_at + timedelta(minutes=1))

    for post in posts[:3]:
        assert world.assert_published_once(post).published_at == post.publish_at
    last = world.get(posts[3])
    assert last.status is Status.READY, "refused by Instagram: waits for the window"
    assert "publishing quota reached" in world.details(last)
    assert len(world.calls("publish")) == 4


def test_posts_published_at_the_same_moment_never_overbook_the_quota(
    make_world: WorldFactory,
) -> None:
    """Quota 2 and four posts due in the same second, their steps run at once: two publish
    calls, and two posts wait for the window."""
    slow = FaultRule(kind="slow", endpoints=("publish",), rate=1.0, delay_seconds=0.5)
    world = make_world(publishing_quota=2, faults=(slow,))
    publish_at = world.clock.now() + timedelta(hours=1)
    posts = [world.schedule(caption=f"burst {i}", publish_at=publish_at) for i in range(4)]
    world.run_until(publish_at - timedelta(seconds=1))
    world.clock.set(publish_at - timedelta(milliseconds=300))
    claimed = world.store.claim_due(
        owner=world.publisher.owner,
        now=world.clock.now(),
        lease=world.policy.lease,
        limit=10,
        ahead=world.policy.publish_ahead,
    )
    assert len(claimed) == 4
    threads = [threading.Thread(target=world.publisher.step, args=(p,)) for p in claimed]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert [c.status for c in world.calls("publish")] == [200, 200]
    statuses = sorted(world.get(p).status.value for p in posts)
    assert statuses == ["published", "published", "ready", "ready"]
    waiting = [p for p in posts if world.get(p).status is Status.READY]
    assert all("publishing quota used up" in world.details(p) for p in waiting)


def test_a_reserved_slot_is_given_back_when_no_publish_went_through(
    make_world: WorldFactory,
) -> None:
    class Limit:
        def publishing_limit(
            self, account: str, *, token: str, host: str | None = None
        ) -> PublishingLimit:
            return PublishingLimit(quota_usage=0, quota_total=2)

    world = make_world()
    quota = QuotaTracker(Limit(), world.store, cache_for=timedelta(minutes=5), default_total=50)  # type: ignore[arg-type]
    now = world.clock.now()
    ids = [world.schedule(caption=f"slot {i}").id for i in range(3)]
    other = world.schedule(caption="elsewhere", account="17841400000000002").id
    until = now + timedelta(minutes=5)

    def reserve(post_id: int) -> datetime | None:
        account = world.get(post_id).account
        return quota.reserve(post_id, account, "token", now, owner="w", until=until, host=None)

    answers = [reserve(i) for i in ids[:3]]
    assert answers[:2] == [None, None] and answers[2] is not None
    quota.settle(ids[0])  # that call failed: its slot is free again
    assert reserve(ids[2]) is None
    assert reserve(other) is None, "per account"
    assert reserve(ids[0]) is not None, "two slots held, none left"
    assert reserve(ids[1]) is None, "a post holding a slot may take it again"
    quota.settle(ids[1])
    assert reserve(ids[0]) is None


# -- leases --------------------------------------------------------------------------------

INSTANT_POLLS = EnginePolicy(polls=PollPolicy(image_first=timedelta(0)))


def _drain(publisher: Publisher, errors: list[BaseException]) -> None:
    """Run due steps until nothing is due now (the clock does not move). A post leased by
    another thread reads as due at its lease end: that thread re-checks after its step."""
    try:
        while True:
            now = publisher.clock.now()
            due = publisher.store.claim_due(
                owner=publisher.owner, now=now, lease=publisher.policy.lease, limit=5
            )
            if not due:
                upcoming = publisher.store.next_due(now)
                if upcoming is None or upcoming > now:
                    return
                continue
            for post in due:
                publisher.step(post)
    except BaseException as exc:  # pragma: no cover - reported by the test
        errors.append(exc)


def test_two_workers_on_one_sqlite_file_publish_every_post_once(
    make_sql_world: WorldFactory,
) -> None:
    world = make_sql_world(policy=INSTANT_POLLS)
    due = world.clock.now()
    posts = [world.schedule(caption=f"shared {i}", publish_at=due) for i in range(30)]
    workers = [world.another_worker(f"worker-{name}") for name in "bc"]
    errors: list[BaseException] = []
    threads = [
        threading.Thread(target=_drain, args=(w, errors))
        for w in (world.publisher, *workers)
        for _ in range(2)
    ]

    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    for post in posts:
        world.assert_published_once(post)
    assert len(world.publishes()) == 30
    assert len(world.calls("create_container")) == 30
    assert all(owner is None for owner, _ in world.leases().values())


def test_concurrent_advance_calls_on_the_same_posts_run_each_step_once(
    make_sql_world: WorldFactory,
) -> None:
    world = make_sql_world(policy=INSTANT_POLLS)
    posts = [world.schedule(caption=f"raced {i}", publish_at=world.clock.now()) for i in range(5)]
    workers = [world.another_worker(f"racer-{i}", own_store=i % 2 == 0) for i in range(6)]

    def race(worker: Publisher) -> None:
        for _ in range(6):
            for post in posts:
                worker.advance(post.id)

    threads = [threading.Thread(target=race, args=(w,)) for w in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    world.run_for(minutes=5)

    for post in posts:
        world.assert_published_once(post)
    assert len(world.calls("create_container")) == 5


def test_an_expired_lease_is_taken_over(make_world: WorldFactory) -> None:
    world = make_world()
    post = world.schedule(caption="owner died")
    prepare_at = world.policy.leads.prepare_at(post.spec)
    world.clock.set(prepare_at)
    assert (
        world.store.claim(post.id, owner="dead", now=prepare_at, lease=world.policy.lease)
        is not None
    )
    assert world.leases()[post.id][0] == "dead"

    world.run_for(hours=1)

    stored = world.assert_published_once(post)
    assert world.leases()[post.id] == (None, None)
    container = world.state.containers[stored.container_id or ""]
    assert container.created_at == prepare_at + world.policy.lease  # taken over at lease end


def test_a_worker_that_lost_its_lease_cannot_save(make_world: WorldFactory) -> None:
    world = make_world()
    post = world.schedule(caption="stalled worker")
    prepare_at = world.policy.leads.prepare_at(post.spec)
    world.clock.set(prepare_at)
    stalled = world.store.claim(post.id, owner="stalled", now=prepare_at, lease=world.policy.lease)
    assert stalled is not None
    world.clock.advance(world.policy.lease + timedelta(seconds=1))
    fresh = world.store.claim(
        post.id, owner="worker-a", now=world.clock.now(), lease=world.policy.lease
    )
    assert fresh is not None

    assert not world.store.save_progress(
        stalled, owner="stalled", changes={"container_id": "17890000000009999"}
    )
    assert not world.store.save_step(
        stalled, Status.FAILED, owner="stalled", now=world.clock.now(), changes={}, detail="stale"
    )
    stale_worker = world.another_worker("stalled", own_store=False)
    assert stale_worker.step(stalled) is None
    assert world.get(post).container_id is None, "the stale step saved nothing"

    world.publisher.step(fresh)
    world.run_for(hours=1)

    stored = world.assert_published_once(post)
    assert "stale" not in world.details(post)
    assert stored.container_id != "17890000000009999"


def test_concurrent_workers_publish_at_the_same_instant_once(make_sql_world: WorldFactory) -> None:
    """Ready posts due together, claimed by four threads of two workers: one publish each."""
    world = make_sql_world()
    publish_at = world.clock.now() + timedelta(hours=1)
    posts = [world.schedule(caption=f"burst {i}", publish_at=publish_at) for i in range(12)]
    world.run_until(publish_at - timedelta(seconds=1))
    assert {world.get(p).status for p in posts} == {Status.READY}
    world.clock.set(publish_at)
    other = world.another_worker("worker-b")
    errors: list[BaseException] = []
    threads = [
        threading.Thread(target=_drain, args=(w, errors))
        for w in (world.publisher, other)
        for _ in range(2)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    for post in posts:
        world.assert_published_once(post)
    assert {sandbox_time(p.sandbox_time) for p in world.publishes()} == {publish_at}
