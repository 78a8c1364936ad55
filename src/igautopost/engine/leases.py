"""`LeaseKeeper`: short leases, renewed while a step runs, and held over the publish call.

A claim leases a post for `EnginePolicy.lease` (10 s by default). While the step runs, its
worker renews the lease every third of that (one UPDATE for all its running steps), so a
live worker keeps its posts however long a Graph call takes, and a worker that dies (a
SIGKILL, a lost machine) lets them go within one lease: another worker takes them over
within seconds.

Every step has a deadline, `EnginePolicy.step_limit` after its claim. A step still running
then (a hung connection, a stalled thread) is no longer renewed: its lease runs out, another
worker takes the post over, and the old step's writes fail, as they are conditional on the
lease.

The publish call is the one call that must never overlap another worker's step. Right
before it, `hold` checks that the step still holds the claim it started with (not taken
over, not claimed again by this worker), that the call can end before the step's deadline,
and that the lease lasts until the call has surely left (its mark plus the launcher's
grace). The claim of a ready post about to be published leases it that long already
(`claim_due(hold=...)`), so the check is usually made in memory, without a write; while the
call is in flight the renewals keep the post. The lease is not stretched over the whole
call (connect and read timeouts, a minute with the defaults): a worker killed before its
call left then frees the post within seconds too. A step whose call is in flight counts as
running until its outcome is saved, whichever thread saves it (`start` and `end`: a step
may hand its call to the launcher and give its thread back, see launcher.py). A worker
killed while its call was in flight frees it one lease later; the next step asks Instagram
about the container first (PUBLISHED: recorded, its media found by mediamatch.py) and never
publishes it twice.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

from ..clock import Clock
from ..config import Settings
from ..errors import ConfigurationError
from ..graph.client import Timeout
from ..models import Post
from ..storage.protocols import Store
from .launcher import GRACE
from .policy import EnginePolicy

log = logging.getLogger("igautopost.engine.leases")

IDLE = 30.0  # seconds without a running step before the renewing thread ends
MARGIN = timedelta(seconds=1)  # for the clocks of two workers, and the answer's own write
# From its mark, by when a publish call has left: a step sends its own call when the
# launcher has not done so within GRACE.
LAUNCH_WINDOW = timedelta(seconds=GRACE) + MARGIN


def publish_call_time(timeout: Timeout) -> timedelta:
    """The longest a publish call can take from its mark to its answer: the launcher's grace
    (a step sends its own call when the launcher falls behind), connect and read."""
    connect, read = timeout if isinstance(timeout, tuple) else (timeout, timeout)
    return timedelta(seconds=GRACE + connect + read) + MARGIN


STEP_CALLS = 4  # Graph calls a ready post's step may make: status, limit, publish, and one more
SHORTEST_LEASE = 3.0  # seconds: renewed every third of it, at least a second apart


def engine_policy(settings: Settings) -> EnginePolicy:
    """The engine's timing from the settings; `ConfigurationError` naming the rule broken
    when a lease or a step's deadline could not hold a step."""
    problem = lease_problem(settings)
    if problem is not None:
        raise ConfigurationError(problem)
    return EnginePolicy(
        lease=timedelta(seconds=settings.lease_seconds),
        step_limit=timedelta(seconds=settings.step_seconds),
        publish_ahead=timedelta(seconds=settings.publish_ahead_seconds),
    )


def lease_problem(settings: Settings) -> str | None:
    """What is wrong with the lease settings, in words naming them; None when they hold."""
    lease, step, timeout = settings.lease_seconds, settings.step_seconds, settings.graph_timeout
    ahead = settings.publish_ahead_seconds
    for name, value in (
        ("LEASE_SECONDS", lease),
        ("STEP_SECONDS", step),
        ("GRAPH_TIMEOUT", timeout),
    ):
        if not (math.isfinite(value) and value > 0):
            return f"IGAUTOPOST_{name}={value:g} must be a positive number of seconds"
    if lease < SHORTEST_LEASE:
        return (
            f"IGAUTOPOST_LEASE_SECONDS={lease:g} is too short: a worker renews its leases "
            f"every third of the lease, at least a second apart; use {SHORTEST_LEASE:g} or more"
        )
    needed = ahead + GRACE + STEP_CALLS * 2 * timeout
    if step < needed:
        return (
            f"IGAUTOPOST_STEP_SECONDS={step:g} cannot hold a step: a ready post's step waits up "
            f"to IGAUTOPOST_PUBLISH_AHEAD_SECONDS={ahead:g} for its time, makes up to "
            f"{STEP_CALLS} Graph calls of IGAUTOPOST_GRAPH_TIMEOUT={timeout:g} s to connect "
            f"plus as long to read, and its publish call may leave {GRACE:g} s late: it needs "
            f"at least {needed:g} s. Raise IGAUTOPOST_STEP_SECONDS or lower "
            "IGAUTOPOST_GRAPH_TIMEOUT"
        )
    if lease > step:
        return (
            f"IGAUTOPOST_LEASE_SECONDS={lease:g} is longer than IGAUTOPOST_STEP_SECONDS="
            f"{step:g}: a step's lease must end by its deadline, so that a stuck step gives its "
            "post up"
        )
    return None


