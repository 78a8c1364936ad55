"""Applying the Alembic migrations programmatically (no alembic.ini needed)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa

MIGRATIONS = Path(__file__).with_name("migrations")
_VERSION_TABLE = "alembic_version"  # Alembic's, one row: the schema's revision
_REVISION_LINE = re.compile(r'^(revision|down_revision)\s*=\s*(?:"([^"]*)"|None)', re.MULTILINE)


def _config(connection: sa.Connection | None = None):  # type: ignore[no-untyped-def]
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    """The newest migration's revision, read from the migration files' own
    ``revision = "..."`` / ``down_revision = "..."`` lines: every command asks it when it opens
    the store, and loading Alembic's script directory for it cost 75 ms of each command's
    start (issue 14). tests/storage check it against Alembic's answer."""
    revisions: dict[str, str | None] = {}
    for path in (MIGRATIONS / "versions").glob("*.py"):
        found = dict(_REVISION_LINE.findall(path.read_text(encoding="utf-8")))
        if "revision" in found:
            revisions[found["revision"]] = found.get("down_revision")
    heads = set(revisions) - set(revisions.values())
    assert len(heads) == 1, f"the migrations must form one line, found heads {sorted(heads)}"
    return heads.pop()


def current_revision(engine: sa.Engine) -> str | None:
    """The database's schema revision (None: no schema yet), with one plain query."""
    with engine.connect() as connection:
        if not sa.inspect(connection).has_table(_VERSION_TABLE):
            return None
        versions = connection.execute(sa.text(f"SELECT version_num FROM {_VERSION_TABLE}"))
        found = [row[0] for row in versions]
    assert len(found) <= 1, f"the database names several schema revisions: {found}"
    return found[0] if found else None


def upgrade(engine: sa.Engine, revision: str = "head") -> None:
    """Bring the schema to `revision` (default: the newest); a no-op on an up-to-date database."""
    from alembic import command

    with engine.connect() as connection, _rebuildable(connection), connection.begin():
        command.upgrade(_config(connection), revision)
        _check_foreign_keys(connection)


@contextmanager
def _rebuildable(connection: sa.Connection) -> Iterator[None]:
    """SQLite changes a table by copying it and dropping the original, which its foreign key
    checks refuse while other tables point at it: they are off during the migration (a
    pragma that only takes effect outside a transaction), and every key is checked after."""
    if connection.dialect.name != "sqlite":
        yield
        return
    connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
    connection.commit()
    try:
        yield
    finally:
        connection.exec_driver_sql("PRAGMA foreign_keys=ON")
        connection.commit()


def _check_foreign_keys(connection: sa.Connection) -> None:
    if connection.dialect.name != "sqlite":
        return
    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
    if broken:
        raise RuntimeError(f"the migration broke {len(broken)} foreign keys: {broken[:5]}")
