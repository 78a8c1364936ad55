"""The `igautopost` command. Heavy modules (SQLAlchemy, the HTTP stack) are imported inside
commands, so that `igautopost --help` stays fast.

This module holds the post commands and registers every other command module's commands on
the shared app (`base.app`) by importing them.
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape

from . import base
from . import sandbox as sandbox_command
from .base import (
    TABLE_ROWS_MAX,
    ApiTokenOption,
    JsonOption,
    ServerOption,
    app,
    db_app,
    err,
    out,
    print_one,
    progress,
    remote_posts,
    reported,
    time_option,
)
from .output import local_time, post_details, post_json, posts_table, print_json

app.command("sandbox")(sandbox_command.sandbox)


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
        done = progress(items)
        try:
            if remote:
                result = remote.schedule(items, now=base.runtime.now())
            else:
                result = igautopost.schedule(base.runtime.store, items, now=base.runtime.now())
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
    out.print(posts_table(shown, base.runtime.zone, title=title))


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
        specs = igautopost.parse_posts(read_posts(files), now=base.runtime.now())
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
        publish_from=time_option(since, "--since"),
        publish_until=time_option(until, "--until"),
        limit=limit,
    )
    with reported(), remote_posts(server_url, api_token) as remote:
        found = (remote or base.runtime.store).list(query)
    if as_json:
        print_json(out, [post_json(p) for p in found])
        return
    out.print(
        posts_table(
            found, base.runtime.zone, title=f"{len(found)} post(s), times in {base.runtime.zone}"
        )
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
        source = remote or base.runtime.store
        post = source.get(post_id)
        events = source.events(post_id)
    if as_json:
        print_json(out, {**post_json(post), "events": [event_json(e) for e in events]})
        return
    out.print(post_details(post, events, base.runtime.zone))


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
            post = igautopost.cancel(base.runtime.store, post_id, now=base.runtime.now())
    print_one(post, as_json, f"post {post.id} cancelled")


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

    publish_at = time_option(at, "--at")
    assert publish_at is not None
    with reported(), remote_posts(server_url, api_token) as remote:
        if remote:
            post = remote.reschedule(post_id, publish_at)
        else:
            post = igautopost.reschedule(
                base.runtime.store, post_id, publish_at, now=base.runtime.now()
            )
    print_one(
        post,
        as_json,
        f"post {post.id} now publishes at {local_time(post.publish_at, base.runtime.zone)}",
    )


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply pending schema migrations (the CLI also does this on first use)."""
    from igautopost.storage.sql import create_engine, migrate

    url = base.runtime.settings.resolved_database_url()
    database = create_engine(url)
    before = migrate.current_revision(database)
    migrate.upgrade(database)
    after = migrate.current_revision(database)
    out.print(f"database at revision {after}" + ("" if before == after else f" (was {before})"))


def main() -> None:
    app()


# The other command modules register their commands on `base.app` when imported: after the
# post commands above, so that `--help` lists those first.
from . import accounts, celery_commands, engine, server  # noqa: E402, F401
