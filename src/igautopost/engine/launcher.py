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

A step thread that waits for its call's answer cannot prepare another post's call, so a
burst larger than the thread pool left in waves, each one publish call's latency after the
last (issue 14). So a step may instead hand its call over with the rest of its work
(`hand_off`: read the answer, save the outcome) and return its thread at once: the launcher
then owns the call in flight, and once the calls of a mark have left, a few answer threads
(`AnswerReaders`) read the answers and end the steps. The number of step threads then
bounds the work of preparing calls, not the number that leave together.
"""

from __future__ import annotations

import gc
import heapq
import itertools
import logging
import threading
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from ..clock import Clock
from ..graph.client import Prepared

log = logging.getLogger(__name__)

IDLE = 30.0  # seconds without a call before the launcher's thread ends
# Seconds past its mark after which a step stops waiting for the launcher and sends its
# call itself. A call has surely left by then: a lease must cover it (see leases.py), so a
# longer grace would keep a dead worker's posts longer.
GRACE = 3.0
# Threads reading the answers of calls handed off (`hand_off`). Reading blocks until the
# answer comes, but the calls of a mark left together, so their answers come together too:
# a few threads read them one after the other. Only this many hung connections at once
# (each up to the Graph read timeout) hold up the others' answers, never a call's leaving.
READERS = 32

# What ends a handed-off step: given when its call left (None: not written by the launcher,
# which leaves the sending to it), it reads the answer and saves the outcome.
Then = Callable[[datetime | None], None]


@dataclass(order=True)
class _Launch:
    mark: datetime
    number: int
    call: Prepared = field(compare=False)
    left: threading.Event = field(compare=False, default_factory=threading.Event)
    then: Then | None = field(compare=False, default=None)


class Launcher:
    """Sends prepared publish calls on their marks (never before); see the module text."""

    def __init__(self, clock: Clock, *, readers: int = READERS) -> None:
        self.clock = clock
        self.readers = AnswerReaders(readers)
        self._due: list[_Launch] = []
        self._numbers = itertools.count()
        self._wake = threading.Condition()
        self._thread: threading.Thread | None = None

    @property
    def hands_off(self) -> bool:
        """Whether `hand_off` returns before the mark (a clock that moves by itself); on a
        `FakeClock` it moves the clock to the mark and runs `then` in the caller's thread."""
        return self.clock.moves_by_itself

    def hand_off(self, call: Prepared, mark: datetime, then: Then) -> None:
        """Send `call` on `mark` and have an answer thread run `then` once it has left;
        returns at once. `then` gets the time the call left, or None when the launcher did
        not write it (its connection was not open; the mark was missed by `GRACE`)."""
        if not self.hands_off:
            self.clock.sleep_until(mark)
            then(None)
            return
        now = self.clock.now()
        if mark <= now:  # prepared late: it leaves now, from this thread
            log.debug("a publish call prepared %.1f ms after its mark", _ms(now - mark))
            self.readers.submit(then, self.clock.now() if _launch(call) else None)
            return
        self._push(_Launch(mark, next(self._numbers), call, then=then))

    def launch_at(self, call: Prepared, mark: datetime) -> None:
        """Return once `mark` has come and `call` has left, or is the caller's to send
        (`GraphClient.send_publish` sends a call not launched yet)."""
        if not self.clock.moves_by_itself or mark <= self.clock.now():
            self.clock.sleep_until(mark)
            return
        launch = _Launch(mark, next(self._numbers), call)
        self._push(launch)
        # Never forever: a launcher that fell behind by GRACE leaves the call to its step
        # (`Pending` writes a request once, whichever thread comes first).
        launch.left.wait((mark - self.clock.now()).total_seconds() + GRACE)
        self.clock.sleep_until(mark)

    def _push(self, launch: _Launch) -> None:
        with self._wake:
            heapq.heappush(self._due, launch)
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="igautopost-launcher", daemon=True
                )
                self._thread.start()
            self._wake.notify()

    def _run(self) -> None:
        while True:
            with self._wake:
                due = self._take_due()
                if due is None:  # idle: the next launch_at starts a new thread
                    self._thread = None
                    return
            with _collection_deferred():
                left_at = self._write(due)
            for launch, call_left_at in zip(due, left_at, strict=True):
                if launch.then is None:
                    launch.left.set()
                else:
                    self.readers.submit(launch.then, call_left_at)
            if log.isEnabledFor(logging.DEBUG):
                _log_launched(due, left_at)

    def _write(self, due: list[_Launch]) -> list[datetime | None]:
        """Write the calls of `due` in a row; when each left (None: left to its step).

        Each call gets the time its own write ended, not the batch's: the outcome records it
        as when the call left (a post's `published_at`), and a burst's writes take ms.
        Reading the clock once a call costs what the lateness check below costs anyway."""
        grace = timedelta(seconds=GRACE)
        left_at: list[datetime | None] = []
        now = self.clock.now()
        for launch in due:
            # A call the launcher reaches GRACE after its mark is left to its step, which
            # checks that its lease still covers a call leaving so late (see leases.py).
            if now - launch.mark > grace:
                left_at.append(None)
                continue
            sent = _launch(launch.call)
            now = self.clock.now()
            left_at.append(now if sent else None)
        return left_at

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


