"""Celery fixtures: a cluster on the real PostgreSQL and Redis (see tests/services.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cluster import Cluster, MakeCluster, queue_name

from igautopost import services
from igautopost.sandbox import SandboxConfig, SandboxServer
from igautopost.storage.sql import SqlStore
from services import need_redis, postgres_schemas, settings_for


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
