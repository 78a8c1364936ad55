"""One post's rows inserted on SQLite's own cursor (the API's POST).

Each of a POST's three inserts (its row in `posts`, its "scheduled" event, its media
references) cost SQLAlchemy's execution path about 30-50 us around a few microseconds of
SQLite: the compiled-cache lookup, an execution context, bind and result processing
(docs/benchmarks.md, "The HTTP API"). Here each is one prebuilt SQL string per set of
columns, its values converted by the same bind processors SQLAlchemy would apply (the
tables' types, for the engine's dialect), so the stored bytes are the same.

They run inside the caller's SQLAlchemy transaction, on its DBAPI connection: SQLite's
driver begins the transaction at the first insert, and the commit (or rollback) is
SQLAlchemy's, behind the write gate as every write.
"""

from __future__ import annotations

import functools
import sqlite3
from collections.abc import Callable, Mapping
from typing import Any

import sqlalchemy as sa

Processor = Callable[[Any], Any] | None


@functools.cache
def _statement(
    table: sa.Table, columns: tuple[str, ...], dialect: sa.Dialect
) -> tuple[str, tuple[Processor, ...]]:
    """The INSERT of `columns` into `table` and each column's bind processor (None: as is)."""
    defaulted = [c.name for c in table.c if c.default is not None and c.name not in columns]
    if defaulted:  # SQLAlchemy would fill these in; SQLite would leave them NULL
        raise ValueError(f"a row for {table.name} must give {', '.join(defaulted)}")
    names = ", ".join(table.c[name].name for name in columns)
    marks = ", ".join("?" for _ in columns)
    # The dialect's form of each type, as SQLAlchemy binds it: the generic DateTime under
    # UTCDateTime has no processor, and sqlite3's own adapter drops zero microseconds.
    processors = tuple(
        table.c[name].type.dialect_impl(dialect).bind_processor(dialect) for name in columns
    )
    return f"INSERT INTO {table.name} ({names}) VALUES ({marks})", processors


def insert_row(
    cursor: sqlite3.Cursor, dialect: sa.Dialect, table: sa.Table, row: Mapping[str, Any]
) -> int:
    """Insert `row` (column name: value, as for SQLAlchemy) and return its rowid. Columns
    left out get the table's server default or NULL, as in SQLAlchemy's insert of the same
    keys. A column with a Python-side default must be given (`_statement` refuses otherwise)."""
    columns = tuple(row)
    sql, processors = _statement(table, columns, dialect)
    try:
        values = tuple(
            row[name] if process is None else process(row[name])
            for name, process in zip(columns, processors, strict=True)
        )
    except (ValueError, TypeError) as exc:  # a naive time, say: as SQLAlchemy reports it
        raise sa.exc.StatementError(str(exc), sql, None, exc) from exc
    cursor.execute(sql, values)
    rowid = cursor.lastrowid
    assert rowid is not None  # an INSERT of one row always sets it
    return rowid
