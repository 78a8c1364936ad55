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
    except requests.RequestException:  # refused, or queued while its process starts
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


def test_serve_sandbox_end_to_end_login_photo_and_reel_published_once(tmp_path: Path) -> None:
    """The issue's acceptance run: an operator creates a user, a client logs in with a
    curl-style request, schedules a photo (JSON) and a reel (form) a few seconds ahead, sees
    both published with a permalink, and the sandbox reports exactly one publish each."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("IGAUTOPOST_")}
    env.update(
        IGAUTOPOST_DATA_DIR=str(tmp_path),
        NO_COLOR="1",
        # The sandbox's own database: `serve --sandbox` refuses any database not made for it.
        IGAUTOPOST_DATABASE_URL=f"sqlite:///{tmp_path / 'sandbox.db'}",
    )
    created = subprocess.run(
        [str(SCRIPT), "user", "create", "alice", "--password-stdin"],
        input="s3cret-pass-e2e\n",
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert created.returncode == 0, created.stderr
    log_path = tmp_path / "serve.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [str(SCRIPT), "serve", "--sandbox", "--port", str(port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=log,
            text=True,
        )
    try:
        url = f"http://127.0.0.1:{port}"
        wait_for(lambda: _healthy(url), timeout=20)
        sandbox = re.search(r"sandbox Graph API at (http://127\.0\.0\.1:\d+)", log_path.read_text())
        assert sandbox, log_path.read_text()
        login = requests.post(
            f"{url}/api/v1/api-token-auth/",
            data={"username": "alice", "password": "s3cret-pass-e2e"},
            timeout=5,
        )
        assert login.status_code == 200, login.text
        headers = {"Authorization": f"Token {login.json()['token']}"}
        base = {"user_id": "17841400000000001", "token": "sandbox-e2e-token"}
        photo = {
            **base,
            "url": "https://example.com/e2e/photo.jpg",
            "content_type": "Photo",
            "caption": "e2e photo",
            "date_pub": int(time.time()) + 4,
        }
        reel = {
            **base,
            "url": "https://example.com/e2e/reel.mp4",
            "content_type": "Video",
            "caption": "e2e reel",
            "date_pub": str(int(time.time()) + 8),
        }
        ids = [
            requests.post(f"{url}/api/v1/posts/", json=photo, headers=headers, timeout=5),
            requests.post(f"{url}/api/v1/posts/", data=reel, headers=headers, timeout=5),
        ]
        assert [r.status_code for r in ids] == [201, 201], [r.text for r in ids]

        def both_published() -> list[dict[str, Any]] | None:
            posts = [
                requests.get(
                    f"{url}/api/v1/posts/{r.json()['id']}/", headers=headers, timeout=5
                ).json()
                for r in ids
            ]
            done = all(p["status"] == "published" and p["permalink"] for p in posts)
            return posts if done else None

        posts = wait_for(both_published, timeout=45)
        assert all(p["permalink"].startswith("https://www.instagram.com/p/") for p in posts)
        report = requests.get(f"{sandbox.group(1)}/_sandbox/publishes", timeout=5).json()
        assert report["duplicates"] == []
        by_caption = {row["caption"]: row["media_ids"] for row in report["by_caption"]}
        assert len(by_caption["e2e photo"]) == 1 and len(by_caption["e2e reel"]) == 1
        assert {p["media_id"] for p in posts} == {
            by_caption["e2e photo"][0],
            by_caption["e2e reel"][0],
        }
        assert "sandbox-e2e-token" not in str(posts) + log_path.read_text()
        assert "s3cret-pass-e2e" not in log_path.read_text()
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=15) == 0


def test_the_api_client_example_follows_a_post_to_its_permalink(served):
    _, url, key = served
    example = Path(__file__).resolve().parents[2] / "examples" / "api_client.py"
    env = {**os.environ, "IGAUTOPOST_API_TOKEN": key}
    result = subprocess.run(
        [sys.executable, str(example), "--server", url, "--in", "2"],
        env=env,
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "  published" in lines, result.stdout
    assert lines[-1].startswith("https://www.instagram.com/p/"), result.stdout  # never "None"
