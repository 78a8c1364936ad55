"""The `igautopost` command: the root app, the state it hands its commands, and the table of
its commands. Heavy modules (SQLAlchemy, the HTTP stack) are imported inside commands, so
that `igautopost --help` stays fast.

Every command and sub-app is registered here, in the order `--help` lists them; importing a
command module registers nothing.
"""

from __future__ import annotations

import typer

from . import accounts, database, posts, sandbox, secrets, server, users, worker
from .state import State


def set_up(ctx: typer.Context) -> None:
    """Schedule Instagram posts and publish them on time, exactly once."""
    state = State()
    ctx.obj = state
    ctx.call_on_close(state.close)


def build_app() -> typer.Typer:
    app = typer.Typer(
        name="igautopost",
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
    return app


app = build_app()


def main() -> None:
    app()
