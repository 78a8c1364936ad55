"""Engine test helpers: `World`, one scenario of the engine and a sandbox on one FakeClock.

`make_world(...)` builds one scenario: a fresh store (SQLite file), a SandboxServer on the
world's FakeClock, a GraphClient, a Publisher and a Simulation. Tests state the sandbox
config, policy and posts that matter to them, then assert on the store and on the
sandbox's inspection.
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
from igautopost.graph.client import GraphClient
from igautopost.models import Event, Post, Status
from igautopost.sandbox import SandboxServer
from igautopost.sandbox.inspect import CallRecord, PublishRecord
from igautopost.storage.sql import SqlStore

ACCOUNT = "17841400000000001"
TOKEN = "EAAB-engine-test-token"
START = datetime(2030, 3, 4, 8, 0, tzinfo=UTC)
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
    """One scenario: the engine and the sandbox on a shared FakeClock."""

    store: SqlStore
    clock: FakeClock | SystemClock  # SystemClock: a live world, run by a LocalScheduler
    sandbox: SandboxServer
    client: GraphClient
    publisher: Publisher
    sim: Simulation | None
    policy: EnginePolicy
    db_url: str
    cipher: TokenCipher
    extra_stores: list[SqlStore] = field(default_factory=list)

    def another_worker(self, owner: str, *, own_store: bool = True) -> Publisher:
        """A second Publisher (another owner), on its own SqlStore on the same SQLite file."""
        store = self.store
        if own_store:
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
        """Every post's lease columns, read straight from the table."""
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
        calls = self.sandbox.state.with_lock(lambda: list(self.sandbox.state.inspector.calls))
        return [c for c in calls if endpoint is None or c.endpoint == endpoint]

    def wait_for_calls(self, endpoint: str, count: int, timeout: float = 5.0) -> None:
        """Wait (real time) until the sandbox logged `count` calls: slow answers log late."""
        deadline = time.monotonic() + timeout
        while len(self.calls(endpoint)) < count and time.monotonic() < deadline:
            time.sleep(0.02)

    def calls_for(self, endpoint: str, object_id: str) -> list[CallRecord]:
        return [c for c in self.calls(endpoint) if c.object_id == object_id]

    def publishes(self) -> list[PublishRecord]:
        return self.sandbox.state.with_lock(lambda: list(self.sandbox.state.inspector.publishes))

    def publishes_of(self, post: Post) -> list[PublishRecord]:
        """Sandbox publishes of the post: by its container, and by its caption as a cross-check."""
        return [p for p in self.publishes() if p.container_id == post.container_id]

    def report(self) -> dict[str, Any]:
        return self.sandbox.state.with_lock(self.sandbox.state.inspector.publish_report)

    def containers_of(self, caption: str) -> list[Any]:
        state = self.sandbox.state
        return state.with_lock(
            lambda: [c for c in state.containers.values() if c.caption == caption]
        )

    def update_sandbox(self, **changes: Any) -> None:
        self.sandbox.state.update_config(changes)

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