@dataclass
class RunningStep:
    claimed_at: datetime | None
    deadline: datetime
    leased_until: datetime | None  # as far as this worker knows: its claim, renewals, holds


class LeaseKeeper:
    """The leases of one worker's running steps (one per `Publisher`); see the module text.

    On a clock that does not move by itself (a `FakeClock`) nothing renews in the
    background: tests call `renew` themselves."""

    def __init__(
        self,
        store: Store,
        clock: Clock,
        owner: str,
        *,
        lease: timedelta,
        step_limit: timedelta,
        publish_call: timedelta,
    ) -> None:
        self.store = store
        self.clock = clock
        self.owner = owner
        self.lease = lease
        self.step_limit = step_limit
        self.publish_call = publish_call
        self.launch_window = LAUNCH_WINDOW
        self._steps: dict[int, RunningStep] = {}
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    @contextmanager
    def running(self, post: Post) -> Iterator[None]:
        """Renew the post's lease while the block (its step) runs, up to its deadline."""
        step = self.start(post)
        try:
            yield
        finally:
            self.end(post, step)

    def start(self, post: Post) -> RunningStep:
        """Renew the post's lease from now until `end`, up to its step's deadline: for a
        step that outlives its thread (its publish call in flight, see launcher.py)."""
        started = post.claimed_at or self.clock.now()
        step = RunningStep(post.claimed_at, started + self.step_limit, post.lease_until)
        with self._lock:
            self._steps[post.id] = step
            self._start_renewing()
        return step

    def end(self, post: Post, step: RunningStep) -> None:
        """The step `start` returned has ended: its lease is no longer renewed."""
        with self._lock:
            if self._steps.get(post.id) is step:
                del self._steps[post.id]

    def hold(self, post: Post, mark: datetime) -> bool:
        """Whether the step may send the post's publish call on `mark`: it still holds its
        claim, leased until the call has surely left (extended if needed), and the call can
        end by the step's deadline. A step past its deadline gives the post up instead."""
        leaves = max(self.clock.now(), mark)
        step = self._steps.get(post.id)
        deadline = step.deadline if step else (post.claimed_at or leaves) + self.step_limit
        if leaves + self.publish_call > deadline:
            log.warning("post %s: step past its deadline; not publishing, released", post.id)
            self.store.release(post.id, owner=self.owner)
            return False
        needed = leaves + LAUNCH_WINDOW
        if step is not None and step.leased_until is not None and step.leased_until >= needed:
            return True  # our own lease runs until then: nobody can have taken the post
        held = self.store.hold_lease(
            post.id, owner=self.owner, claimed_at=post.claimed_at, until=needed
        )
        if held and step is not None:
            step.leased_until = needed
        return held

    def renew(self) -> int:
        """Extend the leases of the running steps to one lease from now, except those held
        that long already and those that would outlast their step's deadline; how many were
        extended."""
        until = self.clock.now() + self.lease
        with self._lock:
            steps = [
                (post_id, step)
                for post_id, step in self._steps.items()
                if step.deadline >= until and not (step.leased_until and step.leased_until >= until)
            ]
        renewed = self.store.renew_leases([i for i, _ in steps], owner=self.owner, until=until)
        for _, step in steps:
            # When some were not extended (taken over, released), which is unknown here:
            # `hold` then asks the store.
            step.leased_until = until if renewed == len(steps) else None
        return renewed

    def _start_renewing(self) -> None:  # the lock is held
        if self._thread is None and self.clock.moves_by_itself:
            self._thread = threading.Thread(
                target=self._renew_loop, name="igautopost-leases", daemon=True
            )
            self._thread.start()

    def _renew_loop(self) -> None:
        period = self.lease.total_seconds() / 3
        idle = 0.0
        pause = threading.Event()
        while True:
            pause.wait(period)
            with self._lock:
                idle = 0.0 if self._steps else idle + period
                if idle >= IDLE:
                    self._thread = None
                    return
                if not self._steps:
                    continue
            try:
                self.renew()
            except Exception:  # the store is down: the next pass tries again
                log.exception("renewing %s leases failed", len(self._steps))
