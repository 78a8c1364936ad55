"""Commands for running on PostgreSQL with Celery workers: `db copy` (move a SQLite database
there), and the Celery side of `worker`."""

from __future__ import annotations

from typing import Annotated

import typer

from . import base
from .base import db_app, err, out, reported


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


def run_celery_worker(threads: int, beat: bool, verbose: bool) -> None:
    """`worker --scheduler celery`: a Celery worker (thread pool) and, with `beat`, the
    sweeper. Celery handles SIGTERM (finish running steps, then exit) and Ctrl-C."""
    from igautopost.scheduler.celery import run_worker

    _plain_logging(verbose)
    settings = base.runtime.settings
    with reported():
        base.runtime.store  # noqa: B018  (migrate before the first task, and fail early if down)
        err.print(
            f"celery worker on {settings.celery_queue!r} with {threads} threads"
            + (", and the sweeper" if beat else "")
        )
        run_worker(settings, threads=threads, beat=beat, loglevel="DEBUG" if verbose else "INFO")


def _plain_logging(verbose: bool) -> None:
    """One plain line per record, for journald: a worker logs every step, and rich's layout
    would be work on every step for a reader who sees no colours. Celery's line per task is
    left out unless --verbose."""
    import logging

    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        force=True,
    )
    quiet = logging.INFO if verbose else logging.WARNING
    for noisy in ("alembic", "urllib3", "celery.app.trace", "celery.worker.strategy"):
        logging.getLogger(noisy).setLevel(quiet)
