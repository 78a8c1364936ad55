"""`serve --workers 2`: the spawned API processes build their app from the settings `serve`
hands them (pickled with uvicorn's config), the sandbox's database among them."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

pytest.importorskip("fastapi")

SCRIPT = Path(sys.executable).parent / "igautopost"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def healthy(url: str) -> bool:
    try:
        return requests.get(f"{url}/api/v1/health", timeout=1).status_code == 200
    except requests.RequestException:  # refused, or queued while its process starts
        return False


def test_api_processes_use_the_sandbox_database_that_serve_chose(tmp_path: Path) -> None:
    """No variable names a database: `serve --sandbox` picks its own file and creates the
    demo user there. The API processes know the demo token only if they got that choice."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("IGAUTOPOST_")}
    env.update(IGAUTOPOST_DATA_DIR=str(tmp_path), NO_COLOR="1")
    command = [str(SCRIPT), "serve", "--sandbox", "--workers", "2", "--port", str(port)]
    with (tmp_path / "serve.log").open("w") as log:
        process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=log, text=True)
    url = f"http://127.0.0.1:{port}"
    try:
        assert process.stdout is not None
        curl = process.stdout.readline()  # printed before the server starts listening
        found = re.search(r"Authorization: Token ([0-9a-f]{40})", curl)
        assert found, (tmp_path / "serve.log").read_text()
        deadline = time.monotonic() + 30
        while not healthy(url):
            assert process.poll() is None, (tmp_path / "serve.log").read_text()
            assert time.monotonic() < deadline, "serve did not answer within 30 s"
            time.sleep(0.1)

        headers = {"Authorization": f"Token {found.group(1)}"}
        answers = [requests.get(f"{url}/api/v1/posts/", headers=headers, timeout=5) for _ in "ab"]

        assert [answer.status_code for answer in answers] == [200, 200]
        assert not (tmp_path / "igautopost.db").exists()  # the default database: never opened
        assert "API at" in (tmp_path / "serve.log").read_text()
    finally:
        process.terminate()
        assert process.wait(timeout=30) == 0
        if process.stdout:
            process.stdout.close()


def test_the_sandbox_banner_gives_a_password_that_logs_in_to_the_web_page(tmp_path: Path) -> None:
    """`make run`'s user opens the web page with the demo's password, printed at start; a
    second start prints a new one."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("IGAUTOPOST_")}
    env.update(IGAUTOPOST_DATA_DIR=str(tmp_path), NO_COLOR="1")
    passwords = [_log_in_with_banner(tmp_path, env, run) for run in range(2)]
    assert passwords[0] != passwords[1]


def _log_in_with_banner(tmp_path: Path, env: dict[str, str], run: int) -> str:
    port = free_port()
    command = [str(SCRIPT), "serve", "--sandbox", "--workers", "1", "--port", str(port)]
    log_path = tmp_path / f"serve-{run}.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=log)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while not healthy(url):
            assert process.poll() is None, log_path.read_text()
            assert time.monotonic() < deadline, "serve did not answer within 30 s"
            time.sleep(0.1)
        banner = log_path.read_text()
        found = re.search(rf"web page at {url}/ : log in as 'demo' with password (\S+)", banner)
        assert found, banner
        browser = requests.Session()
        form = browser.get(f"{url}/login", timeout=5)
        token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
        assert token
        fields = {"username": "demo", "password": found.group(1), "csrf_token": token.group(1)}
        answer = browser.post(f"{url}/login", data=fields, allow_redirects=False, timeout=10)
        assert answer.status_code == 303, answer.text
        queue = browser.get(f"{url}/queue", headers={"accept": "text/html"}, timeout=5)
        assert queue.status_code == 200 and "Log out" in queue.text
        return found.group(1)
    finally:
        process.terminate()
        assert process.wait(timeout=30) == 0
