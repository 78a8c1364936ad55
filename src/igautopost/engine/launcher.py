"""`Launcher`: publish calls leave on their mark, all of a mark at once, from one thread.

A ready post is claimed `publish_ahead` before its time; its step builds the publish call
and opens its connection (`GraphClient.prepare_publish`), then waits for the mark. Waking
every such thread at the mark to send its own call was the slow part of a burst: hundreds
of threads queued for the GIL together, and each thread's send waited for the others'.
So the step threads hand their calls to the launcher and block on an event; one thread
wakes at the mark, writes every call due then (microseconds each: the request is built and
the connection open), and only then lets the step threads go on to read their answers.

A call that cannot be written without blocking (its connection is not open, or the
server closed it meanwhile) is sent by its own step thread on the mark instead. On a clock
that does not move by itself (a `FakeClock`), the step moves the clock to the mark and sends
its call itself.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
from dataclasses import dataclass, field
from datetime import datetime

from ..clock import Clock
from ..graph.client import Prepared

log = logging.getLogger(__name__)

IDLE = 30.0  # seconds without a call before the launcher's thread ends
# Seconds past its mark after which a step stops waiting for the launcher and sends its
# call itself. A call has surely left by then: a lease must cover it (see leases.py), so a
# longer grace would keep a dead worker's posts longer.
GRACE = 3.0


@dataclass(order=True)
class _Launch:
    mark: datetime
    number: int
    call: Prepared = field(compare=False)
    left: threading.Event = field(compare=False, default_factory=threading.Event)


class Launcher:
    """Sends prepared publish calls on their marks (never before); see the module text."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self._due: list[_Launch] = []
        self._numbers = itertools.count()
        self._wake = threading.Condition()
        self._thread: threading.Thread | None = None

    def launch_at(self, call: Prepared, mark: datetime) -> None:
        """Return once `mark` has come and `call` has left, or is the caller's to send
        (`GraphClient.send_publish` sends a call not launched yet)."""
        if not self.clock.moves_by_itself or mark <= self.clock.now():
            self.clock.sleep_until(mark)
            return
        launch = _Launch(mark, next(self._numbers), call)
        with self._wake:
            heapq.heappush(self._due, launch)
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="igautopost-launcher", daemon=True
                )
                self._thread.start()
            self._wake.notify()
        # Never forever: a launcher that fell behind by GRACE leaves the call to its step
        # (`Pending` writes a request once, whichever thread comes first).
        launch.left.wait((mark - self.clock.now()).total_seconds() + GRACE)
        self.clock.sleep_until(mark)

    def _run(self) -> None:
        while True:
            with self._wake:
                due = self._take_due()
                if due is None:  # idle: the next launch_at starts a new thread
                    self._thread = None
                    return
            sent = 0
            for launch in due:
                try:
                    sent += launch.call.launch()
                except Exception:  # the step thread sends it itself and reports the failure
                    log.exception("launching a publish call failed")
            for launch in due:
                launch.left.set()
            if len(due) > 1:
                log.debug("launched %s of %s publish calls due at once", sent, len(due))

    def _take_due(self) -> list[_Launch] | None:
        """Wait until the first mark; take every call due then (the lock is held). None
        after `IDLE` seconds with nothing to launch."""
        while True:
            if not self._due:
                if not self._wake.wait(IDLE) and not self._due:
                    return None
                continue
            left = (self._due[0].mark - self.clock.now()).total_seconds()
            if left > 0:
                self._wake.wait(left)
                continue
            now = self.clock.now()
            due = []
            while self._due and self._due[0].mark <= now:
                due.append(heapq.heappop(self._due))
            return due
