"""`igautopost user ...` and `igautopost token ...`: the people who may use the HTTP API and
their API tokens."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from .base import err, out, reported
from .output import local_time
from .state import State, state_of

if TYPE_CHECKING:
    from igautopost.auth.users import Users

user_app = typer.Typer(help="Manage the people who may use the HTTP API.", no_args_is_help=True)
token_app = typer.Typer(
    help="Manage API tokens (`Authorization: Token <key>`).", no_args_is_help=True
)

PasswordStdin = Annotated[
    bool, typer.Option("--password-stdin", help="Read the password from standard input.")
]


def users_service(state: State) -> Users:
    """API users and their tokens, on the run's store (`igautopost.services.users`)."""
    from igautopost import services

    return services.users(state.settings, state.store)


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return str(typer.prompt("Password", hide_input=True, confirmation_prompt=True))


@user_app.command("create")
def user_create(ctx: typer.Context, name: str, password_stdin: PasswordStdin = False) -> None:
    """Create a user (the password is prompted for, or read from standard input)."""
    password = _password(password_stdin)
    with reported():
        user = users_service(state_of(ctx)).create(name, password)
    out.print(f"user {user.username} created (id {user.id})")


@user_app.command("list")
def user_list(ctx: typer.Context) -> None:
    """List users."""
    state = state_of(ctx)
    with reported():
        users = users_service(state).store.users()
    table = Table(title=f"{len(users)} user(s)")
    for column in ("id", "username", "created"):
        table.add_column(column)
    for user in users:
        table.add_row(str(user.id), user.username, local_time(user.created_at, state.zone))
    out.print(table)


@user_app.command("delete")
def user_delete(
    ctx: typer.Context,
    name: str,
    delete_posts_and_accounts: Annotated[
        bool,
        typer.Option(
            "--delete-posts-and-accounts",
            help="Also delete the user's posts still to publish (unpublished) and accounts.",
        ),
    ] = False,
) -> None:
    """Delete a user with their API tokens, posts (and their history) and Instagram accounts,
    all in one transaction. Refused while they have posts still to publish or accounts,
    unless --delete-posts-and-accounts says to delete those too."""
    from rich.markup import escape

    from igautopost.errors import UserHasData

    with reported():
        try:
            deleted = users_service(state_of(ctx)).delete(
                name, with_posts_and_accounts=delete_posts_and_accounts
            )
        except UserHasData as exc:
            err.print(f"[red]not deleted:[/] {escape(str(exc))}", highlight=False)
            if not exc.holdings.publishing:
                err.print("pass --delete-posts-and-accounts to delete them with the user")
            raise typer.Exit(1) from None
    out.print(
        f"user {escape(name)} deleted, with {deleted.posts} post(s), {deleted.accounts} "
        f"account(s) and {deleted.tokens} API token(s)",
        highlight=False,
    )


@user_app.command("set-password")
def user_set_password(ctx: typer.Context, name: str, password_stdin: PasswordStdin = False) -> None:
    """Change a user's password (their API tokens keep working)."""
    password = _password(password_stdin)
    with reported():
        users_service(state_of(ctx)).set_password(name, password)
    out.print(f"password of {name} changed")


@token_app.command("create")
def token_create(
    ctx: typer.Context,
    name: str,
    expires_in_days: Annotated[
        float | None, typer.Option("--expires-in-days", min=0, help="Stop working after this.")
    ] = None,
) -> None:
    """Create an API token for a user and print it: it is shown this once."""
    from datetime import timedelta

    expires_in = timedelta(days=expires_in_days) if expires_in_days is not None else None
    with reported():
        token, key = users_service(state_of(ctx)).create_key(name, expires_in=expires_in)
    err.print(f"token {token.id} for {name} (shown once; only its hash is stored):")
    out.print(key, highlight=False)


@token_app.command("list")
def token_list(
    ctx: typer.Context,
    name: Annotated[str | None, typer.Argument(help="Only this user's.")] = None,
) -> None:
    """List API tokens: id, user, first characters, created and last used (never the key)."""
    state = state_of(ctx)
    with reported():
        tokens = users_service(state).tokens(name)
    table = Table(title=f"{len(tokens)} token(s)")
    for column in ("id", "user", "prefix", "created", "last used", "expires", "from"):
        table.add_column(column)
    for token in tokens:
        table.add_row(
            str(token.id),
            token.username,
            token.prefix + "…",
            local_time(token.created_at, state.zone),
            local_time(token.last_used_at, state.zone),
            local_time(token.expires_at, state.zone),
            "login" if token.reusable else "cli",
        )
    out.print(table)


@token_app.command("revoke")
def token_revoke(ctx: typer.Context, token_id: int) -> None:
    """Revoke a token: it stops working (in a running server within 30 seconds)."""
    with reported():
        users_service(state_of(ctx)).revoke(token_id)
    out.print(f"token {token_id} revoked")
