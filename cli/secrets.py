"""`igautopost secrets generate|rotate|prune`: the key that encrypts stored tokens."""

from __future__ import annotations

import typer

from .base import counted, err, fail, out, reported
from .state import state_of

secrets_app = typer.Typer(help="Manage the key that encrypts stored tokens.", no_args_is_help=True)


@secrets_app.command("generate")
def secrets_generate() -> None:
    """Print a new key for IGAUTOPOST_SECRET_KEY."""
    from igautopost import TokenCipher

    out.print(TokenCipher.generate_key())


@secrets_app.command("rotate")
def secrets_rotate(ctx: typer.Context) -> None:
    """Re-encrypt every stored secret under the newest key, without stopping anything.

    With IGAUTOPOST_SECRET_KEY: put the new key first and keep the old ones listed
    (``NEW,OLD``) everywhere, restart, then run this. With the key file: a new key is added
    in front of all the current ones, and used at once. Older keys are kept: drop them with
    `igautopost secrets prune` once no stored secret needs them."""
    from igautopost.crypto import TokenCipher, load_keys, write_keys
    from igautopost.services import token_cipher
    from igautopost.storage.sql.rotation import reencrypt_all

    state = state_of(ctx)
    settings = state.settings
    with reported():
        if settings.secret_key is None:
            keys = load_keys(settings.data_dir)
            write_keys(settings.data_dir, [TokenCipher.generate_key(), *keys])
            err.print(
                f"new key written to {settings.data_dir / 'secret.key'} "
                f"({counted(len(keys), 'older key')} kept until `igautopost secrets prune`)"
            )
        report = reencrypt_all(state.store.engine, token_cipher(settings))
    parts = ", ".join(f"{n} {t}" for t, n in report.rewritten.items())
    out.print(
        f"re-encrypted {counted(report.total, 'secret')} ({parts}); {report.remaining} remaining "
        "under older keys"
    )
    if report.undecryptable:
        err.print(
            f"[red]{counted(report.undecryptable, 'secret')} cannot be decrypted with any "
            "configured key[/]: their key was dropped; those accounts must be added again"
        )
    if report.remaining:
        raise typer.Exit(1)


@secrets_app.command("prune")
def secrets_prune(ctx: typer.Context) -> None:
    """Drop every key but the newest, once no stored secret still needs an older one.

    Refused (exit 1) while some do: run `igautopost secrets rotate` again after restarting
    the processes that started before the last rotation (they may still write under an old
    key). With IGAUTOPOST_SECRET_KEY, only checks: then list the first key alone."""
    from igautopost.crypto import load_keys, write_keys
    from igautopost.services import token_cipher
    from igautopost.storage.sql.rotation import under_old_keys

    state = state_of(ctx)
    settings = state.settings
    with reported():
        left = under_old_keys(state.store.engine, token_cipher(settings))
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
