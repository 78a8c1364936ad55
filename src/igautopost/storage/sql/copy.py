"""Copy a whole igautopost database to another one: moving from SQLite to PostgreSQL.

Every table the migrations created is copied row by row, whatever it is (posts, their events,
users, API tokens, accounts...): the tables are read by reflection, not from a list here, so
tables added by later migrations come along. Values are copied as stored: tokens stay
encrypted, so the target needs the same secret key. Primary keys are kept, and PostgreSQL's
id sequences are moved past them so that new rows do not collide.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import sqlalchemy as sa

from ...errors import SchemaOutdated, TargetNotEmpty
from . import migrate
from .store import create_engine

BATCH = 5_000
VERSION_TABLE = "alembic_version"


@dataclass
class CopyReport:
    revision: str
    rows: dict[str, int] = field(default_factory=dict)  # table -> rows copied


def copy_database(
    source_url: str,
    target_url: str,
    *,
    force: bool = False,
    on_batch: Callable[[str, int], None] | None = None,
) -> CopyReport:
    """Copy every row of `source_url` into `target_url`, migrated to the newest schema first.

    The source must be at the newest schema too (``igautopost db upgrade`` on it): both then
    have the same tables and columns. A target with rows is refused unless `force`, which
    empties it first. `on_batch(table, rows)` reports progress."""
    source, target = create_engine(source_url), create_engine(target_url)
    try:
        revision = _check_source(source)
        migrate.upgrade(target)
        tables = _tables(target)
        with source.connect() as reading, target.begin() as writing:
            _empty_target(writing, tables, force)
            report = CopyReport(revision)
            for table in tables:
                report.rows[table.name] = _copy_table(reading, writing, table, on_batch)
            _move_sequences(writing, tables)
        return report
    finally:
        source.dispose()
        target.dispose()


def _check_source(source: sa.Engine) -> str:
    head = migrate.head_revision()
    current = migrate.current_revision(source)
    if current != head:
        raise SchemaOutdated(current, head)
    return head


def _tables(engine: sa.Engine) -> list[sa.Table]:
    """The target's tables, parents before the tables that refer to them."""
    metadata = sa.MetaData()
    metadata.reflect(engine)
    return [t for t in metadata.sorted_tables if t.name != VERSION_TABLE]


def _empty_target(conn: sa.Connection, tables: list[sa.Table], force: bool) -> None:
    filled = [t.name for t in tables if conn.execute(sa.select(t).limit(1)).first()]
    if not filled:
        return
    if not force:
        raise TargetNotEmpty(filled)
    for table in reversed(tables):
        conn.execute(table.delete())


def _copy_table(
    reading: sa.Connection,
    writing: sa.Connection,
    table: sa.Table,
    on_batch: Callable[[str, int], None] | None,
) -> int:
    """Stream the source rows of `table` into the target in batches; the rows copied."""
    source_columns = {c["name"] for c in sa.inspect(reading).get_columns(table.name)}
    columns = [c for c in table.columns if c.name in source_columns]
    source_table = sa.table(table.name, *[sa.column(c.name, c.type) for c in columns])
    order = [source_table.c[c.name] for c in table.primary_key.columns if c.name in source_columns]
    result = reading.execution_options(yield_per=BATCH).execute(
        sa.select(*source_table.c).order_by(*order)
    )
    copied = 0
    for rows in result.partitions():
        writing.execute(table.insert(), [dict(row._mapping) for row in rows])
        copied += len(rows)
        if on_batch is not None:
            on_batch(table.name, copied)
    return copied


def _move_sequences(conn: sa.Connection, tables: list[sa.Table]) -> None:
    """Rows were inserted with their ids: PostgreSQL's sequences must start after them."""
    if conn.dialect.name != "postgresql":
        return  # SQLite's next rowid follows the largest id by itself
    for table in tables:
        for column in table.primary_key.columns:
            if not isinstance(column.type, sa.Integer):
                continue
            conn.execute(
                sa.text(
                    "SELECT setval(pg_get_serial_sequence(:table, :column), "
                    f'COALESCE((SELECT MAX("{column.name}") FROM "{table.name}"), 0) + 1, false) '
                    "WHERE pg_get_serial_sequence(:table, :column) IS NOT NULL"
                ),
                {"table": table.name, "column": column.name},
            )
