"""Scale: 1,000,000 stored posts of which 100 are due.

Measures one scheduler pass (the due query and the claim of the due posts, then the next-due
query the loop sleeps on) on SQLite, and the resident memory of an `igautopost worker`
process running against that database (peak, VmHWM) while it publishes the due posts to a
sandbox. Targets (issue 4): a pass <= 10 ms; worker memory <= 150 MB.

Run: .venv/bin/python benchmarks/scale_bench.py [--posts 1000000] [--due 100]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from igautopost.crypto import TokenCipher
from igautopost.storage.sql import SqlStore
from igautopost.storage.sql.tables import posts

CHUNK = 20_000


def fill(store: SqlStore, total: int, due: int, now: datetime, cipher: TokenCipher) -> None:
    """Mostly published history, a future backlog, and `due` posts due now."""
    token = cipher.encrypt("scale-token")
    spec = json.dumps(
        {
            "account": "17841400000000001",
            "media_type": "image",
            "media_url": "https://example.com/a.jpg",
            "caption": "scale",
            "publish_at": now.isoformat(),
            "timezone": "UTC",
        }
    )
    published = int(total * 0.9)
    with store.engine.begin() as conn:
        for start in range(0, total, CHUNK):
            rows = [
                _row(i, total, due, published, now, spec, token)
                for i in range(start, min(start + CHUNK, total))
            ]
            conn.execute(posts.insert(), rows)


def _row(
    i: int, total: int, due: int, published: int, now: datetime, spec: str, token: str
) -> dict[str, Any]:
    if i < published:
        status, when, next_at = "published", now - timedelta(minutes=i % 500_000), None
    elif i < total - due:
        status, when = "scheduled", now + timedelta(minutes=1 + i % 100_000)
        next_at = when - timedelta(minutes=2)
    else:
        status, when, next_at = "scheduled", now, now - timedelta(seconds=1)
    return {
        "owner_id": None,
        "account": str(17841400000000000 + i % 1000),
        "media_type": "image",
        "status": status,
        "spec_json": spec,
        "token_ciphertext": token,
        "client_key": None,
        "publish_at": when,
        "next_attempt_at": next_at,
        "attempts": 0,
        "containers_created": 0,
        "created_at": now,
        "updated_at": now,
    }


def scheduler_pass(store: SqlStore, due: int) -> list[float]:
    """Milliseconds of claim_due + next_due, repeated (leases released between passes)."""
    timings = []
    for run in range(7):
        now = datetime.now(UTC)
        start = time.perf_counter()
        claimed = store.claim_due(
            owner=f"bench-{run}", now=now, lease=timedelta(minutes=2), limit=100
        )
        store.next_due(now)
        timings.append((time.perf_counter() - start) * 1000)
        assert len(claimed) == due, f"claimed {len(claimed)} of {due}"
        with store.engine.begin() as conn:
            conn.execute(
                posts.update()
                .where(posts.c.lease_owner.is_not(None))
                .values(lease_owner=None, lease_until=None)
            )
    return timings


def worker_memory(db_url: str, key: str, due: int, store: SqlStore) -> float:
    """Peak RSS (MB) of `igautopost worker` publishing the due posts to a sandbox."""
    from igautopost.sandbox import SandboxConfig, SandboxServer

    with SandboxServer(SandboxConfig(publishing_quota=10_000)) as sandbox:
        env = {
            **os.environ,
            "IGAUTOPOST_DATABASE_URL": db_url,
            "IGAUTOPOST_SECRET_KEY": key,
            "IGAUTOPOST_GRAPH_BASE_URL": sandbox.url,
        }
        binary = Path(sys.executable).with_name("igautopost")
        target = store.counts().get("published", 0) + due
        proc = subprocess.Popen([str(binary), "worker"], env=env, stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 120
            while store.counts().get("published", 0) < target:
                if time.monotonic() > deadline:
                    raise SystemExit("worker did not publish the due posts in time")
                time.sleep(0.5)
            time.sleep(2)
            status = Path(f"/proc/{proc.pid}/status").read_text()
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    peak_kb = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM"))
    return peak_kb / 1024


def scale(total: int = 1_000_000, due: int = 100) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        key = TokenCipher.generate_key()
        cipher = TokenCipher([key])
        db_url = f"sqlite:///{Path(tmp) / 'scale.db'}"
        store = SqlStore.open(db_url, cipher=cipher)
        now = datetime.now(UTC)
        started = time.perf_counter()
        fill(store, total, due, now, cipher)
        filled = time.perf_counter() - started
        with store.engine.begin() as conn:
            conn.execute(sa.text("ANALYZE"))
        timings = scheduler_pass(store, due)
        memory = worker_memory(db_url, key, due, store)
        return {
            "stored": total,
            "due": due,
            "fill_s": round(filled, 1),
            "pass_ms_median": round(statistics.median(timings), 2),
            "pass_ms_max": round(max(timings), 2),
            "worker_peak_rss_mb": round(memory, 1),
        }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--posts", type=int, default=1_000_000)
    parser.add_argument("--due", type=int, default=100)
    args = parser.parse_args()
    print(f"scale: {json.dumps(scale(args.posts, args.due))}")


if __name__ == "__main__":
    main()
