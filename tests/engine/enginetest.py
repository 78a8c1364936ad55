"""Engine test helpers: `World`, one scenario of the engine and a sandbox on one FakeClock.

`make_world(...)` builds one scenario in memory: an `InMemoryStore`, the sandbox's state
answering a `MockTransport` in the caller's thread (`sandbox.inprocess`), a GraphClient, a
Publisher and a Simulation on the world's FakeClock. `make_sql_world(...)` builds the same on
a SqlStore (a fresh SQLite file or PostgreSQL schema) and the HTTP SandboxServer, for what
needs a database or a socket: several processes, SQL itself, a live LocalScheduler. Tests
state the sandbox config, policy and posts that matter to them, then assert on the store
and on the sandbox's inspection.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import igautopost
from igautopost.clock import FakeClock, SystemClock
from igautopost.crypto import TokenCipher
from igautopost.engine.policy import EnginePolicy
from igautopost.engine.publisher import Publisher
from igautopost.engine.simulation import Simulation
from igautopost.graph.client import GraphClient, proxy_for
from igautopost.graph.transport import MockTransport, Transport, Urllib3Transport
from igautopost.models import Event, Post, Status
from igautopost.sandbox import SandboxConfig, SandboxServer, SandboxState
from igautopost.sandbox.inprocess import sandbox_handler
from igautopost.sandbox.inspect import CallRecord, PublishRecord
from igautopost.storage import InMemoryStore, Store
from igautopost.storage.sql import SqlStore

ACCOUNT = "17841400000000001"
TOKEN = "EAAB-engine-test-token"
START = datetime(2030, 3, 4, 8, 0, tzinfo=UTC)
IN_PROCESS_URL = "http://sandbox.in-process"  # never resolved: the MockTransport answers
SANDBOX_TIME = "%Y-%m-%dT%H:%M:%S+0000"


def sandbox_time(value: datetime | str) -> datetime:
    """A sandbox record's time as an aware UTC datetime (a datetime, ISO text or Meta's format)."""
    if isinstance(value, datetime):
        return value.astimezone(UTC)
    try:
        return datetime.strptime(value, SANDBOX_TIME).replace(tzinfo=UTC)
    except ValueError:
        return datetime.fromisoformat(value).astimezone(UTC)


def wall_time(record: CallRecord) -> datetime:
    """When the call arrived at the sandbox, in real time."""
    return sandbox_time(record.wall_time)


@dataclass
class World:
    """One scenario: the engine and the sandbox on a shared FakeClock.

    In memory (`make_world`), `sandbox` and `db_url` are None: the sandbox is its `state`,
    answering in process. On SQL (`make_sql_world`), `sandbox` is the HTTP server."""

    store: Any  # InMemoryStore or SqlStore: a `Store`, and what tests inspect of each
    clock: FakeClock | SystemClock  # SystemClock: a live world, run by a LocalScheduler
    state: SandboxState
    base_url: str
    client: GraphClient
    publisher: Publisher
    sim: Simulation | None
    policy: EnginePolicy
    cipher: TokenCipher
    sandbox: SandboxServer | None = None
    db_url: str | None = None
    extra_stores: list[SqlStore] = field(default_factory=list)

    def transport(self) -> Transport:
        """A new transport to this world's sandbox (in process, or over HTTP)."""
        if self.sandbox is None:
            return MockTransport(sandbox_handler(self.state))
        return Urllib3Transport(proxy=proxy_for(self.base_url))

    def new_client(
        self, *, timeout: float = 5.0, transport: Transport | None = None
    ) -> GraphClient:
        return GraphClient(
            base_url=self.base_url, timeout=timeout, transport=transport or self.transport()
        )

    def another_worker(self, owner: str, *, own_store: bool = True) -> Publisher:
        """A second Publisher (another owner); on SQL, on its own SqlStore on the same
        database (another process), unless not `own_store`."""
        store: Store = self.store
        if own_store and self.db_url is not None:
            store = SqlStore.open(self.db_url, cipher=self.cipher)
            self.extra_stores.append(store)
        return Publisher(
            store,
            self.client,
            self.clock,
            policy=self.policy,
            owner=owner,
            rng=random.Random(owner),
        )

    # -- posts ---------------------------------------------------------------------------

    def post_data(self, **overrides: Any) -> dict[str, Any]:
        """A valid image post due in an hour; overrides replace keys."""
        data: dict[str, Any] = {
            "account": ACCOUNT,
            "access_token": TOKEN,
            "media_type": "image",
            "media_url": "https://cdn.example.com/media/coffee.jpg",
            "caption": "Morning coffee",
            "publish_at": self.clock.now() + timedelta(hours=1),
        }
        data.update(overrides)
        return data

    def schedule(self, **overrides: Any) -> Post:
        result = igautopost.schedule(
            self.store, [self.post_data(**overrides)], now=self.clock.now(), leads=self.policy.leads
        )
        assert result.created, result
        return result.created[0]

    def get(self, post: Post | int) -> Post:
        return self.store.get(post if isinstance(post, int) else post.id)

    def events(self, post: Post | int) -> list[Event]:
        return self.store.events(post if isinstance(post, int) else post.id)

    def transitions(self, post: Post | int) -> list[tuple[Status | None, Status]]:
        """The status changes of a post's event log (steps that kept the status left out)."""
        return [
            (e.from_status, e.to_status)
            for e in self.events(post)
            if e.from_status is not e.to_status
        ]

    def details(self, post: Post | int) -> str:
        return "\n".join(e.detail for e in self.events(post))

    def leases(self) -> dict[int, tuple[str | None, datetime | None]]:
        """Every post's lease columns, read straight from the table (or memory)."""
        if isinstance(self.store, InMemoryStore):
            return self.store.leases()
        import sqlalchemy as sa

        from igautopost.storage.sql.tables import posts

        query = sa.select(posts.c.id, posts.c.lease_owner, posts.c.lease_until)
        with self.store.engine.connect() as conn:
            return {row.id: (row.lease_owner, row.lease_until) for row in conn.execute(query)}

    # -- time ----------------------------------------------------------------------------

    def run_for(self, **duration: float) -> int:
        assert self.sim is not None, "a live world runs on a LocalScheduler"
        return self.sim.run_for(timedelta(**duration))

    def run_until(self, when: datetime) -> int:
        assert self.sim is not None, "a live world runs on a LocalScheduler"
        return self.sim.run_until(when)

    def wait_for(self, condition: Callable[[], bool], timeout: float = 10.0) -> bool:
        """Wait in real time until `condition()` holds; whether it did."""
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                return False
            time.sleep(0.02)
        return True

    # -- the sandbox's view --------------------------------------------------------------

    def calls(self, endpoint: str | None = None) -> list[CallRecord]:
        calls = self.state.with_lock(lambda: list(self.state.inspector.calls))
        return [c for c in calls if endpoint is None or c.endpoint == endpoint]

    def wait_for_calls(self, endpoint: str, count: int, timeout: float = 5.0) -> None:
        """Wait (real time) until the sandbox logged `count` calls: slow answers log late."""
        deadline = time.monotonic() + timeout
        while len(self.calls(endpoint)) < count and time.monotonic() < deadline:
            time.sleep(0.02)

    def calls_for(self, endpoint: str, object_id: str) -> list[CallRecord]:
        return [c for c in self.calls(endpoint) if c.object_id == object_id]

    def publishes(self) -> list[PublishRecord]:
        return self.state.with_lock(lambda: list(self.state.inspector.publishes))

    def publishes_of(self, post: Post) -> list[PublishRecord]:
        """Sandbox publishes of the post: by its container, and by its caption as a cross-check."""
        return [p for p in self.publishes() if p.container_id == post.container_id]

    def report(self) -> dict[str, Any]:
        return self.state.with_lock(self.state.inspector.publish_report)

    def containers_of(self, caption: str) -> list[Any]:
        state = self.state
        return state.with_lock(
            lambda: [c for c in state.containers.values() if c.caption == caption]
        )

    def update_sandbox(self, **changes: Any) -> None:
        self.state.update_config(changes)

    def assert_published_once(self, post: Post | int) -> Post:
        """Published in the store, exactly one sandbox publish of it, no duplicate anywhere."""
        stored = self.get(post)
        assert stored.status is Status.PUBLISHED, (stored.error, self.details(stored))
        assert stored.published_at is not None
        assert stored.container_id is not None
        mine = self.publishes_of(stored)
        assert len(mine) == 1, mine
        assert stored.media_id in (None, mine[0].media_id)
        if stored.spec.caption:
            same_caption = [p for p in self.publishes() if p.caption == stored.spec.caption]
            assert len(same_caption) == 1, same_caption
        assert self.report()["duplicates"] == []
        return stored


