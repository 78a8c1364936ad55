"""A small igautopost cluster for tests: `igautopost worker --scheduler celery` processes on
one PostgreSQL schema, one Redis queue of their own, and a sandbox in this process. The
workers read the cluster's `Settings` from their environment; the test opens its store
from the same settings."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

import igautopost
from igautopost import services
from igautopost.config import Settings
from igautopost.sandbox import SandboxConfig, SandboxServer
from igautopost.storage.sql import SqlStore
from services import environment, need_redis, postgres_schemas, settings_for

MakeCluster = Callable[..., "tuple[Cluster, SqlStore]"]
WORKER = str(Path(sys.executable).with_name("igautopost"))
PG_VERSION = "15"


def queue_name() -> str:
    """A Redis queue of the cluster's own: other test runs on the same Redis never see it."""
    return f"igautopost-test-{uuid.uuid4().hex[:8]}"


@dataclass
class Cluster:
    settings: Settings  # the database, broker, queue, key and sandbox every worker runs with
    sandbox: SandboxServer
    workdir: Path
    workers: list[subprocess.Popen[bytes]] = field(default_factory=list)
    extra_env: dict[str, str] = field(default_factory=dict)

    @property
    def queue(self) -> str:
        return self.settings.celery_queue

    def env(self) -> dict[str, str]:
        return {**os.environ, **environment(self.settings), **self.extra_env}

    def start_worker(self, *, threads: int = 16, beat: bool = False) -> subprocess.Popen[bytes]:
        number = len(self.workers)
        command = [WORKER, "worker", "--scheduler", "celery", "--threads", str(threads)]
        with (self.workdir / f"worker-{number}.log").open("wb") as log:
            proc = subprocess.Popen(
                [*command, *(["--beat"] if beat else [])],
                env=self.env(),
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self.workers.append(proc)
        return proc

    def stop(self) -> None:
        for proc in self.workers:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.workers:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def forget_queue(self) -> None:
        """Delete this cluster's queue from Redis: tasks left over must not pile up."""
        import redis

        assert self.settings.broker_url is not None
        client = redis.Redis.from_url(self.settings.broker_url)
        client.delete(self.queue, f"_kombu.binding.{self.queue}")
        client.close()

    def logs(self) -> str:
        return "\n".join(p.read_text(errors="replace")[-3000:] for p in self.workdir.glob("*.log"))

    def report(self) -> dict[str, Any]:
        return self.sandbox.state.with_lock(self.sandbox.state.inspector.publish_report)


# -- the fixture (imported by conftest.py, and by tests/test_services.py) ----------------------


@pytest.fixture
def make_cluster(tmp_path: Path) -> Iterator[MakeCluster]:
    """``make_cluster(extra_env=..., **sandbox_config)``: a store on a fresh PostgreSQL schema
    (opened by `igautopost.services` from the cluster's settings), a sandbox and a cluster
    ready to start workers; every worker and the sandbox are stopped afterwards."""
    broker = need_redis()
    made: list[tuple[Cluster, SqlStore]] = []
    with postgres_schemas() as schemas:

        def make(
            *, extra_env: dict[str, str] | None = None, **config: Any
        ) -> tuple[Cluster, SqlStore]:
            config.setdefault("publishing_quota", 100_000)
            config.setdefault("container_cap", 100_000)
            sandbox = SandboxServer(SandboxConfig(**config)).start()
            settings = settings_for(
                tmp_path / "data",
                database_url=schemas.new(),
                sandbox_url=sandbox.url,
                broker_url=broker,
                celery_queue=queue_name(),
            )
            store = services.open_store(settings)
            cluster = Cluster(settings, sandbox, tmp_path, extra_env=extra_env or {})
            made.append((cluster, store))
            return cluster, store

        try:
            yield make
        finally:
            for cluster, store in made:
                cluster.stop()
                cluster.forget_queue()
                cluster.sandbox.stop()
                store.close()


def posts_over(count: int, first: datetime, seconds: float) -> list[dict[str, Any]]:
    """`count` images due from `first` over `seconds`, on 20 accounts, each caption unique."""
    return [
        {
            "account": str(17841400000000000 + i % 20),
            "access_token": f"cluster-token-{i % 20}",
            "media_type": "image",
            "media_url": f"https://cdn.example.com/cluster/{i}.jpg",
            "caption": f"cluster post {i}",
            "prepare_ahead": 5,
            "publish_at": first + timedelta(seconds=seconds * i / count),
        }
        for i in range(count)
    ]


def schedule(store: SqlStore, items: list[dict[str, Any]]) -> None:
    now = datetime.now(UTC)
    for start in range(0, len(items), 500):
        igautopost.schedule(store, items[start : start + 500], now=now)


def wait_until(condition: Callable[[], bool], timeout: float, every: float = 0.5) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(every)
    return True


def restart_postgres() -> None:
    """Restart the local cluster (the database every worker is connected to)."""
    subprocess.run(
        ["pg_ctlcluster", "--skip-systemctl-redirect", _pg_version(), "main", "restart"],
        check=True,
        capture_output=True,
        timeout=60,
    )


def ensure_postgres_up(url: str, timeout: float = 60) -> None:
    """Start the cluster if a test left it down, and wait until it answers."""
    import sqlalchemy as sa

    probe = sa.create_engine(url, connect_args={"connect_timeout": 2}, poolclass=sa.NullPool)

    def answers() -> bool:
        try:
            with probe.connect() as conn:
                conn.execute(sa.text("SELECT 1"))
            return True
        except sa.exc.OperationalError:
            return False

    if not answers():
        subprocess.run(
            ["pg_ctlcluster", "--skip-systemctl-redirect", _pg_version(), "main", "start"],
            capture_output=True,
            timeout=60,
        )
    assert wait_until(answers, timeout), "PostgreSQL did not come back"
    probe.dispose()


def _pg_version() -> str:
    versions = sorted(os.listdir("/etc/postgresql")) if os.path.isdir("/etc/postgresql") else []
    return versions[-1] if versions else PG_VERSION
