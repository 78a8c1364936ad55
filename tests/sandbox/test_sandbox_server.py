"""SandboxServer over real loopback HTTP, and the `igautopost sandbox` command."""

from __future__ import annotations

import subprocess
import sys

import requests
import typer
from sandboxtest import ACCOUNT, IMAGE, VIDEO
from typer.testing import CliRunner

from igautopost.clock import FakeClock
from igautopost.sandbox import SandboxConfig, SandboxServer


def test_full_flow_over_http_with_a_fake_clock() -> None:
    clock = FakeClock()
    config = SandboxConfig(video_processing_seconds=60)
    with SandboxServer(config, clock=clock) as sandbox, requests.Session() as http:
        assert sandbox.url.startswith("http://127.0.0.1:")
        http.headers["Authorization"] = "Bearer over-http"
        base = f"{sandbox.url}/v25.0"
        reel = http.post(
            f"{base}/{ACCOUNT}/media", json={"media_type": "REELS", "video_url": VIDEO}
        ).json()["id"]
        assert http.get(f"{base}/{reel}", params={"fields": "status_code"}).json() == {
            "status_code": "IN_PROGRESS"
        }
        sandbox.state.advance(60)
        media_id = http.post(f"{base}/{ACCOUNT}/media_publish", data={"creation_id": reel}).json()[
            "id"
        ]
        assert sandbox.state.media[media_id].container_id == reel
        assert http.get(f"{sandbox.url}/_sandbox/stats").json()["publishes"] == 1


def test_instagram_login_shape_over_http() -> None:
    with SandboxServer() as sandbox:
        response = requests.post(
            f"{sandbox.url}/me/media",
            data={"image_url": IMAGE},
            headers={"Authorization": "Bearer ig"},
            timeout=5,
        )
        assert response.status_code == 200


def test_two_servers_are_independent() -> None:
    with SandboxServer() as first, SandboxServer() as second:
        assert first.port != second.port
        requests.post(
            f"{first.url}/me/media",
            data={"image_url": IMAGE},
            headers={"Authorization": "Bearer x"},
            timeout=5,
        )
        assert len(first.state.containers) == 1 and not second.state.containers


def test_stop_is_idempotent() -> None:
    sandbox = SandboxServer().start()
    sandbox.stop()
    sandbox.stop()


def test_cli_help_and_lazy_imports() -> None:
    from igautopost_cli.sandbox import sandbox

    app = typer.Typer()
    app.command()(sandbox)
    result = CliRunner().invoke(app, ["--help"])
    assert result.exit_code == 0 and "--video-processing-seconds" in result.output
    code = (
        "import sys, igautopost_cli.sandbox; "
        "print('uvicorn' in sys.modules, 'starlette' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "False False"
