"""Instagram Login token calls (exchange, refresh) go to the Instagram Login host setting,
through every path that makes them: `account add --exchange`, `account refresh`, the worker's
keeper. Two sandboxes stand for the two hosts; each knows only its own login type's token."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from accountstest import ALICE_IG, ALICE_TOKEN, BOB_IG, BOB_TOKEN
from typer.testing import CliRunner, Result

from igautopost import services
from igautopost.accounts.upkeep import Chore
from igautopost.clock import SystemClock
from igautopost.crypto import TokenCipher
from igautopost.sandbox import SandboxConfig, SandboxServer

Cli = Callable[..., Result]


class Hosts:
    def __init__(self, facebook: SandboxServer, instagram: SandboxServer) -> None:
        self.facebook = facebook
        self.instagram = instagram

    def token_calls(self, sandbox: SandboxServer) -> list[tuple[str, int | None]]:
        calls = sandbox.state.inspector.calls
        return [(c.endpoint, c.status) for c in calls if c.endpoint.startswith("token_")]


@pytest.fixture
def hosts() -> Iterator[Hosts]:
    facebook = SandboxServer(SandboxConfig(tokens={BOB_TOKEN: BOB_IG})).start()
    instagram = SandboxServer(SandboxConfig(tokens={ALICE_TOKEN: ALICE_IG})).start()
    yield Hosts(facebook, instagram)
    facebook.stop()
    instagram.stop()


def _env(tmp_path: Path, **settings: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("IGAUTOPOST_")}
    env.update(
        IGAUTOPOST_DATA_DIR=str(tmp_path),
        IGAUTOPOST_SECRET_KEY=TokenCipher.generate_key(),
        IGAUTOPOST_APP_ID="123",
        IGAUTOPOST_APP_SECRET="app-secret-for-hosts",
        **settings,
    )
    return env


def _cli(env: dict[str, str]) -> Cli:
    from igautopost_cli import app as cli_app

    def run(*args: str, stdin: str | None = None, code: int = 0) -> Result:
        result = CliRunner().invoke(cli_app.app, list(args), input=stdin, env=env)
        assert result.exit_code == code, result.output
        return result

    return run


@pytest.mark.parametrize("facebook_host", ["sandbox", "meta default"])
def test_account_refresh_goes_to_the_instagram_login_host(
    hosts: Hosts, tmp_path: Path, facebook_host: str
) -> None:
    settings = {"IGAUTOPOST_GRAPH_INSTAGRAM_BASE_URL": hosts.instagram.url}
    if facebook_host == "sandbox":
        settings["IGAUTOPOST_GRAPH_BASE_URL"] = hosts.facebook.url
    cli = _cli(_env(tmp_path, **settings))
    cli("account", "add", ALICE_IG, "--login", "instagram", "--token-stdin", stdin=ALICE_TOKEN)

    refreshed = cli("account", "refresh", ALICE_IG)

    assert "token refreshed" in refreshed.output
    assert hosts.token_calls(hosts.instagram) == [("token_refresh", 200)]
    assert hosts.token_calls(hosts.facebook) == []
    with_token = cli("account", "check", ALICE_IG)  # the refreshed token works at its host
    assert "token works" in with_token.output


def test_account_add_exchanges_each_login_types_token_at_its_host(
    hosts: Hosts, tmp_path: Path
) -> None:
    cli = _cli(
        _env(
            tmp_path,
            IGAUTOPOST_GRAPH_BASE_URL=hosts.facebook.url,
            IGAUTOPOST_GRAPH_INSTAGRAM_BASE_URL=hosts.instagram.url,
        )
    )
    add = ("account", "add", "--token-stdin", "--exchange", "--login")
    cli(*add[:2], ALICE_IG, *add[2:], "instagram", stdin=ALICE_TOKEN)
    cli(*add[:2], BOB_IG, *add[2:], "facebook", stdin=BOB_TOKEN)

    assert hosts.token_calls(hosts.instagram) == [("token_exchange", 200)]
    assert hosts.token_calls(hosts.facebook) == [("token_exchange", 200)]


def test_the_workers_keeper_refreshes_at_the_instagram_login_host(
    hosts: Hosts, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from igautopost_cli import engine
    from igautopost_cli.state import State

    env = _env(
        tmp_path,
        IGAUTOPOST_GRAPH_BASE_URL=hosts.facebook.url,
        IGAUTOPOST_GRAPH_INSTAGRAM_BASE_URL=hosts.instagram.url,
    )
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    # What `worker` and `serve` publish (and keep tokens) with.
    publisher = engine.build_publisher(State())
    clock = SystemClock()
    two_days_ago = clock.now() - timedelta(days=2)  # old enough to refresh, close to expiry
    publisher.store.accounts.put(
        None,
        ALICE_IG,
        ALICE_TOKEN,
        now=two_days_ago,
        login="instagram",
        expires_at=clock.now() + timedelta(days=5),
    )
    keeper = services.account_upkeep(publisher)  # the keeper `worker` and `serve` start

    assert keeper.run_once() == {ALICE_IG: Chore.REFRESH}

    assert hosts.token_calls(hosts.instagram) == [("token_refresh", 200)]
    assert hosts.token_calls(hosts.facebook) == []
    assert publisher.store.accounts.token(None, ALICE_IG) != ALICE_TOKEN
    publisher.client.close()
    publisher.store.close()
