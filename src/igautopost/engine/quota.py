"""The account's publishing quota: read from the API, cached, and kept current by a local ledger.

Meta's pages disagree on the number (100, 50, 25 posts per moving 24 h), so it is read at run
time (`GET /{ig-user-id}/content_publishing_limit`) and cached; publishes since the read are
counted locally. When the quota is used up, the post waits until the oldest publish of the
window is 24 h old, as recorded in the store.

A step takes a slot (`reserve`) before its publish call and settles it after (`settle`), so
that posts published at the same moment by one process never overbook the quota: with two
slots left, the third of four posts due in the same second waits instead of calling.

A quota that cannot be read is unknown, not used up: the read is tried again, and meanwhile
posts are published; Instagram itself refuses a publish beyond the limit (code 9, subcode
2207042), which `mark_exhausted` records.
"""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from ..graph import GraphClient, GraphError

WINDOW = timedelta(hours=24)
UNKNOWN_WAIT = timedelta(minutes=15)  # when the store knows no publish that will age out
READ_TRIES = 2  # reads of the limit in a row before taking the quota as unknown for now
UNKNOWN_FOR = timedelta(minutes=1)  # how long an unknown quota is left unread


class Ledger(Protocol):
    def published_since(self, account: str, since: datetime) -> list[datetime]: ...


@dataclass
class _Reading:
    usage: int | None  # None: the API could not be read
    total: int
    read_at: datetime
    published_since_read: int = 0

    def fresh(self, now: datetime, cache_for: timedelta) -> bool:
        life = cache_for if self.usage is not None else min(cache_for, UNKNOWN_FOR)
        return now - self.read_at < life


class QuotaTracker:
    """Thread-safe per-account quota state for one process."""

    def __init__(
        self, client: GraphClient, ledger: Ledger, *, cache_for: timedelta, default_total: int
    ) -> None:
        self._client = client
        self._ledger = ledger
        self._cache_for = cache_for
        self._default_total = default_total
        self._readings: dict[str, _Reading] = {}
        self._in_flight: Counter[str] = Counter()  # slots reserved by steps not settled yet
        self._lock = threading.Lock()

    def read_ahead(self, account: str, token: str, now: datetime, *, host: str | None) -> None:
        """Read the quota before the publish time, so that the publish step finds it cached.
        `host` is the API host `token`'s calls go to (None: the client's default)."""
        self._reading(account, token, now, host=host)

    def reserve(
        self, account: str, token: str, now: datetime, *, host: str | None
    ) -> datetime | None:
        """Take a slot for one publish call (None), or say when one should be free again.
        Every None must be followed by one `settle`."""
        reading = self._reading(account, token, now, host=host)
        with self._lock:
            used = self._in_flight[account]
            if reading.usage is not None:
                used += reading.usage + reading.published_since_read
            if reading.usage is None or used < reading.total:
                self._in_flight[account] += 1
                return None
        return self.free_at(account, now)

    def settle(self, account: str, *, published: bool) -> None:
        """Give back the slot `reserve` took; a publish that went through keeps counting."""
        with self._lock:
            self._in_flight[account] -= 1
            if self._in_flight[account] <= 0:
                del self._in_flight[account]
            reading = self._readings.get(account)
            if published and reading is not None:
                reading.published_since_read += 1

    def free_at(self, account: str, now: datetime) -> datetime:
        published = self._ledger.published_since(account, now - WINDOW)
        return published[0] + WINDOW if published else now + UNKNOWN_WAIT

    def mark_exhausted(self, account: str, now: datetime) -> None:
        """Instagram said the quota is used up (code 9 / 2207042), whatever we counted."""
        with self._lock:
            known = self._readings.get(account)
            total = known.total if known is not None else self._default_total
            self._readings[account] = _Reading(usage=total, total=total, read_at=now)

    def _reading(self, account: str, token: str, now: datetime, *, host: str | None) -> _Reading:
        with self._lock:
            reading = self._readings.get(account)
            if reading is not None and reading.fresh(now, self._cache_for):
                return reading
        fresh = self._read(account, token, now, host=host)
        with self._lock:
            self._readings[account] = fresh
        return fresh

    def _read(self, account: str, token: str, now: datetime, *, host: str | None) -> _Reading:
        for _ in range(READ_TRIES):
            try:
                limit = self._client.publishing_limit(account, token=token, host=host)
            except GraphError as exc:
                if exc.is_transient:
                    continue
                break  # e.g. a refused token: the publish call will say so
            return _Reading(usage=limit.quota_usage, total=limit.quota_total, read_at=now)
        return _Reading(usage=None, total=self._default_total, read_at=now)
