"""Helpers of the reliability suite: what every test here checks, and a simulated world.

- `lifecycle_problems`: whether a post's event log follows the lifecycle of docs/engine.md.
- `SimWorld`: the engine and a sandbox on one `FakeClock` (the engine and its fresh SQLite
  store built by `igautopost.services` from the world's settings), with the sandbox's view
  of one post: its calls, its media (found by its unique caption, so that a publish of a
  container the store never heard of is counted too).
- `Interceptor`: a transport that runs a user's action in the middle of a Graph call: the
  step holds its lease and its request is on its way when the action runs.
- `make_world`: the fixture that builds a `SimWorld`.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

import igautopost
from igautopost import services
from igautopost.clock import FakeClock
from igautopost.config import Settings
from igautopost.engine.policy import EnginePolicy
from igautopost.engine.publisher import Publisher
from igautopost.engine.simulation import Simulation
from igautopost.graph.client import GraphClient
from igautopost.graph.prepared import Pending
from igautopost.graph.transport import Request, Response, Transport, Urllib3Transport
from igautopost.models import Event, Post, Status
from igautopost.sandbox import SandboxConfig, SandboxServer
from igautopost.sandbox.objects import Media
from igautopost.storage.sql import SqlStore
from services import settings_for

ACCOUNT = "17841400000000001"
TOKEN = "EAAB-reliability-token"
START = datetime(2030, 5, 6, 8, 0, tzinfo=UTC)
S, PR, R, P, F, C = (
    Status.SCHEDULED,
    Status.PROCESSING,
    Status.READY,
    Status.PUBLISHED,
    Status.FAILED,
    Status.CANCELLED,
)
# Every status change docs/engine.md and docs/posts.md allow (a step that keeps the status
# and writes a detail logs X -> X): new containers go back to scheduled, a publish that
# Instagram calls not ready goes back to processing, users cancel and edit, retry a failure.
LIFECYCLE: dict[Status | None, frozenset[Status]] = {
    None: frozenset({S}),
    S: frozenset({S, PR, F, C}),
    PR: frozenset({PR, R, P, S, F, C}),
    R: frozenset({R, P, PR, S, F, C}),
    P: frozenset({P}),
    F: frozenset({S, C}),
    C: frozenset(),
}


def lifecycle_problems(post: Post, events: Sequence[Event]) -> list[str]:
    """What is wrong with a post's event log: each entry starts where the previous ended,
    follows an allowed transition, the log ends at the post's status, and the post was
    published at most once."""
    problems: list[str] = []
    previous: Status | None = None
    for number, event in enumerate(events):
        if event.from_status is not previous:
            problems.append(f"event {number} starts at {event.from_status}, not at {previous}")
        if event.to_status not in LIFECYCLE[event.from_status]:
            problems.append(f"event {number}: {event.from_status} -> {event.to_status}")
        previous = event.to_status
    if previous is not post.status:
        problems.append(f"the log ends at {previous}, the post is {post.status}")
    into_published = [e for e in events if e.to_status is P and e.from_status is not P]
    if len(into_published) > (post.status is P):
        problems.append(f"published {len(into_published)} times in the log")
    return [f"post {post.id}: {problem}" for problem in problems]


def wait_until(condition: Callable[[], bool], timeout: float, every: float = 0.05) -> bool:
    """Whether `condition()` came true within `timeout` seconds (real time)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(every)
    return True


def call_kind(request: Request) -> str:
    """Which call of the publishing flow a request is (finer than the sandbox's endpoints:
    a GET of a container's status and a GET of a media's permalink are told apart)."""
    path = urlsplit(request.url).path
    if request.method == "POST":
        for suffix, kind in (
            ("/media_publish", "publish"),
            ("/media", "create"),
            ("/comments", "comment"),
        ):
            if path.endswith(suffix):
                return kind
    if path.endswith("/content_publishing_limit"):
        return "limit"
    return "status" if "status_code" in (urlsplit(request.url).query or "") else "media"


class Interceptor:
    """A `Transport` that calls `before(kind, request)` ahead of each request it sends, in
    the thread of the step that sends it (see `call_kind`)."""

    def __init__(self, inner: Transport, before: Callable[[str, Request], None]) -> None:
        self.inner = inner
        self.before = before

    def send(self, request: Request) -> Response:
        self.before(call_kind(request), request)
        return self.inner.send(request)

    def open(self, request: Request) -> Pending:
        return _Announced(
            self.inner.open(request), lambda: self.before(call_kind(request), request)
        )

    def close(self) -> None:
        self.inner.close()


