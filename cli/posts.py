"""The post commands: `schedule`, `validate`, `list`, `show`, `cancel`, `reschedule`, `retry`
(on the local database or, with `--server`, on a server: `backends.py`) and `publish --now`
(which runs the engine here, on the local database)."""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape

from .base import (
    TABLE_ROWS_MAX,
    ApiTokenOption,
    JsonLinesOption,
    JsonOption,
    ServerOption,
    err,
    fail,
    json_rows_wanted,
    out,
    print_one,
    progress,
    reported,
    time_option,
)
from .engine import SandboxOption, build_publisher, start_sandbox
from .media_checks import NoMediaCheckOption, say_unchecked
from .output import (
    local_time,
    post_details,
    post_json,
    posts_table,
    print_json,
    write_json_rows,
)
from .state import State, state_of
from .timeinput import NaiveTimes, is_naive

if TYPE_CHECKING:
    from igautopost import Post, Publisher

FilesArgument = Annotated[
    list[str], typer.Argument(help="JSON, JSON array or JSON Lines files; - for stdin.")
]


def _state(ctx: typer.Context) -> State:
    """The run's state, its zone read first: a bad IGAUTOPOST_TIMEZONE is reported as an
    error, not a traceback, whichever command meets it."""
    state = state_of(ctx)
    with reported():
        _ = state.zone
    return state


VerboseOption = Annotated[
    bool,
    typer.Option(
        "--verbose",
        "-v",
        help="List each post already stored, by id, and each whose media could not be checked.",
    ),
]
AllowMissingAccountOption = Annotated[
    bool,
    typer.Option(
        "--allow-missing-account",
        help="Accept posts with no token whose account is not stored yet "
        "(add it with `igautopost account add` before they are due).",
    ),
]


