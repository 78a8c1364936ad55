"""The account's publishing quota: read from the API, cached, and kept current by a local ledger.

Meta's pages disagree on the number (100, 50, 25 posts per moving 24 h), so it is read at run
time (`GET /{ig-user-id}/content_publishing_limit`) and cached; publishes since the read are
counted locally. When the quota is used up, the post waits until the oldest publish of the
window is 24 h old, as recorded in the store.

A step takes a slot (`reserve`) before its publish call and gives it back after (`settle`).
The slot is held in the store (`ClaimStore.reserve_quota`), counted in one transaction with
the slots of every other process and the publishes since the read: with two slots left, the
third and fourth of four posts due in the same second wait instead of calling, however many
workers took them.

A quota that cannot be read is unknown, not used up: the read is tried again, and meanwhile
posts are published; Instagram itself refuses a publish beyond the limit (code 9, subcode
2207042), which `mark_exhausted` records.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from ..graph import GraphClient, GraphError
from ..storage.protocols import QuotaSlot

WINDOW = timedelta(hours=24)
UNKNOWN_WAIT = timedelta(minutes=15)  # when the store knows no publish that will age out
READ_TRIES = 2  # reads of the limit in a row before taking the quota as unknown for now
UNKNOWN_FOR = timedelta(minutes=1)  # how long an unknown quota is left unread
QUOTA_SLOT = "quota_held_until"  # the column a step clears in its own write to give a slot back


class Ledger(Protocol):
    """What the tracker needs of the store (a `ClaimStore` is one)."""

    def published_since(self, account: str, since: datetime) -> list[datetime]: ...

    def reserve_quota(
        self, post_id: int, slot: QuotaSlot, *, owner: str, now: datetime, until: datetime
    ) -> bool: ...

    def free_quota(self, post_id: int) -> None: ...


@dataclass
class _Reading:
    usage: int | None  # None: the API could not be read
    total: int
    read_at: datetime

    def fresh(self, now: datetime, cache_for: timedelta) -> bool:
        life = cache_for if self.usage is not None else min(cache_for, UNKNOWN_FOR)
        return now - self.read_at < life


class QuotaTracker:
    """Thread-safe per-account quota readings for one process; the slots are in the store."""

    def __init__(
        self, client: GraphClient, ledger: Ledger, *, cache_for: timedelta, default_total: int
    ) -> None:
        self._client = client
        self._ledger = ledger
        self._cache_for = cache_for
        self._default_total = default_total
        self._readings: dict[str, _Reading] = {}
        self._lock = threading.Lock()

    def read_ahead(self, account: str, token: str, now: datetime, *, host: str | None) -> None:
        """Read the quota before the publish time, so that the publish step finds it cached.
        `host` is the API host `token`'s calls go to (None: the client's default)."""
        self._reading(account, token, now, host=host)

    def reserve(
        self,
        post_id: int,
        account: str,
        token: str,
        now: datetime,
        *,
        owner: str,
        until: datetime,
        host: str | None,
    ) -> datetime | None:
        """Hold a slot for post `post_id`'s publish call until `until` (None), or say when
        one should be free again. Every None must be followed by one `settle`. An unknown
        quota holds nothing and lets the call go (Instagram refuses beyond the limit)."""
        reading = self._reading(account, token, now, host=host)
        if reading.usage is None:
            return None
        slot = QuotaSlot(account, reading.usage, reading.total, reading.read_at)
        if self._ledger.reserve_quota(post_id, slot, owner=owner, now=now, until=until):
            return None
        return self.free_at(account, now)

    def settle(self, post_id: int) -> None:
        """Give back the slot `reserve` held, when the step saves nothing that would (a step
        that saves clears `QUOTA_SLOT` in its own write); a publish that went through counts
        as published."""
        self._ledger.free_quota(post_id)

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
