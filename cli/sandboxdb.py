"""The database of `--sandbox` runs (`serve`, `worker`, `publish`).

The sandbox accepts any token and "publishes" whatever it is given, and `serve --sandbox`
creates a `demo` user: run on a real database, it would mark real posts published and add a
user with a printed key. So a sandbox run uses a database made for it: its own SQLite file,
``sandbox.db`` in the data directory, which it marks (a one-row table) the first time. A
database named by ``IGAUTOPOST_DATABASE_URL`` is used only if it is that file, carries the
mark, or is in memory (gone when the process ends); any other is refused before anything
touches it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import sqlalchemy as sa

from .base import fail

if TYPE_CHECKING:
    from igautopost.config import Settings

MARK = sa.Table(
    "igautopost_sandbox", sa.MetaData(), sa.Column("made_at", sa.String(40), nullable=False)
)
CONNECT_TIMEOUT_SECONDS = 10


def shown_url(url: str) -> str:
    """A database URL fit to print: its password masked."""
    try:
        return sa.engine.make_url(url).render_as_string(hide_password=True)
    except (sa.exc.ArgumentError, ValueError):  # ValueError: a bad port
        return "(a database URL that cannot be parsed)"  # never echo it: it may hold a secret


def own_database(settings: Settings) -> str:
    return f"sqlite:///{settings.data_dir / 'sandbox.db'}"


def sandbox_database(settings: Settings) -> str:
    """The URL a sandbox run may use; exits with an error for a database not made for it.
    Nothing is written to a refused database."""
    url = settings.database_url
    if not url:
        return own_database(settings)
    if _in_memory(url) or _is_own_file(url, settings):
        return url
    problem = _unmarked(url)
    if problem:
        fail(
            f"--sandbox will not use the database at {shown_url(url)} "
            f"(IGAUTOPOST_DATABASE_URL): {problem}. The sandbox accepts any token and would mark "
            "posts published and create a demo user there. Unset IGAUTOPOST_DATABASE_URL to use "
            f"the sandbox's own database, {own_database(settings).removeprefix('sqlite:///')}."
        )
    return url


def mark_sandbox_database(engine: sa.Engine) -> None:
    """Mark the database as the sandbox's (once): later sandbox runs may use it by URL."""
    MARK.create(engine, checkfirst=True)
    with engine.begin() as connection:
        if connection.execute(sa.select(sa.func.count()).select_from(MARK)).scalar_one() == 0:
            made_at = datetime.now(UTC).isoformat(timespec="seconds")
            connection.execute(MARK.insert().values(made_at=made_at))


def is_sandbox_database(engine: sa.Engine) -> bool:
    with engine.connect() as connection:
        return sa.inspect(connection).has_table(MARK.name)


def _in_memory(url: str) -> bool:
    from igautopost.storage.sql.files import sqlite_file

    return url.startswith("sqlite") and sqlite_file(url) is None


def _is_own_file(url: str, settings: Settings) -> bool:
    """The sandbox's own file, named by URL (an operator creating users in it beforehand):
    the name in the data directory is the sandbox's, whether marked yet or not."""
    from igautopost.storage.sql.files import sqlite_file

    try:
        file = sqlite_file(url) if url.startswith("sqlite") else None
    except (sa.exc.ArgumentError, ValueError):  # ValueError: a bad port
        return False
    own = sqlite_file(own_database(settings))
    return file is not None and own is not None and Path(file).resolve() == Path(own).resolve()


def _unmarked(url: str) -> str | None:
    """Why the database is not a sandbox's; None when it carries the mark. Read only."""
    from igautopost.storage.sql.files import sqlite_file

    try:
        parsed = sa.engine.make_url(url)
    except (sa.exc.ArgumentError, ValueError):  # ValueError: a bad port
        return "it is not a valid database URL"
    file = sqlite_file(parsed)
    if file is not None and not Path(file).is_file():
        return "it does not exist (the sandbox creates only its own)"
    options = {"connect_timeout": CONNECT_TIMEOUT_SECONDS} if file is None else {}
    engine = sa.create_engine(
        parsed, poolclass=sa.pool.NullPool, connect_args=options, hide_parameters=True
    )
    try:
        marked = is_sandbox_database(engine)
    except Exception as exc:  # unreachable, bad credentials, no driver: refuse all the same
        return f"it could not be checked ({type(exc).__name__})"
    finally:
        engine.dispose()
    return None if marked else "it was not made for the sandbox (it has no sandbox mark)"
