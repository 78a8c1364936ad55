"""The sweeper of the distributed scheduler: every second, send `advance` for the due posts.

It reads the store's due query (an index range: its cost follows the due posts, not the
stored ones) for posts a claim will take before the next sweep, and hands each to `send`
with the moment it is due: a short ETA at most one sweep ahead, never a far-future one, so a
broker's visibility timeout can never redeliver a task that is still waiting.

The sweeper holds no state the store lacks. It remembers what it sent in the last few
seconds only to avoid sending the same wake-up every second while workers work through a
burst; a sweeper that restarts sends everything again, and the claims make that harmless.

One sweeper is enough, and several are harmless: a `SweeperLock` (an advisory lock on
PostgreSQL, a file lock beside a SQLite database) keeps one active and lets another take
over within a second when the active one dies.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Protocol

from ..clock import Clock
from ..storage.protocols import ClaimStore
from ..storage.sql import SqlStore
from ..storage.sql.locks import FileLock, NoLock, PostgresLock, lock_for_engine

log = logging.getLogger("igautopost.sweeper")

# Hands a batch of (post id, due at) to the workers: one call per sweep, so that a sender
# can reuse one broker connection for a burst of thousands.
Send = Callable[[Sequence[tuple[int, datetime]]], None]


class SweeperLock(Protocol):
    def acquire(self) -> bool:
        """Take or keep the lock without waiting; whether this process holds it now."""
        ...

    def release(self) -> None: ...


class Sweeper:
    """Sends a wake-up for every post due before the next sweep.

    A post already sent for the same due time is sent again only after `resend_after`, and
    only once the queue has drained (`backlog() == 0`): while tasks wait in the queue, its
    task is among them, and copies would only make the queue longer. Once the queue is empty
    and the post is still unclaimed, its task was lost with a worker that died holding it."""

    def __init__(
        self,
        store: ClaimStore,
        send: Send,
        clock: Clock,
        *,
        backlog: Callable[[], int] | None = None,
        interval: timedelta = timedelta(seconds=1),
        resend_after: timedelta = timedelta(seconds=2),
        limit: int = 20_000,
        ahead: timedelta = timedelta(0),
    ) -> None:
        self.store = store
        self.send = send
        self.clock = clock
        self.backlog = backlog
        self.interval = interval
        self.resend_after = resend_after
        self.limit = limit
        # Ready posts are sent this much ahead of their publish time: the worker claims them
        # then and publishes on the mark (`EnginePolicy.publish_ahead`).
        self.ahead = ahead
        self.sent_total = 0
        self._sent: dict[int, tuple[datetime, datetime]] = {}  # post id -> (due at, sent at)

    def sweep(self) -> int:
        """One pass; how many wake-ups it sent."""
        now = self.clock.now()
        due = self.store.due_by(now + self.interval, limit=self.limit, ahead=self.ahead)
        stale = now - self.resend_after
        fresh = [(i, at) for i, at in due if self._sent.get(i, (None, now))[0] != at]
        resend = [(i, at) for i, at in due if self._sent.get(i, (None, now))[1] < stale]
        if resend and self.backlog is not None and self.backlog() > 0:
            resend = []
        batch = fresh + [item for item in resend if item not in fresh]
        if batch:
            self.send(batch)
        # Forget posts no longer due: done, or moved to a later time.
        sent = {i: self._sent[i] for i, _ in due if i in self._sent}
        self._sent = sent | {i: (at, now) for i, at in batch}
        self.sent_total += len(batch)
        return len(batch)

    def run(self, stopping: threading.Event, lock: SweeperLock) -> None:
        """Sweep every interval while holding `lock`, until `stopping` is set."""
        period = self.interval.total_seconds()
        try:
            while not stopping.is_set():
                started = time.monotonic()
                try:
                    if lock.acquire():
                        self.sweep()
                except Exception:  # the store or broker is down: keep trying every interval
                    log.exception("sweep failed; trying again in %.1f s", period)
                stopping.wait(max(period - (time.monotonic() - started), 0.0))
        finally:
            lock.release()


def lock_for(store: ClaimStore) -> SweeperLock:
    """The lock that keeps one sweeper active on this store's database; on a store no other
    process shares, none is needed."""
    if isinstance(store, SqlStore):
        return lock_for_engine(store.engine, "sweeper")
    return NoLock()


__all__ = ["FileLock", "NoLock", "PostgresLock", "Send", "Sweeper", "SweeperLock", "lock_for"]
