"""`Scheduler.wake(post_id, due_at)`: each scheduler acts at once only on what its own
polling would find too late (the LocalScheduler's next poll, the Celery sweeper's next pass)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import nullcontext
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from igautopost import services
from igautopost.clock import FakeClock
from igautopost.models import Post
from igautopost.scheduler import LocalScheduler, Scheduler
from igautopost.scheduler.celery import ADVANCE, SWEEP, CeleryWaker
from igautopost.storage.sql import SqlStore
from services import settings_for

NOW = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)
POLL = timedelta(seconds=5)


class CountingStore:
    """A store (empty: nothing is due) that counts the LocalScheduler's claim queries."""

    def __init__(self, store: SqlStore) -> None:
        self.store = store
        self.claims = 0

    def claim_due(self, **query: Any) -> list[Post]:
        self.claims += 1
        return self.store.claim_due(**query)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)


def eventually(condition: Callable[[], bool], timeout: float = 2.0) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.005)
    return True


@pytest.fixture
def looping(tmp_path: Path) -> Iterator[tuple[LocalScheduler, CountingStore]]:
    """A LocalScheduler's loop, polling every 5 s, on the publisher `igautopost.services`
    builds over an empty store."""
    settings = settings_for(tmp_path / "data", database_url=f"sqlite:///{tmp_path / 'wake.db'}")
    store = CountingStore(services.open_store(settings))
    publisher = services.publisher(settings, store, clock=FakeClock(NOW))  # type: ignore[arg-type]
    scheduler = LocalScheduler(publisher, workers=1, poll_interval=POLL)
    loop = threading.Thread(target=scheduler.run, daemon=True)
    loop.start()
    assert eventually(lambda: store.claims == 1)
    yield scheduler, store
    scheduler.stop(timeout=5)
    loop.join(timeout=5)
    publisher.client.close()
    store.store.close()


def test_a_local_scheduler_looks_again_only_for_a_post_due_before_its_next_poll(
    looping: tuple[LocalScheduler, CountingStore],
) -> None:
    scheduler, store = looping
    scheduler.wake(1, NOW + timedelta(hours=1))  # the poll finds it in time
    time.sleep(0.3)
    assert store.claims == 1
    scheduler.wake(2, NOW + POLL - timedelta(seconds=1))
    assert eventually(lambda: store.claims == 2, timeout=1)


def test_a_local_scheduler_woken_without_a_post_looks_again(
    looping: tuple[LocalScheduler, CountingStore],
) -> None:
    scheduler, store = looping
    scheduler.wake()
    assert eventually(lambda: store.claims == 2, timeout=1)


class Broker:
    """Stands in for a Celery app: records the tasks sent."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, Any]] = []

    def producer_or_acquire(self) -> Any:
        return nullcontext(None)

    def send_task(self, name: str, args: Any = None, **_: Any) -> None:
        self.sent.append((name, args))


def test_the_celery_waker_sends_a_post_due_before_the_next_sweep_and_leaves_later_ones() -> None:
    broker = Broker()
    waker: Scheduler = CeleryWaker(broker, FakeClock(NOW))  # type: ignore[arg-type]
    waker.wake(1, NOW + timedelta(hours=1))
    assert broker.sent == []
    waker.wake(2, NOW + timedelta(milliseconds=500))
    assert [name for name, _ in broker.sent] == [ADVANCE]
    waker.wake()
    assert broker.sent[-1] == (SWEEP, None)


def test_the_celery_waker_is_alive_and_leaves_health_to_the_workers() -> None:
    waker = CeleryWaker(Broker(), FakeClock(NOW))  # type: ignore[arg-type]
    assert waker.is_alive() and waker.health() is None and waker.running_steps() == 0
