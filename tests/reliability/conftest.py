"""Reliability fixtures: a simulated world per test (see reliabilitytest.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from reliabilitytest import START, MakeWorld, SimWorld

from igautopost import services
from igautopost.clock import FakeClock
from igautopost.config import Settings
from igautopost.engine.leases import engine_policy
from igautopost.engine.publisher import Publisher
from igautopost.graph.client import GraphClient
from igautopost.graph.transport import Transport, Urllib3Transport
from igautopost.sandbox import SandboxConfig, SandboxServer
from igautopost.storage.sql import SqlStore
from services import seeded, settings_for


@pytest.fixture
def make_world(tmp_path: Path) -> Iterator[MakeWorld]:
    """``make_world(timeout=..., wrap=..., **sandbox_config)``: the engine on a fresh SQLite
    file and a sandbox, both on one FakeClock, built by `igautopost.services` from the
    world's settings. ``wrap(transport)`` returns the transport the engine's client uses
    (an `Interceptor`, say)."""
    made: list[SimWorld] = []

    def make(
        *,
        timeout: float = 5.0,
        wrap: Callable[[Transport], Transport] | None = None,
        **config: Any,
    ) -> SimWorld:
        clock = FakeClock(START)
        sandbox = SandboxServer(SandboxConfig(**config), clock=clock).start()
        settings = settings_for(
            tmp_path / "data",
            database_url=f"sqlite:///{tmp_path / f'world-{len(made)}.db'}",
            sandbox_url=sandbox.url,
            graph_timeout=timeout,
        )
        store = services.open_store(settings)
        if wrap is None:
            publisher = services.publisher(settings, store, clock=clock)
        else:
            publisher = publisher_through(wrap, settings, store, clock)
        seeded(publisher, 7)
        world = SimWorld(store, clock, sandbox, publisher.client, publisher, settings)
        made.append(world)
        return world

    yield make
    for world in made:
        world.client.close()
        world.sandbox.stop()
        world.store.close()


def publisher_through(
    wrap: Callable[[Transport], Transport], settings: Settings, store: SqlStore, clock: FakeClock
) -> Publisher:
    """`services.publisher`, its client sending through ``wrap(transport)``; wired by hand
    because `services.graph_client` takes no transport."""
    client = GraphClient(
        base_url=settings.graph_base_url,
        instagram_base_url=settings.graph_instagram_base_url,
        version=settings.graph_version,
        timeout=settings.graph_timeout,
        transport=wrap(Urllib3Transport()),
    )
    return Publisher(
        store,
        client,
        clock,
        policy=engine_policy(settings),
        instagram_base_url=settings.graph_instagram_base_url,
    )
