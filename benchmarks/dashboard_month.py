"""The dashboard's month and week views with 10,000 stored posts: server time and CPU per
render.

Two shapes of one user's 10,000 posts, each in a SQLite database of its own:

- ``one-month``: all in one month on one account (about 320 a day: the page shows 4 a day
  and "+K more", so the cost is in counting, not in cards);
- ``year``: spread over a year on 5 accounts (about 850 in the month shown).

It logs in through the login form, then renders ``GET /calendar?view=month`` for the month
that holds the posts, and ``GET /calendar?view=week`` for its week of 15 March (in the
one-month shape about 2,260 posts, some 13 in each of the week's 168 hour slots: it shows 3
of each and "+K more"), `--renders` times each, one request at a time, as raw ASGI calls (no
sockets): wall time per render (p50, p95) and the process's CPU per render (all threads: the
store read runs on the thread pool). With ``--serve``, it also starts ``igautopost serve
--no-worker --workers 1`` on the same database and times the same page over HTTP.

    .venv/bin/python benchmarks/dashboard_month.py
    .venv/bin/python benchmarks/dashboard_month.py --renders 200 --serve
    .venv/bin/python benchmarks/dashboard_month.py --shape one-month --view week --profile
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import logging
import os
import pstats
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from igautopost import services
from igautopost.api import create_app
from igautopost.config import Settings
from igautopost.models import PostSpec

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

POSTS = 10_000
USER, PASSWORD = "bench", "bench-password-123"
MONTH_START = datetime(2031, 3, 1, tzinfo=UTC)
YEAR_START = datetime(2031, 1, 1, tzinfo=UTC)
PAGES = {
    "month": "/calendar?view=month&date=2031-03-15&tz=Europe/Berlin",
    "week": "/calendar?view=week&date=2031-03-15&tz=Europe/Berlin",
}
ACCOUNTS = [f"1784140000000000{i}" for i in range(1, 6)]


def specs(shape: str, count: int) -> Iterator[PostSpec]:
    rng = random.Random(17)
    span = timedelta(days=31) if shape == "one-month" else timedelta(days=365)
    start = MONTH_START if shape == "one-month" else YEAR_START
    for number in range(count):
        yield PostSpec.model_validate(
            {
                "account": ACCOUNTS[0] if shape == "one-month" else rng.choice(ACCOUNTS),
                "access_token": "EAAB-bench-token",
                "media_type": "image",
                "media_url": f"https://example.com/media/{number}.jpg",
                "caption": f"Post {number} of the benchmark #bench",
                "publish_at": start + timedelta(seconds=rng.randrange(int(span.total_seconds()))),
            }
        )


def build(data_dir: Path, shape: str, count: int) -> Settings:
    """A database holding `count` posts of one user in `shape`; its settings."""
    settings = Settings(data_dir=data_dir, database_url=f"sqlite:///{data_dir / 'bench.db'}")
    store = services.open_store(settings)
    users = services.users(settings, store)
    user = users.create(USER, PASSWORD)
    store.add_many(specs(shape, count), now=datetime.now(UTC), owner_id=user.id)
    store.close()
    return settings


def session_cookie(client: httpx.Client | TestClient) -> str:
    """Log in through the form, as a browser does; the Cookie header to send."""
    form = client.get("/login", headers={"accept": "text/html"})
    token = form.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    answer = client.post(
        "/login",
        data={"username": USER, "password": PASSWORD, "csrf_token": token},
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text
    return "; ".join(f"{name}={value}" for name, value in client.cookies.items())


def _scope(path: str, cookie: str) -> dict[str, Any]:
    target, _, query = path.partition("?")
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "server": ("127.0.0.1", 8000),
        "client": ("127.0.0.1", 50000),
        "scheme": "http",
        "method": "GET",
        "root_path": "",
        "path": target,
        "raw_path": target.encode(),
        "query_string": query.encode(),
        "headers": [
            (b"host", b"127.0.0.1:8000"),
            (b"accept", b"text/html"),
            (b"cookie", cookie.encode()),
        ],
        "state": {},
    }


async def render(app: Any, cookie: str, page: str) -> tuple[int, int]:
    """One GET of the page as uvicorn would call the app: (status, body bytes)."""
    status, size = 0, 0

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status, size
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body":
            size += len(message.get("body", b""))

    await app(_scope(page, cookie), receive, send)
    return status, size


def in_process(settings: Settings, page: str, renders: int, profile: bool) -> None:
    app = create_app(settings)
    with TestClient(app) as client:  # runs the app's startup, logs in
        cookie = session_cookie(client)
    loop = asyncio.new_event_loop()
    status, size = loop.run_until_complete(render(app, cookie, page))
    assert status == 200, status
    for _ in range(5):  # templates compiled, pool threads started, pages cached
        loop.run_until_complete(render(app, cookie, page))
    walls, cpus = [], []
    profiler = cProfile.Profile() if profile else None
    if profiler:
        profiler.enable()
    for _ in range(renders):
        cpu, wall = time.process_time(), time.perf_counter()
        loop.run_until_complete(render(app, cookie, page))
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    if profiler:
        profiler.disable()
        text = io.StringIO()
        pstats.Stats(profiler, stream=text).sort_stats("tottime").print_stats(30)
        print(text.getvalue())
    report("in-process", walls, cpus, size)


def served(settings: Settings, page: str, renders: int) -> None:
    """The same page from a real `igautopost serve` (one API process, no worker)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {
        **os.environ,
        "IGAUTOPOST_DATA_DIR": str(settings.data_dir),
        "IGAUTOPOST_DATABASE_URL": str(settings.database_url),
    }
    launcher = Path(sys.executable).parent / "igautopost"
    command = [str(launcher), "serve", "--port", str(port), "--no-worker"]
    command += ["--workers", "1", "--no-access-log"]
    log = (settings.data_dir / "serve.log").open("wb")
    server = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        base = f"http://127.0.0.1:{port}"
        with httpx.Client(base_url=base, timeout=30) as client:
            for _ in range(300):
                if server.poll() is not None:
                    text = (settings.data_dir / "serve.log").read_text()[-2000:]
                    raise SystemExit(f"serve stopped: {text}")
                try:
                    client.get("/api/v1/health/")
                    break
                except httpx.TransportError:
                    time.sleep(0.1)
            cookie = session_cookie(client)
            client.cookies.clear()
            headers = {"accept": "text/html", "cookie": cookie}
            for _ in range(5):
                assert client.get(page, headers=headers).status_code == 200
            walls, size = [], 0
            cpu = _cpu_seconds(server.pid)
            for _ in range(renders):
                wall = time.perf_counter()
                answer = client.get(page, headers=headers)
                walls.append(time.perf_counter() - wall)
                size = len(answer.content)
            cpu = _cpu_seconds(server.pid) - cpu
        report("igautopost serve", walls, [cpu / renders] if cpu >= 0 else None, size)
    finally:
        server.terminate()
        server.wait(timeout=10)
        log.close()


