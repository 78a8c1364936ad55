"""The issue's leak test: a full run at DEBUG (users log in through the API, register accounts,
schedule posts, the engine publishes through the sandbox with faults, a token is revoked and
replaced, the keeper refreshes a token), then the captured logs, every API response body and
the raw bytes of the SQLite files are searched for every token and password used: no hit.

API keys are handed out by the token endpoint by design: only those bodies may hold one.
Tokens that the sandbox issues on refresh are unknown to the test, but all start with "IGSB".
"""

from __future__ import annotations

import io
import logging
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from accountstest import START, Api

from igautopost import redaction
from igautopost.accounts.upkeep import AccountKeeper
from igautopost.clock import FakeClock
from igautopost.crypto import TokenCipher
from igautopost.engine.publisher import Publisher
from igautopost.engine.simulation import Simulation
from igautopost.graph.client import GraphClient
from igautopost.models import Status
from igautopost.sandbox import ErrorSpec, FaultRule, SandboxConfig, SandboxServer
from igautopost.storage.sql import SqlStore

ALICE_IG, BOB_IG = "17841400000000011", "17841400000000022"
ALICE_TOKEN = "IGQV-LEAKTEST-alice-3c9e1f"
BOB_TOKEN = "EAAB-LEAKTEST-bob-first-8d21"
BOB_NEW_TOKEN = "EAAB-LEAKTEST-bob-second-5a70"
ALICE_PASSWORD = "LEAKTEST-pw-alice-horse"
BOB_PASSWORD = "LEAKTEST-pw-bob-battery"
WRONG_PASSWORD = "LEAKTEST-pw-wrong-staple"
APP_SECRET = "LEAKTEST-app-secret-0f"
SECRETS = (
    ALICE_TOKEN,
    BOB_TOKEN,
    BOB_NEW_TOKEN,
    ALICE_PASSWORD,
    BOB_PASSWORD,
    WRONG_PASSWORD,
    APP_SECRET,
    "LEAKTEST",
    "IGSB",
)
FAULTS = (
    FaultRule(
        kind="error", endpoints=("create_container",), on_calls=(1,), errors=(ErrorSpec(code=2),)
    ),
    FaultRule(kind="server_error", endpoints=("get_object",), on_calls=(2,)),
    FaultRule(kind="drop", endpoints=("get_object",), on_calls=(4,)),
    FaultRule(
        kind="after_success_error",
        endpoints=("publish",),
        on_calls=(1,),
        errors=(ErrorSpec(code=2),),
    ),
)


@pytest.fixture
def debug_log() -> Iterator[io.StringIO]:
    """Every logger at DEBUG, through a handler, with redaction installed as `worker` and
    `serve` install it."""
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
    root = logging.getLogger()
    previous = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    names = ("urllib3", "requests", "uvicorn", "uvicorn.access", "alembic", "igautopost")
    levels = {name: logging.getLogger(name).level for name in names}
    for name in names:
        logging.getLogger(name).setLevel(logging.DEBUG)
    redaction.install([APP_SECRET])
    yield buffer
    redaction.uninstall()
    root.removeHandler(handler)
    root.setLevel(previous)
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)


