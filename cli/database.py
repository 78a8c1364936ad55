"""`igautopost db`: the schema (`upgrade`) and moving a database (`copy`, for instance from
SQLite to PostgreSQL)."""

from __future__ import annotations

from typing import Annotated

import typer

from .base import err, out, reported
from .state import state_of

db_app = typer.Typer(help="Manage the database schema.", no_args_is_help=True)


@db_app.command("upgrade")
def db_upgrade(ctx: typer.Context) -> None:
    """Apply pending schema migrations (the CLI also does this on first use)."""
    from igautopost.storage.sql import create_engine, migrate

    url = state_of(ctx).settings.resolved_database_url()
    database = create_engine(url)
    before = migrate.current_revision(database)
    migrate.upgrade(database)
    after = migrate.current_revision(database)
    out.print(f"database at revision {after}" + ("" if before == after else f" (was {before})"))


@db_app.command("copy")
def db_copy(
    source: Annotated[str, typer.Argument(help="Database URL to copy from, e.g. sqlite:///...")],
    target: Annotated[
        str, typer.Argument(help="Database URL to copy into, e.g. postgresql+psycopg://...")
    ],
    force: Annotated[
        bool, typer.Option("--force", help="Empty a target that already has rows first.")
    ] = False,
) -> None:
    """Copy every table (posts, events, users, tokens...) into another database.

    The target is migrated to the newest schema first. Tokens stay encrypted: run the target
    with the same IGAUTOPOST_SECRET_KEY (or key file). Stop the workers while copying."""
    from igautopost.storage.sql.copy import copy_database

    with reported(), err.status("copying") as status:
        report = copy_database(
            source,
            target,
            force=force,
            on_batch=lambda table, rows: status.update(f"copying {table}: {rows} rows"),
        )
    for table, rows in report.rows.items():
        out.print(f"{table}: {rows} rows")
    out.print(f"copied at schema revision {report.revision}")
