"""Sandbox runs on one database share one emulator (cli/sandboxshare.py).

`publish --now --sandbox` while `serve --sandbox` runs on the same database: both engines
step the same posts, so they must talk to the same Graph. Each used to start its own
emulator, and a container one made was looked up on the other (Graph error 100/33, retried
until the post failed): this failed the README's docs test in a CI run. Run as the console
script, as a user would."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

pytest.importorskip("fastapi")

from igautopost_cli.sandboxshare import (
    address_file,
    offer_emulator,
    running_emulator,
    withdraw_emulator,
)

SCRIPT = Path(sys.executable).parent / "igautopost"
STORY = Path(__file__).resolve().parents[2] / "examples" / "story.json"
BANNER = re.compile(r"sandbox Graph API at (http://127\.0\.0\.1:\d+)")


def sandbox_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("IGAUTOPOST_")}
    env.update(IGAUTOPOST_DATA_DIR=str(tmp_path / "data"), NO_COLOR="1", COLUMNS="200")
    return env


class Served:
    def __init__(self, process: subprocess.Popen[str], graph_url: str) -> None:
        self.process = process
        self.graph_url = graph_url


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    """`serve --sandbox` on the data directory, once its API is up."""
    process = subprocess.Popen(
        [str(SCRIPT), "serve", "--sandbox", "--port", "0", "--workers", "1", "--no-access-log"],
        env=sandbox_env(tmp_path),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stderr is not None
    try:
        lines: list[str] = []
        deadline = time.monotonic() + 30
        while not lines or not lines[-1].startswith("igautopost API at"):
            assert time.monotonic() < deadline and process.poll() is None, lines
            lines.append(process.stderr.readline().rstrip("\n"))
        found = BANNER.search(lines[0])
        assert found, lines
        yield Served(process, found.group(1))
    finally:
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=30)


def publish_now(tmp_path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(SCRIPT), "publish", str(STORY), "--now", "--sandbox", "--timeout", "60"],
        env=sandbox_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=90,
    )


def test_publish_now_uses_the_emulator_of_the_serve_running_on_its_database(
    tmp_path: Path, served: Served
) -> None:
    done = publish_now(tmp_path)

    assert done.returncode == 0, done.stderr
    first = done.stderr.splitlines()[0]
    assert first.startswith(
        f"sandbox Graph API at {served.graph_url} (served by process {served.process.pid}, "
    ), first
    assert "published post" in done.stdout
    assert "Graph error" not in done.stderr  # no step looked for a container elsewhere
    objects = requests.get(f"{served.graph_url}/_sandbox/objects", timeout=10).json()
    assert len(objects["media"]) == 1, objects  # published on serve's emulator


def test_serve_withdraws_its_emulator_when_it_stops(tmp_path: Path, served: Served) -> None:
    database = f"sqlite:///{tmp_path / 'data' / 'sandbox.db'}"
    path = address_file(database)
    assert path is not None and path.is_file()
    assert json.loads(path.read_text())["pid"] == served.process.pid

    served.process.send_signal(signal.SIGTERM)
    served.process.communicate(timeout=30)

    assert not path.exists()
    assert running_emulator(database) is None


def test_an_address_left_by_a_dead_process_is_not_used(tmp_path: Path) -> None:
    database = f"sqlite:///{tmp_path / 'data' / 'sandbox.db'}"
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], **_text())
    path = address_file(database)
    assert path is not None
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"url": "http://127.0.0.1:9", "pid": int(gone.stdout)}))

    done = publish_now(tmp_path)

    assert done.returncode == 0, done.stderr
    assert "served by process" not in done.stderr
    assert path.is_file()  # publish --now neither offers nor removes an address


def test_an_address_that_does_not_answer_as_a_sandbox_is_not_used(tmp_path: Path) -> None:
    database = f"sqlite:///{tmp_path / 'sandbox.db'}"
    parent = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        path = offer_emulator(database, "http://127.0.0.1:9")
        assert path is not None
        path.write_text(json.dumps({"url": "http://127.0.0.1:9", "pid": parent.pid}))
        assert running_emulator(database) is None  # alive, but nothing answers there
    finally:
        parent.kill()
        parent.wait()


def test_a_run_withdraws_only_the_address_it_wrote(tmp_path: Path) -> None:
    database = f"sqlite:///{tmp_path / 'sandbox.db'}"
    path = offer_emulator(database, "http://127.0.0.1:1")
    assert path is not None and path.name == "sandbox.db.emulator.json"
    path.write_text(json.dumps({"url": "http://127.0.0.1:2", "pid": os.getpid() + 1}))

    withdraw_emulator(path)

    assert json.loads(path.read_text())["url"] == "http://127.0.0.1:2"


@pytest.mark.parametrize("url", ["sqlite://", "sqlite:///:memory:", "postgresql://h/db"])
def test_databases_whose_runs_cannot_share_have_no_address(url: str) -> None:
    assert address_file(url) is None
    assert running_emulator(url) is None


def _text() -> dict[str, object]:
    return {"capture_output": True, "text": True, "timeout": 30, "check": True}
