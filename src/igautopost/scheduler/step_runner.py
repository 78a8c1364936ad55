"""Wake-ups in batches: what one `advance` task carries, and how a worker runs it.

Sending a Celery task and receiving it each cost as much Python as the step itself, so a
burst of posts due in the same second would spend its time on messages, one per post. So a
task carries up to `CHUNK` posts due within `SPREAD` of each other, and the
worker runs them side by side on a pool of step threads, each at its own due time.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Generic, TypeVar

from ..clock import Clock
from ..engine.publisher import Publisher
from ..models import Post

log = logging.getLogger("igautopost.celery")
T = TypeVar("T")

CHUNK = 10
SPREAD = timedelta(milliseconds=100)
MAX_WAIT = timedelta(seconds=1)  # a task is never sent further ahead than one sweep

MAX_HOPS = 3  # how often a task's posts may be handed on for want of free threads

Item = tuple[int, datetime]  # post id, due at
Resend = Callable[[Sequence[Item], int], None]  # (posts, hops so far)


def chunks(batch: Sequence[Item]) -> list[list[Item]]:
    """Posts in due order, cut into groups of at most CHUNK due within SPREAD of the first."""
    groups: list[list[Item]] = []
    for item in sorted(batch, key=lambda i: i[1]):
        group = groups[-1] if groups else None
        if group is not None and len(group) < CHUNK and item[1] - group[0][1] <= SPREAD:
            group.append(item)
        else:
            groups.append([item])
    return groups


def encode(group: Sequence[Item]) -> list[list[int | str]]:
    return [[post_id, at.isoformat()] for post_id, at in group]


def decode(items: Sequence[Sequence[int | str]]) -> list[Item]:
    return [(int(post_id), datetime.fromisoformat(str(at))) for post_id, at in items]


class StepRunner:
    """Runs the steps of one task's posts on this process's pool of step threads.

    A worker stages a ready post on a step thread before its publish time (see
    `EnginePolicy.publish_ahead`), so it can publish on the mark only as many posts as it
    has threads. Celery hands a worker every task whose ETA it has seen, however many: so
    before a task's publish time, posts beyond the free threads go back to the queue
    (`resend`) for a worker with threads to spare, at most `MAX_HOPS` times each; after it,
    or with no `resend`, they wait here for a thread."""

    def __init__(self, publisher: Publisher, threads: int, resend: Resend | None = None) -> None:
        self.publisher = publisher
        self.threads = threads
        self.resend = resend
        self.pool = ThreadPoolExecutor(threads, thread_name_prefix="igautopost-step")
        self._lock = threading.Lock()
        self._busy = 0  # posts submitted to the pool and not finished

    def run(self, items: Sequence[Item], hops: int = 0) -> None:
        """Each post at its due time; returns when all are done (their outcomes are stored).
        The posts due when the first is are claimed together, in one write; the others
        (later in the task's spread) each at its own time."""
        items = self._take(items, hops)
        claimed = self._claim_first(items)
        taken = {post.id for post in claimed}
        futures = [self.pool.submit(step_claimed, self.publisher, post) for post in claimed]
        futures += [
            self.pool.submit(self._due_step, post_id, at)
            for post_id, at in items
            if post_id not in taken
        ]
        for future in futures:
            future.add_done_callback(lambda _: self._done())
        for future in futures:
            future.result()

    def _take(self, items: Sequence[Item], hops: int) -> Sequence[Item]:
        """The posts this worker runs now: all of them, or as many as it has free threads
        while another worker may still stage the rest in time (which are resent)."""
        with self._lock:
            free = max(self.threads - self._busy, 0)
            keep, rest = items[:free], items[free:]
            publish_ahead = self.publisher.policy.publish_ahead
            if rest and (
                self.resend is None
                or hops >= MAX_HOPS
                or self.publisher.clock.now() >= min(at for _, at in rest) + publish_ahead
            ):
                keep, rest = items, []
            self._busy += len(keep)
        if rest:
            assert self.resend is not None
            log.debug("%s posts resent: no free step thread to stage them", len(rest))
            try:
                self.resend(rest, hops + 1)
            except Exception:  # the broker is down: run them here after all
                log.exception("resending %s posts failed", len(rest))
                with self._lock:
                    self._busy += len(rest)
                keep = items
        return keep

    def _done(self) -> None:
        with self._lock:
            self._busy -= 1

    def _claim_first(self, items: Sequence[Item]) -> list[Post]:
        if not items:
            return []
        publisher = self.publisher
        try:
            wait_until(publisher.clock, min(at for _, at in items))
            now = publisher.clock.now()
            return publisher.store.claim_many(
                [post_id for post_id, at in items if at <= now],
                owner=publisher.owner,
                now=now,
                lease=publisher.policy.lease,
                ahead=publisher.policy.publish_ahead,
                hold=publisher.leases.launch_window,
            )
        except Exception:  # each post is then tried on its own below
            log.exception("claiming a batch of %s posts failed", len(items))
            return []

    def _due_step(self, post_id: int, due_at: datetime) -> None:
        try:
            wait_until(self.publisher.clock, due_at)
            run_step(self.publisher, post_id)
        except Exception:  # the step's lease expires and the sweeper sends the post again
            log.exception("post %s: step failed", post_id)


def wait_until(clock: Clock, due_at: datetime) -> None:
    """A task may start some milliseconds early (Celery's timer, or a post later in its
    batch); a claim then would fail, not due yet, and leave the post to a later sweep."""
    if timedelta(0) < due_at - clock.now() <= MAX_WAIT:
        clock.sleep_until(due_at)


def run_step(publisher: Publisher, post_id: int) -> None:
    """`Publisher.advance` without reading the post back afterwards: nobody waits for it."""
    now = publisher.clock.now()
    # A ready post is sent `publish_ahead` early: claimed now, published on its mark.
    post = publisher.store.claim(
        post_id,
        owner=publisher.owner,
        now=now,
        lease=publisher.policy.lease,
        ahead=publisher.policy.publish_ahead,
        hold=publisher.leases.launch_window,
    )
    if post is None:
        log.debug("post %s: not claimed (not due, taken by another worker, or done)", post_id)
        return
    step_claimed(publisher, post)


def step_claimed(publisher: Publisher, post: Post) -> None:
    """One step of a post this worker claimed; its outcome stored, or the post released."""
    post_id = post.id
    try:
        publisher.step(post, reload=False)
    except Exception:
        # The store or the network failed mid-step. Give the post back at once rather than
        # after the lease: a publish call it may have made is found by the next step, which
        # asks Instagram about the container before publishing again.
        log.exception("post %s: step failed; releasing it", post_id)
        with contextlib.suppress(Exception):
            publisher.store.release(post_id, owner=publisher.owner)


class PerProcess(Generic[T]):
    """Builds a value on first use in each process: a forked child must not share its
    parent's database connections, HTTP sessions or threads."""

    def __init__(self, build: Callable[[], T]) -> None:
        self._build = build
        self._lock = threading.Lock()
        self._pid: int | None = None
        self._value: T | None = None

    def get(self) -> T:
        if self._pid != os.getpid():
            with self._lock:
                if self._pid != os.getpid():
                    self._value = self._build()
                    self._pid = os.getpid()
        assert self._value is not None
        return self._value
