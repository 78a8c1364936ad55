"""What `serve` sets up in each API process it spawns (issue 14)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

SCRIPT = Path(sys.executable).parent / "igautopost"
BUILD_APP = """
import gc, os, sys
from pathlib import Path
from cli.server import api_process_app
from igautopost import Settings
api_process_app(Settings(data_dir=Path(sys.argv[1])), max_body=1_000_000, access_log=False,
                serve_pid=os.getppid())
print(gc.get_freeze_count())
"""


def test_an_api_process_freezes_the_app_it_built(tmp_path: Path) -> None:
    """What it loaded is out of Python's full collections: walking the app's 136,000
    objects took 86 ms, and inside a write it held up both API processes."""
    run = subprocess.run(
        [sys.executable, "-c", BUILD_APP, str(tmp_path)],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).parents[2],
    )
    assert int(run.stdout) > 50_000  # FastAPI, pydantic and SQLAlchemy are out of the walk


def _children(pid: int) -> set[int]:
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.add(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_api_processes_end_when_serve_is_killed(tmp_path: Path) -> None:
    """`serve` killed outright (SIGKILL, the out-of-memory killer) takes its API processes
    with it: left running, they answered on the shared port with no scheduler."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("IGAUTOPOST_")}
    env["IGAUTOPOST_DATA_DIR"] = str(tmp_path)
    command = [str(SCRIPT), "serve", "--workers", "2", "--no-worker", "--port", str(port)]
    serve = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if requests.get(f"http://127.0.0.1:{port}/api/v1/health", timeout=1).ok:
                    break
            except requests.RequestException:
                pass
            assert time.monotonic() < deadline, "serve did not answer"
            time.sleep(0.2)
        api_processes = {
            pid
            for pid in _children(serve.pid)
            if "spawn_main" in Path(f"/proc/{pid}/cmdline").read_text(errors="replace")
        }
        assert len(api_processes) == 2
        serve.send_signal(signal.SIGKILL)
        serve.wait()
        deadline = time.monotonic() + 20
        while any(_alive(pid) for pid in api_processes):
            assert time.monotonic() < deadline, "API processes outlived serve"
            time.sleep(0.2)
    finally:
        if serve.poll() is None:
            serve.kill()
            serve.wait()


BUILD_APP_AFTER_SERVE_DIED = """
import sys, time
from pathlib import Path
from cli.server import api_process_app
from igautopost import Settings
api_process_app(Settings(data_dir=Path(sys.argv[1])), max_body=1_000_000, access_log=False,
                serve_pid=int(sys.argv[2]))
time.sleep(60)
"""


def test_an_api_process_that_starts_after_serve_died_ends(tmp_path: Path) -> None:
    """`serve` killed while an API process was still building its app: the process had been
    adopted by init by then, and watching its parent of the moment, it watched init and
    never ended (a CI run found it left over)."""
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], **_TEXT)
    started = time.monotonic()
    run = subprocess.run(
        [sys.executable, "-c", BUILD_APP_AFTER_SERVE_DIED, str(tmp_path), gone.stdout.strip()],
        capture_output=True,
        text=True,
        timeout=50,  # it would sleep 60 s had nothing stopped it
        cwd=Path(__file__).parents[2],
    )
    assert run.returncode == -signal.SIGTERM, run.stderr
    assert time.monotonic() - started < 50


_TEXT: dict[str, object] = {"capture_output": True, "text": True, "check": True}
