"""The distributed scheduler on Celery: for many worker machines behind one store.

    sweeper (one active) --advance(post_id), ETA <= 1 s--> broker --> workers on any machine
         \\___ due query, every second ___ store (PostgreSQL) ___ claim with a lease ___/

- `advance` tasks claim the post (a conditional UPDATE with a lease) and run one step, so a
  duplicate, late or replayed task does nothing. Tasks are acknowledged when they start: a
  worker killed mid-step leaves a lease that expires, and the sweeper sends the post again.
- The sweeper (`Sweeper`, started by ``igautopost worker --scheduler celery --beat``) sends
  a task for every post due before its next pass, with that time as a short ETA; nothing is
  ever sent far ahead, so broker visibility timeouts cannot redeliver waiting tasks.
- `CeleryWaker` is the API side: a post due within a second is sent at once, instead of
  waiting for the next sweep.

Workers use Celery's thread pool: a step is a few milliseconds of Python around Graph calls
of tens to hundreds of milliseconds, so one process with dozens of threads keeps dozens of
calls in flight, where a prefork child runs one task at a time (and costs a process, its
memory and its database connections per call in flight). Run one or two processes per core.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from celery import Celery

from ..clock import Clock, SystemClock
from ..config import Settings
from ..engine.leases import engine_policy
from ..engine.publisher import Publisher
from ..errors import ConfigurationError
from ..storage.protocols import Store
from .base import SchedulerHealth
from .step_runner import Item, PerProcess, StepRunner, chunks, decode, encode
from .sweeper import Sweeper, lock_for

log = logging.getLogger("igautopost.celery")

ADVANCE = "igautopost.advance"
SWEEP = "igautopost.sweep"
WAKE_HORIZON = timedelta(seconds=1)  # the sweep interval: later posts are the sweeper's


def create_app(settings: Settings, *, runner: Callable[[], StepRunner] | None = None) -> Celery:
    """A Celery app on the settings' broker, without a result backend (the store has every
    result). `runner` builds the worker's StepRunner, once per process, on first use; an
    app without one only sends tasks (the API, the sweeper)."""
    if not settings.broker_url:
        raise ConfigurationError("the celery scheduler needs IGAUTOPOST_BROKER_URL")
    app = Celery("igautopost", broker=settings.broker_url, set_as_current=False)
    app.conf.update(
        task_default_queue=settings.celery_queue,
        task_ignore_result=True,
        task_serializer="json",
        accept_content=["json"],
        worker_hijack_root_logger=False,  # the CLI configured logging already
        worker_redirect_stdouts=False,
        # Few prefetched tasks (each carries up to ten posts): a burst spreads over every
        # worker instead of piling up in the first one to ask.
        worker_prefetch_multiplier=1,
        broker_connection_retry_on_startup=True,
        worker_cancel_long_running_tasks_on_connection_loss=True,
        # Unacknowledged (prefetched) tasks of a killed worker come back after this; the
        # sweeper has sent their posts again long before, so a late copy only fails its claim.
        broker_transport_options={"visibility_timeout": 600},
    )
    if runner is not None:
        _register_tasks(app, PerProcess(runner))
    return app


def _register_tasks(app: Celery, runners: PerProcess[StepRunner]) -> None:
    @app.task(name=ADVANCE, ignore_result=True)  # type: ignore[untyped-decorator]
    def advance(items: list[list[int | str]], hops: int = 0) -> None:
        runners.get().run(decode(items), hops)

    @app.task(name=SWEEP, ignore_result=True)  # type: ignore[untyped-decorator]
    def sweep() -> None:
        publisher = runners.get().publisher
        clock = publisher.clock
        ahead = publisher.policy.publish_ahead
        Sweeper(publisher.store, TaskSender(app, clock), clock, ahead=ahead).sweep()


def queue_backlog(app: Celery) -> Callable[[], int]:
    """How many tasks wait in the queue (Redis and RabbitMQ alike)."""
    queue = app.conf.task_default_queue

    def backlog() -> int:
        try:
            with app.connection_for_write() as conn:
                declared = conn.default_channel.queue_declare(queue=queue, passive=True)
                return int(declared.message_count)
        except Exception:  # no queue yet (no worker started), or the broker is down
            return 0  # then resending costs nothing: copies of a task are harmless

    return backlog


class TaskSender:
    """Sends `advance` tasks, a burst on one broker connection; due times become ETAs."""

    def __init__(self, app: Celery, clock: Clock) -> None:
        self.app = app
        self.clock = clock

    def __call__(self, batch: Sequence[Item], hops: int = 0) -> None:
        """`hops`: how often these posts were handed on already (`StepRunner`)."""
        now = self.clock.now()
        with self.app.producer_or_acquire() as producer:
            for group in chunks(batch):
                first = group[0][1]
                self.app.send_task(
                    ADVANCE,
                    args=[encode(group)],
                    kwargs={"hops": hops} if hops else None,
                    eta=first if first > now else None,
                    producer=producer,
                )


class CeleryWaker:
    """The API side of the celery scheduler (`igautopost serve --no-worker`): it runs no
    steps, and sends a post due within a second to the workers at once."""

    def __init__(self, app: Celery, clock: Clock | None = None) -> None:
        self.app = app
        self.clock = clock or SystemClock()
        self._send = TaskSender(app, self.clock)

    def wake(self, post_id: int | None = None, due_at: datetime | None = None) -> None:
        """Send `advance(post_id)` now if it is due before the next sweep; with no post
        (something changed, post unknown), ask any worker for a sweep now."""
        if post_id is None or due_at is None:
            self.app.send_task(SWEEP)
        elif due_at - self.clock.now() <= WAKE_HORIZON:
            self._send([(post_id, due_at)])

    def start(self) -> None:
        pass

    def stop(self, timeout: float | None = None) -> None:
        pass

    def running_steps(self) -> int:
        return 0

    def is_alive(self) -> bool:
        """Always: the steps run in the workers, which report their own state."""
        return True

    def health(self) -> SchedulerHealth | None:
        return None


def start_sweeper(
    app: Celery, store: Store, settings: Settings, stopping: threading.Event
) -> threading.Thread:
    """The sweeper, in a thread of this process, on `store` (closed when it stops); it
    sweeps while it holds the sweeper lock. Beside it, the hourly pruning of media copies
    (`MediaKeeper`), as `igautopost worker` and `serve` run it: safe on every sweeper
    process at once, since a copy is read again just before it is deleted."""
    from ..media_copies import MediaKeeper

    clock = SystemClock()
    sweeper = Sweeper(
        store,
        TaskSender(app, clock),
        clock,
        backlog=queue_backlog(app),
        ahead=timedelta(seconds=settings.publish_ahead_seconds),
    )

    keeper = MediaKeeper.from_settings(settings, store, clock).start()

    def run() -> None:
        try:
            sweeper.run(stopping, lock_for(store))
        finally:
            keeper.stop(timeout=5)  # before the store it prunes with is closed
            store.close()

    thread = threading.Thread(target=run, name="igautopost-sweeper", daemon=True)
    thread.start()
    return thread


def run_worker(
    settings: Settings,
    *,
    publisher: Callable[[], Publisher],
    sweeper_store: Callable[[], Store] | None = None,
    threads: int = 32,
    loglevel: str = "INFO",
) -> None:
    """Run a Celery worker in this process until it is stopped (SIGTERM: a warm shutdown):
    `publisher` makes its engine (once, in the process that runs the tasks); with
    `sweeper_store`, the sweeper runs too, on that store. `igautopost.services` wires both
    from the settings (`run_celery_worker`)."""

    def runner() -> StepRunner:
        engine = publisher()
        return StepRunner(engine, threads, resend=TaskSender(app, engine.clock))

    engine_policy(settings)  # refuse leases that cannot hold a step before taking tasks
    app = create_app(settings, runner=runner)
    stopping = threading.Event()
    sweeper = None
    if sweeper_store is not None:
        sweeper = start_sweeper(app, sweeper_store(), settings, stopping)
    try:
        app.worker_main(worker_argv(settings, threads, loglevel))
    finally:
        stopping.set()
        if sweeper is not None:
            sweeper.join(timeout=5)


def worker_argv(settings: Settings, threads: int, loglevel: str) -> list[str]:
    node = f"igautopost-{os.getpid()}@{socket.gethostname()}"
    return [
        "worker",
        "--pool=threads",
        f"--concurrency={threads}",
        f"--loglevel={loglevel}",
        f"--queues={settings.celery_queue}",
        f"--hostname={node}",
        # No worker-to-worker chatter: these workers coordinate through the store only.
        "--without-gossip",
        "--without-mingle",
        "--without-heartbeat",
    ]


__all__ = [
    "ADVANCE",
    "SWEEP",
    "CeleryWaker",
    "TaskSender",
    "create_app",
    "run_worker",
    "start_sweeper",
]
