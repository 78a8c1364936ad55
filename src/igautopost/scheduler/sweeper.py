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
from pathlib import Path
from typing import IO, Protocol

import sqlalchemy as sa

from ..clock import Clock
from ..storage.sql import SqlStore
from ..storage.sql.files import sqlite_file

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
        store: SqlStore,
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


class PostgresLock:
    """A session-level advisory lock on a connection of its own: the database releases it
    when the holder's connection ends (a crash, a kill, a database restart)."""

    def __init__(self, engine: sa.Engine, name: str = "igautopost.sweeper") -> None:
        self.engine = engine
        self.name = name
        self._conn: sa.Connection | None = None

    def acquire(self) -> bool:
        try:
            if self._conn is not None:
                self._conn.execute(sa.text("SELECT 1"))  # still ours: the session is alive
                self._conn.commit()
                return True
            conn = self.engine.connect()
            # Keyed by schema too: several igautopost databases may share one server.
            held = conn.execute(
                sa.text("SELECT pg_try_advisory_lock(hashtext(:name || current_schema()))"),
                {"name": self.name},
            ).scalar()
            conn.commit()
            if held:
                self._conn = conn
                log.info("this process is now the active sweeper")
                return True
            conn.close()
            return False
        except sa.exc.DBAPIError:
            self._drop()
            raise

    def release(self) -> None:
        self._drop()

    def _drop(self) -> None:
        if self._conn is not None:
            conn, self._conn = self._conn, None
            try:
                conn.invalidate()  # closing the session releases the advisory lock
                conn.close()
            except sa.exc.DBAPIError:
                pass


class FileLock:
    """An exclusive `flock` on a file: for a SQLite database, whose sweepers share a machine."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file: IO[str] | None = None

    def acquire(self) -> bool:
        import fcntl

        if self._file is not None:
            return True
        handle = self.path.open("a")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            return False
        self._file = handle
        return True

    def release(self) -> None:
        if self._file is not None:
            self._file.close()  # closing releases the flock
            self._file = None


def lock_for(store: SqlStore) -> SweeperLock:
    """The lock that keeps one sweeper active on this store's database."""
    engine = store.engine
    if engine.dialect.name == "postgresql":
        return PostgresLock(engine)
    if (database := sqlite_file(engine.url)) is not None:
        return FileLock(Path(f"{database}.sweeper.lock"))
    return NoLock()


class NoLock:
    """No shared lock on this database: every sweeper is active (duplicates are harmless)."""

    def acquire(self) -> bool:
        return True

    def release(self) -> None:
        pass
