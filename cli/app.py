"""The `igautopost` command. Heavy modules (SQLAlchemy, the HTTP stack) are imported inside
commands, so that `igautopost --help` stays fast."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cached_property
from typing import TYPE_CHECKING, Annotated, Any, NoReturn
from zoneinfo import ZoneInfo

import typer
from rich.console import Console
from rich.markup import escape

from . import sandbox as sandbox_command
from .output import local_time, post_details, post_json, posts_table, print_json
from .timeinput import local_zone, parse_time

if TYPE_CHECKING:
    from igautopost import Settings, SqlStore

    from .remote import Remote

app = typer.Typer(
    name="igautopost",
    help="Schedule Instagram posts and publish them on time, exactly once.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="rich",
)
db_app = typer.Typer(help="Manage the database schema.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.command("sandbox")(sandbox_command.sandbox)

out = Console()
err = Console(stderr=True)

TABLE_ROWS_MAX = 50  # rendering a 10,000-row table takes longer than scheduling it
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]
ServerOption = Annotated[
    str | None,
    typer.Option(
        "--server",
        envvar="IGAUTOPOST_SERVER",
        help="Work on an `igautopost serve` at this URL instead of the local database.",
        rich_help_panel="Remote server",
    ),
]
ApiTokenOption = Annotated[
    str | None,
    typer.Option(
        "--api-token",
        envvar="IGAUTOPOST_API_TOKEN",
        help="The server's API token. Prefer the environment variable; prompted when unset.",
        show_default=False,
        rich_help_panel="Remote server",
    ),
]


class Runtime:
    """What commands share: settings, the store (opened on first use) and the local zone."""

    @cached_property
    def settings(self) -> Settings:
        from igautopost import Settings

        return Settings()

    @cached_property
    def store(self) -> SqlStore:
        from igautopost import open_store

        return open_store(self.settings)

    @cached_property
    def zone(self) -> ZoneInfo:
        return local_zone(self.settings.timezone)

    def now(self) -> Any:
        from igautopost import SystemClock

        return SystemClock().now()


runtime = Runtime()


def fail(message: str) -> NoReturn:
    err.print(f"[red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    raise typer.Exit(1)


@contextmanager
def reported() -> Iterator[None]:
    """Turn igautopost's errors into readable messages and exit code 1."""
    from igautopost import IgAutopostError, InvalidPost

    from .inputs import InputError

    try:
        yield
    except InvalidPost as exc:
        for problem in exc.problems:
            err.print(f"[red]invalid:[/] {escape(str(problem))}", highlight=False, soft_wrap=True)
        raise typer.Exit(1) from None
    except (IgAutopostError, InputError) as exc:
        fail(str(exc))


@contextmanager
def remote_posts(server_url: str | None, api_token: str | None) -> Iterator[Remote | None]:
    """A client of the server when one is given (`--server` or IGAUTOPOST_SERVER), else None:
    the command works on the local database. The token is prompted for when not set."""
    if not server_url:
        yield None
        return
    from .remote import Remote, is_plain_http_to_another_host, normalized_url

    try:
        url = normalized_url(server_url)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--server") from None
    if not api_token and sys.stdin.isatty():
        api_token = str(typer.prompt("API token", hide_input=True, err=True))
    if not api_token:
        fail(f"no API token for {url}: set IGAUTOPOST_API_TOKEN (`igautopost token create`)")
    if is_plain_http_to_another_host(url):
        err.print(f"[yellow]warning:[/] the API token crosses the network unencrypted ({url})")
    with Remote(url, api_token) as remote:
        yield remote


def _progress(items: list[Any]) -> Callable[[], None]:
    """A progress bar for large inputs on a terminal; a no-op otherwise."""
    if len(items) < 2000 or not sys.stderr.isatty():
        return lambda: None
    from rich.progress import Progress

    progress = Progress(console=err, transient=True)
    progress.start()
    progress.add_task("validating and storing", total=None)
    return progress.stop