def test_a_full_run_leaks_no_token_and_no_password(
    tmp_path: Path, make_api: Callable[..., Api], debug_log: io.StringIO
) -> None:
    clock = FakeClock(START)
    tokens = {ALICE_TOKEN: ALICE_IG, BOB_TOKEN: BOB_IG, BOB_NEW_TOKEN: BOB_IG}
    config = SandboxConfig(tokens=tokens, faults=FAULTS, seed=5, video_processing_seconds=30)
    store = SqlStore.open(
        f"sqlite:///{tmp_path / 'igautopost.db'}", cipher=TokenCipher([TokenCipher.generate_key()])
    )
    api = make_api(store=store, clock=clock)
    with SandboxServer(config, clock=clock) as sandbox, GraphClient(base_url=sandbox.url) as client:
        publisher = Publisher(store, client, clock)
        keeper = AccountKeeper(store.accounts, client, clock)
        posts = _schedule_through_the_api(api, clock)
        sandbox.state.revoke_token(BOB_TOKEN, "password_changed")
        Simulation(publisher, clock).run_for(timedelta(hours=2))
        waiting = [p for p in posts if store.get(p).status is Status.SCHEDULED]
        assert waiting and all(store.get(p).spec.account == BOB_IG for p in waiting)

        bob = _login(api, "bob", BOB_PASSWORD)
        reconnected = api.client.post(
            "/api/v1/accounts/",
            headers=bob,
            json={"ig_user_id": BOB_IG, "access_token": BOB_NEW_TOKEN},
        )
        assert reconnected.status_code == 200, reconnected.text
        Simulation(publisher, clock).run_for(timedelta(hours=1))
        clock.advance(timedelta(hours=25))
        assert keeper.run_once() == {ALICE_IG: "refresh"}

    assert sorted(store.get(p).status.value for p in posts) == ["published"] * len(posts)
    texts = {
        "logs": debug_log.getvalue(),
        "events": "\n".join(e.detail for p in posts for e in store.events(p)),
        "errors": "\n".join(str(store.get(p).error) for p in posts),
        "responses": "\n".join(api.bodies),
    }
    store.close()
    assert "urllib3" in texts["logs"] and "igautopost.engine.publisher" in texts["logs"]
    assert "needs reconnecting" in texts["logs"] and "token refreshed" in texts["logs"]
    for name, text in texts.items():
        for secret in SECRETS:
            assert secret not in text, f"{secret!r} found in {name}"
    files = list(tmp_path.glob("igautopost.db*"))
    assert files
    for path in files:
        data = path.read_bytes()
        for secret in SECRETS:
            assert secret.encode() not in data, f"{secret!r} in the raw bytes of {path.name}"


def _login(api: Api, name: str, password: str) -> dict[str, str]:
    response = api.client.post(
        "/api/v1/api-token-auth/", json={"username": name, "password": password}
    )
    assert response.status_code == 200, response.text
    api.bodies.pop()  # the token endpoint's answer is the API key itself, by design
    return {"Authorization": f"Token {response.json()['token']}"}


def _schedule_through_the_api(api: Api, clock: FakeClock) -> list[int]:
    api.users.create("alice", ALICE_PASSWORD)
    api.users.create("bob", BOB_PASSWORD)
    refused = api.client.post(
        "/api/v1/api-token-auth/", json={"username": "alice", "password": WRONG_PASSWORD}
    )
    assert refused.status_code == 400
    alice, bob = _login(api, "alice", ALICE_PASSWORD), _login(api, "bob", BOB_PASSWORD)
    added = api.client.post(
        "/api/v1/accounts/",
        headers=alice,
        json={"ig_user_id": ALICE_IG, "access_token": ALICE_TOKEN},
    )
    assert added.status_code == 201, added.text
    at = int((clock.now() + timedelta(minutes=40)).timestamp())
    ids = []
    for headers, fields in (
        (alice, {"user_id": ALICE_IG, "content_type": "Photo", "first_comment": "hi"}),
        (
            alice,
            {"user_id": ALICE_IG, "content_type": "Video", "url": "https://cdn.example.com/b.mp4"},
        ),
        (bob, {"user_id": BOB_IG, "token": BOB_TOKEN, "content_type": "Photo"}),  # old form
        (bob, {"user_id": BOB_IG, "content_type": "Photo", "caption": "second"}),
    ):
        body = {
            "url": "https://cdn.example.com/a.jpg",
            "caption": "leak test",
            "date_pub": at,
            **fields,
        }
        response = api.client.post("/api/v1/posts/", json=body, headers=headers)
        assert response.status_code == 201, response.text
        ids.append(response.json()["id"])
    return ids
