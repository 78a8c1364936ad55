"""Owner-only files and directories: what igautopost keeps on disk holds encrypted tokens and
everything its users scheduled, which other accounts on the machine have no business reading.

A directory igautopost creates gets mode 0700. The SQLite database file is created with mode
0600 before SQLite opens it (SQLite gives its -wal and -shm files the database file's mode),
and an existing one is narrowed to 0600 with its -wal and -shm. A directory that existed
before is left alone, except igautopost's own data directory (`private_directory`). Files and
directories of another user (who then must run igautopost as that user) are left as they are.
"""

from __future__ import annotations

import os
from contextlib import suppress
from pathlib import Path

import sqlalchemy as sa

OWNER_ONLY_DIR = 0o700
OWNER_ONLY_FILE = 0o600
SQLITE_FILES = ("", "-wal", "-shm")


def private_directory(path: Path) -> None:
    """Create `path` (and its parents) if needed, and make it the owner's only."""
    path.mkdir(mode=OWNER_ONLY_DIR, parents=True, exist_ok=True)
    with suppress(PermissionError):
        path.chmod(OWNER_ONLY_DIR)


def private_sqlite_file(database: str) -> None:
    """Prepare a SQLite database path so that the database and its companions are the
    owner's only: its directory created 0700 if missing, the file created 0600, or narrowed."""
    path = Path(database)
    if not path.parent.exists():
        path.parent.mkdir(mode=OWNER_ONLY_DIR, parents=True, exist_ok=True)
    with suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, OWNER_ONLY_FILE))
    for suffix in SQLITE_FILES:
        with suppress(FileNotFoundError, PermissionError):
            os.chmod(f"{database}{suffix}", OWNER_ONLY_FILE)


def sqlite_file(url: str | sa.URL) -> str | None:
    """The database file a SQLite URL names; None for an in-memory database or another
    database system."""
    parsed = sa.engine.make_url(url)
    database = parsed.database
    if parsed.get_backend_name() != "sqlite" or not database:
        return None
    if database == ":memory:" or database.startswith("file::memory:"):
        return None
    return database