WorldFactory = Callable[..., World]


def build_world(
    *,
    db_url: str | None,
    cipher: TokenCipher,
    policy: EnginePolicy | None = None,
    timeout: float = 5.0,
    start: datetime = START,
    owner: str = "worker-a",
    live: bool = False,
    **config: Any,
) -> World:
    """A `World`: in memory when `db_url` is None, else on SQL and the HTTP sandbox.

    ``live=True``: the real SystemClock for the sandbox and the engine, and no Simulation
    (run it with `make_scheduler`)."""
    clock: FakeClock | SystemClock = SystemClock() if live else FakeClock(start)
    sandbox = None
    if db_url is None:
        state = SandboxState(SandboxConfig(**config), clock)
        base_url = IN_PROCESS_URL
        store: Any = InMemoryStore(cipher=cipher)
        transport: Transport = MockTransport(sandbox_handler(state))
    else:
        sandbox = SandboxServer(SandboxConfig(**config), clock=clock).start()
        state, base_url = sandbox.state, sandbox.url
        store = SqlStore.open(db_url, cipher=cipher)
        transport = Urllib3Transport(proxy=proxy_for(base_url))
    client = GraphClient(base_url=base_url, timeout=timeout, transport=transport)
    policy = policy or EnginePolicy()
    publisher = Publisher(store, client, clock, policy=policy, owner=owner, rng=random.Random(7))
    sim = None if isinstance(clock, SystemClock) else Simulation(publisher, clock)
    return World(
        store, clock, state, base_url, client, publisher, sim, policy, cipher, sandbox, db_url
    )


def close_world(world: World) -> None:
    world.client.close()
    if world.sandbox is not None:
        world.sandbox.stop()
    for store in [world.store, *world.extra_stores]:
        store.close()
