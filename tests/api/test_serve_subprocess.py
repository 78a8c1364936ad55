"""End to end, as the README tells a newcomer: run `igautopost serve --sandbox` as a process,
take the demo token it prints, schedule a photo with a plain HTTP request (what its curl line
does), see it published with a permalink, and stop the server with SIGTERM."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

pytest.importorskip("fastapi")

SCRIPT = Path(sys.executable).parent / "igautopost"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for(check: Any, *, timeout: float) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if result := check():
            return result
        time.sleep(0.1)
    raise AssertionError("timed out")


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], str, str]]:
    """The server process, its base URL and the demo token from its curl line."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("IGAUTOPOST_")}
    env.update(IGAUTOPOST_DATA_DIR=str(tmp_path), NO_COLOR="1")
    log = (tmp_path / "serve.log").open("w")
    process = subprocess.Popen(
        [str(SCRIPT), "serve", "--sandbox", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=log,
        text=True,
    )
    try:
        assert process.stdout is not None
        curl = process.stdout.readline()  # printed before the server starts listening
        found = re.search(r"Authorization: Token ([0-9a-f]{40})", curl)
        assert found, f"no curl line: {curl!r} {(tmp_path / 'serve.log').read_text()}"
        url = f"http://127.0.0.1:{port}"
        wait_for(lambda: _healthy(url), timeout=15)
        yield process, url, found.group(1)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        if process.stdout:
            process.stdout.close()
        log.close()


def _healthy(url: str) -> bool:
    try:
        return requests.get(f"{url}/api/v1/health", timeout=1).status_code == 200
    except requests.ConnectionError:
        return False


def test_serve_sandbox_publishes_a_curl_scheduled_photo_and_stops_on_sigterm(served):
    process, url, key = served
    headers = {"Authorization": f"Token {key}"}
    body = {
        "user_id": "17841400000000001",
        "token": "sandbox-demo-token",
        "url": "https://example.com/demo/photo.jpg",
        "content_type": "Photo",
        "caption": "Hello from igautopost",
        "date_pub": int(time.time()) + 3,
    }
    created = requests.post(f"{url}/api/v1/posts/", json=body, headers=headers, timeout=5)
    assert created.status_code == 201, created.text
    post_id = created.json()["id"]

    def published() -> dict[str, Any] | None:
        post = requests.get(f"{url}/api/v1/posts/{post_id}/", headers=headers, timeout=5).json()
        return post if post["status"] == "published" and post["permalink"] else None

    post = wait_for(published, timeout=20)
    assert post["permalink"].startswith("https://www.instagram.com/p/")
    assert "sandbox-demo-token" not in str(post)

    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=10) == 0
