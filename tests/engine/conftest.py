"""Engine fixtures; each returns a factory (see enginetest.py for `World`)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from enginetest import World, WorldFactory, build_world, close_world

from igautopost.crypto import TokenCipher
from igautopost.engine.publisher import Publisher
from igautopost.scheduler import LocalScheduler
from services import postgres_schemas


@pytest.fixture
def make_world() -> Iterator[WorldFactory]:
    """Build a `World` in memory: ``make_world(policy=..., timeout=..., start=...,
    **sandbox_config)``: an InMemoryStore, the sandbox answering in process, a FakeClock."""
    worlds: list[World] = []
    cipher = TokenCipher([TokenCipher.generate_key()])

    def make(**options: Any) -> World:
        worlds.append(build_world(db_url=None, cipher=cipher, **options))
        return worlds[-1]

    yield make
    for world in worlds:
        close_world(world)


@pytest.fixture(params=["sqlite", "postgresql"])
def new_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[[], str]]:
    """A fresh SQLite file, or a fresh PostgreSQL schema (skipped when PostgreSQL is
    unreachable, failed under CI=true: see tests/services.py)."""
    if request.param == "sqlite":
        files = iter(range(1_000))
        yield lambda: f"sqlite:///{tmp_path / f'engine-{next(files)}.db'}"
        return
    with postgres_schemas() as schemas:
        yield schemas.new


@pytest.fixture
def make_sql_world(new_database: Callable[[], str]) -> Iterator[WorldFactory]:
    """Build a `World` on a SqlStore (SQLite and PostgreSQL) and the HTTP SandboxServer, for
    scenarios that need a database or a socket: ``make_sql_world(live=True, ...)`` runs on
    the real clock, without a Simulation (run it with `make_scheduler`)."""
    worlds: list[World] = []
    cipher = TokenCipher([TokenCipher.generate_key()])

    def make(**options: Any) -> World:
        worlds.append(build_world(db_url=new_database(), cipher=cipher, **options))
        return worlds[-1]

    yield make
    for world in worlds:
        close_world(world)


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
