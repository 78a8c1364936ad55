"""Publishing slots are held in the database: workers on separate connections (as separate
processes are) never hold more slots of one account than its quota leaves, on SQLite and on
PostgreSQL (issue 12: "reserve slots when claiming")."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import igautopost
from igautopost.crypto import TokenCipher
from igautopost.models import Status
from igautopost.storage import QuotaSlot
from igautopost.storage.sql import SqlStore

START = datetime(2030, 5, 1, 12, 0, tzinfo=UTC)
HOLD = timedelta(minutes=5)


def _stored(url: str, cipher: TokenCipher, make_post, count: int) -> list[int]:  # type: ignore[no-untyped-def]
    store = SqlStore.open(url, cipher=cipher)
    try:
        items = [
            make_post(publish_at=START.isoformat(), prepare_ahead=0, caption=f"slot {i}")
            for i in range(count)
        ]
        result = igautopost.schedule(store, items, now=START - timedelta(hours=1))
        return [post.id for post in result.created]
    finally:
        store.close()


def test_workers_reserving_at_once_never_hold_more_slots_than_are_left(
    any_database: Callable[[], str], cipher: TokenCipher, make_post
):
    url = any_database()
    ids = _stored(url, cipher, make_post, 12)
    stores = [SqlStore.open(url, cipher=cipher) for _ in range(4)]
    account = stores[0].get(ids[0]).account
    slot = QuotaSlot(account, usage=2, total=7, read_at=START - timedelta(minutes=1))
    granted: list[int] = []
    barrier = threading.Barrier(len(ids))

    def reserve(number: int) -> None:
        store = stores[number % len(stores)]
        barrier.wait()
        if store.reserve_quota(
            ids[number], slot, owner=f"w{number}", now=START, until=START + HOLD
        ):
            granted.append(ids[number])

    threads = [threading.Thread(target=reserve, args=(n,)) for n in range(len(ids))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    try:
        assert len(granted) == 5, granted  # 7 - 2 used when the quota was read
    finally:
        for store in stores:
            store.close()


def test_publishes_since_the_read_and_live_holds_count_expired_and_freed_ones_do_not(
    any_database: Callable[[], str], cipher: TokenCipher, make_post
):
    url = any_database()
    ids = _stored(url, cipher, make_post, 5)
    store = SqlStore.open(url, cipher=cipher)
    try:
        account = store.get(ids[0]).account
        read_at = START - timedelta(minutes=10)
        slot = QuotaSlot(account, usage=0, total=3, read_at=read_at)
        store.transition(
            ids[0],
            Status.PUBLISHED,
            now=START,
            changes={"published_at": START - timedelta(minutes=1), "media_id": "1790"},
        )

        def reserve(post_id: int, now: datetime = START) -> bool:
            return store.reserve_quota(post_id, slot, owner="w", now=now, until=now + HOLD)

        assert reserve(ids[1]) and reserve(ids[2])  # 1 published since the read + 2 held
        assert not reserve(ids[3]), "the quota is full"
        store.free_quota(ids[1])
        assert reserve(ids[3]), "a freed slot is free"
        later = START + HOLD + timedelta(seconds=1)
        assert reserve(ids[4], later), "holds past their time are not counted"
        earlier_read = QuotaSlot(account, usage=0, total=1, read_at=START)
        assert (
            store.reserve_quota(ids[1], earlier_read, owner="w", now=later, until=later + HOLD)
            is False
        ), "post 5 holds the only slot"
    finally:
        store.close()
