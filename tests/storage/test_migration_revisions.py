"""`migrate.head_revision` and `current_revision` answer without loading Alembic (every
command asks them at start): their answers must be Alembic's own."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from igautopost.storage.sql import migrate


def test_the_head_read_from_the_files_is_alembics() -> None:
    assert (
        migrate.head_revision() == ScriptDirectory.from_config(migrate._config()).get_current_head()
    )


def test_the_current_revision_is_alembics_at_every_step(tmp_path: Path) -> None:
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'db.sqlite'}")
    assert migrate.current_revision(engine) is None  # no schema yet
    script = ScriptDirectory.from_config(migrate._config())
    for revision in reversed([r.revision for r in script.walk_revisions()]):
        migrate.upgrade(engine, revision)
        with engine.connect() as connection:
            alembic_says = MigrationContext.configure(connection).get_current_revision()
        assert migrate.current_revision(engine) == alembic_says == revision
    engine.dispose()