@dataclass
class _Announced:
    pending: Pending
    announce: Callable[[], None]

    def launch(self) -> bool:
        self.announce()
        return self.pending.launch()

    def answer(self) -> Response:
        return self.pending.answer()


@dataclass
class SimWorld:
    """One scenario on simulated time; tests state the sandbox config and posts that matter."""

    store: SqlStore
    clock: FakeClock
    sandbox: SandboxServer
    client: GraphClient
    publisher: Publisher
    settings: Settings  # what the store and the publisher were built from
    sim: Simulation = field(init=False)

    def __post_init__(self) -> None:
        self.sim = Simulation(self.publisher, self.clock)

    @property
    def policy(self) -> EnginePolicy:
        return self.publisher.policy

    def schedule(self, **overrides: Any) -> Post:
        data: dict[str, Any] = {
            "account": ACCOUNT,
            "access_token": TOKEN,
            "media_type": "image",
            "media_url": "https://cdn.example.com/media/coffee.jpg",
            "caption": "Morning coffee",
            "first_comment": "first!",
            "publish_at": self.clock.now() + timedelta(hours=1),
        }
        data.update(overrides)
        result = igautopost.schedule(
            self.store, [data], now=self.clock.now(), leads=self.policy.leads
        )
        return result.created[0]

    def run_for(self, **duration: float) -> None:
        self.sim.run_for(timedelta(**duration))

    def calls(self) -> Counter[str]:
        """Graph calls per sandbox endpoint so far."""
        state = self.sandbox.state
        return Counter(c.endpoint for c in state.with_lock(lambda: list(state.inspector.calls)))

    def faults_fired(self) -> int:
        state = self.sandbox.state
        return state.with_lock(lambda: sum(1 for c in state.inspector.calls if c.fault))

    def media_captioned(self, caption: str) -> list[Media]:
        """Every media Instagram shows with this caption (unique per test post)."""
        state = self.sandbox.state
        return state.with_lock(lambda: [m for m in state.media.values() if m.caption == caption])

    def comments_on(self, media_id: str) -> int:
        state = self.sandbox.state
        return state.with_lock(lambda: len(state.media[media_id].comments))

    def rejected_repeats(self) -> int:
        """Publish calls for a container that was already published (refused, yet a bug)."""
        state = self.sandbox.state
        return state.with_lock(lambda: sum(state.inspector.repeat_attempts.values()))

    def lease_of(self, post: Post) -> tuple[str | None, datetime | None]:
        import sqlalchemy as sa

        from igautopost.storage.sql.tables import posts

        query = sa.select(posts.c.lease_owner, posts.c.lease_until).where(posts.c.id == post.id)
        with self.store.engine.connect() as conn:
            row = conn.execute(query).one()
        return row.lease_owner, row.lease_until


def problems_of_published_post(world: SimWorld, post: Post, caption: str) -> list[str]:
    """Instagram shows a published post once, from its stored container; a post that is
    not published is not on Instagram at all."""
    stored = world.store.get(post.id)
    shown = world.media_captioned(caption)
    problems: list[str] = []
    if len(shown) > 1:
        problems.append(f"{caption!r} is on Instagram {len(shown)} times")
    if stored.status is P:
        if len(shown) != 1:
            problems.append(f"published in the store, {len(shown)} times on Instagram")
        elif shown[0].container_id != stored.container_id:
            problems.append("published from a container the store does not have")
        elif stored.media_id not in (None, shown[0].id):
            problems.append(f"stored media id {stored.media_id}, Instagram's {shown[0].id}")
    elif shown:
        problems.append(f"{stored.status} in the store, yet live on Instagram")
    for media in shown:
        if world.comments_on(media.id) > 1:
            problems.append(f"media {media.id} has {world.comments_on(media.id)} comments")
    return problems


MakeWorld = Callable[..., SimWorld]


# -- the fixture (imported by conftest.py, and by tests/test_services.py) ----------------------


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
        transport = None if wrap is None else wrap(Urllib3Transport())
        client = services.graph_client(settings, transport=transport)
        publisher = services.publisher(
            settings, store, clock=clock, client=client, rng=random.Random(7)
        )
        world = SimWorld(store, clock, sandbox, publisher.client, publisher, settings)
        made.append(world)
        return world

    yield make
    for world in made:
        world.client.close()
        world.sandbox.stop()
        world.store.close()
