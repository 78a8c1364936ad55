"""`igautopost worker`: publish due posts in this process (the local scheduler), or run a
Celery worker (`--scheduler celery`)."""

from __future__ import annotations

import logging
import signal
import sys
import time
from contextlib import ExitStack, suppress
from datetime import timedelta
from typing import TYPE_CHECKING, Annotated, Any

import typer

from .base import counted, err, fail, reported
from .engine import (
    PLAIN_LOG_FORMAT,
    JsonLines,
    LogFormatOption,
    SandboxOption,
    build_publisher,
    configure_logging,
    start_sandbox,
)
from .media import media_upkeep
from .state import State, state_of

if TYPE_CHECKING:
    from igautopost import LocalScheduler


def worker(
    ctx: typer.Context,
    threads: Annotated[int, typer.Option(min=1, help="Steps run at once.")] = 64,
    sandbox: SandboxOption = False,
    demo: Annotated[
        bool, typer.Option(help="With --sandbox: schedule example posts first.")
    ] = False,
    exit_when_idle: Annotated[bool, typer.Option(help="Stop once no post is waiting.")] = False,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Log debug records too.")
    ] = False,
    log_format: LogFormatOption = "text",
    scheduler_name: Annotated[
        str,
        typer.Option(
            "--scheduler",
            help="local: this process finds due posts; celery: tasks from IGAUTOPOST_BROKER_URL.",
        ),
    ] = "local",
    beat: Annotated[
        bool, typer.Option("--beat", help="With --scheduler celery: also run the sweeper.")
    ] = False,
) -> None:
    """Run the local scheduler: publish due posts until stopped (Ctrl-C or SIGTERM)."""
    from igautopost import LocalScheduler, services

    state = state_of(ctx)
    configure_logging(verbose, state.settings, log_format)
    if scheduler_name not in ("local", "celery"):
        raise typer.BadParameter("local or celery", param_hint="--scheduler")
    if scheduler_name == "celery":
        return run_celery_worker(state, threads, beat, verbose, log_format)
    with ExitStack() as stack, reported():
        if sandbox:
            start_sandbox(state, stack)
        elif demo:
            fail("--demo needs --sandbox: demo posts are never sent to Instagram")
        demo_report = DemoReport(_schedule_demo(state) if demo else [])
        scheduler = LocalScheduler(build_publisher(state), workers=threads)
        stopping: list[int] = []
        signal.signal(signal.SIGTERM, lambda signum, frame: stopping.append(signum))
        scheduler.start()
        stack.callback(services.account_upkeep(scheduler.publisher).start().stop)
        stack.callback(media_upkeep(state, scheduler.publisher).start().stop)
        err.print(f"worker {scheduler.publisher.owner} running with {threads} threads")
        with suppress(KeyboardInterrupt):
            _watch(state, scheduler, stopping, exit_when_idle, demo_report)
        err.print("stopping: letting running steps finish")
        scheduler.stop()
        demo_report.check(state)
        err.print(f"stopped after {counted(scheduler.steps_run, 'step')}")


class DemoReport:
    """Says once when the demo's posts are all done, and how each ended: without it the
    demo ran on in silence, leaving the reader to guess whether it had worked (issue 15)."""

    def __init__(self, post_ids: list[int]) -> None:
        self.waiting = post_ids

    def check(self, state: State) -> bool:
        """Whether the demo has just finished (and said so)."""
        if not self.waiting:
            return False
        posts = [state.store.get(post_id) for post_id in self.waiting]
        if any(post.status.is_active for post in posts):
            return False
        self.waiting = []
        for post in posts:
            ending = post.permalink or (post.error.message if post.error else "")
            err.print(f"demo: post {post.id} {post.status.value} {ending}".rstrip())
        published = sum(post.status == "published" for post in posts)
        err.print(f"demo done: {published} of {len(posts)} posts published")
        return True


COUNTS_EVERY = 10.0  # seconds between counts of the posts by status on the status line


