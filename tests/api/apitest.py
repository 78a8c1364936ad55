"""Fixtures for the HTTP API tests: an app on a fresh store, users, and a client that checks
every response it receives for leaked secrets."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from argon2 import PasswordHasher

from igautopost import services
from igautopost.auth.users import Users
from igautopost.clock import Clock, FakeClock
from igautopost.storage.sql import SqlStore
from services import settings_for

with warnings.catch_warnings():
    # starlette warns at import that it prefers httpx2; the TestClient works with httpx.
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

from igautopost.api import create_app

NOW = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)
IG_TOKEN = "EAAB-ig-token-never-shown-7Qm2"
PASSWORD = "correct horse battery"
# Fast argon2 parameters: the tests check the flow, not the cost.
CHEAP = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)

SECRETS: list[str] = []  # Instagram tokens and API keys seen by this test


def _no_secrets(response: httpx.Response) -> None:
    """Every response of the suite: no Instagram token ever; an API key only from the token
    endpoint, which exists to hand it out."""
    response.read()
    text = response.text
    for secret in SECRETS:
        if secret not in text:
            continue
        if secret.startswith("EAAB") or "api-token-auth" not in response.request.url.path:
            raise AssertionError(f"a secret leaked in {response.request.url.path}: {text[:200]}")


class Api:
    """The app under test with helpers: `login` makes a user and returns auth headers."""

    def __init__(self, client: TestClient, store: SqlStore, users: Users, clock: Clock) -> None:
        self.client = client
        self.store = store
        self.users = users
        self.clock = clock

    def login(self, name: str = "alice") -> dict[str, str]:
        self.users.create(name, PASSWORD)
        response = self.client.post(
            "/api/v1/api-token-auth/", json={"username": name, "password": PASSWORD}
        )
        assert response.status_code == 200, response.text
        key = response.json()["token"]
        SECRETS.append(key)
        return {"Authorization": f"Token {key}"}

    def create(self, headers: dict[str, str], **fields: Any) -> dict[str, Any]:
        response = self.client.post("/api/v1/posts/", json=old_post(**fields), headers=headers)
        assert response.status_code == 201, response.text
        body: dict[str, Any] = response.json()
        return body


def old_post(**overrides: Any) -> dict[str, Any]:
    """A post in the old service's field names, an hour after the fake now."""
    post: dict[str, Any] = {
        "user_id": "17841400000000001",
        "token": IG_TOKEN,
        "url": "https://example.com/media/coffee.jpg",
        "content_type": "Photo",
        "caption": "Morning coffee #coffee",
        "date_pub": int(NOW.timestamp()) + 3600,
    }
    post.update(overrides)
    return post


@pytest.fixture
def make_api(tmp_path: Path) -> Iterator[Callable[..., Api]]:
    """``make_api(clock=..., scheduler=..., store=...)``: the app on a fresh SQLite store."""
    opened: list[SqlStore] = []
    SECRETS[:] = [IG_TOKEN]

    def make(
        *,
        clock: Clock | None = None,
        store: SqlStore | None = None,
        media_check: bool = False,  # the posts name example.com: no test reaches the network
        **options: Any,
    ) -> Api:
        clock = clock or FakeClock(NOW)
        database = tmp_path / f"api-{len(opened)}.db"
        settings = settings_for(
            tmp_path / "data", database_url=f"sqlite:///{database}", media_check=media_check
        )
        if store is None:
            store = services.open_store(settings)
            opened.append(store)
        users = services.users(settings, store, clock=clock, hasher=CHEAP)
        app = create_app(settings, store=store, clock=clock, users=users, **options)
        client = TestClient(app)
        client.event_hooks["response"] = [_no_secrets]
        return Api(client, store, users, clock)

    yield make
    for store in opened:
        store.close()


@pytest.fixture
def api(make_api: Callable[..., Api]) -> Api:
    return make_api()


@pytest.fixture
def alice(api: Api) -> dict[str, str]:
    return api.login("alice")


@pytest.fixture
def bob(api: Api) -> dict[str, str]:
    return api.login("bob")
