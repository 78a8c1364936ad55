"""`account add|list|show|remove|refresh|check` and `secrets generate|rotate|prune`."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from . import base as cli
from .base import JsonOption, app, err, fail, out, reconnect_hint, reported
from .output import local_time, print_json

if TYPE_CHECKING:
    from igautopost.accounts.service import Accounts
    from igautopost.models import Account

account_app = typer.Typer(
    help="Manage Instagram accounts and their (encrypted) access tokens.", no_args_is_help=True
)
secrets_app = typer.Typer(help="Manage the key that encrypts stored tokens.", no_args_is_help=True)
app.add_typer(account_app, name="account")
app.add_typer(secrets_app, name="secrets")

IgUserId = Annotated[str, typer.Argument(help="The Instagram professional account's user id.")]
UserOption = Annotated[
    str | None,
    typer.Option("--user", help="An HTTP API user's account (default: the local operator's)."),
]


def _accounts() -> Accounts:
    from igautopost import services

    return services.accounts(cli.runtime.settings, cli.runtime.store)


def _owner(username: str | None) -> int | None:
    if username is None:
        return None
    from igautopost.storage.sql.users import SqlUserStore

    return SqlUserStore(cli.runtime.store.engine).user(username).id


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
    with reported():
        account = _accounts().add(
            _owner(user),
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
            f"; token expires {local_time(account.expires_at, cli.runtime.zone)}"
            if account.expires_at
            else ""
        )
    )


@account_app.command("list")
def account_list(user: UserOption = None, as_json: JsonOption = False) -> None:
    """The stored accounts and their health."""
    with reported():
        found = cli.runtime.store.accounts.list_accounts(_owner(user))
    if as_json:
        print_json(out, [a.public_dict() for a in found])
        return
    table = Table("IG user id", "username", "login", "health", "token expires", "last refresh")
    for account in found:
        table.add_row(
            account.ig_user_id,
            account.username or "-",
            account.login,
            _health(account),
            local_time(account.expires_at, cli.runtime.zone),
            local_time(account.last_refresh_at, cli.runtime.zone),
        )
    out.print(table)


@account_app.command("show")
def account_show(
    ig_user_id: IgUserId, user: UserOption = None, as_json: JsonOption = False
) -> None:
    """One account (never its token)."""
    with reported():
        account = cli.runtime.store.accounts.get(_owner(user), ig_user_id)
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
def account_remove(ig_user_id: IgUserId, user: UserOption = None) -> None:
    """Forget an account and its token (its posts keep any token of their own)."""
    with reported():
        cli.runtime.store.accounts.remove(_owner(user), ig_user_id)
    out.print(f"account {ig_user_id} removed")


@account_app.command("refresh")
def account_refresh(ig_user_id: IgUserId, user: UserOption = None) -> None:
    """Refresh an Instagram Login token now (workers also do this on their own)."""
    from igautopost.errors import IgAutopostError

    with reported():
        try:
            account = _accounts().refresh(_owner(user), ig_user_id)
        except IgAutopostError:
            raise  # reported, with its hint
        except ValueError as exc:
            fail(str(exc))
    out.print(
        f"account {ig_user_id}: token refreshed; expires "
        f"{local_time(account.expires_at, cli.runtime.zone)}"
    )


@account_app.command("check")
def account_check(
    ig_user_id: IgUserId, user: UserOption = None, as_json: JsonOption = False
) -> None:
    """Call the API with the stored token and read the publishing quota."""
    from igautopost.accounts.service import reconnect_message
    from igautopost.graph.errors import TokenInvalid

    with reported():
        try:
            checked = _accounts().check(_owner(user), ig_user_id)
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


@secrets_app.command("generate")
def secrets_generate() -> None:
    """Print a new key for IGAUTOPOST_SECRET_KEY."""
    from igautopost import TokenCipher

    out.print(TokenCipher.generate_key())


@secrets_app.command("rotate")
def secrets_rotate() -> None:
    """Re-encrypt every stored secret under the newest key, without stopping anything.

    With IGAUTOPOST_SECRET_KEY: put the new key first and keep the old ones listed
    (``NEW,OLD``) everywhere, restart, then run this. With the key file: a new key is added
    in front of all the current ones, and used at once. Older keys are kept: drop them with
    `igautopost secrets prune` once no stored secret needs them."""
    from igautopost.crypto import TokenCipher, load_keys, write_keys
    from igautopost.services import token_cipher
    from igautopost.storage.sql.rotation import reencrypt_all

    settings = cli.runtime.settings
    with reported():
        if settings.secret_key is None:
            keys = load_keys(settings.data_dir)
            write_keys(settings.data_dir, [TokenCipher.generate_key(), *keys])
            err.print(
                f"new key written to {settings.data_dir / 'secret.key'} "
                f"({len(keys)} older key(s) kept until `igautopost secrets prune`)"
            )
        report = reencrypt_all(cli.runtime.store.engine, token_cipher(settings))
    parts = ", ".join(f"{n} {t}" for t, n in report.rewritten.items())
    out.print(
        f"re-encrypted {report.total} secrets ({parts}); {report.remaining} remaining "
        "under older keys"
    )
    if report.undecryptable:
        err.print(
            f"[red]{report.undecryptable} secret(s) cannot be decrypted with any configured "
            "key[/]: their key was dropped; those accounts must be added again"
        )
    if report.remaining:
        raise typer.Exit(1)


@secrets_app.command("prune")
def secrets_prune() -> None:
    """Drop every key but the newest, once no stored secret still needs an older one.

    Refused (exit 1) while some do: run `igautopost secrets rotate` again after restarting
    the processes that started before the last rotation (they may still write under an old
    key). With IGAUTOPOST_SECRET_KEY, only checks: then list the first key alone."""
    from igautopost.crypto import load_keys, write_keys
    from igautopost.services import token_cipher
    from igautopost.storage.sql.rotation import under_old_keys

    settings = cli.runtime.settings
    with reported():
        left = under_old_keys(cli.runtime.store.engine, token_cipher(settings))
    if sum(left.values()):
        parts = ", ".join(f"{n} {table}" for table, n in left.items() if n)
        fail(
            f"{sum(left.values())} stored secret(s) still need an older key ({parts}): "
            "no key dropped. Restart the processes that started before the last rotation, "
            "run `igautopost secrets rotate`, then prune again"
        )
    if settings.secret_key is not None:
        out.print("no stored secret needs an older key: IGAUTOPOST_SECRET_KEY may list the first")
        return
    keys = load_keys(settings.data_dir)
    write_keys(settings.data_dir, keys[:1])
    out.print(f"dropped {len(keys) - 1} older key(s); {settings.data_dir / 'secret.key'} keeps 1")


def protect_logs() -> None:
    """Redact tokens, passwords and credential headers from every log line and crash report
    of this process (the long-running commands call this)."""
    from igautopost.redaction import install

    settings = cli.runtime.settings
    known = [s.get_secret_value() for s in (settings.app_secret, settings.secret_key) if s]
    install([part.strip() for value in known for part in value.split(",")])
