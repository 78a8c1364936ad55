"""What every command module shares: the Typer app they register on, the consoles, common
options, the runtime (settings and store, opened on first use) and error reporting.

The command modules import this one; `app.py` imports them all, so nothing imports upward.
"""

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

from .output import post_json, print_json
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

out = Console()
err = Console(stderr=True)

TABLE_ROWS_MAX = 50  # a table is for reading; a long one would take longer to draw than the work
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


def progress(items: list[Any]) -> Callable[[], None]:
    """A progress bar for large inputs on a terminal; a no-op otherwise."""
    if len(items) < 2000 or not sys.stderr.isatty():
        return lambda: None
    from rich.progress import Progress

    progress = Progress(console=err, transient=True)
    progress.start()
    progress.add_task("validating and storing", total=None)
    return progress.stop


def time_option(value: str | None, hint: str) -> Any:
    if value is None:
        return None
    try:
        return parse_time(value, runtime.zone)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint=hint) from None


def print_one(post: Any, as_json: bool, message: str) -> None:
    if as_json:
        print_json(out, post_json(post))
    else:
        out.print(message)
