"""Failed-login throttling: per username and per client address, on the injected clock.

After `limit` failures within `window`, further attempts for that key are refused until the
oldest of those failures is `window` old; the caller answers 429 with ``Retry-After``. A
successful login clears its username's failures (not its address's: one address guessing
many names stays throttled). State is per process: a deployment with several server
processes allows each its own budget (documented in docs/security.md).
"""

from __future__ import annotations

import math
import threading
from collections import deque
from dataclasses import dataclass
from datetime import datetime, timedelta

from .errors import IgAutopostError

MAX_KEYS = 100_000  # bound memory under a flood of distinct names


class LoginThrottled(IgAutopostError):
    """Too many failed logins: try again later."""

    def __init__(self, retry_after: int) -> None:
        self.retry_after = retry_after
        super().__init__(f"too many failed logins; try again in {retry_after} s")


@dataclass(frozen=True)
class ThrottlePolicy:
    window: timedelta = timedelta(minutes=15)
    per_username: int = 5
    per_address: int = 20


class LoginThrottle:
    def __init__(self, policy: ThrottlePolicy | None = None) -> None:
        self.policy = policy or ThrottlePolicy()
        self._failures: dict[str, deque[datetime]] = {}
        self._lock = threading.Lock()

    def check(self, username: str, address: str | None, now: datetime) -> None:
        """Raise `LoginThrottled` if either key has used up its failures."""
        wait = max(
            self._wait(f"user:{username.lower()}", self.policy.per_username, now),
            self._wait(f"addr:{address}", self.policy.per_address, now) if address else 0.0,
        )
        if wait > 0:
            raise LoginThrottled(max(1, math.ceil(wait)))

    def failed(self, username: str, address: str | None, now: datetime) -> None:
        with self._lock:
            if len(self._failures) >= MAX_KEYS:
                self._failures.clear()
            for key in (f"user:{username.lower()}", f"addr:{address}" if address else None):
                if key is not None:
                    self._failures.setdefault(key, deque()).append(now)

    def succeeded(self, username: str) -> None:
        with self._lock:
            self._failures.pop(f"user:{username.lower()}", None)

    def _wait(self, key: str, limit: int, now: datetime) -> float:
        with self._lock:
            times = self._failures.get(key)
            if not times:
                return 0.0
            while times and now - times[0] >= self.policy.window:
                times.popleft()
            if len(times) < limit:
                return 0.0
            return (times[-limit] + self.policy.window - now).total_seconds()
