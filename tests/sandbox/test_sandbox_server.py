"""SandboxServer over real loopback HTTP, and the `igautopost sandbox` command."""

from __future__ import annotations

import http.client
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

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


def _raw_publish(body: bytes = b"creation_id=1") -> bytes:
    return (
        b"POST /v25.0/%s/media_publish HTTP/1.1\r\nHost: sandbox\r\n"
        b"Authorization: Bearer raw\r\nContent-Type: application/x-www-form-urlencoded\r\n"
        b"Content-Length: %d\r\n\r\n%s" % (ACCOUNT.encode(), len(body), body)
    )


def _answer(sock: socket.socket) -> int:
    """Read one whole answer from `sock`; its status."""
    answer = http.client.HTTPResponse(sock)
    answer.begin()
    answer.read()
    answer.close()
    return answer.status


def test_a_call_is_stamped_when_its_first_bytes_reach_the_socket_and_when_the_app_takes_it() -> (
    None
):
    """`socket_time` is the first read of the request (issue 14): a request whose head comes
    in two parts, 300 ms apart, keeps the time of the first part; the app's `wall_time` is
    when it could handle it, once the head was whole."""
    with SandboxServer() as sandbox, socket.create_connection((sandbox.host, sandbox.port)) as sock:
        request = _raw_publish()
        before = datetime.now(UTC)
        sock.sendall(request[:20])
        time.sleep(0.3)
        sock.sendall(request[20:])
        assert _answer(sock) == 400  # no such container; answered all the same
        (call,) = requests.get(f"{sandbox.url}/_sandbox/calls", timeout=5).json()["calls"]
    socket_time = datetime.fromisoformat(call["socket_time"])
    wall_time = datetime.fromisoformat(call["wall_time"])
    assert before <= socket_time < before + timedelta(milliseconds=150)
    assert wall_time - socket_time >= timedelta(milliseconds=280)
    if hasattr(socket, "TCP_INFO"):  # the kernel's time, to its tick (sandbox/intake.py)
        tcp_time = datetime.fromisoformat(call["tcp_time"])
        assert abs(tcp_time - before) < timedelta(milliseconds=60)


def test_calls_on_one_connection_are_each_stamped_with_their_own_bytes() -> None:
    with SandboxServer() as sandbox, socket.create_connection((sandbox.host, sandbox.port)) as sock:
        sent_at = []
        for _ in range(2):
            sent_at.append(datetime.now(UTC))
            sock.sendall(_raw_publish())
            assert _answer(sock) == 400  # no such container; answered all the same
            time.sleep(0.2)
        calls = requests.get(f"{sandbox.url}/_sandbox/calls", timeout=5).json()["calls"]
    stamps = [datetime.fromisoformat(call["socket_time"]) for call in calls]
    assert stamps[1] - stamps[0] >= timedelta(milliseconds=190)  # not the connection's first
    for sent, stamp in zip(sent_at, stamps, strict=True):
        assert sent <= stamp < sent + timedelta(milliseconds=100)
