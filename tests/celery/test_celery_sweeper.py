"""The sweeper and its locks, and how wake-ups are batched (no broker needed, except where
a test says PostgreSQL)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

import igautopost
from igautopost.clock import FakeClock
from igautopost.scheduler.step_runner import CHUNK, chunks, decode, encode
from igautopost.scheduler.sweeper import FileLock, PostgresLock, Sweeper, lock_for
from igautopost.storage.sql import SqlStore
from services import postgres_schemas

START = datetime(2030, 5, 1, 12, 0, tzinfo=UTC)


class Recorder:
    def __init__(self) -> None:
        self.batches: list[list[tuple[int, datetime]]] = []

    def __call__(self, batch: Sequence[tuple[int, datetime]]) -> None:
        self.batches.append(list(batch))

    def ids(self) -> list[int]:
        return [i for batch in self.batches for i, _ in batch]


def add(store: SqlStore, make_post, *offsets: float) -> list[int]:  # type: ignore[no-untyped-def]
    items = [
        make_post(publish_at=(START + timedelta(seconds=s)).isoformat(), prepare_ahead=0)
        for s in offsets
    ]
    return [p.id for p in igautopost.schedule(store, items, now=START).created]


def test_a_sweep_sends_the_posts_due_before_the_next_one_with_their_times(store, make_post):
    now_id, soon_id, _later = add(store, make_post, 0, 0.7, 5)
    sent = Recorder()

    Sweeper(store, sent, FakeClock(START)).sweep()

    assert sent.batches == [[(now_id, START), (soon_id, START + timedelta(seconds=0.7))]]


def test_a_post_sent_is_not_sent_again_while_its_task_waits(store, make_post):
    add(store, make_post, 0)
    sent, clock = Recorder(), FakeClock(START)
    sweeper = Sweeper(store, sent, clock, backlog=lambda: 1)

    for _ in range(10):
        sweeper.sweep()
        clock.advance(timedelta(seconds=1))

    assert len(sent.ids()) == 1


def test_an_unclaimed_post_is_sent_again_once_the_queue_is_empty(store, make_post):
    (post_id,) = add(store, make_post, 0)
    backlog = [3]
    sent, clock = Recorder(), FakeClock(START)
    sweeper = Sweeper(store, sent, clock, backlog=lambda: backlog[0])
    sweeper.sweep()
    clock.advance(timedelta(seconds=6))

    sweeper.sweep()  # its task may still wait in the queue
    backlog[0] = 0
    sweeper.sweep()  # the queue is empty: the worker that held it died

    assert sent.ids() == [post_id, post_id]


def test_a_post_claimed_is_left_to_its_worker_until_the_lease_ends(store, make_post):
    (post_id,) = add(store, make_post, 0)
    store.claim(post_id, owner="w1", now=START, lease=timedelta(seconds=30))
    sent, clock = Recorder(), FakeClock(START)
    sweeper = Sweeper(store, sent, clock)

    sweeper.sweep()
    clock.advance(timedelta(seconds=29.5))
    sweeper.sweep()

    assert sent.batches == [[(post_id, START + timedelta(seconds=30))]]


def test_wake_ups_are_batched_by_due_time():
    items = [(i, START + timedelta(milliseconds=30 * i)) for i in range(25)]

    groups = chunks(list(reversed(items)))

    assert [len(g) for g in groups] == [4, 4, 4, 4, 4, 4, 1]  # 100 ms apart at most
    assert all(len(g) <= CHUNK for g in groups)
    assert [i for g in groups for i, _ in g] == list(range(25))
    assert chunks([(i, START) for i in range(25)])[0] == [(i, START) for i in range(10)]
    assert decode(encode(items)) == items


def test_a_file_lock_keeps_a_second_sweeper_idle_until_the_first_stops(tmp_path: Path):
    first, second = FileLock(tmp_path / "db.sweeper.lock"), FileLock(tmp_path / "db.sweeper.lock")

    assert first.acquire() and first.acquire()
    assert not second.acquire()
    first.release()
    assert second.acquire()
    second.release()


def test_a_sqlite_store_gets_a_file_lock_beside_its_database(store):
    lock = lock_for(store)
    assert isinstance(lock, FileLock)
    assert lock.path.name.endswith(".db.sweeper.lock")


def test_one_postgres_sweeper_holds_the_lock_and_another_takes_over_when_it_dies():
    with postgres_schemas() as schemas:
        url = schemas.new()
        engines = [sa.create_engine(url) for _ in range(2)]
        first, second = PostgresLock(engines[0]), PostgresLock(engines[1])
        try:
            assert first.acquire()
            assert not second.acquire()
            first.release()  # as when its process dies: the session ends
            assert second.acquire()
            assert not first.acquire()
        finally:
            first.release()
            second.release()
            for engine in engines:
                engine.dispose()
