"""The users and api_tokens tables: migration 0002 matches the SQLModel tables."""

from __future__ import annotations

import sqlalchemy as sa
from sqlmodel import SQLModel

from igautopost.storage.sql.migrate import head_revision

OURS = {"users", "api_tokens"}


def test_migration_0002_equals_the_sqlmodel_tables(store):
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    assert head_revision() >= "0002"
    with store.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(context, SQLModel.metadata)
    assert [d for d in diff if OURS & {getattr(p, "name", p) for p in _parts(d)}] == []
    inspector = sa.inspect(store.engine)
    for name in OURS:
        table = SQLModel.metadata.tables[name]
        columns = {c["name"]: c["nullable"] for c in inspector.get_columns(name)}
        assert columns == {c.name: c.nullable for c in table.columns}


def _parts(diff):
    item = diff[0] if isinstance(diff, list) else diff
    for part in item[1:]:
        yield getattr(part, "table", part)
