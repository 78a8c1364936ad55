"""A whole publishing run, failures included, at DEBUG level: no access token in any log line,
error message, event, CLI output or database byte.

Every logger (ours, requests/urllib3, uvicorn, alembic) is captured at DEBUG while posts are
scheduled, prepared, polled and published through the sandbox with injected faults: Graph
errors, 5xx, dropped connections, a publish that succeeded but answered an error, a revoked
token, and token exchange and refresh.
"""

from __future__ import annotations

import io
import logging
import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests
from typer.testing import CliRunner

import igautopost
from igautopost.sandbox import ErrorSpec, FaultRule, SandboxConfig, SandboxServer

TOKEN = "EAAB-LEAKCHECK-primary-9f2c1d7e5b3a"
REVOKED = "EAAB-LEAKCHECK-revoked-41d0aa7c"
APP_SECRET = "appsecret-LEAKCHECK-77c1"
SECRETS = (TOKEN, REVOKED, APP_SECRET, "LEAKCHECK")
OTHER_ACCOUNT = "17841400000000777"  # the revoked token's: its post waits, the others publish

FAULTS = (
    FaultRule(
        kind="error", endpoints=("create_container",), on_calls=(1,), errors=(ErrorSpec(code=2),)
    ),
    FaultRule(kind="server_error", endpoints=("get_object",), on_calls=(2, 5)),
    FaultRule(kind="drop", endpoints=("get_object",), on_calls=(7,)),
    FaultRule(
        kind="after_success_error",
        endpoints=("publish",),
        on_calls=(1,),
        errors=(ErrorSpec(code=2),),
    ),
)


@pytest.fixture
def debug_log() -> Iterator[io.StringIO]:
    """Everything every logger says, formatted as a handler would write it, tracebacks too."""
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
    handler.setLevel(logging.DEBUG)
    root = logging.getLogger()
    previous = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    touched = [logging.getLogger(name) for name in ("urllib3", "uvicorn", "alembic", "igautopost")]
    levels = [logger.level for logger in touched]
    for logger in touched:
        logger.setLevel(logging.DEBUG)
    yield buffer
    root.removeHandler(handler)
    root.setLevel(previous)
    for logger, level in zip(touched, levels, strict=True):
        logger.setLevel(level)


def test_a_publishing_run_with_failures_leaks_no_token(
    tmp_path: Path, debug_log: io.StringIO
) -> None:
    clock = igautopost.FakeClock(datetime(2030, 5, 1, 8, 0, tzinfo=UTC))
    key = igautopost.TokenCipher.generate_key()
    settings = igautopost.Settings(data_dir=tmp_path, secret_key=key)
    store = igautopost.open_store(settings)
    config = SandboxConfig(faults=FAULTS, seed=3, video_processing_seconds=30)
    with SandboxServer(config, clock=clock) as sandbox:
        client = igautopost.GraphClient(base_url=sandbox.url, timeout=5)
        publisher = igautopost.Publisher(store, client, clock)
        posts = _schedule(store, clock.now(), sandbox.state.config.default_account_id)
        requests.post(
            f"{sandbox.url}/_sandbox/tokens/revoke",
            json={"token": REVOKED, "reason": "expired"},
            timeout=5,
        )
        igautopost.Simulation(publisher, clock).run_for(timedelta(hours=3))
        exchanged = client.exchange_token(TOKEN, app_id="123", app_secret=APP_SECRET)
        clock.advance(timedelta(hours=25))  # Instagram refreshes tokens older than 24 h only
        refreshed = client.refresh_token(exchanged.access_token)
        assert refreshed.expires_in
        client.close()

    stored = [store.get(post.id) for post in posts]
    statuses = sorted(post.status.value for post in stored)
    assert statuses == ["published", "published", "published", "scheduled"], statuses
    waiting = next(post for post in stored if post.status is igautopost.Status.SCHEDULED)
    assert waiting.error is not None and waiting.error.code == 190  # waits for a new token

    cli_output = _cli_views(tmp_path, key, [post.id for post in stored])
    texts = {
        "logs": debug_log.getvalue(),
        "errors": "\n".join(str(post.error) for post in stored),
        "events": "\n".join(e.detail for post in stored for e in store.events(post.id)),
        "cli": cli_output,
        "reprs": "\n".join(repr(post) for post in stored),
    }
    store.close()
    assert "igautopost.graph" in texts["logs"] and "urllib3" in texts["logs"], "DEBUG captured"
    for name, text in texts.items():
        for secret in SECRETS:
            assert secret not in text, f"{secret!r} found in {name}"
    for path in tmp_path.glob("igautopost.db*"):
        data = path.read_bytes()
        for secret in SECRETS:
            assert secret.encode() not in data, f"{secret!r} in the raw bytes of {path.name}"


def _schedule(store: igautopost.SqlStore, now: datetime, account: str) -> list[igautopost.Post]:
    base = {"account": account, "access_token": TOKEN}
    soon = now + timedelta(minutes=40)
    items = [
        {
            **base,
            "media_type": "image",
            "media_url": "https://example.com/a.jpg",
            "caption": "one",
            "first_comment": "hello",
            "publish_at": soon,
        },
        {
            **base,
            "media_type": "reel",
            "media_url": "https://example.com/b.mp4",
            "caption": "two",
            "publish_at": soon + timedelta(minutes=5),
        },
        {
            **base,
            "media_type": "carousel",
            "caption": "three",
            "publish_at": soon,
            "children": [
                {"media_url": "https://example.com/c1.jpg"},
                {"media_url": "https://example.com/c2.jpg"},
            ],
        },
        {
            **base,
            "account": OTHER_ACCOUNT,
            "access_token": REVOKED,
            "media_type": "image",
            "media_url": "https://example.com/d.jpg",
            "caption": "four",
            "publish_at": soon,
        },
    ]
    return igautopost.schedule(store, items, now=now).created


def _cli_views(data_dir: Path, key: str, post_ids: list[int]) -> str:
    from igautopost_cli import app as cli_app

    env = {**os.environ, "IGAUTOPOST_DATA_DIR": str(data_dir), "IGAUTOPOST_SECRET_KEY": key}
    env.pop("IGAUTOPOST_DATABASE_URL", None)
    runner = CliRunner()
    outputs = []
    for args in (
        ["list", "--json"],
        *(["show", str(i)] for i in post_ids),
        *(["show", str(i), "--json"] for i in post_ids),
    ):
        result = runner.invoke(cli_app.app, list(args), env=env)
        assert result.exit_code == 0, result.output
        outputs.append(result.output)
    return "\n".join(outputs)
