"""Requests per second and p99 of `igautopost serve` on SQLite: GET one post, POST a post.

Starts `igautopost serve` (default settings: the scheduler runs, access log on) on 127.0.0.1
with a fresh data directory, makes a user and a token with the CLI, then loads it with wrk
(Debian package `wrk`; 2 threads, 32 connections, keep-alive). Posts are scheduled decades
ahead at random times, so nothing publishes and the duplicate check finds no neighbours.

    .venv/bin/python benchmarks/api_bench.py                      # 30 s per endpoint, defaults
    .venv/bin/python benchmarks/api_bench.py --seconds 10 --workers 2

`--same-hour N` measures the awkward shape of issue 14 instead of spread-out posts: N posts
of the benchmark's account are stored first (through `igautopost.schedule`, as the API
stores them), all due within one hour, and every POST lands in that hour too. Their content
is the benchmark's one body, as in the issue's run, so each POST is a near duplicate of
every post of the hour; `--varied` gives each stored and posted post a caption of its own.

    .venv/bin/python benchmarks/api_bench.py --same-hour 10000 [--varied]

Each run also prints the server's CPU per request: the user and system CPU of `serve` and
its API processes over the wrk run (from /proc), divided by wrk's request count. On a machine
shared with other work that figure moves far less than requests/s, so compare revisions by
it (docs/benchmarks.md, "Where POST's CPU went"). `--post-only` skips the GET run.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

BIN = Path(sys.executable).parent
POST = {
    "user_id": "17841400000000001",
    "token": "EAAB-bench-token",
    "content_type": "Photo",
    "url": "https://example.com/bench.jpg",
    "caption": "benchmark #bench",
}
POST_LUA = """
math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16))
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Token %(key)s"
request = function()
  local body = '%(body)s'
  body = body:gsub("DATE_PUB", tostring(math.random(%(first)d, %(last)d)))
  body = body:gsub("CAPTION_SUFFIX", %(suffix)s)
  return wrk.format(nil, nil, nil, body)
end
"""
# Publish times of the spread-out runs: anywhere in decades; of --same-hour: one hour.
SPREAD = (2_200_000_000, 4_000_000_000)
HOUR_START = 2_200_000_000


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def cli(env: dict[str, str], *args: str, stdin: str | None = None) -> str:
    done = subprocess.run(
        [str(BIN / "igautopost"), *args],
        env=env,
        input=stdin,
        text=True,
        capture_output=True,
        check=True,
    )
    return done.stdout.strip()


def wait_ready(base: str) -> None:
    # Up to 30 s: on a loaded machine two API processes take a while to import and bind.
    for _ in range(300):
        try:
            with urllib.request.urlopen(f"{base}/api/v1/health", timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise SystemExit("serve did not start")


def first_post(base: str, key: str) -> int:
    body = json.dumps({**POST, "date_pub": 2_200_000_000}).encode()
    request = urllib.request.Request(
        f"{base}/api/v1/posts/",
        data=body,
        method="POST",
        headers={"Authorization": f"Token {key}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request) as response:
        return int(json.load(response)["id"])


def tree_cpu_seconds(root: int) -> float:
    """User + system CPU of `root` and every live descendant (the spawned API processes),
    from /proc: the benchmark's steadier figure, since a loaded machine stretches wall-clock
    rates but hardly the CPU each request costs. Linux only; 0.0 elsewhere."""
    tick = os.sysconf("SC_CLK_TCK")
    parents: dict[int, int] = {}
    times: dict[int, float] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid = int(stat.parent.name)
        parents[pid] = int(fields[1])
        times[pid] = (int(fields[11]) + int(fields[12])) / tick
    total = 0.0
    for pid, seconds in times.items():
        ancestor = pid
        while ancestor not in (0, 1, root) and ancestor in parents:
            ancestor = parents[ancestor]
        if ancestor == root:
            total += seconds
    return total


def machine_speed() -> float:
    """CPU seconds of 10 million additions in a Python loop, best of three: the same code gave
    twice the CPU per request on two machines of this workplace (docs/benchmarks.md), so a
    run's figures are compared against runs with a like figure here."""
    best = float("inf")
    for _ in range(3):
        started = time.process_time()
        total = 0
        for number in range(10_000_000):
            total += number
        best = min(best, time.process_time() - started)
    return best


def load(averages: tuple[float, float, float]) -> str:
    return " / ".join(f"{x:.2f}" for x in averages)


def post_script(key: str, *, same_hour: bool, varied: bool) -> str:
    """wrk's Lua for POSTs: publish times spread out, or in the --same-hour hour; with
    `varied`, a random caption suffix (the near-duplicate check then finds nothing)."""
    body = json.dumps({**POST, "date_pub": "DATE_PUB"}).replace('"DATE_PUB"', "DATE_PUB")
    if varied:
        body = body.replace(POST["caption"], POST["caption"] + " CAPTION_SUFFIX")
    first, last = (HOUR_START, HOUR_START + 3599) if same_hour else SPREAD
    suffix = "tostring(math.random(1, 2000000000))" if varied else '""'
    return POST_LUA % {"key": key, "body": body, "first": first, "last": last, "suffix": suffix}