@app.command()
def schedule(
    files: Annotated[
        list[str], typer.Argument(help="JSON, JSON array or JSON Lines files; - for stdin.")
    ],
    as_json: JsonOption = False,
    server_url: ServerOption = None,
    api_token: ApiTokenOption = None,
) -> None:
    """Validate posts and store them as scheduled: all of them, or none if any is invalid."""
    import igautopost

    from .inputs import read_posts
    from .remote import ScheduleInterrupted

    with reported(), remote_posts(server_url, api_token) as remote:
        items = read_posts(files)
        done = _progress(items)
        try:
            if remote:
                result = remote.schedule(items, now=runtime.now())
            else:
                result = igautopost.schedule(runtime.store, items, now=runtime.now())
        except ScheduleInterrupted as exc:
            err.print(f"[red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
            raise exc.cause from None
        finally:
            done()
    for warning in result.warnings:
        err.print(f"[yellow]warning:[/] {escape(warning)}", highlight=False, soft_wrap=True)
    for post in result.existing:
        err.print(
            f"already stored: post {post.id} has client key {escape(repr(post.spec.client_key))}",
            highlight=False,
        )
    if as_json:
        print_json(out, [post_json(p) for p in result.created])
        return
    if not result.created:
        out.print(f"nothing new to schedule ({len(result.existing)} already stored)")
        return
    shown = result.created[:TABLE_ROWS_MAX]
    title = f"{len(result.created)} scheduled"
    if len(shown) < len(result.created):
        title += f" (first {len(shown)} shown; `igautopost list` shows all)"
    out.print(posts_table(shown, runtime.zone, title=title))


@app.command()
def validate(
    files: Annotated[
        list[str], typer.Argument(help="JSON, JSON array or JSON Lines files; - for stdin.")
    ],
) -> None:
    """Check posts against Instagram's rules without storing anything."""
    import igautopost

    from .inputs import read_posts

    with reported():
        specs = igautopost.parse_posts(read_posts(files), now=runtime.now())
    out.print(f"[green]ok:[/] {len(specs)} post(s) valid")


@app.command("list")
def list_posts(
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
    limit: Annotated[int | None, typer.Option(min=1)] = None,
    as_json: JsonOption = False,
    server_url: ServerOption = None,
    api_token: ApiTokenOption = None,
) -> None:
    """List stored posts by publish time."""
    from igautopost import PostQuery, Status

    try:
        statuses = frozenset(Status(s) for s in status) if status else None
    except ValueError:
        names = ", ".join(s.value for s in Status)
        raise typer.BadParameter(f"status must be one of: {names}", param_hint="--status") from None
    query = PostQuery(
        statuses=statuses,
        account=account,
        publish_from=_time_option(since, "--since"),
        publish_until=_time_option(until, "--until"),
        limit=limit,
    )
    with reported(), remote_posts(server_url, api_token) as remote:
        found = (remote or runtime.store).list(query)
    if as_json:
        print_json(out, [post_json(p) for p in found])
        return
    out.print(
        posts_table(found, runtime.zone, title=f"{len(found)} post(s), times in {runtime.zone}")
    )


@app.command()
def show(
    post_id: int,
    as_json: JsonOption = False,
    server_url: ServerOption = None,
    api_token: ApiTokenOption = None,
) -> None:
    """Show one post with its history (the access token is never shown)."""
    from .output import event_json

    with reported(), remote_posts(server_url, api_token) as remote:
        source = remote or runtime.store
        post = source.get(post_id)
        events = source.events(post_id)
    if as_json:
        print_json(out, {**post_json(post), "events": [event_json(e) for e in events]})
        return
    out.print(post_details(post, events, runtime.zone))


@app.command()
def cancel(
    post_id: int,
    as_json: JsonOption = False,
    server_url: ServerOption = None,
    api_token: ApiTokenOption = None,
) -> None:
    """Unschedule a post that is not published yet."""
    import igautopost

    with reported(), remote_posts(server_url, api_token) as remote:
        if remote:
            post = remote.cancel(post_id)
        else:
            post = igautopost.cancel(runtime.store, post_id, now=runtime.now())
    _print_one(post, as_json, f"post {post.id} cancelled")


@app.command()
def reschedule(
    post_id: int,
    at: Annotated[str, typer.Option("--at", help="New publish time: ISO 8601, or local time.")],
    as_json: JsonOption = False,
    server_url: ServerOption = None,
    api_token: ApiTokenOption = None,
) -> None:
    """Move a post to a new publish time (a failed post is scheduled again)."""
    import igautopost

    publish_at = _time_option(at, "--at")
    assert publish_at is not None
    with reported(), remote_posts(server_url, api_token) as remote:
        if remote:
            post = remote.reschedule(post_id, publish_at)
        else:
            post = igautopost.reschedule(runtime.store, post_id, publish_at, now=runtime.now())
    _print_one(
        post,
        as_json,
        f"post {post.id} now publishes at {local_time(post.publish_at, runtime.zone)}",
    )


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply pending schema migrations (the CLI also does this on first use)."""
    from igautopost.storage import migrate
    from igautopost.storage.sql import create_engine

    url = runtime.settings.resolved_database_url()
    database = create_engine(url)
    before = migrate.current_revision(database)
    migrate.upgrade(database)
    after = migrate.current_revision(database)
    out.print(f"database at revision {after}" + ("" if before == after else f" (was {before})"))


def _time_option(value: str | None, hint: str) -> Any:
    if value is None:
        return None
    try:
        return parse_time(value, runtime.zone)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint=hint) from None


def _print_one(post: Any, as_json: bool, message: str) -> None:
    if as_json:
        print_json(out, post_json(post))
    else:
        out.print(message)


def main() -> None:
    app()


# The command modules register their commands on `app` when imported; they import `app`
# from here, so they come last.
from . import (  # noqa: E402
    accounts,  # noqa: F401  (registers account, secrets)
    engine,  # noqa: F401  (registers worker, publish, retry)
    scale,  # noqa: F401  (registers db copy)
    server,  # noqa: F401  (registers serve, user, token)
)
