"""Races for real: two threads fire edits, PATCHes of the publish time, reschedules, cancels
and retries at posts while a LocalScheduler claims and publishes them, on the real clock,
on SQLite and on PostgreSQL. The schedule of actions is seeded; the interleaving is the
machine's. Whatever happens: no post is live twice, none is lost, what is live is what the
store says (caption, and never before the stored publish time), every event log follows the
lifecycle and no lease is left behind.
"""

from __future__ import annotations

import random
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from reliabilitytest import lifecycle_problems, wait_until

import igautopost
from igautopost import services
from igautopost.clock import SystemClock
from igautopost.errors import InvalidTransition
from igautopost.models import Post, Status
from igautopost.sandbox import SandboxConfig, SandboxServer
from igautopost.sandbox.objects import Media
from igautopost.scheduler import LocalScheduler
from igautopost.storage.sql import SqlStore
from services import postgres_schemas, settings_for

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]

POSTS = 40
SEED = 20261201
ACCOUNT = "17841400000000001"


@dataclass
class Live:
    store: SqlStore
    sandbox: SandboxServer
    scheduler: LocalScheduler
    clock: SystemClock = field(default_factory=SystemClock)

    def now(self) -> datetime:
        return self.clock.now()


@pytest.fixture(params=["sqlite", "postgresql"])
def live(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Live]:
    with postgres_schemas() if request.param == "postgresql" else nullcontext() as schemas:
        url = schemas.new() if schemas else f"sqlite:///{tmp_path / 'races.db'}"
        sandbox = SandboxServer(SandboxConfig(latency={"*": 0.005, "publish": 0.05})).start()
        settings = settings_for(
            tmp_path / "data", database_url=url, sandbox_url=sandbox.url, graph_timeout=5
        )
        store = services.open_store(settings)
        publisher = services.publisher(settings, store, rng=random.Random(SEED))
        scheduler = LocalScheduler(publisher, workers=8)
        scheduler.start()
        try:
            yield Live(store, sandbox, scheduler)
        finally:
            scheduler.stop(timeout=20)
            publisher.client.close()
            sandbox.stop()
            store.close()


def caption(number: int, version: int = 0) -> str:
    return f"live race {number}: v{version}"


def schedule(live: Live) -> list[Post]:
    first = live.now() + timedelta(seconds=4)
    items = [
        {
            "account": ACCOUNT,
            "access_token": "live-race-token",
            "media_type": "image",
            "media_url": f"https://cdn.example.com/race/{i}.jpg",
            "caption": caption(i),
            "prepare_ahead": 2,
            "publish_at": first + timedelta(seconds=8 * i / POSTS),
        }
        for i in range(POSTS)
    ]
    return igautopost.schedule(live.store, items, now=live.now()).created


Act = Callable[[Live, Post, random.Random], object]


def act_edit(live: Live, post: Post, rng: random.Random) -> object:
    number = int(post.spec.caption.split()[2].rstrip(":"))
    new = caption(number, rng.randrange(1, 1000))
    return igautopost.edit(live.store, post.id, {"caption": new}, now=live.now())


def act_patch_date_pub(live: Live, post: Post, rng: random.Random) -> object:
    when = post.publish_at + timedelta(seconds=rng.uniform(1, 4))
    return igautopost.edit(live.store, post.id, {"date_pub": when.isoformat()}, now=live.now())


def act_reschedule(live: Live, post: Post, rng: random.Random) -> object:
    when = post.publish_at + timedelta(seconds=rng.uniform(1, 4))
    return igautopost.reschedule(live.store, post.id, when, now=live.now())


def act_cancel(live: Live, post: Post, rng: random.Random) -> object:
    return igautopost.cancel(live.store, post.id, now=live.now())


def act_retry(live: Live, post: Post, rng: random.Random) -> object:
    return igautopost.retry(live.store, post.id, now=live.now())


ACTS: list[tuple[Act, int]] = [  # few cancels: a cancelled post races no more
    (act_edit, 8),
    (act_patch_date_pub, 6),
    (act_reschedule, 6),
    (act_cancel, 1),
    (act_retry, 2),
]


@dataclass
class Tally:
    """What the racers were answered: accepted actions by name, refusals (409), and errors
    an API client would see as a 500."""

    answers: Counter[str] = field(default_factory=Counter)
    unexpected: list[str] = field(default_factory=list)


def racer(live: Live, ids: list[int], seed: int, until: datetime, tally: Tally) -> None:
    """Fire seeded actions, mostly at posts about to be claimed or published."""
    rng = random.Random(seed)
    acts, weights = zip(*ACTS, strict=True)
    while live.now() < until:
        posts = [live.store.get(i) for i in ids]
        near = [p for p in posts if abs((p.publish_at - live.now()).total_seconds()) < 1.0]
        post = rng.choice(near or posts)
        act = rng.choices(acts, weights)[0]
        try:
            act(live, post, rng)
            tally.answers[act.__name__] += 1
        except InvalidTransition:
            tally.answers["refused"] += 1
        except Exception as exc:
            tally.unexpected.append(repr(exc))
        threading.Event().wait(rng.uniform(0.002, 0.03))


def settled(live: Live, ids: list[int]) -> bool:
    active = any(live.store.get(i).status.is_active for i in ids)
    return not active and live.store.next_due(live.now()) is None


def live_media(live: Live) -> dict[int, list[Media]]:
    """Instagram's posts by the number in their caption."""
    state = live.sandbox.state
    found: dict[int, list[Media]] = {}
    for media in state.with_lock(lambda: list(state.media.values())):
        found.setdefault(int((media.caption or "").split()[2].rstrip(":")), []).append(media)
    return found


def problems(live: Live, posts: list[Post]) -> list[str]:
    shown = live_media(live)
    found: list[str] = []
    for number, post in enumerate(posts):
        stored = live.store.get(post.id)
        media = shown.get(number, [])
        events = live.store.events(post.id)
        wrong = lifecycle_problems(stored, events)
        if wrong:  # the whole log, to see the race
            log = "; ".join(f"{e.from_status}->{e.to_status} {e.detail!r}" for e in events)
            wrong.append(f"post {post.id} log: {log}")
        found += wrong
        if stored.lease_until is not None:
            found.append(f"post {post.id}: lease left until {stored.lease_until}")
        if len(media) != (stored.status is Status.PUBLISHED):
            found.append(f"post {post.id}: {stored.status}, live {len(media)} times")
        elif media and media[0].caption != stored.spec.caption:
            found.append(
                f"post {post.id}: live as {media[0].caption!r}, stored {stored.spec.caption!r}"
            )
        elif media and media[0].published_at < stored.publish_at:
            found.append(
                f"post {post.id}: live at {media[0].published_at}, due {stored.publish_at}"
            )
    return found


def test_changes_racing_claims_and_publishes_never_double_or_lose_a_post(live: Live) -> None:
    posts = schedule(live)
    ids = [p.id for p in posts]
    live.scheduler.wake()
    until = posts[-1].publish_at + timedelta(seconds=1)
    tally = Tally()
    threads = [
        threading.Thread(target=racer, args=(live, ids, SEED + n, until, tally)) for n in range(2)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert wait_until(lambda: settled(live, ids), timeout=60), live.store.counts()
    print(f"\nlive races: {dict(tally.answers)}, {live.store.counts()}")
    assert problems(live, posts) == []
    assert tally.unexpected == []
    assert tally.answers["act_edit"] and tally.answers["refused"], tally
    assert live.store.counts().get("published", 0) > 0
    assert live.store.counts().get("failed", 0) == 0, "nothing here is a reason to fail"
