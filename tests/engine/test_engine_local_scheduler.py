"""The LocalScheduler on the real clock against a live sandbox: punctual, once, clean stop."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta

from enginetest import WorldFactory, wall_time

from igautopost.models import Status
from igautopost.posts import schedule
from igautopost.scheduler import LocalScheduler
from igautopost.storage.sql import SqlStore

MakeScheduler = Callable[..., LocalScheduler]


def test_twenty_posts_due_together_are_each_published_once_on_time(
    make_sql_world: WorldFactory, make_scheduler: MakeScheduler
) -> None:
    world = make_sql_world(live=True, image_processing_seconds=0)
    scheduler = make_scheduler(world.publisher, workers=16)
    publish_at = world.clock.now() + timedelta(seconds=1.5)
    posts = [world.schedule(caption=f"live {i}", publish_at=publish_at) for i in range(20)]
    scheduler.wake()

    assert world.wait_for(lambda: len(world.publishes()) == 20, timeout=10)
    world.wait_for(lambda: all(world.get(p).status is Status.PUBLISHED for p in posts), 5)

    for post in posts:
        world.assert_published_once(post)
    arrivals = [wall_time(c) for c in world.calls("publish")]
    assert len(arrivals) == 20
    for arrival in arrivals:
        assert publish_at <= arrival <= publish_at + timedelta(seconds=0.5), arrival - publish_at


def test_stop_lets_running_steps_finish_and_releases_every_lease(
    make_sql_world: WorldFactory, make_scheduler: MakeScheduler
) -> None:
    world = make_sql_world(live=True, latency={"create_container": 0.4})
    scheduler = make_scheduler(world.publisher, workers=4)
    posts = [
        world.schedule(caption=f"stopping {i}", publish_at=world.clock.now() + timedelta(minutes=1))
        for i in range(6)
    ]
    scheduler.wake()
    assert world.wait_for(lambda: scheduler.running_steps() > 0, timeout=5)

    scheduler.stop(timeout=10)

    assert scheduler.running_steps() == 0
    leases = world.leases()
    assert all(owner is None and until is None for owner, until in leases.values()), leases
    # Each step that ran saved its result: every container created is stored with its post.
    created = {c.object_id for c in world.calls("create_container")}
    stored = {world.get(p).container_id for p in posts} - {None}
    assert created == stored
    assert 1 <= len(stored) <= 6
    for post in posts:
        assert world.get(post).status in (Status.SCHEDULED, Status.PROCESSING)


def test_a_post_written_by_another_process_is_noticed_within_a_second(
    make_sql_world: WorldFactory, make_scheduler: MakeScheduler
) -> None:
    world = make_sql_world(live=True)
    make_scheduler(world.publisher)
    time.sleep(0.3)  # the scheduler found nothing due and sleeps
    other_process = SqlStore.open(world.db_url, cipher=world.cipher)
    try:
        written_at = world.clock.now()
        schedule(
            other_process,
            [world.post_data(caption="from the CLI", publish_at=written_at + timedelta(seconds=3))],
            now=written_at,
        )
    finally:
        other_process.close()

    assert world.wait_for(lambda: len(world.calls("create_container")) == 1, timeout=5)
    noticed = wall_time(world.calls("create_container")[0])
    assert noticed - written_at <= timedelta(seconds=1.3)
    assert world.wait_for(lambda: len(world.publishes()) == 1, timeout=8)


def test_two_schedulers_on_one_sqlite_file_publish_every_post_once(
    make_sql_world: WorldFactory, make_scheduler: MakeScheduler
) -> None:
    world = make_sql_world(live=True)
    second = world.another_worker("second-process")
    make_scheduler(world.publisher, workers=8)
    make_scheduler(second, workers=8)
    publish_at = world.clock.now() + timedelta(seconds=1.5)
    posts = [world.schedule(caption=f"two workers {i}", publish_at=publish_at) for i in range(30)]

    assert world.wait_for(lambda: len(world.publishes()) >= 30, timeout=10)
    world.wait_for(lambda: all(world.get(p).status is Status.PUBLISHED for p in posts), 5)
    time.sleep(0.2)  # a duplicate, if any, would arrive now

    for post in posts:
        world.assert_published_once(post)
    assert len(world.publishes()) == 30
