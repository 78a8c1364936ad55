"""Commands that run the publishing engine: `worker`, `publish`, `retry`."""

from __future__ import annotations

import logging
import signal
import time
from contextlib import ExitStack, suppress
from datetime import timedelta
from typing import TYPE_CHECKING, Annotated, Any

import typer

from . import base
from .base import (
    ApiTokenOption,
    JsonOption,
    ServerOption,
    app,
    err,
    fail,
    out,
    print_one,
    remote_posts,
    reported,
)
from .output import post_json, print_json

if TYPE_CHECKING:
    from igautopost import Post, Publisher

SandboxOption = Annotated[
    bool,
    typer.Option("--sandbox", help="Publish to a built-in Graph API emulator (own database)."),
]


def start_sandbox(stack: ExitStack) -> str:
    """Serve the sandbox in this process and point the engine at it, on a database made for
    the sandbox: never a real one, whose posts it would "publish" (see cli/sandboxdb.py)."""
    from igautopost.sandbox import SandboxConfig, SandboxServer

    from .sandboxdb import mark_sandbox_database, sandbox_database, shown_url

    settings = base.runtime.settings
    settings.database_url = sandbox_database(settings)  # exits for a database not made for it
    server = stack.enter_context(SandboxServer(SandboxConfig(video_processing_seconds=5)))
    settings.graph_base_url = server.url
    settings.graph_instagram_base_url = server.url  # the sandbox serves both hosts' paths
    mark_sandbox_database(base.runtime.store.engine)
    err.print(f"sandbox Graph API at {server.url}; database {shown_url(settings.database_url)}")
    return server.url


def build_publisher() -> Publisher:
    """The engine on the CLI's store (`igautopost.services.publisher`); a
    `ConfigurationError` for leases that cannot hold a step."""
    from igautopost import services

    return services.publisher(base.runtime.settings, base.runtime.store)