@contextmanager
def _collection_deferred() -> Iterator[None]:
    """Python's cyclic garbage collector held off while the calls of a mark are written.

    A collection stops every thread of the process, and a full one over an engine's objects
    (a burst's posts, prepared calls, connections) takes tens of ms, about 150 ms measured
    on a loaded machine: started mid-burst by one of the launcher's own allocations (a
    write allocates a few objects), it would hold back every call still to write. Held off,
    it runs at the first allocation after, once every call has left. Other threads' garbage
    waits as long: a burst's writes take ms (about 20 us a call)."""
    if not gc.isenabled():  # someone else holds it off: leave it so
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def _ms(delta: timedelta) -> float:
    return delta.total_seconds() * 1000


def _log_launched(due: list[_Launch], left_at: list[datetime | None]) -> None:
    """How many calls of `due` the launcher wrote, and when each left in ms after its mark
    (`written_ms`, which benchmarks/engine_bench.py reads)."""
    written = [_ms(at - launch.mark) for launch, at in zip(due, left_at, strict=True) if at]
    log.debug(
        "launched %s of %s publish calls due at once, the last %.1f ms after the mark",
        len(written),
        len(due),
        max(written, default=0.0),
        extra={"written_ms": written},
    )


def _launch(call: Prepared) -> bool:
    """Write `call` now if that cannot block; a failure is the sender's to report."""
    try:
        return call.launch()
    except Exception:  # the step sends it itself and reports the failure
        log.exception("launching a publish call failed")
        return False


class AnswerReaders:
    """Up to `size` threads that end handed-off steps, started when there is work and ended
    after `IDLE` seconds without. A step whose call was not written yet goes first: it still
    has to send it."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._work: deque[tuple[Then, datetime | None]] = deque()
        self._ready = threading.Condition()
        self._threads = 0
        self._idle = 0

    def submit(self, then: Then, left_at: datetime | None) -> None:
        with self._ready:
            if left_at is None:
                self._work.appendleft((then, left_at))
            else:
                self._work.append((then, left_at))
            if self._idle < len(self._work) and self._threads < self.size:
                self._threads += 1
                threading.Thread(target=self._run, name="igautopost-answers", daemon=True).start()
            self._ready.notify()

    def _run(self) -> None:
        while True:
            with self._ready:
                while not self._work:
                    self._idle += 1
                    woken = self._ready.wait(IDLE)
                    self._idle -= 1
                    if not woken and not self._work:
                        self._threads -= 1
                        return
                then, left_at = self._work.popleft()
            try:
                then(left_at)
            except Exception:  # `then` reports its step's own failures; this is a bug
                log.exception("ending a handed-off publish step failed")
