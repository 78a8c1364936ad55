"""`igautopost account add|list|show|remove|refresh|check`: Instagram accounts and their tokens."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Column, Table

from .base import (
    JsonLinesOption,
    JsonOption,
    err,
    fail,
    json_rows_wanted,
    out,
    reconnect_hint,
    reported,
)
from .output import local_time, print_json, write_json_rows
from .state import State, state_of

if TYPE_CHECKING:
    from igautopost.accounts.service import Accounts
    from igautopost.models import Account

account_app = typer.Typer(
    help="Manage Instagram accounts and their (encrypted) access tokens.", no_args_is_help=True
)

IgUserId = Annotated[str, typer.Argument(help="The Instagram professional account's user id.")]
UserOption = Annotated[
    str | None,
    typer.Option("--user", help="An HTTP API user's account (default: the local operator's)."),
]


def _accounts(state: State) -> Accounts:
    from igautopost import services

    return services.accounts(state.settings, state.store)


def _owner(state: State, username: str | None) -> int | None:
    if username is None:
        return None
    from igautopost.storage.sql.users import SqlUserStore

    return SqlUserStore(state.store.engine).user(username).id


def _read_token(from_stdin: bool) -> str:
    """Never from an argument: arguments show in `ps` and in shell history."""
    if from_stdin:
        token = sys.stdin.readline().strip()
    else:
        token = str(typer.prompt("Access token", hide_input=True)).strip()
    if not token:
        fail("no access token given")
    return token


@account_app.command("add")
def account_add(
    ctx: typer.Context,
    ig_user_id: IgUserId,
    login: Annotated[
        str | None,
        typer.Option(help="facebook or instagram (default: guessed from the token)."),
    ] = None,
    username: Annotated[str | None, typer.Option(help="The account's @name, for display.")] = None,
    token_stdin: Annotated[
        bool, typer.Option("--token-stdin", help="Read the token from standard input.")
    ] = False,
    exchange: Annotated[
        bool,
        typer.Option(
            help="Exchange a short-lived token for a long-lived one (needs the app "
            "secret: IGAUTOPOST_APP_ID, IGAUTOPOST_APP_SECRET)."
        ),
    ] = False,
    replace: Annotated[bool, typer.Option(help="Replace the stored token.")] = False,
    user: UserOption = None,
) -> None:
    """Store an account and its token (prompted for, or read from standard input)."""
    if login not in (None, "facebook", "instagram"):
        fail("--login is facebook or instagram")
    token = _read_token(token_stdin)
    state = state_of(ctx)
    with reported():
        account = _accounts(state).add(
            _owner(state, user),
            ig_user_id,
            token,
            login=login,  # type: ignore[arg-type]
            username=username,
            exchange=exchange,
            replace=replace,
        )
    out.print(
        f"account {account.ig_user_id} stored ({account.login} login)"
        + (
            f"; token expires {local_time(account.expires_at, state.zone)}"
            if account.expires_at
            else ""
        )
    )


@account_app.command("list")
def account_list(
    ctx: typer.Context,
    user: UserOption = None,
    as_json: JsonOption = False,
    as_jsonl: JsonLinesOption = False,
) -> None:
    """The stored accounts and their health."""
    state = state_of(ctx)
    as_rows = json_rows_wanted(as_json, as_jsonl)
    with reported():
        found = state.store.accounts.list_accounts(_owner(state, user))
    if as_rows:
        write_json_rows((a.public_dict() for a in found), lines=as_jsonl)
        return
    # An id folds onto a second line on a narrow terminal: cut to `1784140000000…`, two
    # accounts would look the same.
    table = Table(
        Column("IG user id", overflow="fold"),
        "username",
        "login",
        "health",
        "token expires",
        "last refresh",
    )
    for account in found:
        table.add_row(
            account.ig_user_id,
            account.username or "-",
            account.login,
            _health(account),
            local_time(account.expires_at, state.zone),
            local_time(account.last_refresh_at, state.zone),
        )
    out.print(table)


@account_app.command("show")
def account_show(
    ctx: typer.Context,
    ig_user_id: IgUserId,
    user: UserOption = None,
    as_json: JsonOption = False,
) -> None:
    """One account (never its token)."""
    state = state_of(ctx)
    with reported():
        account = state.store.accounts.get(_owner(state, user), ig_user_id)
    if as_json:
        print_json(out, account.public_dict())
        return
    for name, value in account.public_dict().items():
        out.print(f"{name}: {value if value is not None else '-'}")
    if account.needs_reconnect:
        from igautopost.accounts.service import reconnect_message

        message = reconnect_message(account, account.health_reason)
        err.print(f"[red]{message}: run `{reconnect_hint(ig_user_id)}`[/]")


@account_app.command("remove")
def account_remove(ctx: typer.Context, ig_user_id: IgUserId, user: UserOption = None) -> None:
    """Forget an account and its token (its posts keep any token of their own)."""
    state = state_of(ctx)
    with reported():
        state.store.accounts.remove(_owner(state, user), ig_user_id)
    out.print(f"account {ig_user_id} removed")


@account_app.command("refresh")
def account_refresh(ctx: typer.Context, ig_user_id: IgUserId, user: UserOption = None) -> None:
    """Refresh an Instagram Login token now (workers also do this on their own)."""
    from igautopost.errors import IgAutopostError

    state = state_of(ctx)
    with reported():
        try:
            account = _accounts(state).refresh(_owner(state, user), ig_user_id)
        except IgAutopostError:
            raise  # reported, with its hint
        except ValueError as exc:
            fail(str(exc))
    out.print(
        f"account {ig_user_id}: token refreshed; expires "
        f"{local_time(account.expires_at, state.zone)}"
    )


@account_app.command("check")
def account_check(
    ctx: typer.Context,
    ig_user_id: IgUserId,
    user: UserOption = None,
    as_json: JsonOption = False,
) -> None:
    """Call the API with the stored token and read the publishing quota."""
    from igautopost.accounts.service import reconnect_message
    from igautopost.graph.errors import TokenInvalid

    state = state_of(ctx)
    with reported():
        try:
            checked = _accounts(state).check(_owner(state, user), ig_user_id)
        except TokenInvalid as exc:
            message = reconnect_message(ig_user_id, exc.user_message or exc.message)
            fail(f"{message}: run `{reconnect_hint(ig_user_id)}`")
    limit = checked.limit
    if as_json:
        print_json(
            out,
            {
                **checked.account.public_dict(),
                "quota_usage": limit.quota_usage,
                "quota_total": limit.quota_total,
            },
        )
        return
    out.print(
        f"account {ig_user_id}: token works; published {limit.quota_usage} of "
        f"{limit.quota_total} in the last {limit.quota_duration // 3600} h"
    )


def _health(account: Account) -> str:
    return (
        "ok" if not account.needs_reconnect else f"[red]needs reconnect[/]: {account.health_reason}"
    )
