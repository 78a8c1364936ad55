"""`igautopost media list|prune`: the copies of local media files that igautopost keeps."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Column, Table

from .base import JsonLinesOption, JsonOption, json_rows_wanted, out, reported
from .output import local_time, print_json, write_json_rows
from .state import State, state_of

if TYPE_CHECKING:
    from igautopost import Publisher
    from igautopost.media.protocols import MediaStore
    from igautopost.media_copies import MediaCopy, MediaKeeper

media_app = typer.Typer(
    help="Show and prune the copies of local media files (docs/media.md).",
    no_args_is_help=True,
)

DryRunOption = Annotated[
    bool, typer.Option("--dry-run", help="Say which copies would be deleted; delete none.")
]


@media_app.command("list")
def media_list(
    ctx: typer.Context, as_json: JsonOption = False, as_jsonl: JsonLinesOption = False
) -> None:
    """Every copy kept: its key, size, type, when it was stored and the posts using it."""
    from igautopost.media_copies import media_copies

    state = state_of(ctx)
    as_rows = json_rows_wanted(as_json, as_jsonl)
    with reported():
        copies = list(media_copies(state.store, _media_store(state)))
    if as_rows:
        write_json_rows((copy_json(copy) for copy in copies), lines=as_jsonl)
        return
    table = Table(Column("key", overflow="fold"), "size", "type", "stored at", "posts")
    for copy in copies:
        uses = ", ".join(f"{use.post_id} {use.status.value}" for use in copy.uses) or "none"
        table.add_row(
            copy.media.key,
            _size(copy.media.size),
            copy.media.content_type,
            local_time(copy.media.stored_at, state.zone),
            uses,
        )
    out.print(table)
    out.print(f"{_copies(len(copies))} in {state.settings.resolved_media_store()}")


@media_app.command("prune")
def media_prune(
    ctx: typer.Context, dry_run: DryRunOption = False, as_json: JsonOption = False
) -> None:
    """Delete the copies no post needs any more: every post using it finished (published,
    cancelled or failed) longer than IGAUTOPOST_MEDIA_KEEP_SECONDS ago, or no post and
    that old. A copy a scheduled, processing or ready post uses is never deleted."""
    from igautopost.media_copies import prune_media

    state = state_of(ctx)
    keep = timedelta(seconds=state.settings.media_keep_seconds)
    with reported():
        pruned = prune_media(
            state.store, _media_store(state), now=state.now(), keep=keep, dry_run=dry_run
        )
    if as_json:
        keys = [media.key for media in pruned.deleted]
        print_json(out, {"deleted": keys, "bytes": pruned.bytes_freed, "kept": pruned.kept})
        return
    verb = "would delete" if dry_run else "deleted"
    for media in pruned.deleted:
        out.print(f"{verb} {media.key} ({_size(media.size)})")
    out.print(
        f"{verb} {_copies(len(pruned.deleted))} ({_size(pruned.bytes_freed)}), kept {pruned.kept}"
    )


def media_upkeep(state: State, publisher: Publisher) -> MediaKeeper:
    """The worker's hourly pruning of media copies, on its store and clock (`.start()`)."""
    from igautopost.media_copies import MediaKeeper

    return MediaKeeper.from_settings(state.settings, publisher.store, publisher.clock)


def copy_json(copy: MediaCopy) -> dict[str, Any]:
    stored_at = copy.media.stored_at
    return {
        "key": copy.media.key,
        "size": copy.media.size,
        "content_type": copy.media.content_type,
        "stored_at": stored_at.isoformat() if stored_at else None,
        "posts": [{"id": use.post_id, "status": use.status.value} for use in copy.uses],
    }


def _media_store(state: State) -> MediaStore:
    from igautopost.media.hosting import media_store_from

    return media_store_from(state.settings)


def _copies(number: int) -> str:
    return f"{number:,} {'copy' if number == 1 else 'copies'}"


def _size(size: int) -> str:
    """Bytes as people read them: 512 B, 3.4 KB, 12.0 MB."""
    if size < 1024:
        return f"{size} B"
    if size < 1024 * 1024:
        return f"{size / 1024:.1f} KB"
    return f"{size / (1024 * 1024):.1f} MB"
