"""The account's publishing quota: read from the API, cached, and kept current by a local ledger.

Meta's pages disagree on the number (100, 50, 25 posts per moving 24 h), so it is read at run
time (`GET /{ig-user-id}/content_publishing_limit`) and cached; publishes since the read are
counted locally. When the quota is used up, the post waits until the oldest publish of the
window is 24 h old, as recorded in the store.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from .graph import GraphClient, GraphError

WINDOW = timedelta(hours=24)
UNKNOWN_WAIT = timedelta(minutes=15)  # when the store knows no publish that will age out


class Ledger(Protocol):
    def published_since(self, account: str, since: datetime) -> list[datetime]: ...


@dataclass
class _Reading:
    usage: int
    total: int
    read_at: datetime
    published_since_read: int = 0


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
        self._lock = threading.Lock()

    def wait_until(self, account: str, token: str, now: datetime) -> datetime | None:
        """None if the account may publish now; else when a slot should be free again."""
        reading = self._reading(account, token, now)
        if reading.usage + reading.published_since_read < reading.total:
            return None
        return self.free_at(account, now)

    def free_at(self, account: str, now: datetime) -> datetime:
        published = self._ledger.published_since(account, now - WINDOW)
        return published[0] + WINDOW if published else now + UNKNOWN_WAIT

    def record_publish(self, account: str) -> None:
        with self._lock:
            reading = self._readings.get(account)
            if reading is not None:
                reading.published_since_read += 1

    def mark_exhausted(self, account: str, now: datetime) -> None:
        """Instagram said the quota is used up (code 9 / 2207042), whatever we counted."""
        with self._lock:
            total = (
                self._readings[account].total if account in self._readings else self._default_total
            )
            self._readings[account] = _Reading(usage=total, total=total, read_at=now)

    def _reading(self, account: str, token: str, now: datetime) -> _Reading:
        with self._lock:
            reading = self._readings.get(account)
            if reading is not None and now - reading.read_at < self._cache_for:
                return reading
        try:
            limit = self._client.publishing_limit(account, token=token)
            fresh = _Reading(usage=limit.quota_usage, total=limit.quota_total, read_at=now)
        except GraphError:
            # Unreadable: count our own publishes in the window against the default quota.
            used = len(self._ledger.published_since(account, now - WINDOW))
            fresh = _Reading(usage=used, total=self._default_total, read_at=now)
        with self._lock:
            self._readings[account] = fresh
        return fresh
