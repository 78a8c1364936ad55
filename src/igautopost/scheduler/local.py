"""The embedded scheduler: one loop thread and a pool of step threads in this process.

The loop sleeps until the earliest due time in the store, or until woken by a change in
this process (`wake`), and at most `poll_interval` so that posts written by other processes
(the CLI, another server) are noticed within a second. It claims due posts in batches and
runs each step on the pool. Leases make a second worker, or a restarted one, harmless.

Ready posts are claimed `publish_ahead` (half a second) before their publish time: their
steps do all their work, then hand the publish call to the launcher, which sends it on the
mark, and give their thread back (`Publisher.step_ahead`): the rest of such a step (its
answer, its write) runs on the launcher's answer threads. So the step threads bound the work
of preparing calls, not how many leave together (issue 14). Preparing takes 1-3 ms of
Python per post: with many posts due soon, ready posts are claimed earlier than half a
second (`EnginePolicy.claim_ahead`), so that a burst's calls are all ready on its second.
"""

from __future__ import annotations

import gc
import logging
import queue
import threading
from dataclasses import replace
from datetime import datetime, timedelta
from functools import partial

from ..engine.publisher import Publisher
from ..models import Post
from .base import FAILING_AFTER, SchedulerHealth

log = logging.getLogger("igautopost.scheduler")

# How often the posts due soon are counted, to size the claim-ahead window of a burst.
COUNT_EVERY = timedelta(milliseconds=500)
TICK = timedelta(microseconds=1)

__all__ = ["FAILING_AFTER", "LocalScheduler", "default_max_in_flight"]

MAX_IN_FLIGHT = 4096