def configure_logging(verbose: bool) -> None:
    from rich.logging import RichHandler

    handler = RichHandler(console=err, show_path=False, rich_tracebacks=False)
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        handlers=[handler],
        format="%(message)s",
        force=True,
    )
    for noisy in ("alembic", "urllib3", "uvicorn", "uvicorn.error"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    from .accounts import protect_logs

    protect_logs()  # tokens and passwords never reach a log line, whoever writes it


@app.command()
def worker(
    threads: Annotated[int, typer.Option(min=1, help="Steps run at once.")] = 64,
    sandbox: SandboxOption = False,
    demo: Annotated[
        bool, typer.Option(help="With --sandbox: schedule example posts first.")
    ] = False,
    exit_when_idle: Annotated[bool, typer.Option(help="Stop once no post is waiting.")] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
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

    configure_logging(verbose)
    if scheduler_name not in ("local", "celery"):
        raise typer.BadParameter("local or celery", param_hint="--scheduler")
    if scheduler_name == "celery":
        from .celery_commands import run_celery_worker

        return run_celery_worker(threads, beat, verbose)
    with ExitStack() as stack, reported():
        if sandbox:
            start_sandbox(stack)
        elif demo:
            fail("--demo needs --sandbox: demo posts are never sent to Instagram")
        if demo:
            _schedule_demo()
        scheduler = LocalScheduler(build_publisher(), workers=threads)
        stopping: list[int] = []
        signal.signal(signal.SIGTERM, lambda signum, frame: stopping.append(signum))
        scheduler.start()
        stack.callback(services.account_upkeep(scheduler.publisher).start().stop)
        err.print(f"worker {scheduler.publisher.owner} running with {threads} threads")
        with suppress(KeyboardInterrupt):
            _watch(scheduler, stopping, exit_when_idle)
        err.print("stopping: letting running steps finish")
        scheduler.stop()
        err.print(f"stopped after {scheduler.steps_run} steps")


def _watch(scheduler: Any, stopping: list[int], exit_when_idle: bool) -> None:
    """Wait for a stop; on a terminal, show a live status line."""
    from rich.live import Live

    from .output import status_line

    with Live(
        console=err, refresh_per_second=2, transient=True, auto_refresh=err.is_terminal
    ) as live:
        while not stopping:
            counts = base.runtime.store.counts()
            if err.is_terminal:
                live.update(
                    status_line(
                        counts,
                        scheduler.running_steps(),
                        base.runtime.zone,
                        base.runtime.store.next_due(base.runtime.now()),
                    )
                )
            if exit_when_idle and base.runtime.store.next_due(base.runtime.now()) is None:
                return
            time.sleep(0.5)


def _schedule_demo() -> None:
    import igautopost

    now = base.runtime.now()
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
    result = igautopost.schedule(base.runtime.store, posts, now=now)
    for post in result.created:
        err.print(
            f"demo: post {post.id} ({post.media_type}) publishes at "
            f"{post.publish_at.astimezone(base.runtime.zone):%H:%M:%S}"
        )


@app.command()
def publish(
    target: Annotated[str, typer.Argument(help="A post id, or a JSON file with one post.")],
    now: Annotated[bool, typer.Option("--now", help="Publish immediately.")] = False,
    sandbox: SandboxOption = False,
    as_json: JsonOption = False,
) -> None:
    """Publish a post right away and follow it through processing; prints the permalink."""
    if not now:
        raise typer.BadParameter("add --now: `publish` publishes immediately", param_hint="--now")
    with ExitStack() as stack, reported():
        if sandbox:
            start_sandbox(stack)
        post_id = _publish_target(target)
        post = _follow(build_publisher(), post_id)
    if as_json:
        print_json(out, post_json(post))
    elif post.permalink or post.media_id:
        out.print(f"published post {post.id}: {post.permalink or 'media ' + str(post.media_id)}")
    if post.status.value != "published":
        fail(f"post {post.id} {post.status}: {post.error.message if post.error else ''}")


def _publish_target(target: str) -> int:
    import igautopost

    from .inputs import read_posts

    moment = base.runtime.now()
    if target.isdigit():
        post = base.runtime.store.get(int(target))
        if post.status.value == "failed":
            return igautopost.retry(base.runtime.store, post.id, now=moment).id
        return igautopost.reschedule(base.runtime.store, post.id, moment, now=moment).id
    items = read_posts([target])
    if len(items) != 1 or not isinstance(items[0], dict):
        fail(f"{target}: `publish --now` takes one post; use `schedule` for several")
    item = {**items[0], "publish_at": moment.isoformat(), "prepare_ahead": 0}
    for alias in ("date_pub",):
        item.pop(alias, None)
    result = igautopost.schedule(base.runtime.store, [item], now=moment)
    if result.created:
        return result.created[0].id
    known = result.existing[0]  # its client key is stored already: publish that post
    if not known.status.is_active:
        fail(f"{target}: already stored as post {known.id}, which is {known.status}")
    return igautopost.reschedule(base.runtime.store, known.id, moment, now=moment).id


def _follow(publisher: Publisher, post_id: int) -> Post:
    """Run the post's steps here until it is published or failed, with a spinner."""
    with err.status("publishing") as spinner:
        while True:
            post = publisher.advance(post_id) or base.runtime.store.get(post_id)
            spinner.update(
                f"post {post.id}: {post.status}"
                + (f" (container {post.container_id})" if post.container_id else "")
            )
            following_up = post.status.value == "published" and post.next_attempt_at is not None
            if not post.status.is_active and not following_up:
                return post
            wait = 0.2
            if post.next_attempt_at is not None:
                wait = (post.next_attempt_at - base.runtime.now()).total_seconds()
            time.sleep(min(max(wait, 0.05), 5.0))


@app.command()
def retry(
    post_id: int,
    as_json: JsonOption = False,
    server_url: ServerOption = None,
    api_token: ApiTokenOption = None,
) -> None:
    """Put a failed post back to scheduled; a past publish time becomes now."""
    import igautopost

    with reported(), remote_posts(server_url, api_token) as remote:
        if remote:
            post = remote.retry(post_id)
        else:
            post = igautopost.retry(base.runtime.store, post_id, now=base.runtime.now())
    print_one(
        post,
        as_json,
        f"post {post.id} scheduled again for "
        f"{post.publish_at.astimezone(base.runtime.zone):%Y-%m-%d %H:%M:%S %Z}",
    )
