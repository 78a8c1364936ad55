"""How late a SIGKILLed worker's posts publish: the dead-worker pickup (issue 12).

A sandbox runs in this process on the real clock. `--posts` images are due one after the
other over `--seconds`; an `igautopost worker` publishes them, is SIGKILLed halfway through,
and a second worker takes over: started right after the kill (a restart, as systemd would)
or, with `--standby`, running from the start beside the first.

Reported, for the posts the killed worker held at the moment it died, and for the others:

- on Instagram: the sandbox's publish time minus the post's publish time;
- recorded: when the store says it was published, minus the publish time (a post whose
  publish call the dead worker had sent is live on time, but recorded only by the next one);
- media ids unknown at the end, duplicates (the sandbox's ledger), lost posts.

Run: .venv/bin/python benchmarks/dead_worker.py [--posts 60] [--seconds 20] [--standby]
     [--graph-timeout 30] [--lease 10]
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

import igautopost
from igautopost.crypto import TokenCipher
from igautopost.sandbox import SandboxConfig, SandboxServer
from igautopost.storage.sql import SqlStore
from igautopost.storage.sql.tables import posts as posts_table

COMMAND = str(Path(sys.executable).with_name("igautopost"))


def start_worker(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        worker = subprocess.Popen(
            [COMMAND, "worker", "--threads", "16"], env=env, stdout=out, stderr=subprocess.STDOUT
        )
    deadline = time.monotonic() + 30
    while b"running with" not in log.read_bytes():
        if time.monotonic() > deadline or worker.poll() is not None:
            raise SystemExit(f"the worker did not start:\n{log.read_text()}")
        time.sleep(0.05)
    return worker


def held_by(store: SqlStore, owner_prefix: str) -> set[int]:
    """Posts whose lease names a worker of this pid (`host:pid:...`) right now."""
    query = sa.select(posts_table.c.id, posts_table.c.lease_owner)
    with store.engine.connect() as conn:
        return {
            row.id for row in conn.execute(query) if (row.lease_owner or "").find(owner_prefix) >= 0
        }


def lateness(stored: list[Any], sandbox: SandboxServer) -> dict[int, tuple[float, float]]:
    """Post id -> (seconds late on Instagram, seconds late as recorded)."""
    live = sandbox.state.with_lock(
        lambda: {m.container_id: m.published_at for m in sandbox.state.media.values()}
    )
    late = {}
    for post in stored:
        on_instagram = live.get(post.container_id)
        if on_instagram is None or post.published_at is None:
            continue
        late[post.id] = (
            (on_instagram - post.publish_at).total_seconds(),
            (post.published_at - post.publish_at).total_seconds(),
        )
    return late


def describe(name: str, values: list[float]) -> str:
    if not values:
        return f"{name}: none"
    values = sorted(values)
    p50 = statistics.median(values)
    return f"{name}: n={len(values)} p50 {p50:.2f} s, max {values[-1]:.2f} s"


def run(args: argparse.Namespace) -> None:
    workdir = Path(tempfile.mkdtemp(prefix="igautopost-dead-worker-"))
    key = TokenCipher.generate_key()
    url = f"sqlite:///{workdir / 'store.db'}"
    store = SqlStore.open(url, cipher=TokenCipher([key]))
    sandbox = SandboxServer(SandboxConfig(image_processing_seconds=1)).start()
    env = {
        **os.environ,
        "IGAUTOPOST_DATABASE_URL": url,
        "IGAUTOPOST_SECRET_KEY": key,
        "IGAUTOPOST_GRAPH_BASE_URL": sandbox.url,
        "IGAUTOPOST_GRAPH_INSTAGRAM_BASE_URL": sandbox.url,
        "IGAUTOPOST_GRAPH_TIMEOUT": str(args.graph_timeout),
        "IGAUTOPOST_LEASE_SECONDS": str(args.lease),
        "IGAUTOPOST_DATA_DIR": str(workdir / "data"),
    }
    first = start_worker(env, workdir / "worker-0.log")
    standby = start_worker(env, workdir / "worker-1.log") if args.standby else None
    now = datetime.now(UTC)
    start = now + timedelta(seconds=6)
    accounts = max(5, args.posts // 10)  # well inside the sandbox's 50 posts a day each
    items = [
        {
            "account": str(17841400000000000 + i % accounts),
            "access_token": f"dead-worker-token-{i % accounts}",
            "media_type": "image",
            "media_url": f"https://cdn.example.com/dead/{i}.jpg",
            "caption": f"dead worker post {i}",
            "first_comment": f"comment {i}" if i % 3 == 0 else None,
            "prepare_ahead": 3,
            "publish_at": start + timedelta(seconds=args.seconds * i / args.posts),
        }
        for i in range(args.posts)
    ]
    created = igautopost.schedule(store, items, now=now).created
    kill_at = start + timedelta(seconds=args.seconds * args.kill_at)
    time.sleep(max((kill_at - datetime.now(UTC)).total_seconds(), 0))
    first.send_signal(signal.SIGKILL)
    first.wait()
    killed_at = datetime.now(UTC)
    orphans = held_by(store, f":{first.pid}:")
    replacement = standby or start_worker(env, workdir / "worker-2.log")
    deadline = time.monotonic() + args.seconds + 4 * args.graph_timeout + 60
    while time.monotonic() < deadline:
        if (
            store.counts() == {"published": len(created)}
            and store.next_due(datetime.now(UTC)) is None
        ):
            break
        time.sleep(0.5)
    replacement.send_signal(signal.SIGTERM)
    replacement.wait(timeout=30)
    stored = [store.get(p.id) for p in created]
    late = lateness(stored, sandbox)
    report = sandbox.state.with_lock(sandbox.state.inspector.publish_report)
    print(
        f"{len(created)} posts over {args.seconds} s; worker SIGKILLed at "
        f"+{(killed_at - start).total_seconds():.1f} s holding {len(orphans)} posts; "
        f"{'standby' if args.standby else 'restarted'} worker took over "
        f"(lease {args.lease} s, graph timeout {args.graph_timeout} s)"
    )
    print(describe("orphans, late on Instagram", [late[i][0] for i in orphans if i in late]))
    print(describe("orphans, late as recorded", [late[i][1] for i in orphans if i in late]))
    others = [v for i, v in late.items() if i not in orphans]
    print(describe("other posts, late on Instagram", [v[0] for v in others]))
    print(describe("other posts, late as recorded", [v[1] for v in others]))
    unknown = [p.id for p in stored if p.media_id is None]
    print(
        f"published {len(late)}/{len(created)}, lost {len(created) - len(late)}, "
        f"media id unknown {len(unknown)}, duplicates {len(report['duplicates'])}"
    )
    sandbox.stop()
    store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--posts", type=int, default=60)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--kill-at", type=float, default=0.5, help="fraction of the run")
    parser.add_argument("--standby", action="store_true", help="second worker from the start")
    parser.add_argument("--graph-timeout", type=float, default=30.0)
    parser.add_argument("--lease", type=float, default=10.0)
    run(parser.parse_args())


if __name__ == "__main__":
    main()
