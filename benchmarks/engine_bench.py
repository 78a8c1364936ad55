"""Benchmarks of the publishing engine against the sandbox (issue 4's targets).

The sandbox runs in its own process (as Instagram would be elsewhere); the engine runs in
this one, as `igautopost worker` does: a LocalScheduler, a Publisher, SQLite in a temp dir.
Lateness is the time of each publish call minus its post's publish time, four ways:
`engine_sent` when the engine wrote it (the post's `published_at`), `at_tcp` when the
sandbox's kernel received it (to the kernel's tick), `at_socket` when the sandbox's server
read its bytes, `at_app` when the sandbox's app took it in turn (its single event loop
queues a burst: docs/benchmarks.md says which measures igautopost, and why); `transit` is
`at_tcp` minus `engine_sent` and `read_wait` `at_socket` minus `at_tcp`, call by call.

  punctuality  100 images due in the same second, 50 ms per Graph call: p50 <= 60 ms, p99 <= 250 ms
  burst        1,000 images due in the same second, 50 ms per call: all published within 3 s
  serve-burst  `burst` with `serve`'s default settings (64 step threads, the settings'
               engine policy and Graph timeout): every publish call within 250 ms of its
               second, p50 under 50 ms (issue 14)
  serve-punctuality  `punctuality` with `serve`'s default settings
  sandbox-floor  not the engine: 1,000 publish requests written at once on 1,000 open sockets,
               raw; the spread of their arrival at the sandbox (socket and app, in ms after
               the first write) is what the sandbox itself adds to `burst` and `serve-burst`
               (one event loop, on the same two cores)
  video        200 reels due within one minute, 60 s processing each, 8 threads: every
               publish within 1 s of its time (takes about 3 minutes)
  throughput   2,000 images due now, no latency: posts published per second, end to end
  scale        1,000,000 stored posts, 100 due: one scheduler pass (due query + claim), and
               the resident memory of an `igautopost worker` on that database

Run: .venv/bin/python benchmarks/engine_bench.py
       [punctuality burst serve-punctuality serve-burst sandbox-floor video
        throughput scale]
"""

from __future__ import annotations

import gc
import json
import logging
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import requests

import igautopost
from igautopost import services
from igautopost.config import Settings
from igautopost.crypto import TokenCipher
from igautopost.engine.policy import EnginePolicy, LeadTimes
from igautopost.storage.sql import SqlStore

SANDBOX = """
import gc, json, sys, time
from igautopost.sandbox import SandboxConfig, SandboxServer
if sys.argv[3]:  # the stand-in's own garbage collections, one line each (see Collections)
    collections = open(sys.argv[3], "w", buffering=1)
    started = {}
    def note(phase, info):
        if phase == "start":
            started[info["generation"]] = (time.time(), time.perf_counter())
        else:
            at, began = started[info["generation"]]
            ms = (time.perf_counter() - began) * 1000
            collections.write(f"{at} {ms} {info['generation']}\\n")
    gc.callbacks.append(note)
if sys.argv[4] == "off":  # see STAND_IN_COLLECTOR
    gc.disable()
server = SandboxServer(SandboxConfig(**json.loads(sys.argv[1])), port=int(sys.argv[2])).start()
print("ready", flush=True)
while True:
    time.sleep(3600)
"""


# Whether the sandbox's process, standing in for Instagram in the timing benchmarks, runs
# Python's cyclic garbage collector (ENGINE_BENCH_SANDBOX_GC=on|off, default off). A burst
# is what starts a full collection there (the 1,000 containers made before it are the
# long-lived objects it waits for), and it stops the stand-in's only event loop for 50-150
# ms in the middle of the intake: the stand-in's pause, which Instagram's fleet does not
# make igautopost's calls wait for. Its collections are counted either way
# (`sandbox_gc_in_burst`).
STAND_IN_COLLECTOR = os.environ.get("ENGINE_BENCH_SANDBOX_GC", "off")


