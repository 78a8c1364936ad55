"""CPU per request of the API app in-process: POST and GET driven as raw ASGI calls.

No sockets, no wrk, no uvicorn: the app as `serve`'s API processes build it (SQLite, no
scheduler in the process, access log on to a null stream), called the way uvicorn calls it,
with `--concurrency` requests in flight on one event loop. It prints the process CPU
(all threads) per request, the steadier figure on a shared machine, for comparing revisions
of the app's own per-request work (docs/benchmarks.md, "The HTTP API (issue 5)").

    .venv/bin/python benchmarks/api_inprocess.py                  # 3,000 POSTs, 3,000 GETs
    .venv/bin/python benchmarks/api_inprocess.py --same-hour 10000 --repeats 3
    .venv/bin/python benchmarks/api_inprocess.py --profile post   # cProfile, top functions
    .venv/bin/python benchmarks/api_inprocess.py --profile post-writer  # the writer thread's
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import json
import logging
import os
import pstats
import random
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import Executor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from api_bench import HOUR_START, POST

from igautopost import Settings, schedule, services
from igautopost.api import create_app
from igautopost.api.serve import configure_access_log


def _scope(method: str, path: str, key: str, body: bytes) -> dict[str, Any]:
    headers = [
        (b"host", b"127.0.0.1:8000"),
        (b"authorization", f"Token {key}".encode()),
    ]
    if body:
        headers += [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ]
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "server": ("127.0.0.1", 8000),
        "client": ("127.0.0.1", 50000),
        "scheme": "http",
        "method": method,
        "root_path": "",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "headers": headers,
        "state": {},
    }


async def _call(app: Any, method: str, path: str, key: str, body: bytes = b"") -> int:
    sent_body = False
    status = 0

    async def receive() -> dict[str, Any]:
        nonlocal sent_body
        if not sent_body:
            sent_body = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.sleep(3600)
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    await app(_scope(method, path, key, body), receive, send)
    return status


def _post_body(same_hour: bool) -> bytes:
    first, last = (HOUR_START, HOUR_START + 3599) if same_hour else (2_200_000_000, 4_000_000_000)
    return json.dumps({**POST, "date_pub": random.randint(first, last)}).encode()


async def _drive(
    concurrency: int, count: int, request: Callable[[], Any], expect: tuple[int, ...]
) -> None:
    left = count

    async def client() -> None:
        nonlocal left
        while left > 0:
            left -= 1
            status = await request()
            if status not in expect:
                raise SystemExit(f"unexpected status {status}")

    await asyncio.gather(*(client() for _ in range(concurrency)))


def _thread_cpu() -> dict[str, float]:
    """CPU seconds of each live thread of this process by its Python name (Linux's
    /proc/self/task; empty elsewhere), to tell the event loop's share from the threads'."""
    names = {thread.native_id: thread.name for thread in threading.enumerate()}
    tick = os.sysconf("SC_CLK_TCK")
    seconds: dict[str, float] = {}
    for task in Path("/proc/self/task").glob("*") if sys.platform == "linux" else ():
        try:
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # the thread ended meanwhile
            continue
        name = names.get(int(task.name), "other")
        name = "pool" if name.startswith("AnyIO") else name.rstrip("_0123456789")
        seconds[name] = seconds.get(name, 0.0) + (int(fields[11]) + int(fields[12])) / tick
    return seconds


def _measure(
    name: str, run: Callable[[], None], count: int, profile: Executor | bool | None
) -> float:
    """Run `run`, print its CPU per request; `profile`: cProfile the event loop (True) or
    the one thread of an executor (the API's writer thread). The profile counts the thread's
    CPU time: by wall time, a C call that lets go of the GIL (SQLite's) was charged with the
    wait for the GIL back while the other thread ran, several times its own cost."""
    profiler = cProfile.Profile(time.thread_time) if profile else None
    on = profile if isinstance(profile, Executor) else None
    threads = _thread_cpu()
    cpu, wall = time.process_time(), time.perf_counter()
    if profiler:
        on.submit(profiler.enable).result() if on else profiler.enable()
    run()
    if profiler:
        on.submit(profiler.disable).result() if on else profiler.disable()
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    after = _thread_cpu()
    spent = {thread: after[thread] - threads.get(thread, 0.0) for thread in after}
    # anyio's pool threads end with each run's root task: theirs is what the others leave
    spent["pool"] = spent.get("pool", 0.0) + max(0.0, cpu - sum(spent.values()))
    split = ", ".join(
        f"{thread} {seconds / count * 1e6:,.0f}"
        for thread, seconds in sorted(spent.items())
        if seconds > 0
    )
    print(
        f"{name}: {count} requests, {cpu / count * 1e6:,.0f} us CPU each ({split}), "
        f"{count / wall:,.0f}/s"
    )
    if profiler:
        text = io.StringIO()
        pstats.Stats(profiler, stream=text).sort_stats("tottime").print_stats(40)
        print(text.getvalue())
    return cpu / count * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--same-hour", type=int, default=0, metavar="N")
    parser.add_argument(
        "--profile", choices=("post", "get", "post-writer"), help="post-writer: the writer thread"
    )
    parser.add_argument("--only", choices=("post", "get"), help="run one of the two")
    options = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="igautopost-inprocess-") as tmp:
        settings = Settings(data_dir=Path(tmp))
        configure_access_log(True)
        handler = logging.getLogger("igautopost.api.access").handlers[0]
        assert isinstance(handler, logging.StreamHandler)
        handler.setStream(open(os.devnull, "w"))  # noqa: SIM115  (formatted and written, unseen)
        store = services.open_store(settings)
        users = services.users(settings, store)
        user = users.create("bench", "bench-password-123")
        key = users.login_key(user)
        if options.same_hour:
            items = [{**POST, "date_pub": HOUR_START + i % 3600} for i in range(options.same_hour)]
            schedule(store, items, now=datetime.now(UTC), owner_id=user.id)
        store.close()
        app = create_app(settings)
        loop = asyncio.new_event_loop()
        post_id = 0

        async def first() -> None:
            nonlocal post_id
            status = await _call(app, "POST", "/api/v1/posts/", key, _post_body(True))
            assert status == 201, status

        loop.run_until_complete(first())
        post_id = 1 + options.same_hour
        same = bool(options.same_hour)
        posts: list[float] = []
        gets: list[float] = []
        for _ in range(options.repeats):

            def post_run() -> None:
                loop.run_until_complete(
                    _drive(
                        options.concurrency,
                        options.requests,
                        lambda: _call(app, "POST", "/api/v1/posts/", key, _post_body(same)),
                        (201,),
                    )
                )

            def get_run() -> None:
                loop.run_until_complete(
                    _drive(
                        options.concurrency,
                        options.requests,
                        lambda: _call(app, "GET", f"/api/v1/posts/{post_id}/", key),
                        (200,),
                    )
                )

            if options.only != "get":
                writer = app.state.igautopost._writer
                profile = writer if options.profile == "post-writer" else options.profile == "post"
                posts.append(_measure("POST", post_run, options.requests, profile))
            if options.only != "post":
                gets.append(_measure("GET", get_run, options.requests, options.profile == "get"))
        print(
            f"POST {' / '.join(f'{x:,.0f}' for x in posts)} us; "
            f"GET {' / '.join(f'{x:,.0f}' for x in gets)} us (load {os.getloadavg()[0]:.2f})"
        )
        app.state.igautopost.close()
        loop.close()


if __name__ == "__main__":
    main()
