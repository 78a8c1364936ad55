"""The crash test: workers publishing 300 posts due over 30 s against a sandbox that fails
about 10 % of the calls (errors, lost requests, lost answers) are SIGKILLed at 5 seeded
random moments and restarted. At the end every post is published exactly once (the
sandbox's media, by caption), no lease is left, and every event log follows the lifecycle.

Run on SQLite with the local scheduler (one worker, restarted after each kill) and on
PostgreSQL with Celery and a Redis broker (two workers with the sweeper; the killed one is
restarted). ``IGAUTOPOST_CRASH_SEED`` replays another schedule of kills and faults.
"""

from __future__ import annotations

import os
import random
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from crashtest import (
    FAULTS,
    Figures,
    Workers,
    crash_posts,
    figures_of,
    kill_moments,
    leased,
    ready,
    schedule_all,
    store_problems,
    wait_settled,
)
from reliabilitytest import wait_until

from igautopost import services
from igautopost.clock import SystemClock, sleep_until
from igautopost.models import Post
from igautopost.sandbox import SandboxConfig, SandboxServer
from igautopost.storage.sql import SqlStore
from services import environment, need_redis, postgres_schemas, settings_for

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]

POSTS, SPREAD, KILLS = 300, 30.0, 5
SEED = int(os.environ.get("IGAUTOPOST_CRASH_SEED", "20261201"))
LEAD = timedelta(seconds=8)  # from scheduling to the first publish time: the workers start
SETTLE = timedelta(seconds=45)  # after the last publish time, for retries and takeovers
GRAPH_TIMEOUT = 3.0
LEASE_SECONDS = 10.0  # Celery's lease (the local worker's is the policy's)


@dataclass
class Run:
    store: SqlStore
    sandbox: SandboxServer
    workers: Workers
    posts: list[Post]


def crash_and_restart(run: Run, rng: random.Random) -> tuple[int, int]:
    """SIGKILL a running worker at each seeded moment (once it has started), start another;
    the kills, and the posts leased at those moments."""
    first, last = run.posts[0].publish_at, run.posts[-1].publish_at
    moments = kill_moments(rng, first - timedelta(seconds=4), last + timedelta(seconds=2), KILLS)
    held = 0
    for moment in moments:
        victim = rng.choice(run.workers.running)
        newest = run.workers.logdir / f"worker-{run.workers.started - 1}.log"
        assert wait_until(lambda path=newest: ready(path), timeout=60), run.workers.logs()
        sleep_until(SystemClock(), moment)
        held += leased(run.store)
        run.workers.kill(victim)
        run.workers.start()
    return len(moments), held


def finish(run: Run, kills: tuple[int, int], started: float) -> Figures:
    deadline = run.posts[-1].publish_at + SETTLE
    settled = wait_settled(run.store, run.workers, len(run.posts), deadline)
    codes = run.workers.stop()
    figures = figures_of(run.sandbox, run.posts, run.store, kills)
    figures.seconds = round(time.monotonic() - started, 1)
    print(f"\ncrash test figures (seed {SEED}): {figures.line()}")
    assert settled, (run.store.counts(), figures.line(), run.workers.logs())
    assert codes == [0] * len(codes), ("a worker did not stop cleanly", codes)
    return figures


def assert_exactly_once(run: Run, figures: Figures) -> None:
    assert (figures.published, figures.lost, figures.duplicates) == (POSTS, 0, 0), figures
    assert figures.rejected_repeats == 0, "a published container was sent to publish again"
    assert figures.double_comments == 0
    assert figures.media_id_unknown == 0, "a lost publish answer's media id is found again"
    assert figures.faults > 0.05 * figures.calls, "about a tenth of the calls misbehaved"
    assert figures.leased_at_kills > 0, "the kills hit work in flight"
    assert store_problems(run.sandbox, run.store, run.posts) == []


def start_run(tmp_path: Path, arguments: list[str], database_url: str, **settings: str) -> Run:
    """The sandbox, the posts scheduled in a store opened by `igautopost.services`, and the
    workers, whose environment carries the same settings (the store's key among them)."""
    sandbox = SandboxServer(
        SandboxConfig(seed=SEED, faults=FAULTS, publishing_quota=1000, container_cap=10_000)
    ).start()
    run_settings = settings_for(
        tmp_path / "data",
        database_url=database_url,
        sandbox_url=sandbox.url,
        graph_timeout=GRAPH_TIMEOUT,
        lease_seconds=LEASE_SECONDS,
        **settings,
    )
    store = services.open_store(run_settings)
    first = datetime.now(UTC) + LEAD
    posts = schedule_all(store, crash_posts(POSTS, first, SPREAD))
    workers = Workers(arguments, {**environment(run_settings), "NO_COLOR": "1"}, tmp_path)
    return Run(store, sandbox, workers, posts)


@pytest.fixture
def sqlite_run(tmp_path: Path) -> Iterator[Run]:
    url = f"sqlite:///{tmp_path / 'crash.db'}"
    run = start_run(tmp_path, ["--threads", "16"], url)
    yield run
    run.workers.stop()
    run.sandbox.stop()
    run.store.close()


@pytest.fixture
def celery_run(tmp_path: Path) -> Iterator[Run]:
    broker = need_redis()
    queue = f"igautopost-crash-{uuid.uuid4().hex[:8]}"
    with postgres_schemas() as schemas:
        arguments = ["--scheduler", "celery", "--beat", "--threads", "16"]
        run = start_run(tmp_path, arguments, schemas.new(), broker_url=broker, celery_queue=queue)
        try:
            yield run
        finally:
            run.workers.stop()
            run.sandbox.stop()
            run.store.close()
            forget_queue(broker, queue)


def forget_queue(broker: str, queue: str) -> None:
    import redis

    client = redis.Redis.from_url(broker)
    client.delete(queue, f"_kombu.binding.{queue}")
    client.close()


def test_sqlite_local_worker_killed_five_times_publishes_every_post_once(sqlite_run: Run) -> None:
    started = time.monotonic()
    sqlite_run.workers.start()

    kills = crash_and_restart(sqlite_run, random.Random(SEED))

    figures = finish(sqlite_run, kills, started)
    assert_exactly_once(sqlite_run, figures)


def test_postgres_celery_workers_killed_five_times_publish_every_post_once(
    celery_run: Run,
) -> None:
    started = time.monotonic()
    celery_run.workers.start()
    celery_run.workers.start()

    kills = crash_and_restart(celery_run, random.Random(SEED))

    figures = finish(celery_run, kills, started)
    assert_exactly_once(celery_run, figures)
