"""Locks that let one process of many act alone on a database: an advisory lock on
PostgreSQL, a file lock beside a SQLite database (the Celery sweeper holds one)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import IO

import sqlalchemy as sa

from .files import sqlite_file

log = logging.getLogger("igautopost.sweeper")


def lock_for_engine(engine: sa.Engine, name: str) -> PostgresLock | FileLock | NoLock:
    """The lock named `name` on this database: `NoLock` where none is shared (in memory)."""
    if engine.dialect.name == "postgresql":
        return PostgresLock(engine, f"igautopost.{name}")
    if (database := sqlite_file(engine.url)) is not None:
        return FileLock(Path(f"{database}.{name}.lock"))
    return NoLock()


class PostgresLock:
    """A session-level advisory lock on a connection of its own: the database releases it
    when the holder's connection ends (a crash, a kill, a database restart)."""

    def __init__(self, engine: sa.Engine, name: str = "igautopost.sweeper") -> None:
        self.engine = engine
        self.name = name
        self._conn: sa.Connection | None = None

    def acquire(self) -> bool:
        try:
            if self._conn is not None:
                self._conn.execute(sa.text("SELECT 1"))  # still ours: the session is alive
                self._conn.commit()
                return True
            conn = self.engine.connect()
            # Keyed by schema too: several igautopost databases may share one server.
            held = conn.execute(
                sa.text("SELECT pg_try_advisory_lock(hashtext(:name || current_schema()))"),
                {"name": self.name},
            ).scalar()
            conn.commit()
            if held:
                self._conn = conn
                log.info("this process is now the active sweeper")
                return True
            conn.close()
            return False
        except sa.exc.DBAPIError:
            self._drop()
            raise

    def release(self) -> None:
        self._drop()

    def _drop(self) -> None:
        if self._conn is not None:
            conn, self._conn = self._conn, None
            try:
                conn.invalidate()  # closing the session releases the advisory lock
                conn.close()
            except sa.exc.DBAPIError:
                pass


class FileLock:
    """An exclusive `flock` on a file: for a SQLite database, whose sweepers share a machine."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file: IO[str] | None = None

    def acquire(self) -> bool:
        import fcntl

        if self._file is not None:
            return True
        handle = self.path.open("a")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            return False
        self._file = handle
        return True

    def release(self) -> None:
        if self._file is not None:
            self._file.close()  # closing releases the flock
            self._file = None


class NoLock:
    """No shared lock on this database: every sweeper is active (duplicates are harmless)."""

    def acquire(self) -> bool:
        return True

    def release(self) -> None:
        pass
