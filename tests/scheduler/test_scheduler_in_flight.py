"""A burst larger than the cap on steps in flight: each handed-off publish call holds a
connection until its answer is read, so the LocalScheduler claims no more than
`max_in_flight` at once, and claims again as answers come back."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

from igautopost.scheduler import LocalScheduler
from igautopost.scheduler.local import MAX_IN_FLIGHT, default_max_in_flight

NOW = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)


class BurstPublisher:
    """Due posts without end; each step hands its call off and returns its thread at once
    (as `Publisher.step_ahead` does), the call staying in flight until `answer` is called."""

    def __init__(self) -> None:
        self.claimed = 0
        self.in_flight: list[Callable[[Exception | None], None]] = []
        self.lock = threading.Lock()
        self.clock = SimpleNamespace(now=lambda: NOW)
        self.policy = SimpleNamespace(
            publish_ahead=timedelta(seconds=0.5),
            lease=timedelta(seconds=10),
            burst_ahead=timedelta(seconds=10),
            prepare_cost=timedelta(milliseconds=3),
            step_limit=timedelta(minutes=5),
            claim_ahead=lambda due: timedelta(seconds=0.5),
        )
        self.leases = SimpleNamespace(publish_call=timedelta(seconds=30), launch_window=None)
        self.owner = "burst"
        self.store = SimpleNamespace(
            claim_due=self.claim_due,
            due_by=lambda moment, limit: [],
            next_due=lambda now, ahead=None: NOW,
        )

    def claim_due(self, *, limit: int, **query: Any) -> list[SimpleNamespace]:
        with self.lock:
            first, self.claimed = self.claimed, self.claimed + limit
        return [SimpleNamespace(id=number) for number in range(first, first + limit)]

    def step_ahead(self, post: SimpleNamespace, done: Callable[[Exception | None], None]) -> None:
        with self.lock:
            self.in_flight.append(done)

    def answer(self, count: int) -> None:
        with self.lock:
            answered, self.in_flight = self.in_flight[:count], self.in_flight[count:]
        for done in answered:
            done(None)


def settles_at(read: Callable[[], int], expected: int) -> bool:
    deadline = time.monotonic() + 10
    while read() != expected and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.05)  # and stays there
    return read() == expected


def test_no_more_steps_are_claimed_than_the_cap_and_more_as_answers_come() -> None:
    publisher = BurstPublisher()
    scheduler = LocalScheduler(publisher, workers=8, max_in_flight=20)  # type: ignore[arg-type]
    scheduler.start()
    try:
        assert settles_at(lambda: publisher.claimed, 20)  # 8 threads, but 20 calls out
        assert scheduler.running_steps() == 20
        publisher.answer(5)
        assert settles_at(lambda: publisher.claimed, 25)
    finally:
        publisher.answer(10_000)
        scheduler.stop(timeout=10)


def test_the_default_cap_leaves_file_descriptors_for_everything_else() -> None:
    import resource

    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    cap = default_max_in_flight()
    assert 64 <= cap <= MAX_IN_FLIGHT
    if soft != resource.RLIM_INFINITY:
        assert cap <= max(64, soft // 2)
