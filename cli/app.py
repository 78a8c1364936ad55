"""The `igautopost` command: the root app, the state it hands its commands, and the table of
its commands. Heavy modules (SQLAlchemy, the HTTP stack) are imported inside commands, so
that `igautopost --help` stays fast.

Every command and sub-app is registered here, in the order `--help` lists them; importing a
command module registers nothing.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from importlib.metadata import version
from typing import Annotated, Any

import typer
from typer.core import TyperArgument, TyperCommand, TyperGroup, TyperOption

from . import accounts, database, posts, sandbox, secrets, server, users, worker
from .base import UNWRAPPED_WIDTH
from .media import media_app
from .state import State


def _print_version(wanted: bool) -> None:
    if wanted:
        print(f"igautopost {version('igautopost')}")
        raise typer.Exit()


VersionOption = Annotated[
    bool,
    typer.Option(
        "--version", callback=_print_version, is_eager=True, help="Print the version and exit."
    ),
]


def set_up(ctx: typer.Context, show_version: VersionOption = False) -> None:
    """Schedule Instagram posts and publish them on time, exactly once."""
    state = State()
    ctx.obj = state
    ctx.call_on_close(state.close)


class RootCommand(TyperGroup):
    """`igautopost`, built with its commands: it shapes the help of each once, on the way
    (issue 15). A flag shows no `<bool>` and a value its kind (`INTEGER`), not `<int>`; and
    help read through a pipe is plain text at full width, not boxes cut at 80 columns."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        piped = not sys.stdout.isatty()
        for command in _commands(self):
            for param in command.params:
                if isinstance(param, TyperOption) and param.metavar is None:
                    param.metavar = "" if param.is_flag else _value_kind(param)
                elif isinstance(param, TyperArgument) and param.metavar is None:
                    param.metavar = (param.name or "").upper()  # not `{post_id}` and `<int>`
            if piped:
                command.rich_markup_mode = None  # click's plain layout: no panels to cut
        if piped:
            self.context_settings["terminal_width"] = UNWRAPPED_WIDTH  # the commands' too


def _commands(command: TyperCommand | TyperGroup) -> Iterator[TyperCommand | TyperGroup]:
    yield command
    if isinstance(command, TyperGroup):
        for sub in command.commands.values():
            yield from _commands(sub)  # type: ignore[arg-type]


VALUE_KINDS = {"str": "TEXT", "int": "INTEGER", "float": "NUMBER"}


def _value_kind(option: TyperOption) -> str:
    """What an option takes, in click's words (`TEXT`, `INTEGER`), or its choices."""
    described = option.type_descriptor
    if described.is_choice:
        return "|".join(str(choice) for choice in described.choices or ())
    kind = described.ranged_type_name if described.is_ranged else option.bare_type()
    kind = kind.removeprefix("list[").removesuffix("]")  # repeatable: its help says so
    return VALUE_KINDS.get(kind, kind.upper())


def build_app() -> typer.Typer:
    app = typer.Typer(
        name="igautopost",
        cls=RootCommand,
        help="Schedule Instagram posts and publish them on time, exactly once.",
        no_args_is_help=True,
        add_completion=False,
        rich_markup_mode="rich",
    )
    app.callback()(set_up)
    app.command("sandbox")(sandbox.sandbox)
    app.command("schedule")(posts.schedule)
    app.command("validate")(posts.validate)
    app.command("list")(posts.list_posts)
    app.command("show")(posts.show)
    app.command("cancel")(posts.cancel)
    app.command("reschedule")(posts.reschedule)
    app.command("worker")(worker.worker)
    app.command("publish")(posts.publish)
    app.command("retry")(posts.retry)
    app.command("serve")(server.serve)
    app.add_typer(database.db_app, name="db")
    app.add_typer(accounts.account_app, name="account")
    app.add_typer(secrets.secrets_app, name="secrets")
    app.add_typer(users.user_app, name="user")
    app.add_typer(users.token_app, name="token")
    app.add_typer(media_app, name="media")
    return app


app = build_app()


def main() -> None:
    app()