def schedule(
    ctx: typer.Context,
    files: FilesArgument,
    as_json: JsonOption = False,
    as_jsonl: JsonLinesOption = False,
    verbose: VerboseOption = False,
    allow_missing_account: AllowMissingAccountOption = False,
    server_url: ServerOption = None,
    api_token: ApiTokenOption = None,
    no_media_check: NoMediaCheckOption = False,
) -> None:
    """Validate posts and store them as scheduled: all of them, or none if any is invalid.
    A time without an offset is read in the post's `timezone`, else in IGAUTOPOST_TIMEZONE
    (else $TZ, else the system's zone). Their media is checked against Instagram's rules,
    and a local file (`media_path`, read relative to its post file) is copied into the
    media store (docs/media.md, "Local files")."""
    from .backends import posts_backend
    from .inputs import Places, located, read_posts
    from .remote import ScheduleInterrupted

    state = _state(ctx)
    as_rows = json_rows_wanted(as_json, as_jsonl)
    places, naive = Places(), NaiveTimes()
    with (
        reported(),
        _zone_said(state, naive),
        located(places),
        posts_backend(state, server_url, api_token) as posts,
        progress() as counted,
    ):
        items = counted(naive.watched(read_posts(files, places)))
        try:
            result = posts.schedule(
                items,
                now=state.now(),
                zone=state.zone,
                allow_missing_account=allow_missing_account,
                media_check=not no_media_check and state.settings.media_check,
                base_dir=places.folder_of,
            )
        except ScheduleInterrupted as exc:  # only a server stops midway
            err.print(f"[red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
            raise exc.cause from None
    say_unchecked(result.media_unchecked, places, every=verbose)
    for warning in result.warnings:
        err.print(f"[yellow]warning:[/] {escape(warning)}", highlight=False, soft_wrap=True)
    _say_existing(result.existing, verbose)
    if as_rows:
        write_json_rows((post_json(p) for p in result.created), lines=as_jsonl)
        return
    if not result.created:
        out.print(f"nothing new to schedule ({len(result.existing)} already stored)")
        return
    shown = result.created[:TABLE_ROWS_MAX]
    title = f"{len(result.created)} scheduled"
    if len(shown) < len(result.created):
        title += f" (first {len(shown)} shown; `igautopost list` shows all)"
    out.print(posts_table(shown, state.zone, title=title))


def _say_existing(existing: Sequence[Post], verbose: bool) -> None:
    """One line for the posts stored already (a file run again), each of them with --verbose."""
    if not existing:
        return
    more = "" if verbose else "; --verbose lists them"
    err.print(f"{len(existing)} already stored (same client_key){more}", highlight=False)
    if verbose:
        for post in existing:
            key = escape(repr(post.spec.client_key))
            err.print(f"already stored: post {post.id} has client key {key}", highlight=False)


@contextmanager
def _zone_said(state: State, naive: NaiveTimes) -> Iterator[None]:
    """Says on stderr which zone naive times were read in, once, if the input had one."""
    try:
        yield
    finally:
        if naive.seen:
            err.print(state.zone_notice(), highlight=False, soft_wrap=True)


def validate(
    ctx: typer.Context,
    files: FilesArgument,
    no_media_check: NoMediaCheckOption = False,
    verbose: Annotated[
        bool,
        typer.Option(
            "--verbose", "-v", help="Name every media URL or file that could not be checked."
        ),
    ] = False,
) -> None:
    """Check posts against Instagram's rules without storing anything, their media too
    (format, size, shape, duration; a URL must be public and reachable)."""
    from igautopost.posts import checked_posts

    from .inputs import Places, located
    from .media_checks import MediaBatch

    state = _state(ctx)
    places, naive = Places(), NaiveTimes()
    media = MediaBatch(state, skip=no_media_check, every_unchecked=verbose)
    with reported(), _zone_said(state, naive), located(places), progress("validating") as counted:
        items = counted(naive.watched(media.reading(files, places)))
        posts = checked_posts(items, now=state.now(), zone=state.zone)
        valid = sum(1 for _ in media.kept(posts))  # counted, not kept: only their media items
        media.check(places)
    out.print(f"[green]ok:[/] {valid} post(s) valid")


def list_posts(
    ctx: typer.Context,
    status: Annotated[
        list[str] | None, typer.Option(help="Only these statuses (repeatable).")
    ] = None,
    account: Annotated[str | None, typer.Option(help="Only this IG user id.")] = None,
    since: Annotated[
        str | None, typer.Option(help="Publish time from (ISO 8601 or local).")
    ] = None,
    until: Annotated[
        str | None, typer.Option(help="Publish time until (ISO 8601 or local).")
    ] = None,
    limit: Annotated[
        int | None, typer.Option(min=1, help="At most this many posts (default: all).")
    ] = None,
    as_json: JsonOption = False,
    as_jsonl: JsonLinesOption = False,
    server_url: ServerOption = None,
    api_token: ApiTokenOption = None,
) -> None:
    """List stored posts by publish time. JSON is written as the posts are read, a page at
    a time, however many there are."""
    from igautopost import PostQuery, Status

    from .backends import LocalPosts, posts_backend

    state = _state(ctx)
    as_rows = json_rows_wanted(as_json, as_jsonl)
    try:
        statuses = frozenset(Status(s.lower()) for s in status) if status else None
    except ValueError:
        names = ", ".join(s.value for s in Status)
        raise typer.BadParameter(f"status must be one of: {names}", param_hint="--status") from None
    query = PostQuery(
        statuses=statuses,
        account=account,
        publish_from=time_option(since, "--since", state.zone),
        publish_until=time_option(until, "--until", state.zone),
        limit=limit,
    )
    if any(is_naive(value) for value in (since, until) if value is not None):
        err.print(state.zone_notice(), highlight=False, soft_wrap=True)
    with reported(), posts_backend(state, server_url, api_token) as posts:
        if as_rows:
            # the local database's documents come straight from its rows (issue 14)
            local = isinstance(posts, LocalPosts)
            documents = (
                state.store.post_documents(query)
                if local
                else (post_json(p) for p in posts.stream(query))
            )
            write_json_rows(documents, lines=as_jsonl)
            return
        found = list(posts.stream(query))
    out.print(posts_table(found, state.zone, title=f"{len(found)} post(s), times in {state.zone}"))


def show(
    ctx: typer.Context,
    post_id: int,
    as_json: JsonOption = False,
    server_url: ServerOption = None,
    api_token: ApiTokenOption = None,
) -> None:
    """Show one post with its history (the access token is never shown)."""
    from .backends import posts_backend
    from .output import event_json

    state = _state(ctx)
    with reported(), posts_backend(state, server_url, api_token) as posts:
        post = posts.get(post_id)
        events = posts.events(post_id)
    if as_json:
        print_json(out, {**post_json(post), "events": [event_json(e) for e in events]})
        return
    out.print(post_details(post, events, state.zone))


def cancel(
    ctx: typer.Context,
    post_id: int,
    as_json: JsonOption = False,
    server_url: ServerOption = None,
    api_token: ApiTokenOption = None,
) -> None:
    """Unschedule a post that is not published yet."""
    from .backends import posts_backend

    with reported(), posts_backend(state_of(ctx), server_url, api_token) as posts:
        post = posts.cancel(post_id)
    print_one(post, as_json, f"post {post.id} cancelled")


def reschedule(
    ctx: typer.Context,
    post_id: int,
    at: Annotated[str, typer.Option("--at", help="New publish time: ISO 8601, or local time.")],
    as_json: JsonOption = False,
    server_url: ServerOption = None,
    api_token: ApiTokenOption = None,
) -> None:
    """Move a post to a new publish time (a failed post is scheduled again)."""
    from .backends import posts_backend

    state = _state(ctx)
    with reported():
        publish_at = time_option(at, "--at", state.zone)
    assert publish_at is not None
    if is_naive(at):
        err.print(state.zone_notice(), highlight=False, soft_wrap=True)
    with reported(), posts_backend(state, server_url, api_token) as posts:
        post = posts.reschedule(post_id, publish_at)
    print_one(
        post, as_json, f"post {post.id} now publishes at {local_time(post.publish_at, state.zone)}"
    )


def retry(
    ctx: typer.Context,
    post_id: int,
    as_json: JsonOption = False,
    server_url: ServerOption = None,
    api_token: ApiTokenOption = None,
) -> None:
    """Put a failed post back to scheduled; a past publish time becomes now."""
    from .backends import posts_backend

    state = _state(ctx)
    with reported(), posts_backend(state, server_url, api_token) as posts:
        post = posts.retry(post_id)
    print_one(
        post,
        as_json,
        f"post {post.id} scheduled again for "
        f"{post.publish_at.astimezone(state.zone):%Y-%m-%d %H:%M:%S %Z}",
    )


TIMED_OUT = 124  # exit codes of `publish --now` that is stopped: as timeout(1) and a shell's
INTERRUPTED = 130


def publish(
    ctx: typer.Context,
    target: Annotated[str, typer.Argument(help="A post id, or a JSON file with one post.")],
    now: Annotated[bool, typer.Option("--now", help="Publish immediately.")] = False,
    timeout: Annotated[
        float,
        typer.Option(
            min=1,
            help="Give up after this many seconds (exit code 124); the post is left to a "
            "worker, or cancelled with --cancel-on-interrupt.",
        ),
    ] = 120.0,
    cancel_on_interrupt: Annotated[
        bool,
        typer.Option(
            "--cancel-on-interrupt",
            help="On Ctrl-C (exit code 130) or --timeout, cancel the post instead of leaving "
            "it scheduled for a worker.",
        ),
    ] = False,
    sandbox: SandboxOption = False,
    as_json: JsonOption = False,
) -> None:
    """Publish a post right away and follow it through processing; prints each step and each
    retry with its reason as it happens, then the permalink."""
    if not now:
        raise typer.BadParameter(
            "add --now: publish sends the post to Instagram right away, and --now says you "
            "mean it; to publish later, use `igautopost schedule`",
            param_hint="--now",
        )
    state = _state(ctx)
    with ExitStack() as stack, reported():
        if sandbox:
            start_sandbox(state, stack, offer=False)  # over in seconds: it offers none
        post_id = _publish_target(state, target)
        try:
            post = _follow(state, build_publisher(state), post_id, timeout)
        except (KeyboardInterrupt, _GaveUp) as stop:
            reason = f"gave up after {timeout:g} s" if isinstance(stop, _GaveUp) else "interrupted"
            _stopped(state, post_id, reason, cancel=cancel_on_interrupt)
            raise typer.Exit(TIMED_OUT if isinstance(stop, _GaveUp) else INTERRUPTED) from None
    if as_json:
        print_json(out, post_json(post))
    elif post.permalink or post.media_id:
        out.print(f"published post {post.id}: {post.permalink or 'media ' + str(post.media_id)}")
    if post.status.value != "published":
        fail(f"post {post.id} {post.status}: {post.error.message if post.error else ''}")


class _GaveUp(Exception):
    """`publish --now` ran out of its --timeout."""


def _stopped(state: State, post_id: int, reason: str, *, cancel: bool) -> None:
    """Say what becomes of a post whose `publish --now` stopped: cancelled, or left as it is
    for a worker, with the command that would stop it."""
    import igautopost

    post = state.store.get(post_id)
    if cancel and post.status.is_active:
        try:
            igautopost.cancel(state.store, post_id, now=state.now())
        except igautopost.IgAutopostError as exc:  # e.g. a publish call already left
            err.print(
                f"[red]error:[/] {reason}; post {post_id} could not be cancelled: "
                f"{escape(str(exc))}",
                highlight=False,
                soft_wrap=True,
            )
            return
        err.print(f"[red]error:[/] {reason}: post {post_id} cancelled", highlight=False)
        return
    if not post.status.is_active:
        err.print(f"[red]error:[/] {reason}: post {post_id} is {post.status}", highlight=False)
        return
    due = post.next_attempt_at or post.publish_at
    err.print(
        f"[red]error:[/] {reason}: post {post_id} is left {post.status}, next step at "
        f"{local_time(due, state.zone)}; a worker (`igautopost worker`) will publish it, "
        f"`igautopost cancel {post_id}` stops it",
        highlight=False,
        soft_wrap=True,
    )


def _publish_target(state: State, target: str) -> int:
    """The id of the post to publish now: a stored one, moved to now, or one read from a file
    and scheduled for now."""
    from pathlib import Path

    import igautopost
    from igautopost import services

    from .inputs import read_posts

    moment = state.now()
    if target.isdigit():
        post = state.store.get(int(target))
        if post.status.value == "failed":
            return igautopost.retry(state.store, post.id, now=moment).id
        return igautopost.reschedule(state.store, post.id, moment, now=moment).id
    items = list(read_posts([target]))
    if len(items) != 1 or not isinstance(items[0], dict):
        fail(f"{target}: `publish --now` takes one post; use `schedule` for several")
    item = {**items[0], "publish_at": moment.isoformat(), "prepare_ahead": 0}
    for alias in ("date_pub",):
        item.pop(alias, None)
    store = state.store
    folder = Path.cwd() if target == "-" else Path(target).resolve().parent
    # Its local file copied (and checked); URLs are not fetched here: `publish --now` tries
    # the post at once, and the sandbox's demo posts name example.com.
    with services.media_intake(state.settings, check=False) as intake:
        result = igautopost.schedule(
            store, [item], now=moment, zone=state.zone, media=intake, base_dir=folder
        )
    if result.created:
        return result.created[0].id
    known = result.existing[0]  # its client key is stored already: publish that post
    if not known.status.is_active:
        fail(f"{target}: already stored as post {known.id}, which is {known.status}")
    return igautopost.reschedule(state.store, known.id, moment, now=moment).id


def _follow(state: State, publisher: Publisher, post_id: int, timeout: float) -> Post:
    """Run the post's steps here until it is published or failed, printing each event of
    the post (each step, each retry with its reason) as it is stored; `_GaveUp` after
    `timeout` seconds (checked between steps: a step in flight ends first)."""
    deadline = time.monotonic() + timeout
    shown = len(state.store.events(post_id))  # what came before is not news
    with err.status("publishing") as spinner:
        while True:
            post = publisher.advance(post_id) or state.store.get(post_id)
            shown = _print_events(state, post_id, shown)
            spinner.update(
                f"post {post.id}: {post.status}"
                + (f" (container {post.container_id})" if post.container_id else "")
            )
            following_up = post.status.value == "published" and post.next_attempt_at is not None
            if not post.status.is_active and not following_up:
                return post
            left = deadline - time.monotonic()
            if left <= 0:
                raise _GaveUp
            wait = 0.2
            if post.next_attempt_at is not None:
                wait = (post.next_attempt_at - state.now()).total_seconds()
            time.sleep(min(max(wait, 0.05), 5.0, left))


def _print_events(state: State, post_id: int, shown: int) -> int:
    """Print the post's events after the first `shown`; how many there are now."""
    events = state.store.events(post_id)
    for event in events[shown:]:
        change = f"{event.from_status} -> {event.to_status}"
        if event.from_status == event.to_status:
            change = str(event.to_status)
        at = event.at.astimezone(state.zone).strftime("%H:%M:%S")
        detail = f": {escape(event.detail)}" if event.detail else ""
        err.print(f"{at} post {post_id} {change}{detail}", highlight=False, soft_wrap=True)
    return len(events)
