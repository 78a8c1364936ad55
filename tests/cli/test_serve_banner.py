"""`serve` through the installed script, its output piped (issue 15): its port is bound
before it prints anything, a busy one is an error naming --port, and its banner lines stay
whole."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("fastapi")

SCRIPT = Path(sys.executable).parent / "igautopost"
DEEP = "d" * 60  # a data directory that makes the sandbox banner longer than 80 columns


def serve_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("IGAUTOPOST_")}
    env.update(IGAUTOPOST_DATA_DIR=str(tmp_path / DEEP), NO_COLOR="1", COLUMNS="")
    return env


def test_a_busy_port_is_an_error_naming_port_before_any_banner(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run(
            [str(SCRIPT), "serve", "--sandbox", "--port", str(port)],
            env=serve_env(tmp_path),
            capture_output=True,
            text=True,
            timeout=60,
        )

    assert done.returncode == 1
    assert done.stdout == ""
    [line] = done.stderr.splitlines()
    assert line.startswith(f"error: cannot listen on 127.0.0.1:{port}: ")
    assert "--port" in line


def test_the_banner_lines_stay_whole(tmp_path: Path) -> None:
    lines: list[str] = []
    with subprocess.Popen(
        [str(SCRIPT), "serve", "--sandbox", "--port", "0", "--no-access-log"],
        env=serve_env(tmp_path),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    ) as process:
        assert process.stderr is not None
        try:
            deadline = time.monotonic() + 30
            while not lines or not lines[-1].startswith("igautopost API at"):
                assert time.monotonic() < deadline and process.poll() is None, lines
                lines.append(process.stderr.readline().rstrip("\n"))
        finally:
            process.terminate()
            process.communicate(timeout=30)

    sandbox, *_, api = lines
    assert sandbox.startswith("sandbox Graph API at http://")
    assert sandbox.endswith(f"{DEEP}/sandbox.db")
    assert api.endswith("/api/docs") and "/api/v1/ (publishing here); docs at http://" in api
    assert ":0/" not in api  # the port chosen for --port 0, not 0
