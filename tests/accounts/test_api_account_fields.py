"""``POST /api/v1/accounts/``: every field is checked (a 400 naming it, never a 500),
``exchange`` is a strict boolean, and the token exchange runs off the event loop."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from accountstest import ALICE_IG, ALICE_TOKEN, Api

from igautopost import Settings
from igautopost.crypto import TokenCipher
from igautopost.graph.client import GraphClient
from igautopost.sandbox import SandboxConfig, SandboxServer

URL = "/api/v1/accounts/"


@pytest.fixture
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer(SandboxConfig(tokens={ALICE_TOKEN: ALICE_IG})) as server:
        yield server


@pytest.fixture
def api(make_api: Callable[..., Api], sandbox: SandboxServer, tmp_path: Path) -> Api:
    """The app with an app secret, exchanging tokens at the sandbox (both login hosts)."""
    settings = Settings(
        data_dir=tmp_path,
        secret_key=TokenCipher.generate_key(),
        graph_base_url=sandbox.url,
        graph_instagram_base_url=sandbox.url,
        app_id="123",
        app_secret="app-secret-for-fields",
    )
    return make_api(settings=settings)


def _exchanges(sandbox: SandboxServer) -> int:
    return sum(1 for call in sandbox.state.inspector.calls if call.endpoint == "token_exchange")


@pytest.mark.parametrize("username", [{"name": "alice"}, ["alice"], 42, True, "not a name!"])
def test_a_bad_username_is_a_400_naming_it(api: Api, username: Any) -> None:
    alice = api.login("alice")
    body = {"ig_user_id": ALICE_IG, "access_token": ALICE_TOKEN, "username": username}
    response = api.client.post(URL, json=body, headers=alice)
    assert response.status_code == 400, response.text
    assert list(response.json()) == ["username"]


def test_a_username_is_stored_without_its_at(api: Api) -> None:
    alice = api.login("alice")
    body = {"ig_user_id": ALICE_IG, "access_token": ALICE_TOKEN, "username": "@alice.cafe"}
    response = api.client.post(URL, json=body, headers=alice)
    assert response.status_code == 201, response.text
    assert response.json()["username"] == "alice.cafe"


@pytest.mark.parametrize(
    ("exchange", "as_form", "exchanged"),
    [
        (True, False, True),
        (1, False, True),
        ("true", False, True),
        ("1", True, True),
        ("TRUE", True, True),
        (False, False, False),
        (0, False, False),
        (None, False, False),
        ("false", False, False),
        ("false", True, False),
        ("0", True, False),
    ],
)
def test_exchange_is_read_as_the_boolean_it_spells(
    api: Api, sandbox: SandboxServer, exchange: Any, as_form: bool, exchanged: bool
) -> None:
    alice = api.login("alice")
    body = {"ig_user_id": ALICE_IG, "access_token": ALICE_TOKEN, "exchange": exchange}
    if as_form:
        response = api.client.post(URL, data=body, headers=alice)
    else:
        response = api.client.post(URL, json=body, headers=alice)
    assert response.status_code == 201, response.text
    assert _exchanges(sandbox) == int(exchanged)
    stored = api.store.accounts.token(api.users.store.user("alice").id, ALICE_IG)
    assert (stored != ALICE_TOKEN) == exchanged


@pytest.mark.parametrize("exchange", ["yes", "no", "", 2, -1, 0.5, [], {}, "truthy"])
def test_any_other_exchange_value_is_a_400(api: Api, sandbox: SandboxServer, exchange: Any) -> None:
    alice = api.login("alice")
    body = {"ig_user_id": ALICE_IG, "access_token": ALICE_TOKEN, "exchange": exchange}
    response = api.client.post(URL, json=body, headers=alice)
    assert response.status_code == 400, response.text
    assert response.json() == {"exchange": ["Must be a valid boolean: true, false, 1 or 0."]}
    assert _exchanges(sandbox) == 0


@pytest.mark.parametrize("ig_user_id", ["١٢٣", "²", "12a", True, 1.5, {"id": 1}])
def test_an_ig_user_id_is_ascii_digits(api: Api, ig_user_id: Any) -> None:
    alice = api.login("alice")
    body = {"ig_user_id": ig_user_id, "access_token": ALICE_TOKEN}
    response = api.client.post(URL, json=body, headers=alice)
    assert response.status_code == 400, response.text
    assert list(response.json()) == ["ig_user_id"]


def test_the_token_exchange_runs_off_the_event_loop(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Meta's answer can take graph_timeout seconds: on the loop, every request would wait."""
    on_loop: list[bool] = []
    exchange = GraphClient.exchange_token

    def recording(self: GraphClient, *args: Any, **kwargs: Any) -> Any:
        try:
            asyncio.get_running_loop()
            on_loop.append(True)
        except RuntimeError:  # no event loop runs in this thread
            on_loop.append(False)
        return exchange(self, *args, **kwargs)

    monkeypatch.setattr(GraphClient, "exchange_token", recording)
    alice = api.login("alice")
    body = {"ig_user_id": ALICE_IG, "access_token": ALICE_TOKEN, "exchange": True}
    assert api.client.post(URL, json=body, headers=alice).status_code == 201
    assert on_loop == [False]