def default_max_in_flight() -> int:
    """Steps in flight at once: 4,096, or half the process's file descriptors if fewer (the
    rest are for the database, the API's clients and the logs)."""
    try:
        import resource

        soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    except (ImportError, OSError, ValueError):  # no such limit on this platform
        return MAX_IN_FLIGHT
    if soft == resource.RLIM_INFINITY:
        return MAX_IN_FLIGHT
    return max(64, min(MAX_IN_FLIGHT, soft // 2))


class LocalScheduler:
    """Runs due steps on a pool of threads in this process; see the module text."""

    def __init__(
        self,
        publisher: Publisher,
        *,
        workers: int = 64,
        batch: int = 100,
        poll_interval: timedelta = timedelta(seconds=1),
        coalesce: timedelta = timedelta(milliseconds=2),
        max_in_flight: int | None = None,
    ) -> None:
        self.publisher = publisher
        self.workers = workers
        # Steps claimed and not ended, handed-off publish calls included: each holds a
        # connection (a file descriptor) until its answer is read, so a burst of 50,000 must
        # not open 50,000 at once. Beyond the cap a burst waits for the first answers.
        self.max_in_flight = max_in_flight or default_max_in_flight()
        self.batch = batch
        self.poll_interval = poll_interval
        self.coalesce = coalesce
        self.steps_run = 0
        # Step threads are started up front: threads created when a burst is due would be
        # created on the publish calls' time, and add to their lateness.
        self._queue: queue.SimpleQueue[Post | None] = queue.SimpleQueue()
        self._step_threads: list[threading.Thread] = []
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._busy_threads = 0  # steps given to the step threads and not returned yet
        self._in_flight = 0  # steps claimed and not ended (their publish call may be out)
        self._lock = threading.Lock()
        self._ended = threading.Condition(self._lock)
        self._thread: threading.Thread | None = None
        self._health = SchedulerHealth()
        self._ahead = publisher.policy.publish_ahead
        self._counted_at: datetime | None = None

    def start(self) -> None:
        # What is loaded by now (SQLAlchemy, pydantic, the app) lives as long as the process:
        # out of the collector's full passes, which otherwise walk it all and, landing on a
        # publish time, held up every call due then by tens of milliseconds.
        gc.collect()
        gc.freeze()
        for number in range(self.workers):
            thread = threading.Thread(
                target=self._step_loop, name=f"igautopost-step-{number}", daemon=True
            )
            thread.start()
            self._step_threads.append(thread)
        self._thread = threading.Thread(target=self.run, name="igautopost-scheduler", daemon=True)
        self._thread.start()

    def wake(self, post_id: int | None = None, due_at: datetime | None = None) -> None:
        """Look at the store again now when `due_at` comes before the next poll (or is not
        given). Later posts are found by that poll; waking the loop for each would make every
        write cost a claim query here (measured: a third of the API's POST throughput)."""
        if due_at is None or due_at - self.publisher.clock.now() <= self.poll_interval:
            self._wake.set()

    def is_alive(self) -> bool:
        """The loop runs: started and not stopped (what a health check asks)."""
        return self._thread is not None and self._thread.is_alive()

    def running_steps(self) -> int:
        with self._lock:
            return self._in_flight

    def health(self) -> SchedulerHealth:
        with self._lock:
            return self._health

    def _record(self, *, cycle: bool, error: Exception | None) -> None:
        """Count a claim cycle's or a step's outcome: failures in a row, and the last one."""
        with self._lock:
            health = self._health
            cycles, steps = health.failed_cycles, health.failed_steps
            if cycle:
                cycles = 0 if error is None else cycles + 1
            else:
                steps = 0 if error is None else steps + 1
            health = replace(health, failed_cycles=cycles, failed_steps=steps)
            if error is not None:
                where = "claim" if cycle else "step"
                health = replace(
                    health,
                    last_error=f"{where}: {type(error).__name__}",
                    last_error_at=self.publisher.clock.now(),
                )
            self._health = health

    def stop(self, timeout: float | None = None) -> None:
        """Claim nothing more; return once the running steps have ended (those whose
        publish call is in flight too: their outcomes saved, their leases released)."""
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
        for _ in self._step_threads:
            self._queue.put(None)
        for thread in self._step_threads:
            thread.join(timeout)
        self._step_threads.clear()
        with self._ended:
            self._ended.wait_for(lambda: self._in_flight == 0, timeout)

    def run(self) -> None:
        """The loop; returns after `stop`. Runs in the caller's thread when called directly."""
        while not self._stopping.is_set():
            try:
                claimed = self._claim_and_submit()
            except Exception as exc:  # the store is unreachable: keep the loop alive, retry
                log.exception("claiming due posts failed; retrying")
                self._record(cycle=True, error=exc)
                claimed = 0
            else:
                self._record(cycle=True, error=None)
            if claimed and self._free_slots() > 0:
                continue  # more may be due right now
            woken = self._wake.wait(self._sleep_seconds())
            self._wake.clear()
            if woken:
                # Finishing steps wake the loop one by one; gather a few before the next
                # claim (a write): one claim per finished step would contend with the steps.
                # A due time ends the wait by timeout instead, and is claimed at once.
                self._stopping.wait(self.coalesce.total_seconds())

    def _claim_and_submit(self) -> int:
        free = self._free_slots()
        if free <= 0:
            return 0
        clock = self.publisher.clock
        posts = self.publisher.store.claim_due(
            owner=self.publisher.owner,
            now=clock.now(),
            lease=self.publisher.policy.lease,
            limit=min(self.batch, free),
            ahead=self._claim_ahead(),
            hold=self.publisher.leases.launch_window,
        )
        for post in posts:
            with self._lock:
                self._busy_threads += 1
                self._in_flight += 1
            self._queue.put(post)
        return len(posts)

    def _step_loop(self) -> None:
        while (post := self._queue.get()) is not None:
            self._run_step(post)

    def _run_step(self, post: Post) -> None:
        try:
            self.publisher.step_ahead(post, partial(self._step_ended, post.id))
        finally:
            with self._lock:
                self._busy_threads -= 1
            self._wake.set()  # a thread is free

    def _step_ended(self, post_id: int, error: Exception | None) -> None:
        """A step has ended, in a step thread or, after its publish call, an answer thread."""
        if error is not None:
            log.error(
                "post %s: step crashed; its lease expires and it is retried",
                post_id,
                exc_info=error,
            )
        self._record(cycle=False, error=error)
        with self._ended:
            self._in_flight -= 1
            self.steps_run += 1
            self._ended.notify_all()
        self._wake.set()  # its next attempt may be due soon

    def _claim_ahead(self) -> timedelta:
        """How long before their time ready posts are claimed now: longer when many posts
        are due soon (`EnginePolicy.claim_ahead`; counted at most every `COUNT_EVERY`), never
        so long that a step's deadline could come before its publish call has ended."""
        now = self.publisher.clock.now()
        if self._counted_at is not None and now - self._counted_at < COUNT_EVERY:
            return self._ahead
        policy = self.publisher.policy
        # Beyond this many posts the window is at its longest: no need to count them.
        enough = (policy.burst_ahead - policy.publish_ahead) / max(policy.prepare_cost, TICK)
        due_soon = self.publisher.store.due_by(now + policy.burst_ahead, limit=int(enough) + 1)
        longest = policy.step_limit - self.publisher.leases.publish_call
        self._ahead = max(min(policy.claim_ahead(len(due_soon)), longest), policy.publish_ahead)
        self._counted_at = now
        return self._ahead

    def _free_slots(self) -> int:
        with self._lock:
            return min(self.workers - self._busy_threads, self.max_in_flight - self._in_flight)

    def _sleep_seconds(self) -> float:
        limit = self.poll_interval.total_seconds()
        if self._free_slots() <= 0:
            return limit  # woken when a step finishes
        try:
            due = self.publisher.store.next_due(self.publisher.clock.now(), ahead=self._ahead)
        except Exception:
            return limit
        if due is None:
            return limit
        wait = (due - self.publisher.clock.now()).total_seconds()
        return min(max(wait, 0.0), limit)
