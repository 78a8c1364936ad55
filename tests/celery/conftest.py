"""Celery fixtures: a cluster on the real PostgreSQL and Redis (see tests/services.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cluster import Cluster, MakeCluster

from igautopost.crypto import TokenCipher
from igautopost.sandbox import SandboxConfig, SandboxServer
from igautopost.storage.sql import SqlStore
from services import need_redis, postgres_schemas


@pytest.fixture
def make_cluster(tmp_path: Path) -> Iterator[MakeCluster]:
    """``make_cluster(**sandbox_config)``: a store on a fresh PostgreSQL schema, a sandbox and
    a cluster ready to start workers; every worker and the sandbox are stopped afterwards."""
    broker = need_redis()
    made: list[tuple[Cluster, SqlStore]] = []
    with postgres_schemas() as schemas:

        def make(
            *, extra_env: dict[str, str] | None = None, **config: Any
        ) -> tuple[Cluster, SqlStore]:
            config.setdefault("publishing_quota", 100_000)
            config.setdefault("container_cap", 100_000)
            key = TokenCipher.generate_key()
            url = schemas.new()
            store = SqlStore.open(url, cipher=TokenCipher([key]))
            sandbox = SandboxServer(SandboxConfig(**config)).start()
            cluster = Cluster(url, broker, key, sandbox, tmp_path, extra_env=extra_env or {})
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
