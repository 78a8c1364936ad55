"""The store on PostgreSQL: concurrent claims never overlap, the due query, and a store
that outlives its database connections (a restart, a failover, an administrator)."""

from __future__ import annotations

import gc
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

import igautopost
from igautopost.crypto import TokenCipher
from igautopost.storage.sql import SqlStore
from services import POSTGRES_URL

START = datetime(2030, 5, 1, 12, 0, tzinfo=UTC)
LEASE = timedelta(minutes=2)


def filled(url: str, cipher: TokenCipher, make_post, count: int) -> SqlStore:  # type: ignore[no-untyped-def]
    store = SqlStore.open(url, cipher=cipher)
    items = [
        make_post(publish_at=START.isoformat(), prepare_ahead=0, caption=f"post {i}")
        for i in range(count)
    ]
    igautopost.schedule(store, items, now=START - timedelta(hours=1))
    return store


def test_eight_workers_claiming_at_once_share_the_due_posts_without_overlap(
    pg_database: Callable[[], str], cipher: TokenCipher, make_post
):
    url = pg_database()
    filled(url, cipher, make_post, 400).close()
    stores = [SqlStore.open(url, cipher=cipher) for _ in range(8)]
    claimed: list[list[int]] = [[] for _ in stores]
    barrier = threading.Barrier(len(stores))

    def work(number: int) -> None:
        barrier.wait()
        while batch := stores[number].claim_due(
            owner=f"w{number}", now=START, lease=LEASE, limit=7
        ):
            claimed[number].extend(p.id for p in batch)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(len(stores))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    every = [i for ids in claimed for i in ids]
    assert sorted(every) == list(range(1, 401))  # each once: SKIP LOCKED, no double claim
    assert sum(1 for ids in claimed if ids) > 1
    for store in stores:
        store.close()


def test_the_due_query_returns_due_and_soon_due_free_posts_in_time_order(
    pg_database: Callable[[], str], cipher: TokenCipher, make_post
):
    store = SqlStore.open(pg_database(), cipher=cipher)
    times = [START + timedelta(seconds=s) for s in (3, 0, 0.5, 60)]
    items = [make_post(publish_at=t.isoformat(), prepare_ahead=0) for t in times]
    ids = [p.id for p in igautopost.schedule(store, items, now=START).created]
    store.claim(ids[1], owner="w", now=START, lease=timedelta(seconds=2))

    due = store.due_by(START + timedelta(seconds=1), limit=100)

    assert due == [(ids[2], times[2])]
    # Its lease over, the claimed post is due again from the lease's end.
    assert store.due_by(START + timedelta(seconds=3), limit=1) == [
        (ids[1], START + timedelta(seconds=2))
    ]
    store.close()


# psycopg warns when SQLAlchemy drops a connection the server had already closed.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_the_store_reconnects_after_its_connections_are_cut(
    pg_database: Callable[[], str], cipher: TokenCipher, make_post
):
    name = f"igautopost-test-{uuid.uuid4().hex[:8]}"
    store = filled(f"{pg_database()}&application_name={name}", cipher, make_post, 3)
    assert store.counts() == {"scheduled": 3}
    time.sleep(1.1)  # idle: the pool pings it before use
    cut_connections(name)
    assert store.counts() == {"scheduled": 3}

    cut_connections(name)  # just used: no ping, the first statement fails, then all is well
    outcomes = []
    for _ in range(2):
        try:
            outcomes.append(len(store.claim_due(owner="w", now=START, lease=LEASE, limit=10)))
        except sa.exc.OperationalError:
            outcomes.append(-1)
    assert outcomes in ([3, 0], [-1, 3])
    store.close()
    gc.collect()  # here, where the warning filter applies


def cut_connections(application_name: str) -> None:
    """What a database restart does to a client: every connection of it ends."""
    admin = sa.create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(
            sa.text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE application_name = :name"
            ),
            {"name": application_name},
        )
    admin.dispose()
