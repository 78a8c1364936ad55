"""The Alembic migrations on SQLite and PostgreSQL: a new database, and one created by the
first migration with data in it, both end at the schema of the SQLModel tables."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlmodel import SQLModel

from igautopost.crypto import TokenCipher
from igautopost.storage.sql import SqlStore, create_engine, migrate

NOW = datetime(2030, 1, 2, 3, 4, 5)


def schema_differences(engine: sa.Engine) -> list[object]:
    with engine.connect() as conn:
        return list(compare_metadata(MigrationContext.configure(conn), SQLModel.metadata))


def test_a_new_database_migrates_to_the_tables_of_the_code(any_database: Callable[[], str]):
    engine = create_engine(any_database())

    migrate.upgrade(engine)

    assert migrate.current_revision(engine) == migrate.head_revision()
    assert schema_differences(engine) == []
    migrate.upgrade(engine)  # a no-op when up to date
    engine.dispose()


def test_a_database_of_the_first_migration_keeps_its_posts_through_every_later_one(
    any_database: Callable[[], str], cipher: TokenCipher
):
    url = any_database()
    engine = create_engine(url)
    migrate.upgrade(engine, "0001")
    with engine.begin() as conn:
        conn.execute(
            sa.text(INSERT_POST), {"spec": SPEC, "token": cipher.encrypt("EAAB-old"), "t": NOW}
        )
        conn.execute(
            sa.text(
                "INSERT INTO post_events (post_id, at, from_status, to_status, detail) "
                "VALUES (1, :t, NULL, 'scheduled', 'scheduled')"
            ),
            {"t": NOW},
        )
    engine.dispose()

    store = SqlStore.open(url, cipher=cipher)  # migrates to the newest revision on open

    post = store.get(1)
    assert (post.spec.caption, post.status.value) == ("from 0001", "scheduled")
    assert post.publish_at == NOW.replace(tzinfo=UTC)
    assert store.token_of(post) == "EAAB-old"
    assert [e.detail for e in store.events(1)] == ["scheduled"]
    assert migrate.current_revision(store.engine) == migrate.head_revision()
    assert schema_differences(store.engine) == []
    store.close()


SPEC = (
    '{"account":"17841400000000001","media_type":"image",'
    '"media_url":"https://example.com/a.jpg","caption":"from 0001",'
    '"publish_at":"2030-01-02T03:04:05+00:00","timezone":"UTC"}'
)
INSERT_POST = """
INSERT INTO posts (account, media_type, status, spec_json, token_ciphertext, publish_at,
                   next_attempt_at, attempts, containers_created, created_at, updated_at)
VALUES ('17841400000000001', 'image', 'scheduled', :spec, :token, :t, :t, 0, 0, :t, :t)
"""
