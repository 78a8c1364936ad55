"""What every command module shares: the consoles, common options and error reporting.

The command modules import this one (and `state.py`); `app.py` imports them all and
registers their commands, so nothing imports upward.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any, NoReturn, TypeVar
from zoneinfo import ZoneInfo

import typer
from rich.console import Console
from rich.markup import escape

from .output import post_json, print_json
from .timeinput import parse_time

if TYPE_CHECKING:
    from rich.progress import Progress

UNWRAPPED_WIDTH = 100_000  # wider than any line the CLI prints: a pipe gets lines whole


def console(*, stderr: bool = False) -> Console:
    """Rich at the terminal's width on a terminal. Anywhere else (a pipe, a file, a journal),
    lines as long as they are: Rich would wrap at 80 columns, splitting a log record or a URL
    in two and cutting ids in tables (issue 15). `isatty()`, as for JSON (see output.py)."""
    stream = sys.stderr if stderr else sys.stdout
    if stream.isatty():
        return Console(stderr=stderr)
    return Console(stderr=stderr, width=UNWRAPPED_WIDTH, soft_wrap=True)


out = console()
err = console(stderr=True)

T = TypeVar("T")
PROGRESS_FROM = 2000  # posts read before a progress indicator shows on a terminal
TABLE_ROWS_MAX = 50  # a table is for reading; a long one would take longer to draw than the work
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]
JsonLinesOption = Annotated[
    bool, typer.Option("--jsonl", help="Print JSON Lines for scripts: one row per line.")
]
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
    except IgAutopostError as exc:
        fail(with_hint(exc))
    except InputError as exc:
        fail(str(exc))


def reconnect_hint(ig_user_id: str) -> str:
    """How to store a working token in place of a refused or expiring one, from the CLI."""
    return f"igautopost account add {ig_user_id} --replace"


def with_hint(exc: Exception) -> str:
    """The library's message (what happened, with its ids), and the command that helps."""
    from igautopost import errors

    message = str(exc)
    if isinstance(exc, errors.AccountNotFound):
        return f"{message} (see `igautopost account list`)"
    if isinstance(exc, errors.AccountExists):
        return f"{message}: use `{reconnect_hint(exc.ig_user_id)}` to store a new token"
    if isinstance(exc, errors.TokenNotRefreshable):
        return f"{message}: run `{reconnect_hint(exc.ig_user_id)}`"
    if isinstance(exc, errors.InvalidSecretKey):
        return f"{message} (make one with `igautopost secrets generate`)"
    if isinstance(exc, errors.UndecryptableSecret):
        return f"{message}: was IGAUTOPOST_SECRET_KEY changed without `igautopost secrets rotate`?"
    if isinstance(exc, errors.SchemaOutdated):
        return f"{message}: run `igautopost db upgrade` on it (IGAUTOPOST_DATABASE_URL=SRC)"
    if isinstance(exc, errors.TargetNotEmpty):
        return f"{message} (--force)"
    return message


@contextmanager
def progress(
    label: str = "validating and storing",
) -> Iterator[Callable[[Iterable[T]], Iterator[T]]]:
    """Wraps an input's posts: on a terminal, a count shows once 2,000 have been read, until
    the work is done; a no-op otherwise. The posts are counted as they stream by."""
    shown: list[Progress] = []

    def counted(items: Iterable[T]) -> Iterator[T]:
        task = None
        for number, item in enumerate(items, start=1):
            if number == PROGRESS_FROM and sys.stderr.isatty():
                from rich.progress import Progress

                shown.append(Progress(console=err, transient=True))
                shown[0].start()
                task = shown[0].add_task(label, total=None)
            if task is not None and number % 1000 == 0:
                shown[0].update(task, description=f"{label}: {number:,} read")
            yield item

    try:
        yield counted
    finally:
        for bar in shown:
            bar.stop()


def time_option(value: str | None, hint: str, zone: ZoneInfo) -> datetime | None:
    """A time typed as an option's value; a naive one is read in `zone`."""
    if value is None:
        return None
    try:
        return parse_time(value, zone)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint=hint) from None


def json_rows_wanted(as_json: bool, as_jsonl: bool) -> bool:
    """Whether rows are printed as JSON (`--json` or `--jsonl`, not both)."""
    if as_json and as_jsonl:
        raise typer.BadParameter("give --json or --jsonl, not both", param_hint="--jsonl")
    return as_json or as_jsonl


def counted(number: int, noun: str) -> str:
    """`1 secret`, `3 secrets`: a count with its noun in agreement (a regular plural)."""
    return f"{number:,} {noun}{'' if number == 1 else 's'}"


def print_one(post: Any, as_json: bool, message: str) -> None:
    if as_json:
        print_json(out, post_json(post))
    else:
        out.print(message)
