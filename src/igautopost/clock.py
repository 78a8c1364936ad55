"""The one place igautopost reads the time. Everything else takes a `Clock` argument.

Times inside igautopost are timezone-aware UTC datetimes.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    #: Whether the clock moves by itself, so that a thread may wait for a moment in real
    #: seconds (the launcher, the lease renewals). A `FakeClock` moves only when told: code
    #: on it runs in the calling thread and moves it with `sleep_until`.
    moves_by_itself: bool

    def now(self) -> datetime:
        """The current time, timezone-aware, in UTC."""
        ...

    def sleep_until(self, moment: datetime) -> None:
        """Return once the clock reads `moment` or later; never early."""
        ...


class SystemClock:
    """The real wall clock."""

    moves_by_itself = True

    def now(self) -> datetime:
        return datetime.now(UTC)

    def sleep_until(self, moment: datetime) -> None:
        while (left := (moment - self.now()).total_seconds()) > 0:
            time.sleep(left)


class FakeClock:
    """A clock that moves only when told to: for tests and simulations.

    >>> clock = FakeClock(datetime(2030, 1, 1, tzinfo=UTC))
    >>> clock.advance(timedelta(minutes=5)).isoformat()
    '2030-01-01T00:05:00+00:00'

    `sleep_until` moves it to the moment at once (a simulation runs as fast as it can).
    """

    moves_by_itself = False

    def __init__(self, start: datetime | None = None) -> None:
        start = start or datetime(2030, 1, 1, tzinfo=UTC)
        if start.tzinfo is None:
            raise ValueError("FakeClock needs a timezone-aware start time")
        self._now = start.astimezone(UTC)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def advance(self, delta: timedelta) -> datetime:
        with self._lock:
            self._now += delta
            return self._now

    def set(self, when: datetime) -> None:
        if when.tzinfo is None:
            raise ValueError("FakeClock.set needs a timezone-aware time")
        with self._lock:
            self._now = when.astimezone(UTC)

    def sleep_until(self, moment: datetime) -> None:
        if moment.tzinfo is None:
            raise ValueError("FakeClock.sleep_until needs a timezone-aware time")
        with self._lock:
            self._now = max(self._now, moment.astimezone(UTC))


def sleep_until(clock: Clock, when: datetime) -> None:
    """Return once `clock` reads `when` or later (`Clock.sleep_until`)."""
    clock.sleep_until(when)
