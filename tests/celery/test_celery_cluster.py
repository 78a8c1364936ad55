"""Celery workers in their own processes on the real PostgreSQL and Redis publish every post
exactly once: in a clean run, and with a worker killed and the database restarted mid-run."""

from __future__ import annotations

import signal
import time
from datetime import UTC, datetime, timedelta

import pytest
from cluster import (
    Cluster,
    MakeCluster,
    ensure_postgres_up,
    posts_over,
    restart_postgres,
    schedule,
    wait_until,
)

from igautopost import PostQuery
from igautopost.storage.sql import SqlStore
from services import POSTGRES_URL

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]


def assert_each_published_once(cluster: Cluster, store: SqlStore, count: int) -> None:
    counts = store.counts()
    assert counts == {"published": count}, (counts, cluster.logs())
    report = cluster.report()
    assert report["duplicates"] == [], report["duplicates"][:5]
    published = report["publishes"]
    assert len(published) == count
    assert len({p["caption"] for p in published}) == count
    assert all(len(ids) == 1 for ids in report["by_container"].values())


def test_three_workers_and_a_sweeper_publish_2000_posts_due_within_a_minute_once(
    make_cluster: MakeCluster,
) -> None:
    cluster, store = make_cluster(latency={"*": 0.01})
    first = datetime.now(UTC) + timedelta(seconds=10)
    schedule(store, posts_over(2000, first, seconds=60))
    cluster.start_worker(beat=True)
    cluster.start_worker()
    cluster.start_worker()

    done = wait_until(lambda: store.counts().get("published", 0) == 2000, timeout=120)

    assert done, (store.counts(), cluster.logs())
    assert_each_published_once(cluster, store, 2000)
    lateness = [(p.published_at - p.publish_at).total_seconds() for p in store.list(PostQuery())]
    # Nearly all within milliseconds; a post whose task was lost waits for a resend.
    assert max(lateness) < 10.0, sorted(lateness)[-10:]


def test_a_killed_worker_and_a_database_restart_lose_and_double_nothing(
    make_cluster: MakeCluster,
) -> None:
    cluster, store = make_cluster(
        latency={"*": 0.03},
        extra_env={"IGAUTOPOST_LEASE_SECONDS": "8", "IGAUTOPOST_GRAPH_TIMEOUT": "4"},
    )
    first = datetime.now(UTC) + timedelta(seconds=8)
    schedule(store, posts_over(600, first, seconds=30))
    cluster.start_worker(beat=True)
    victim = cluster.start_worker()
    cluster.start_worker()
    try:
        time.sleep(max((first - datetime.now(UTC)).total_seconds(), 0) + 8)
        victim.send_signal(signal.SIGKILL)  # mid-run: it holds leases and prefetched tasks
        time.sleep(6)
        restart_postgres()
        done = wait_until(lambda: _published(store) == 600, timeout=90)
    finally:
        ensure_postgres_up(POSTGRES_URL)

    assert victim.wait() == -signal.SIGKILL
    assert done, (store.counts(), cluster.logs())
    assert_each_published_once(cluster, store, 600)


def _published(store: SqlStore) -> int:
    try:
        return store.counts().get("published", 0)
    except Exception:  # the database is restarting
        return -1
