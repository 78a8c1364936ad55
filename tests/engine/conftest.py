"""Engine fixtures; each returns a factory (see enginetest.py for `World`)."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from enginetest import START, World, WorldFactory

from igautopost.clock import FakeClock, SystemClock
from igautopost.crypto import TokenCipher
from igautopost.engine.policy import EnginePolicy
from igautopost.engine.publisher import Publisher
from igautopost.engine.simulation import Simulation
from igautopost.graph.client import GraphClient
from igautopost.sandbox import SandboxConfig, SandboxServer
from igautopost.scheduler import LocalScheduler
from igautopost.storage.sql import SqlStore
from services import postgres_schemas


@pytest.fixture(params=["sqlite", "postgresql"])
def new_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[[], str]]:
    """Every scenario runs on both stores: a fresh SQLite file, or a fresh PostgreSQL schema
    (skipped when PostgreSQL is unreachable, failed under CI=true: see tests/services.py)."""
    if request.param == "sqlite":
        files = iter(range(1_000))
        yield lambda: f"sqlite:///{tmp_path / f'engine-{next(files)}.db'}"
        return
    with postgres_schemas() as schemas:
        yield schemas.new


@pytest.fixture
def make_world(new_database: Callable[[], str]) -> Iterator[WorldFactory]:
    """Build a `World`: ``make_world(policy=..., timeout=..., start=..., **sandbox_config)``.

    ``live=True``: the real SystemClock for the sandbox and the engine, and no Simulation (run
    it with `make_scheduler`)."""
    worlds: list[World] = []
    cipher = TokenCipher([TokenCipher.generate_key()])

    def make(
        *,
        policy: EnginePolicy | None = None,
        timeout: float = 5.0,
        start: datetime = START,
        owner: str = "worker-a",
        live: bool = False,
        **config: Any,
    ) -> World:
        clock: FakeClock | SystemClock = SystemClock() if live else FakeClock(start)
        sandbox = SandboxServer(SandboxConfig(**config), clock=clock).start()
        client = GraphClient(base_url=sandbox.url, timeout=timeout)
        db_url = new_database()
        store = SqlStore.open(db_url, cipher=cipher)
        policy = policy or EnginePolicy()
        publisher = Publisher(
            store, client, clock, policy=policy, owner=owner, rng=random.Random(7)
        )
        sim = None if isinstance(clock, SystemClock) else Simulation(publisher, clock)
        world = World(store, clock, sandbox, client, publisher, sim, policy, db_url, cipher)
        worlds.append(world)
        return world

    yield make
    for world in worlds:
        world.client.close()
        world.sandbox.stop()
        for store in [world.store, *world.extra_stores]:
            store.close()


@pytest.fixture
def make_scheduler() -> Iterator[Callable[..., LocalScheduler]]:
    """Start a LocalScheduler for a publisher: ``make_scheduler(publisher, workers=8)``;
    stopped at teardown if the test did not stop it."""
    started: list[LocalScheduler] = []

    def make(publisher: Publisher, **options: Any) -> LocalScheduler:
        scheduler = LocalScheduler(publisher, **options)
        scheduler.start()
        started.append(scheduler)
        return scheduler

    yield make
    for scheduler in started:
        scheduler.stop(timeout=10)
