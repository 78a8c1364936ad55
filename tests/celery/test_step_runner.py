"""A worker's StepRunner takes only the posts it can stage on free threads before their
publish time, and hands the rest on (no broker needed: `resend` is recorded)."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import igautopost
from igautopost.engine.policy import EnginePolicy
from igautopost.scheduler.step_runner import MAX_HOPS, Item, StepRunner
from igautopost.storage.sql import SqlStore

AHEAD = timedelta(seconds=1)


class Resent:
    def __init__(self) -> None:
        self.calls: list[tuple[list[int], int]] = []

    def __call__(self, items: Sequence[Item], hops: int) -> None:
        self.calls.append(([post_id for post_id, _ in items], hops))


def runner(store: SqlStore, threads: int, resend: Resent | None) -> StepRunner:
    publisher = igautopost.Publisher(
        store,
        igautopost.GraphClient(base_url="http://127.0.0.1:9"),
        igautopost.SystemClock(),
        policy=EnginePolicy(publish_ahead=AHEAD),
    )
    return StepRunner(publisher, threads, resend=resend)


def occupy(steps: StepRunner, ids: list[int], at: datetime) -> threading.Thread:
    """A task whose posts (unknown ids: their claims find nothing) hold threads until `at`."""
    task = threading.Thread(target=steps.run, args=([(i, at) for i in ids],))
    task.start()
    deadline = time.monotonic() + 2
    while steps._busy < len(ids) and time.monotonic() < deadline:
        time.sleep(0.005)
    return task


def test_posts_beyond_the_free_threads_go_back_to_the_queue_before_their_time(store):
    resent = Resent()
    steps = runner(store, threads=3, resend=resent)
    soon = datetime.now(UTC) + timedelta(seconds=1)
    busy = occupy(steps, [9001, 9002], soon)  # two of three threads wait for `soon`

    steps.run([(9003, soon), (9004, soon), (9005, soon)])

    assert resent.calls == [([9004, 9005], 1)]  # one free thread: one post kept
    busy.join(5)
    assert steps._busy == 0


def test_past_their_publish_time_or_after_max_hops_posts_wait_here_for_a_thread(store):
    resent = Resent()
    steps = runner(store, threads=1, resend=resent)
    soon = datetime.now(UTC) + timedelta(milliseconds=300)
    busy = occupy(steps, [9001], soon)

    late = datetime.now(UTC) - AHEAD  # its publish time has come: no other worker is sooner
    steps.run([(9002, late)])
    steps.run([(9003, soon)], hops=MAX_HOPS)

    assert resent.calls == []
    busy.join(5)


def test_without_a_resend_every_post_is_run_here(store):
    steps = runner(store, threads=1, resend=None)
    soon = datetime.now(UTC) + timedelta(milliseconds=200)
    steps.run([(9001, soon), (9002, soon), (9003, soon)])
    assert steps._busy == 0


def test_a_failing_resend_keeps_the_posts_here(store):
    def broker_down(items: Sequence[Item], hops: int) -> None:
        raise ConnectionError("broker down")

    steps = StepRunner(runner(store, 1, None).publisher, 1, resend=broker_down)
    soon = datetime.now(UTC) + timedelta(milliseconds=200)
    steps.run([(9001, soon), (9002, soon)])  # both run here, one after the other
    assert steps._busy == 0
