"""`igautopost account ...` and `secrets generate` against a sandbox."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from accountstest import ALICE_IG, ALICE_TOKEN
from typer.testing import CliRunner, Result

from igautopost.crypto import TokenCipher
from igautopost.sandbox import SandboxConfig, SandboxServer

Cli = Callable[..., Result]


@pytest.fixture
def cli(tmp_path: Path) -> Iterator[Cli]:
    """Run a command as a fresh process would, against a sandbox that knows Alice's token."""
    from igautopost_cli import app as cli_app

    with SandboxServer(SandboxConfig(tokens={ALICE_TOKEN: ALICE_IG})) as sandbox:
        env = {k: v for k, v in os.environ.items() if not k.startswith("IGAUTOPOST_")}
        env.update(
            IGAUTOPOST_DATA_DIR=str(tmp_path),
            IGAUTOPOST_SECRET_KEY=TokenCipher.generate_key(),
            IGAUTOPOST_GRAPH_BASE_URL=sandbox.url,
            IGAUTOPOST_GRAPH_INSTAGRAM_BASE_URL=sandbox.url,
        )

        def run(*args: str, stdin: str | None = None, code: int = 0) -> Result:
            result = CliRunner().invoke(cli_app.app, list(args), input=stdin, env=env)
            assert result.exit_code == code, result.output
            assert ALICE_TOKEN not in result.output
            return result

        run.sandbox = sandbox  # type: ignore[attr-defined]
        yield run


def test_add_list_show_check_remove(cli: Cli) -> None:
    added = cli(
        "account", "add", ALICE_IG, "--token-stdin", "--username", "alice", stdin=ALICE_TOKEN + "\n"
    )
    assert f"account {ALICE_IG} stored (instagram login)" in added.output
    cli("account", "add", ALICE_IG, "--token-stdin", stdin=ALICE_TOKEN + "\n", code=1)

    listed = json.loads(cli("account", "list", "--json").output)
    assert [(a["ig_user_id"], a["username"], a["health"]) for a in listed] == [
        (ALICE_IG, "alice", "ok")
    ]
    shown = json.loads(cli("account", "show", ALICE_IG, "--json").output)
    assert shown["login"] == "instagram" and "token" not in json.dumps(shown).replace("token_", "")

    checked = cli("account", "check", ALICE_IG)
    assert "token works" in checked.output and "of 50" in checked.output  # the quota

    cli.sandbox.state.revoke_token(ALICE_TOKEN, "password_changed")  # type: ignore[attr-defined]
    failed = cli("account", "check", ALICE_IG, code=1)
    assert f"igautopost account add {ALICE_IG} --replace" in failed.output.replace("\n", "")
    shown = json.loads(cli("account", "show", ALICE_IG, "--json").output)
    assert shown["health"] == "needs_reconnect" and "password" in shown["health_reason"]

    cli("account", "remove", ALICE_IG)
    cli("account", "remove", ALICE_IG, code=1)


def test_a_token_is_never_an_argument(cli: Cli) -> None:
    result = cli("account", "add", ALICE_IG, "EAAB-as-an-argument", code=2)
    assert "unexpected extra argument" in result.output.lower()
    cli("account", "add", ALICE_IG, stdin=ALICE_TOKEN + "\n")  # the hidden prompt


def test_secrets_generate_prints_a_usable_key(cli: Cli) -> None:
    key = cli("secrets", "generate").output.strip()
    TokenCipher([key])
    cli("account", "add", ALICE_IG, "--token-stdin", stdin=ALICE_TOKEN + "\n")
