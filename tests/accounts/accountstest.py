"""Account fixtures: an engine and a sandbox on one FakeClock, with accounts registered."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from igautopost import services
from igautopost.accounts.service import Accounts
from igautopost.clock import FakeClock
from igautopost.config import Settings
from igautopost.engine.publisher import Publisher
from igautopost.engine.simulation import Simulation
from igautopost.graph.client import GraphClient
from igautopost.models import Post
from igautopost.posts import schedule
from igautopost.sandbox import SandboxConfig, SandboxServer
from igautopost.storage.sql import SqlStore
from services import settings_for

START = datetime(2030, 3, 4, 8, 0, tzinfo=UTC)
ALICE_IG = "17841400000000001"
BOB_IG = "17841400000000002"
ALICE_TOKEN = "IGQV-accounts-test-alice-1f0c"
BOB_TOKEN = "EAAB-accounts-test-bob-77aa"


@dataclass
class AccountWorld:
    store: SqlStore
    clock: FakeClock
    sandbox: SandboxServer
    client: GraphClient
    publisher: Publisher
    sim: Simulation
    accounts: Accounts
    db_path: Path
    settings: Settings  # what the store, publisher and accounts were built from
    posts: list[Post] = field(default_factory=list)

    def schedule(self, account: str, *, owner_id: int | None = None, **fields: Any) -> Post:
        data = {
            "account": account,
            "media_type": "image",
            "media_url": "https://cdn.example.com/a.jpg",
            "caption": f"post {len(self.posts)}",
            "publish_at": self.clock.now() + timedelta(hours=1),
            **fields,
        }
        post = schedule(self.store, [data], now=self.clock.now(), owner_id=owner_id).created[0]
        self.posts.append(post)
        return post

    def run_for(self, **duration: float) -> None:
        self.sim.run_for(timedelta(**duration))

    def get(self, post: Post) -> Post:
        return self.store.get(post.id)


WorldFactory = Callable[..., AccountWorld]


@pytest.fixture
def make_world(tmp_path: Path) -> Iterator[WorldFactory]:
    """``make_world(**sandbox_config)``: tokens default to Alice's and Bob's accounts. The
    store, publisher and accounts come from `igautopost.services`, on the sandbox's URL."""
    worlds: list[AccountWorld] = []

    def make(**config: Any) -> AccountWorld:
        clock = FakeClock(START)
        config.setdefault("tokens", {ALICE_TOKEN: ALICE_IG, BOB_TOKEN: BOB_IG})
        sandbox = SandboxServer(SandboxConfig(**config), clock=clock).start()
        db_path = tmp_path / f"accounts-{len(worlds)}.db"
        settings = settings_for(
            tmp_path / "data",
            database_url=f"sqlite:///{db_path}",
            sandbox_url=sandbox.url,
            graph_timeout=5,
            app_id="123",
            app_secret="s3cret-app",
        )
        store = services.open_store(settings)
        publisher = services.publisher(settings, store, clock=clock, rng=random.Random(7))
        accounts = services.accounts(settings, store, client=publisher.client, clock=clock)
        world = AccountWorld(
            store,
            clock,
            sandbox,
            publisher.client,
            publisher,
            Simulation(publisher, clock),
            accounts,
            db_path,
            settings,
        )
        worlds.append(world)
        return world

    yield make
    for world in worlds:
        world.client.close()
        world.sandbox.stop()
        world.store.close()


# -- the HTTP app ---------------------------------------------------------------------------

PASSWORD = "correct horse battery"


@dataclass
class Api:
    client: Any  # starlette TestClient
    store: SqlStore
    users: Any
    clock: FakeClock
    bodies: list[str] = field(default_factory=list)  # every response body, for leak checks

    def login(self, name: str, password: str = PASSWORD) -> dict[str, str]:
        self.users.create(name, password)
        response = self.client.post(
            "/api/v1/api-token-auth/", json={"username": name, "password": password}
        )
        assert response.status_code == 200, response.text
        return {"Authorization": f"Token {response.json()['token']}"}


@pytest.fixture
def make_api(tmp_path: Path) -> Iterator[Callable[..., Api]]:
    """``make_api(store=..., clock=..., hasher=..., settings=...)``: the app on a store."""
    import warnings

    from argon2 import PasswordHasher

    from igautopost.api import create_app

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from starlette.testclient import TestClient

    opened: list[SqlStore] = []

    def make(
        *,
        store: SqlStore | None = None,
        clock: FakeClock | None = None,
        hasher: Any = None,
        settings: Any = None,
        **options: Any,
    ) -> Api:
        clock = clock or FakeClock(START)
        database = tmp_path / f"api-{len(opened)}.db"
        settings = settings or settings_for(tmp_path / "data", database_url=f"sqlite:///{database}")
        if store is None:
            store = services.open_store(settings)
            opened.append(store)
        hasher = hasher or PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
        users = services.users(settings, store, clock=clock, hasher=hasher)
        app = create_app(settings, store=store, clock=clock, users=users, **options)
        api = Api(TestClient(app), store, users, clock)

        def keep(response: Any) -> None:
            response.read()
            api.bodies.append(response.text)

        api.client.event_hooks["response"] = [keep]
        return api

    yield make
    for store in opened:
        store.close()