@contextmanager
def sandbox(
    collections: Path | None = None, *, collector: str = "on", **config: Any
) -> Iterator[str]:
    """The sandbox in a process of its own, configured with `config`; its base URL. With
    `collections`, it writes there the start, length and generation of each of its garbage
    collections (`Collections.read`); with `collector="off"` it makes none."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config.setdefault("publishing_quota", 1_000_000)
    config.setdefault("container_cap", 1_000_000)
    proc = subprocess.Popen(
        [
            *(sys.executable, "-c", SANDBOX, json.dumps(config), str(port)),
            *(str(collections or ""), collector),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait()


def new_store(workdir: Path) -> SqlStore:
    return SqlStore.open(
        f"sqlite:///{workdir / 'bench.db'}", cipher=TokenCipher([TokenCipher.generate_key()])
    )


def posts_due(
    count: int,
    at: datetime,
    media_type: str = "image",
    spread: float = 0.0,
    prepare_ahead: int = 20,
) -> list[dict[str, Any]]:
    ext = "mp4" if media_type == "reel" else "jpg"
    return [
        {
            "account": str(17841400000000000 + i % 20),
            "access_token": f"bench-token-{i % 20}",
            "media_type": media_type,
            "media_url": f"https://example.com/{i}.{ext}",
            "caption": f"bench post {i}",
            "prepare_ahead": prepare_ahead,
            "publish_at": at + timedelta(seconds=spread * i / max(count, 1)),
        }
        for i in range(count)
    ]


def run_engine(
    url: str,
    store: SqlStore,
    threads: int,
    until_published: int,
    timeout: float,
    *,
    serve_defaults: bool = False,
) -> float:
    """Run a LocalScheduler until `until_published` posts are published; seconds it took.
    With `serve_defaults`, the publisher is the one `igautopost serve` builds from its
    settings (only the Graph host differs)."""
    if serve_defaults:
        settings = Settings(graph_base_url=url)
        publisher = services.publisher(settings, store)
    else:
        client = igautopost.GraphClient(base_url=url, timeout=10)
        publisher = igautopost.Publisher(
            store, client, igautopost.SystemClock(), policy=EnginePolicy(leads=LeadTimes())
        )
    scheduler = igautopost.LocalScheduler(publisher, workers=threads)
    scheduler.start()
    start = time.monotonic()
    try:
        while store.counts().get("published", 0) < until_published:
            if time.monotonic() - start > timeout:
                raise SystemExit(f"timed out: {store.counts()}")
            time.sleep(0.1)
    finally:
        scheduler.stop()
    return time.monotonic() - start


def publish_arrivals(url: str, store: SqlStore) -> dict[str, list[float]]:
    """Milliseconds between each post's publish time and its publish call: when the engine
    wrote it (`sent`: the post's `published_at`, which the launcher sets to the end of
    the call's own write), when the sandbox's kernel received it (`tcp`, to the kernel's
    tick), when the sandbox's server read it (`socket`), and when the sandbox's app took it
    in turn (`app`); and, call by call, `tcp` minus `sent` (`transit`) and `socket` minus
    `tcp` (`read_wait`: the sandbox's event loop coming to the connection). See
    docs/benchmarks.md, "Calls in flight hold no step thread", for which is which."""
    calls = requests.get(
        f"{url}/_sandbox/calls", params={"endpoint": "publish"}, timeout=30
    ).json()["calls"]
    report = requests.get(f"{url}/_sandbox/publishes", timeout=30).json()
    assert not report["duplicates"], f"duplicate publishes: {report['duplicates'][:3]}"
    posts = {p.container_id: p for p in store.list(igautopost.PostQuery())}

    def ms(moment: datetime | str, due: datetime) -> float:
        if isinstance(moment, str):
            moment = datetime.fromisoformat(moment)
        return (moment - due).total_seconds() * 1000

    names = ("sent", "tcp", "socket", "app", "transit", "read_wait")
    arrivals: dict[str, list[float]] = {name: [] for name in names}
    for row in calls:
        post = posts[row["object_id"]]
        assert post.published_at is not None, f"post {post.id} not published"
        sent = ms(post.published_at, post.publish_at)
        tcp = ms(row["tcp_time"], post.publish_at)
        socket = ms(row["socket_time"], post.publish_at)
        arrivals["sent"].append(sent)
        arrivals["tcp"].append(tcp)
        arrivals["socket"].append(socket)
        arrivals["app"].append(ms(row["wall_time"], post.publish_at))
        arrivals["transit"].append(tcp - sent)
        arrivals["read_wait"].append(socket - tcp)
    return {name: sorted(values) for name, values in arrivals.items()}


def publish_lateness(url: str, store: SqlStore) -> list[float]:
    """Milliseconds between each post's publish time and its publish call's arrival at the
    sandbox's app (`wall_time`, as before socket times were recorded; celery_bench.py)."""
    calls = requests.get(
        f"{url}/_sandbox/calls", params={"endpoint": "publish"}, timeout=30
    ).json()["calls"]
    report = requests.get(f"{url}/_sandbox/publishes", timeout=30).json()
    assert not report["duplicates"], f"duplicate publishes: {report['duplicates'][:3]}"
    due = {p.container_id: p.publish_at for p in store.list(igautopost.PostQuery())}
    return sorted(
        (datetime.fromisoformat(row["wall_time"]) - due[row["object_id"]]).total_seconds() * 1000
        for row in calls
    )


def spread(values: list[float]) -> dict[str, float]:
    """p50, p90, p99 and max of sorted milliseconds."""
    return {
        "p50_ms": round(pct(values, 50), 1),
        "p90_ms": round(pct(values, 90), 1),
        "p99_ms": round(pct(values, 99), 1),
        "max_ms": round(values[-1], 1),
    }


def pct(values: list[float], q: float) -> float:
    return values[min(len(values) - 1, round(q / 100 * (len(values) - 1)))]


class Launches(logging.Handler):
    """What the engine's launcher says it did (its debug lines): when the calls of a mark
    left the engine, and how many were prepared only after their mark."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.batches: list[tuple[int, float]] = []  # (calls, ms after the mark of the last)
        self.prepared_late: list[float] = []

    def emit(self, record: logging.LogRecord) -> None:
        args = record.args
        if not isinstance(args, tuple):
            return
        if record.msg.startswith("launched"):
            self.batches.append((int(args[1]), float(args[2])))
        elif record.msg.startswith("a publish call prepared"):
            self.prepared_late.append(float(args[0]))

    @contextmanager
    def listening(self) -> Iterator[Launches]:
        logger = logging.getLogger("igautopost.engine.launcher")
        logger.addHandler(self)
        logger.setLevel(logging.DEBUG)
        try:
            yield self
        finally:
            logger.removeHandler(self)

    def summary(self) -> dict[str, Any]:
        biggest = max(self.batches, default=(0, 0.0))
        return {
            "engine_calls_written_together": biggest[0],
            "engine_last_written_ms": round(biggest[1], 1),
            "engine_prepared_after_mark": len(self.prepared_late),
        }


class Collections:
    """Python's garbage collections in a process: (wall time it started, ms, generation).
    A collection stops the whole process; one in the sandbox during a burst holds up its
    intake (a stand-in's pause, not Instagram's), one in the engine its answer threads."""

    def __init__(self) -> None:
        self.rows: list[tuple[float, float, int]] = []
        self._started: dict[int, tuple[float, float]] = {}

    def _note(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started[info["generation"]] = (time.time(), time.perf_counter())
        else:
            at, began = self._started[info["generation"]]
            self.rows.append((at, (time.perf_counter() - began) * 1000, info["generation"]))

    @contextmanager
    def noting(self) -> Iterator[Collections]:
        gc.callbacks.append(self._note)
        try:
            yield self
        finally:
            gc.callbacks.remove(self._note)

    @classmethod
    def read(cls, path: Path) -> Collections:
        """The collections a sandbox wrote to `path`."""
        collections = cls()
        for line in path.read_text().splitlines():
            at, ms, generation = line.split()
            collections.rows.append((float(at), float(ms), int(generation)))
        return collections

    def within(self, start: datetime, end: datetime) -> dict[str, Any]:
        """The collections that began between `start` and `end`: how many, their total and
        longest ms, and how many were full (generation 2)."""
        rows = [r for r in self.rows if start.timestamp() <= r[0] <= end.timestamp()]
        return {
            "collections": len(rows),
            "total_ms": round(sum(ms for _, ms, _ in rows), 1),
            "longest_ms": round(max((ms for _, ms, _ in rows), default=0.0), 1),
            "full": sum(generation == 2 for _, _, generation in rows),
        }


def due_in_same_second(
    count: int, threads: int, latency: float, *, serve_defaults: bool = False
) -> dict[str, Any]:
    launches = Launches()
    engine_collections = Collections()
    with (
        tempfile.TemporaryDirectory() as tmp,
        sandbox(
            Path(tmp) / "collections", collector=STAND_IN_COLLECTOR, latency={"*": latency}
        ) as url,
        launches.listening(),
        engine_collections.noting(),
    ):
        store = new_store(Path(tmp))
        now = datetime.now(UTC)
        publish_at = (now + timedelta(seconds=25)).replace(microsecond=0)
        igautopost.schedule(store, posts_due(count, publish_at), now=now)
        run_engine(url, store, threads, count, timeout=120, serve_defaults=serve_defaults)
        done = max(p.updated_at for p in store.list(igautopost.PostQuery()))
        arrivals = publish_arrivals(url, store)
        # the burst: from the second until the app took its last call
        burst = (publish_at, publish_at + timedelta(milliseconds=arrivals["app"][-1]))
        sandbox_collections = Collections.read(Path(tmp) / "collections")
        return {
            "posts": count,
            "threads": threads,
            "latency_ms": latency * 1000,
            "publishes": len(arrivals["socket"]),
            "engine_sent": spread(arrivals["sent"]),
            "at_tcp": spread(arrivals["tcp"]),
            "at_socket": spread(arrivals["socket"]),
            "at_app": spread(arrivals["app"]),
            "transit": spread(arrivals["transit"]),
            "read_wait": spread(arrivals["read_wait"]),
            "all_published_after_s": round((done - publish_at).total_seconds(), 3),
            **launches.summary(),
            "sandbox_collector": STAND_IN_COLLECTOR,
            "sandbox_gc_in_burst": sandbox_collections.within(*burst),
            "engine_gc_in_burst": engine_collections.within(*burst),
        }


def sandbox_floor(count: int = 1000, latency: float = 0.05) -> dict[str, Any]:
    import socket

    body = b"creation_id=1"
    request = (
        b"POST /v25.0/17841400000000000/media_publish HTTP/1.1\r\nHost: sandbox\r\n"
        b"Authorization: Bearer bench-token-0\r\n"
        b"Content-Type: application/x-www-form-urlencoded\r\n"
        b"Content-Length: %d\r\n\r\n%s" % (len(body), body)
    )
    with (
        tempfile.TemporaryDirectory() as tmp,
        sandbox(
            Path(tmp) / "collections", collector=STAND_IN_COLLECTOR, latency={"*": latency}
        ) as url,
    ):
        host, port = url.removeprefix("http://").split(":")
        connections = [socket.create_connection((host, int(port))) for _ in range(count)]
        time.sleep(0.5)
        sent_at = datetime.now(UTC)
        start = time.perf_counter()
        written = []
        for connection in connections:
            connection.sendall(request)
            written.append((time.perf_counter() - start) * 1000)
        for connection in connections:
            connection.recv(65536)
            connection.close()
        calls = requests.get(
            f"{url}/_sandbox/calls", params={"endpoint": "publish"}, timeout=30
        ).json()["calls"]
        collections = Collections.read(Path(tmp) / "collections")

    def after_sent(stamp: str) -> float:
        return (datetime.fromisoformat(stamp) - sent_at).total_seconds() * 1000

    at_app = sorted(after_sent(row["wall_time"]) for row in calls)
    return {
        "requests": len(calls),
        "written": spread(written),
        "at_tcp": spread(sorted(after_sent(row["tcp_time"]) for row in calls)),
        "at_socket": spread(sorted(after_sent(row["socket_time"]) for row in calls)),
        "at_app": spread(at_app),
        "sandbox_collector": STAND_IN_COLLECTOR,
        "sandbox_gc_in_burst": collections.within(
            sent_at, sent_at + timedelta(milliseconds=at_app[-1])
        ),
    }


def video(count: int = 200, threads: int = 8) -> dict[str, Any]:
    config = {"video_processing_seconds": 60, "latency": {"*": 0.05}}
    with tempfile.TemporaryDirectory() as tmp, sandbox(**config) as url:
        store = new_store(Path(tmp))
        now = datetime.now(UTC)
        first = now + timedelta(seconds=100)
        igautopost.schedule(
            store, posts_due(count, first, "reel", spread=59, prepare_ahead=95), now=now
        )
        run_engine(url, store, threads, count, timeout=400)
        arrivals = publish_arrivals(url, store)
        return {
            "reels": count,
            "threads": threads,
            "processing_s": 60,
            "at_tcp": spread(arrivals["tcp"]),
            "at_socket": spread(arrivals["socket"]),
            "at_app": spread(arrivals["app"]),
        }


def throughput(count: int = 2000, threads: int = 64) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp, sandbox() as url:
        store = new_store(Path(tmp))
        now = datetime.now(UTC)
        igautopost.schedule(
            store, posts_due(count, now + timedelta(seconds=2), prepare_ahead=0), now=now
        )
        time.sleep(max((now + timedelta(seconds=2) - datetime.now(UTC)).total_seconds(), 0))
        seconds = run_engine(url, store, threads, count, timeout=300)
        return {
            "posts": count,
            "threads": threads,
            "seconds": round(seconds, 2),
            "posts_per_s": round(count / seconds, 1),
        }


def main() -> None:
    names = sys.argv[1:] or ["punctuality", "burst", "throughput", "video", "scale"]
    for name in names:
        if name == "punctuality":
            result = due_in_same_second(100, threads=128, latency=0.05)
        elif name == "burst":
            result = due_in_same_second(1000, threads=128, latency=0.05)
        elif name == "serve-punctuality":
            result = due_in_same_second(100, threads=64, latency=0.05, serve_defaults=True)
        elif name == "serve-burst":
            result = due_in_same_second(1000, threads=64, latency=0.05, serve_defaults=True)
        elif name == "sandbox-floor":
            result = sandbox_floor()
        elif name == "video":
            result = video()
        elif name == "throughput":
            result = throughput()
        elif name == "scale":
            from scale_bench import scale

            result = scale()
        else:
            raise SystemExit(f"unknown benchmark {name!r}")
        print(f"{name}: {json.dumps(result)}", flush=True)


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).parent))
    os.environ.setdefault("PYTHONHASHSEED", "0")
    main()