def store_same_hour(data_dir: Path, count: int, *, varied: bool) -> None:
    """`count` posts of the benchmark's account, owned by the benchmark's user, all due in
    the hour from HOUR_START: stored with `igautopost.schedule`, as POST stores them."""
    from datetime import UTC, datetime

    import sqlalchemy as sa

    from igautopost import Settings, schedule, services
    from igautopost.storage.sql.tables import users

    store = services.open_store(Settings(data_dir=data_dir))
    try:
        with store.engine.connect() as conn:
            owner_id = int(conn.execute(sa.select(users.c.id)).scalar_one())
        items = [
            {
                **POST,
                "date_pub": HOUR_START + i % 3600,
                "caption": f"{POST['caption']} {i}" if varied else POST["caption"],
            }
            for i in range(count)
        ]
        schedule(store, items, now=datetime.now(UTC), owner_id=owner_id)
    finally:
        store.close()


def wrk(url: str, seconds: int, key: str, script: Path | None, server: int) -> dict[str, float]:
    command = [
        "wrk",
        "-t2",
        "-c32",
        f"-d{seconds}s",
        "--latency",
        "-H",
        f"Authorization: Token {key}",
        url,
    ]
    if script is not None:
        command[1:1] = ["-s", str(script)]
    cpu_before = tree_cpu_seconds(server)
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    cpu = tree_cpu_seconds(server) - cpu_before
    if os.environ.get("API_BENCH_SHOW"):
        print(output)
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", output)
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[p99.group(2)]  # type: ignore[union-attr]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    # wrk gives up on a request after 2 s: its p99 then understates the tail
    timeouts = re.search(r"Socket errors: .*timeout (\d+)", output)
    requests = int(re.search(r"(\d+) requests in", output).group(1))  # type: ignore[union-attr]
    return {
        "cpu_us_per_request": cpu / max(requests, 1) * 1e6,
        "timeouts": float(timeouts.group(1)) if timeouts else 0.0,
        "requests_per_s": rate,
        "p99_ms": float(p99.group(1)) * scale,  # type: ignore[union-attr]
        "non_2xx": float(errors.group(1)) if errors else 0.0,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=30)
    parser.add_argument(
        "--workers", type=int, default=None, help="serve --workers (default: serve's default)"
    )
    parser.add_argument(
        "--same-hour",
        type=int,
        default=0,
        metavar="N",
        help="store N posts of the account in one hour first, and POST into that hour",
    )
    parser.add_argument(
        "--varied", action="store_true", help="with --same-hour: a caption of its own each"
    )
    parser.add_argument("--post-only", action="store_true", help="skip the GET run")
    options = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("needs wrk (apt-get install wrk)")
    speed = machine_speed()
    data_dir = Path(tempfile.mkdtemp(prefix="igautopost-api-bench-"))
    env = {**os.environ, "IGAUTOPOST_DATA_DIR": str(data_dir)}
    for name in ("IGAUTOPOST_DATABASE_URL", "IGAUTOPOST_SECRET_KEY"):
        env.pop(name, None)
    cli(env, "user", "create", "bench", "--password-stdin", stdin="bench-password\n")
    key = cli(env, "token", "create", "bench")
    if options.same_hour:
        store_same_hour(data_dir, options.same_hour, varied=options.varied)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    workers = [] if options.workers is None else ["--workers", str(options.workers)]
    server = subprocess.Popen(
        [str(BIN / "igautopost"), "serve", "--port", str(port), *workers],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    load_before = os.getloadavg()
    try:
        wait_ready(base)
        post_id = first_post(base, key)
        script = data_dir / "post.lua"
        script.write_text(
            post_script(key, same_hour=bool(options.same_hour), varied=options.varied)
        )
        results = {}
        if not options.post_only:
            results["GET /api/v1/posts/{id}/"] = wrk(
                f"{base}/api/v1/posts/{post_id}/", options.seconds, key, None, server.pid
            )
        results |= {
            "POST /api/v1/posts/": wrk(
                f"{base}/api/v1/posts/", options.seconds, key, script, server.pid
            ),
        }
    finally:
        server.terminate()
        server.wait(30)
        shutil.rmtree(data_dir, ignore_errors=True)
    shape = "posts spread over decades"
    if options.same_hour:
        content = "each its own caption" if options.varied else "all with the same content"
        shape = f"{options.same_hour:,} posts of the account stored in one hour, {content}"
    print(
        f"serve {' '.join(workers) or '(default settings)'}, SQLite, scheduler on; wrk -t2 -c32 "
        f"-d{options.seconds}s; {shape}; load average before {load(load_before)}, after "
        f"{load(os.getloadavg())}; 10M-addition loop {speed:.2f} s"
    )
    for name, figures in results.items():
        print(
            f"{name:28} {figures['requests_per_s']:8.0f} req/s   p99 {figures['p99_ms']:6.1f} ms"
            f"   non-2xx {int(figures['non_2xx'])}   timeouts {int(figures['timeouts'])}"
            f"   server CPU {figures['cpu_us_per_request']:5.0f} us/request"
        )


if __name__ == "__main__":
    main()
