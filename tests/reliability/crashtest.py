"""The crash test's machinery: `igautopost worker` processes to SIGKILL and restart, the posts
they publish, and the figures of a run (what the sandbox saw, what the store says).

The sandbox runs in the test process (a `SandboxServer` on the real clock), so that its
counters survive every kill; only the workers are separate processes.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from reliabilitytest import lifecycle_problems, wait_until

import igautopost
from igautopost.models import Post, Status
from igautopost.sandbox import ErrorSpec, FaultRule, SandboxServer
from igautopost.storage.sql import SqlStore

COMMAND = str(Path(sys.executable).with_name("igautopost"))
ACCOUNTS = 20
# About 10 % of all Graph calls misbehave: transient errors and lost requests (nothing
# happened), and lost answers (the call did its work). The first rule that fires decides.
FAULTS = (
    FaultRule(
        kind="error",
        rate=0.03,
        errors=(ErrorSpec(code=1), ErrorSpec(code=2), ErrorSpec(code=-1, subcode=2207001)),
    ),
    FaultRule(kind="server_error", rate=0.02, http_statuses=(500, 502, 503)),
    FaultRule(kind="drop", rate=0.02),
    FaultRule(kind="after_success_drop", rate=0.015),
    FaultRule(kind="after_success_error", rate=0.015, errors=(ErrorSpec(code=2),)),
)


def crash_posts(count: int, first: datetime, seconds: float) -> list[dict[str, Any]]:
    """`count` images due from `first` over `seconds`, on 20 accounts, each caption unique;
    every third with a first comment."""
    return [
        {
            "account": str(17841400000000000 + i % ACCOUNTS),
            "access_token": f"crash-token-{i % ACCOUNTS}",
            "media_type": "image",
            "media_url": f"https://cdn.example.com/crash/{i}.jpg",
            "caption": f"crash post {i}",
            "first_comment": f"comment {i}" if i % 3 == 0 else None,
            "prepare_ahead": 4,
            "publish_at": first + timedelta(seconds=seconds * i / count),
        }
        for i in range(count)
    ]


def kill_moments(rng: random.Random, start: datetime, end: datetime, kills: int) -> list[datetime]:
    """`kills` moments in [start, end], in order: seeded, so a failing run can be replayed."""
    span = (end - start).total_seconds()
    return sorted(start + timedelta(seconds=rng.uniform(0, span)) for _ in range(kills))


@dataclass
class Workers:
    """Worker processes of one command line and environment, started and SIGKILLed."""

    arguments: list[str]
    env: dict[str, str]
    logdir: Path
    running: list[subprocess.Popen[bytes]] = field(default_factory=list)
    started: int = 0

    def start(self) -> subprocess.Popen[bytes]:
        with (self.logdir / f"worker-{self.started}.log").open("wb") as log:
            process = subprocess.Popen(
                [COMMAND, "worker", *self.arguments],
                env={**os.environ, **self.env},
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self.started += 1
        self.running.append(process)
        return process

    def kill(self, process: subprocess.Popen[bytes]) -> None:
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
        self.running.remove(process)

    def stop(self) -> list[int]:
        """SIGTERM every running worker; their exit codes (a hung one is killed: -9)."""
        for process in self.running:
            process.send_signal(signal.SIGTERM)
        codes = []
        for process in self.running:
            try:
                codes.append(process.wait(timeout=30))
            except subprocess.TimeoutExpired:
                process.kill()
                codes.append(process.wait())
        self.running.clear()
        return codes

    def died(self) -> list[int]:
        """Exit codes of workers that ended without being killed or stopped."""
        return [code for p in self.running if (code := p.poll()) is not None]

    def logs(self, tail: int = 3000) -> str:
        return "\n".join(
            f"--- {p.name}\n{p.read_text(errors='replace')[-tail:]}"
            for p in sorted(self.logdir.glob("worker-*.log"))
        )


def ready(log: Path) -> bool:
    """Whether a worker wrote its start line (it has opened the store and runs)."""
    text = log.read_bytes() if log.exists() else b""
    return b"running with" in text or b" ready." in text  # local, or Celery's "celery@host ready."


def schedule_all(store: SqlStore, items: Sequence[dict[str, Any]]) -> list[Post]:
    now = datetime.now(UTC)
    created: list[Post] = []
    for start in range(0, len(items), 100):
        created += igautopost.schedule(store, list(items[start : start + 100]), now=now).created
    return created


def leased(store: SqlStore) -> int:
    """Posts a worker holds right now (a step in flight, or a ready post held for its mark)."""
    import sqlalchemy as sa

    from igautopost.storage.sql.tables import posts

    query = sa.select(sa.func.count()).where(posts.c.lease_until > datetime.now(UTC))
    with store.engine.connect() as conn:
        return int(conn.execute(query).scalar_one())


def settled(store: SqlStore, count: int) -> bool:
    """Every post published and nothing left to do (permalinks and comments included)."""
    return store.counts() == {"published": count} and store.next_due(datetime.now(UTC)) is None


def wait_settled(store: SqlStore, workers: Workers, count: int, deadline: datetime) -> bool:
    def done() -> bool:
        assert not workers.died(), workers.logs()
        return settled(store, count)

    return wait_until(
        done, timeout=max((deadline - datetime.now(UTC)).total_seconds(), 0), every=0.5
    )


@dataclass
class Figures:
    """What one crash run did; printed, and written into docs/reliability.md by hand."""

    posts: int
    kills: int
    leased_at_kills: int = 0  # posts held by workers at the moments they were killed
    faults: int = 0
    calls: int = 0
    published: int = 0
    duplicates: int = 0
    lost: int = 0
    rejected_repeats: int = 0
    double_comments: int = 0
    media_id_unknown: int = 0
    max_lateness: float = 0.0
    seconds: float = 0.0

    def line(self) -> str:
        return ", ".join(f"{name} {value:g}" for name, value in vars(self).items())


def figures_of(
    sandbox: SandboxServer, posts: list[Post], store: SqlStore, kills: tuple[int, int]
) -> Figures:
    state = sandbox.state
    media = state.with_lock(lambda: list(state.media.values()))
    calls = state.with_lock(lambda: list(state.inspector.calls))
    shown: dict[str | None, list[Any]] = {}
    for item in media:
        shown.setdefault(item.caption, []).append(item)
    stored = {p.id: p for p in store.list(igautopost.PostQuery(limit=len(posts) + 10))}
    late = [
        (shown[p.spec.caption][0].published_at - p.publish_at).total_seconds()
        for p in posts
        if shown.get(p.spec.caption)
    ]
    return Figures(
        posts=len(posts),
        kills=kills[0],
        leased_at_kills=kills[1],
        faults=sum(1 for c in calls if c.fault),
        calls=len(calls),
        published=sum(1 for p in posts if shown.get(p.spec.caption)),
        duplicates=sum(len(shown.get(p.spec.caption, [])) > 1 for p in posts),
        lost=sum(1 for p in posts if not shown.get(p.spec.caption)),
        rejected_repeats=state.with_lock(lambda: sum(state.inspector.repeat_attempts.values())),
        double_comments=sum(1 for m in media if len(m.comments) > 1),
        media_id_unknown=sum(
            1 for p in stored.values() if p.status is Status.PUBLISHED and p.media_id is None
        ),
        max_lateness=round(max(late, default=0.0), 3),
    )


def store_problems(sandbox: SandboxServer, store: SqlStore, posts: list[Post]) -> list[str]:
    """What the store says that Instagram (the sandbox) contradicts, dangling leases, and
    event logs that do not follow the lifecycle."""
    state = sandbox.state
    by_caption = state.with_lock(lambda: {m.caption: m for m in state.media.values()})
    problems: list[str] = []
    for post in posts:
        stored = store.get(post.id)
        live = by_caption.get(post.spec.caption)
        if stored.status is not Status.PUBLISHED or live is None:
            problems.append(f"post {post.id}: {stored.status}, live: {live is not None}")
        elif live.container_id != stored.container_id or stored.media_id not in (None, live.id):
            problems.append(f"post {post.id}: stored ids differ from the live media's")
        if stored.lease_until is not None:
            problems.append(f"post {post.id}: lease still held until {stored.lease_until}")
        problems += lifecycle_problems(stored, store.events(post.id))
    return problems
