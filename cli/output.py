"""How the CLI shows posts: Rich tables for people, JSON for scripts.

JSON goes straight to standard output, compact, one document or one line per row, written
as the rows are read: Rich's pretty-printer took 13.4 s and 948 MB for 10,000 posts (issue
14), and a script is exactly the caller that needs it fast. Only a
single document shown on a terminal goes through Rich, indented for a person to read.
"""

from __future__ import annotations

import gc
import json
import json.encoder
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime, tzinfo
from typing import TYPE_CHECKING, Any

from rich.console import Console, OverflowMethod
from rich.markup import escape
from rich.table import Table

if TYPE_CHECKING:
    from igautopost import Event, Post

STATUS_STYLE = {
    "scheduled": "cyan",
    "processing": "yellow",
    "ready": "blue",
    "published": "green",
    "failed": "bold red",
    "cancelled": "dim",
}


def local_time(moment: datetime | None, zone: tzinfo) -> str:
    if moment is None:
        return "-"
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S %Z")


def post_json(post: Post) -> dict[str, Any]:
    """A post for scripts: the spec (never the token) and its state. The library's
    `post_document`, which every store's `post_documents` gives too: `list --json` reads
    those straight from the rows, and they must be the same documents."""
    from igautopost.storage.sql.documents import post_document  # loads SQLAlchemy: not at --help

    return post_document(post)


def event_json(event: Event) -> dict[str, Any]:
    return {
        "at": event.at.isoformat(),
        "from": event.from_status.value if event.from_status else None,
        "to": event.to_status.value,
        "detail": event.detail,
    }


def json_text(value: Any) -> str:
    """JSON on one line, text as it is (emoji stay emoji). The separators keep their space:
    `"status": "published"` reads the same as it always did to a script that greps it.

    `json.dumps(value, ensure_ascii=False)`, through an encoder made once: `json.dumps` makes
    one per call, a fifth of encoding a post (issue 14)."""
    return "".join(_encode(value, 0)) if _encode is not None else json.dumps(value, **_DUMPS)


def _unserializable(value: Any) -> Any:
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


_DUMPS: dict[str, Any] = {"ensure_ascii": False}
# json's C encoder with `json.dumps`'s settings (no circular check: documents are trees)
_make_encoder: Any = getattr(json.encoder, "c_make_encoder", None)
_encode: Any = (
    _make_encoder(
        None, _unserializable, json.encoder.encode_basestring, None, ": ", ", ", False, False, True
    )
    if _make_encoder is not None
    else None
)


def print_json(console: Console, value: Any) -> None:
    """One JSON document: compact on stdout, or indented by Rich when stdout is a terminal.
    `sys.stdout.isatty()`, not the console's own idea: FORCE_COLOR makes Rich call a pipe a
    terminal, and its colour codes would break the JSON a script reads."""
    if sys.stdout.isatty():
        console.print_json(json_text(value))
    else:
        sys.stdout.write(json_text(value) + "\n")


def write_json_rows(rows: Iterable[Any], *, lines: bool) -> None:
    """Rows as one JSON array, or as JSON Lines (`lines`), each written as it comes: the
    output of a list costs one row of memory, however long the list."""
    write = sys.stdout.write
    with cycle_collector_paused():
        if lines:
            for row in rows:
                write(json_text(row) + "\n")
            return
        separator = "["
        for row in rows:
            write(separator + json_text(row))
            separator = ","
        write("[]\n" if separator == "[" else "]\n")


@contextmanager
def cycle_collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector off while rows stream. A row and its document are
    trees, freed by reference counting once written; but each page of them counted towards
    the collector's thresholds, and its full collections walked everything loaded (SQLAlchemy,
    pydantic, the CLI) again and again: 12 % of `list --json` of 100,000 posts, and with the
    cache misses it caused 0.7 s of its 3.3 s (issue 14). The few cycles made meanwhile (a
    page's connection) wait for the collector's next run, once it is back on."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def posts_table(posts: list[Post], zone: tzinfo, title: str | None = None) -> Table:
    table = Table(title=title)
    for column in ("id", "account", "type", "publish time", "status"):
        # ids fold onto a second line on a narrow terminal, never cut to `1784140000000…`
        overflow: OverflowMethod = "fold" if column in ("id", "account") else "ellipsis"
        table.add_column(column, justify="right" if column == "id" else "left", overflow=overflow)
    for post in posts:
        status = post.status.value
        table.add_row(
            str(post.id),
            post.account,
            post.media_type.value,
            local_time(post.publish_at, zone),
            f"[{STATUS_STYLE[status]}]{status}[/]",
        )
    return table


def post_details(post: Post, events: list[Event], zone: tzinfo) -> Table:
    table = Table(show_header=False, box=None)
    table.add_column(style="bold")
    table.add_column()
    spec = post.spec.public_dict()
    rows: list[tuple[str, str]] = [
        ("id", str(post.id)),
        ("status", f"[{STATUS_STYLE[post.status.value]}]{post.status.value}[/]"),
        ("publish time", local_time(post.publish_at, zone)),
        ("next attempt", local_time(post.next_attempt_at, zone)),
        ("attempts", str(post.attempts)),
    ]
    rows += [
        (key, escape(_text(value)))
        for key, value in spec.items()
        if key != "publish_at" and value not in ([], "")
    ]
    rows += [("token", "(stored encrypted)" if post.has_token else "(none)")]
    for key in ("container_id", "media_id", "permalink"):
        if getattr(post, key):
            rows.append((key, str(getattr(post, key))))
    if post.error:
        text = error_text(post.error.message, post.error.code, post.error.subcode)
        rows.append(("error", f"[red]{escape(text)}[/]"))
    for key, value in rows:
        table.add_row(key, value)
    history = "\n".join(
        f"{local_time(e.at, zone)}  {e.from_status or '-'} -> {e.to_status}  {escape(e.detail)}"
        for e in events
    )
    table.add_row("history", history)
    return table


def error_text(message: str, code: int | None, subcode: int | None) -> str:
    """A post's error with its Graph code, once: the engine's messages already end with
    `(Graph error 10)`, and a code without a subcode has no `/None`."""
    if code is None:
        return message
    graph_code = f"Graph error {code}" + (f"/{subcode}" if subcode is not None else "")
    return message if graph_code in message else f"{message} ({graph_code})"


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def status_line(
    counts: dict[str, int], running: int, zone: tzinfo, next_due: datetime | None
) -> str:
    """The worker's live status: posts per status, steps in flight, the next due time."""
    parts = [f"[{STATUS_STYLE[s]}]{s} {counts.get(s, 0)}[/]" for s in STATUS_STYLE]
    upcoming = local_time(next_due, zone) if next_due else "nothing due"
    return f"{' · '.join(parts)} · running {running} · next {upcoming}"
