"""Benchmarks of the Celery scheduler on PostgreSQL and Redis (issue 7's targets).

Workers are `igautopost worker --scheduler celery` processes (the first with --beat, the
sweeper); the sandbox runs in a process of its own; the store is a fresh schema on the
PostgreSQL server, dropped afterwards. Lateness is the sandbox's arrival time of each
publish call minus the post's publish time.

  burst       2,000 images due in the same second, 50 ms per Graph call, 4 workers of
              500 threads, posts staged 3 s ahead (deploy.md: sizing for bursts): all
              published within 5 s, publish-call lateness p99 <= 1.5 s
  throughput  2,000 images due now (whole lifecycle: container, status, publish, follow-up),
              no latency, with 1, 2 and 4 worker processes: posts published per second
  dueq        1,000,000 stored posts of which 100 are due: the sweeper's due query, and a
              claim of the due posts, on PostgreSQL

Run: .venv/bin/python benchmarks/celery_bench.py [burst throughput dueq]
Environment: IGAUTOPOST_TEST_POSTGRES_URL, IGAUTOPOST_TEST_REDIS_URL (defaults: localhost);
CELERY_BENCH_THREADS (burst: step threads per worker, default 500); the workers see every
IGAUTOPOST_* variable (burst: IGAUTOPOST_PUBLISH_AHEAD_SECONDS defaults to 3 here).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from engine_bench import pct, posts_due, publish_lateness, sandbox
from scale_bench import fill

import igautopost
from igautopost.crypto import TokenCipher
from igautopost.storage.sql import SqlStore

POSTGRES = os.environ.get(
    "IGAUTOPOST_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
REDIS = os.environ.get("IGAUTOPOST_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
WORKER = str(Path(sys.executable).with_name("igautopost"))


@contextmanager
def schema() -> Iterator[str]:
    """A throwaway PostgreSQL schema; its URL."""
    name = f"bench_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(POSTGRES, isolation_level="AUTOCOMMIT", poolclass=sa.NullPool)
    with admin.connect() as conn:
        conn.execute(sa.text(f"CREATE SCHEMA {name}"))
    try:
        yield f"{POSTGRES}?options=-csearch_path%3D{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f"DROP SCHEMA {name} CASCADE"))


@contextmanager
def workers(
    count: int, db_url: str, key: str, graph_url: str, threads: int, **settings: str
) -> Iterator[list[subprocess.Popen[bytes]]]:
    queue = f"bench-{uuid.uuid4().hex[:8]}"
    env = {
        **settings,
        **os.environ,
        "IGAUTOPOST_DATABASE_URL": db_url,
        "IGAUTOPOST_BROKER_URL": REDIS,
        "IGAUTOPOST_SECRET_KEY": key,
        "IGAUTOPOST_GRAPH_BASE_URL": graph_url,
        "IGAUTOPOST_CELERY_QUEUE": queue,
        "IGAUTOPOST_DATA_DIR": tempfile.mkdtemp(prefix="igautopost-bench-"),
    }
    command = [WORKER, "worker", "--scheduler", "celery", "--threads", str(threads)]
    procs = [
        subprocess.Popen(
            command + (["--beat"] if number == 0 else []),
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=open(f"{LOGS}/worker-{number}.log", "w") if LOGS else subprocess.DEVNULL,  # noqa: SIM115
        )
        for number in range(count)
    ]
    try:
        yield procs
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
        import redis

        redis.Redis.from_url(REDIS).delete(queue, f"_kombu.binding.{queue}")


def wait_published(store: SqlStore, count: int, timeout: float) -> float:
    start = time.monotonic()
    while store.counts().get("published", 0) < count:
        if time.monotonic() - start > timeout:
            raise SystemExit(f"timed out: {store.counts()}")
        time.sleep(0.1)
    return time.monotonic() - start


LOGS = os.environ.get("CELERY_BENCH_LOGS")  # a directory for the workers' logs
BURST_THREADS = int(os.environ.get("CELERY_BENCH_THREADS", "500"))
BURST_AHEAD = os.environ.get("IGAUTOPOST_PUBLISH_AHEAD_SECONDS", "3")


def peak_rss_mb(proc: subprocess.Popen[bytes]) -> float:
    """A running process's peak resident memory (VmHWM), in MB."""
    for line in Path(f"/proc/{proc.pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def burst(count: int = 2000, processes: int = 4, threads: int = BURST_THREADS) -> dict[str, Any]:
    key = TokenCipher.generate_key()
    with schema() as url, sandbox(latency={"*": 0.05}) as graph_url:
        store = SqlStore.open(url, cipher=TokenCipher([key]))
        now = datetime.now(UTC)
        publish_at = (now + timedelta(seconds=40)).replace(microsecond=0)
        igautopost.schedule(store, posts_due(count, publish_at, prepare_ahead=30), now=now)
        ahead = {"IGAUTOPOST_PUBLISH_AHEAD_SECONDS": BURST_AHEAD}
        with workers(processes, url, key, graph_url, threads, **ahead) as procs:
            wait_published(store, count, timeout=120)
            all_stored = datetime.now(UTC)  # every post stored as published (0.1 s polls)
            rss = [peak_rss_mb(proc) for proc in procs]
        published = [p.published_at for p in store.list(igautopost.PostQuery())]
        lateness = publish_lateness(graph_url, store)
        store.close()
        return {
            "posts": count,
            "processes": processes,
            "threads": threads,
            "publish_ahead_s": float(BURST_AHEAD),
            "latency_ms": 50,
            "publishes": len(lateness),
            "p50_ms": round(pct(lateness, 50), 1),
            "p99_ms": round(pct(lateness, 99), 1),
            "max_ms": round(lateness[-1], 1),
            "all_published_after_s": round((all_stored - publish_at).total_seconds(), 2),
            "last_call_sent_after_s": round(
                (max(p for p in published if p) - publish_at).total_seconds(), 3
            ),
            "worker_peak_rss_mb": [round(mb) for mb in rss],
        }


def throughput(processes: int, count: int = 2000, threads: int = 20) -> dict[str, Any]:
    key = TokenCipher.generate_key()
    with schema() as url, sandbox() as graph_url:
        store = SqlStore.open(url, cipher=TokenCipher([key]))
        now = datetime.now(UTC)
        due = now + timedelta(seconds=8)
        igautopost.schedule(store, posts_due(count, due, prepare_ahead=0), now=now)
        with workers(processes, url, key, graph_url, threads):
            time.sleep(max((due - datetime.now(UTC)).total_seconds(), 0))
            seconds = wait_published(store, count, timeout=300)
        store.close()
        return {
            "posts": count,
            "processes": processes,
            "threads": threads,
            "seconds": round(seconds, 2),
            "posts_per_s": round(count / seconds, 1),
        }


def due_query(total: int = 1_000_000, due: int = 100) -> dict[str, Any]:
    cipher = TokenCipher([TokenCipher.generate_key()])
    with schema() as url:
        store = SqlStore.open(url, cipher=cipher)
        now = datetime.now(UTC)
        started = time.monotonic()
        fill(store, total, due, now, cipher)
        with store.engine.begin() as conn:
            conn.execute(sa.text("ANALYZE posts"))
        filled_s = time.monotonic() - started
        sweeps, claims = [], []
        for run in range(7):
            moment = datetime.now(UTC)
            start = time.perf_counter()
            found = store.due_by(moment + timedelta(seconds=1), limit=20_000)
            sweeps.append((time.perf_counter() - start) * 1000)
            assert len(found) >= due, len(found)  # the fill's backlog has a few due too
            start = time.perf_counter()
            taken = store.claim_due(
                owner=f"bench-{run}", now=moment, lease=timedelta(minutes=2), limit=100
            )
            store.next_due(moment)
            claims.append((time.perf_counter() - start) * 1000)
            assert len(taken) == min(len(found), 100)
            with store.engine.begin() as conn:
                conn.execute(sa.text("UPDATE posts SET lease_owner = NULL, lease_until = NULL"))
        store.close()
        return {
            "stored": total,
            "due": len(found),
            "fill_s": round(filled_s, 1),
            "due_query_ms_median": round(statistics.median(sweeps), 2),
            "due_query_ms_max": round(max(sweeps), 2),
            "claim_and_next_due_ms_median": round(statistics.median(claims), 2),
        }


def main() -> None:
    names = sys.argv[1:] or ["burst", "throughput", "dueq"]
    for name in names:
        if name == "burst":
            print(json.dumps({"burst": burst()}), flush=True)
        elif name == "throughput":
            for processes in (1, 2, 4):
                print(json.dumps({"throughput": throughput(processes)}), flush=True)
        elif name == "dueq":
            print(json.dumps({"dueq": due_query()}), flush=True)
        else:
            raise SystemExit(f"unknown benchmark {name!r}")


if __name__ == "__main__":
    main()
