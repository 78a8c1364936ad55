"""Run the publishing engine on simulated time: days of schedules in seconds.

The `Simulation` drives a `Publisher` whose clock is a `FakeClock`: it runs every due step,
then jumps the clock to the next due time, never sleeping. Give the sandbox the same clock
and video processing, container expiry and quota windows follow simulated time too.

>>> sim = Simulation(publisher, clock)                                   # doctest: +SKIP
>>> sim.run_for(timedelta(days=3))                                       # doctest: +SKIP
"""

from __future__ import annotations

from datetime import datetime, timedelta

from ..clock import FakeClock
from .publisher import Publisher


class Simulation:
    def __init__(self, publisher: Publisher, clock: FakeClock, *, batch: int = 100) -> None:
        self.publisher = publisher
        self.clock = clock
        self.batch = batch
        self.steps = 0

    def run_until(self, until: datetime, *, max_steps: int = 1_000_000) -> int:
        """Run every step due up to `until`, in time order; the number of steps run."""
        store = self.publisher.store
        start = self.steps
        while self.steps - start < max_steps:
            now = self.clock.now()
            due = store.claim_due(
                owner=self.publisher.owner,
                now=now,
                lease=self.publisher.policy.lease,
                limit=self.batch,
            )
            for post in due:
                self.publisher.step(post)
                self.steps += 1
            if due:
                continue
            upcoming = store.next_due(now)
            if upcoming is None or upcoming > until:
                self.clock.set(max(until, now))
                return self.steps - start
            self.clock.set(max(upcoming, now))
        raise RuntimeError(f"simulation did not settle within {max_steps} steps")

    def run_for(self, duration: timedelta) -> int:
        return self.run_until(self.clock.now() + duration)