def _cpu_seconds(pid: int) -> float:
    """User and system CPU of a process so far (Linux's /proc; -1 elsewhere): one API
    process serves in the server's own process."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return -1.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def report(name: str, walls: list[float], cpus: list[float] | None, size: int) -> None:
    ms = sorted(w * 1000 for w in walls)
    p95 = ms[min(len(ms) - 1, int(len(ms) * 0.95))]
    line = f"  {name}: {len(ms)} renders, p50 {statistics.median(ms):.1f} ms, p95 {p95:.1f} ms"
    if cpus:
        line += f", CPU {statistics.mean(cpus) * 1000:.1f} ms per render"
    print(line + f" ({size:,} bytes)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--posts", type=int, default=POSTS)
    parser.add_argument("--renders", type=int, default=100)
    parser.add_argument("--shape", choices=("one-month", "year", "both"), default="both")
    parser.add_argument("--view", choices=("month", "week", "both"), default="both")
    parser.add_argument("--serve", action="store_true", help="also time a real igautopost serve")
    parser.add_argument("--profile", action="store_true", help="cProfile the in-process renders")
    options = parser.parse_args()
    logging.getLogger("igautopost").setLevel(logging.WARNING)
    shapes = ("one-month", "year") if options.shape == "both" else (options.shape,)
    print(f"load: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f}")
    for shape in shapes:
        with tempfile.TemporaryDirectory(prefix="igautopost-month-") as tmp:
            started = time.perf_counter()
            settings = build(Path(tmp), shape, options.posts)
            built = time.perf_counter() - started
            print(f"{shape}: {options.posts:,} posts of one user (built in {built:.1f} s)")
            for view in ("month", "week") if options.view == "both" else (options.view,):
                print(f" {view}: {PAGES[view]}")
                in_process(settings, PAGES[view], options.renders, options.profile)
                if options.serve:
                    served(settings, PAGES[view], options.renders)


if __name__ == "__main__":
    main()
