"""Migration 0008 (`post_media`, which posts use which media copy): up, down, and the same
table the SQLModel metadata describes; its rows go with their post."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlmodel import SQLModel

from igautopost.crypto import TokenCipher
from igautopost.models import PostSpec
from igautopost.storage import SqlStore
from igautopost.storage.sql import migrate
from igautopost.storage.sql.media_refs import post_media

NOW = datetime(2031, 1, 10, 9, 0, tzinfo=UTC)
KEY = "d" * 64 + ".jpg"


def spec() -> PostSpec:
    return PostSpec.model_validate(
        {
            "account": "17841400000000001",
            "access_token": "EAAB-migration-token",
            "media_type": "image",
            "media_path": "sunrise.jpg",
            "media_file": KEY,
            "caption": "Sunrise",
            "publish_at": NOW + timedelta(hours=1),
        }
    )


def tables(engine: sa.Engine) -> set[str]:
    return set(sa.inspect(engine).get_table_names())


def test_0008_adds_post_media_indexed_by_key_and_0007_takes_it_away(tmp_path: Path) -> None:
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'old.db'}")
    migrate.upgrade(engine, "0007")
    assert "post_media" not in tables(engine)

    migrate.upgrade(engine)
    assert migrate.current_revision(engine) == "0008"
    indexes = {i["name"]: i["column_names"] for i in sa.inspect(engine).get_indexes("post_media")}
    assert indexes == {"ix_post_media_key": ["media_key", "post_id"]}

    with engine.connect() as connection, connection.begin():
        command.downgrade(migrate._config(connection), "0007")
    assert "post_media" not in tables(engine)
    assert migrate.current_revision(engine) == "0007"
    engine.dispose()


def test_the_migrated_table_is_the_one_the_metadata_describes(tmp_path: Path) -> None:
    store = SqlStore.open(
        f"sqlite:///{tmp_path / 'new.db'}", cipher=TokenCipher([TokenCipher.generate_key()])
    )
    with store.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(context, SQLModel.metadata)
    assert [d for d in diff if "post_media" in repr(d)] == []
    store.close()


def test_a_deleted_posts_media_rows_go_with_it(tmp_path: Path) -> None:
    store = SqlStore.open(
        f"sqlite:///{tmp_path / 'cascade.db'}", cipher=TokenCipher([TokenCipher.generate_key()])
    )
    [post] = store.add([spec()], now=NOW)
    assert [u.post_id for u in store.media_uses([KEY])[KEY]] == [post.id]

    with store.engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM post_events WHERE post_id = :id"), {"id": post.id})
        conn.execute(sa.text("DELETE FROM posts WHERE id = :id"), {"id": post.id})
        left = conn.execute(sa.select(sa.func.count()).select_from(post_media)).scalar()

    assert left == 0
    assert store.media_uses([KEY]) == {}
    store.close()