def _watch(
    state: State,
    scheduler: LocalScheduler,
    stopping: list[int],
    exit_when_idle: bool,
    demo: DemoReport,
) -> None:
    """Wait for a stop; on a terminal, show a live status line."""
    from rich.live import Live

    from .output import status_line

    counts: dict[str, int] = {}
    counted_at = -COUNTS_EVERY
    with Live(
        console=err, refresh_per_second=2, transient=True, auto_refresh=err.is_terminal
    ) as live:
        while not stopping:
            if err.is_terminal:
                # Counting every post's status reads them all (O(stored posts)): done for the
                # status line only, and not twice a second (issue 14: an idle worker on
                # 1,000,000 posts spent 8 % of a core counting them for nobody).
                if time.monotonic() - counted_at >= COUNTS_EVERY:
                    counts, counted_at = state.store.counts(), time.monotonic()
                live.update(
                    status_line(
                        counts,
                        scheduler.running_steps(),
                        state.zone,
                        state.store.next_due(state.now()),
                    )
                )
            if demo.check(state) and not exit_when_idle:
                err.print("the worker keeps running: Ctrl-C to stop")
            if exit_when_idle and state.store.next_due(state.now()) is None:
                return
            time.sleep(0.5)


def _schedule_demo(state: State) -> list[int]:
    import igautopost

    now = state.now()
    demo = {"account": "17841400000000001", "access_token": "sandbox-demo-token"}
    posts: list[dict[str, Any]] = [
        {
            **demo,
            "media_type": "image",
            "media_url": "https://example.com/demo/photo.jpg",
            "caption": "A photo, published by igautopost #demo",
            "first_comment": "First!",
        },
        {
            **demo,
            "media_type": "reel",
            "media_url": "https://example.com/demo/reel.mp4",
            "caption": "A reel: its container is processed ahead of time #demo",
        },
        {
            **demo,
            "media_type": "carousel",
            "caption": "A carousel #demo",
            "children": [
                {"media_url": "https://example.com/demo/1.jpg"},
                {"media_url": "https://example.com/demo/2.jpg"},
            ],
        },
    ]
    for offset, item in enumerate(posts, start=1):
        item["publish_at"] = now + timedelta(seconds=15 * offset)
        item["prepare_ahead"] = 14
    result = igautopost.schedule(state.store, posts, now=now)
    for post in result.created:
        err.print(
            f"demo: post {post.id} ({post.media_type}) publishes at "
            f"{post.publish_at.astimezone(state.zone):%H:%M:%S}"
        )
    return [post.id for post in result.created]


def run_celery_worker(
    state: State, threads: int, beat: bool, verbose: bool, log_format: str = "text"
) -> None:
    """`worker --scheduler celery`: a Celery worker (thread pool) and, with `beat`, the
    sweeper. Celery handles SIGTERM (finish running steps, then exit) and Ctrl-C."""
    from igautopost import services

    _plain_logging(verbose, log_format)
    settings = state.settings
    with reported():
        state.store  # noqa: B018  (migrate before the first task, and fail early if down)
        err.print(
            f"celery worker on {settings.celery_queue!r} with {threads} threads"
            + (", and the sweeper" if beat else "")
        )
        services.run_celery_worker(
            settings, threads=threads, beat=beat, loglevel="DEBUG" if verbose else "INFO"
        )


def _plain_logging(verbose: bool, log_format: str) -> None:
    """One plain line per record (or one JSON object, `--log-format json`), for journald: a
    worker logs every step, and rich's layout would be work on every step for a reader who
    sees no colours. Celery's line per task is left out unless --verbose."""
    handler = logging.StreamHandler(sys.stderr)
    json_lines = log_format == "json"
    handler.setFormatter(JsonLines() if json_lines else logging.Formatter(PLAIN_LOG_FORMAT))
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO, handlers=[handler], force=True
    )
    quiet = logging.INFO if verbose else logging.WARNING
    for noisy in ("alembic", "urllib3", "celery.app.trace", "celery.worker.strategy"):
        logging.getLogger(noisy).setLevel(quiet)
