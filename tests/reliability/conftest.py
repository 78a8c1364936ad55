"""Reliability fixtures: a simulated world per test (see reliabilitytest.py)."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from reliabilitytest import START, MakeWorld, SimWorld

from igautopost.clock import FakeClock
from igautopost.crypto import TokenCipher
from igautopost.engine.policy import EnginePolicy
from igautopost.engine.publisher import Publisher
from igautopost.graph.client import GraphClient
from igautopost.graph.transport import Transport, Urllib3Transport
from igautopost.sandbox import SandboxConfig, SandboxServer
from igautopost.storage.sql import SqlStore


@pytest.fixture
def make_world(tmp_path: Path) -> Iterator[MakeWorld]:
    """``make_world(policy=..., timeout=..., wrap=..., **sandbox_config)``: the engine on a
    fresh SQLite file and a sandbox, both on one FakeClock. ``wrap(transport)`` returns the
    transport the engine's client uses (an `Interceptor`, say)."""
    made: list[SimWorld] = []

    def make(
        *,
        policy: EnginePolicy | None = None,
        timeout: float = 5.0,
        wrap: Callable[[Transport], Transport] | None = None,
        **config: Any,
    ) -> SimWorld:
        clock = FakeClock(START)
        sandbox = SandboxServer(SandboxConfig(**config), clock=clock).start()
        transport: Transport = Urllib3Transport()
        client = GraphClient(
            base_url=sandbox.url, timeout=timeout, transport=wrap(transport) if wrap else transport
        )
        cipher = TokenCipher([TokenCipher.generate_key()])
        store = SqlStore.open(f"sqlite:///{tmp_path / f'world-{len(made)}.db'}", cipher=cipher)
        policy = policy or EnginePolicy()
        publisher = Publisher(
            store, client, clock, policy=policy, owner="sim-worker", rng=random.Random(7)
        )
        world = SimWorld(store, clock, sandbox, client, publisher, policy)
        made.append(world)
        return world

    yield make
    for world in made:
        world.client.close()
        world.sandbox.stop()
        world.store.close()
