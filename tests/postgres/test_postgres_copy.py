"""`igautopost db copy`: every table, SQLite to PostgreSQL and back; an occupied target is
refused unless forced; tokens stay encrypted and ids keep counting after the copy."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

import igautopost
from igautopost.crypto import TokenCipher
from igautopost.errors import SchemaOutdated, TargetNotEmpty
from igautopost.storage.sql import SqlStore
from igautopost.storage.sql.copy import copy_database

NOW = datetime(2030, 5, 1, 12, 0, tzinfo=UTC)


def fill(url: str, cipher: TokenCipher, make_post, count: int = 30) -> SqlStore:  # type: ignore[no-untyped-def]
    store = SqlStore.open(url, cipher=cipher)
    items = [
        make_post(publish_at=(NOW + timedelta(hours=i)).isoformat(), caption=f"post {i}")
        for i in range(count)
    ]
    igautopost.schedule(store, items, now=NOW)
    with store.engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO users (username, password_hash, created_at) "
                "VALUES ('ana', 'argon2-hash', :t)"
            ),
            {"t": NOW.replace(tzinfo=None)},
        )
    return store


def rows(url: str) -> dict[str, list[tuple[object, ...]]]:
    engine = sa.create_engine(url)
    metadata = sa.MetaData()
    metadata.reflect(engine)
    with engine.connect() as conn:
        found = {
            t.name: sorted(tuple(r) for r in conn.execute(sa.select(t)))
            for t in metadata.sorted_tables
        }
    engine.dispose()
    return found


def test_sqlite_to_postgresql_and_back_keeps_every_row_of_every_table(
    tmp_path, pg_database: Callable[[], str], cipher: TokenCipher, make_post
):
    sqlite_url = f"sqlite:///{tmp_path / 'old.db'}"
    fill(sqlite_url, cipher, make_post).close()
    pg_url = pg_database()
    back_url = f"sqlite:///{tmp_path / 'back.db'}"

    report = copy_database(sqlite_url, pg_url)
    copy_database(pg_url, back_url)

    assert report.rows["posts"] == 30 and report.rows["post_events"] == 30
    assert report.rows["users"] == 1
    assert rows(back_url) == rows(sqlite_url)
    moved = SqlStore.open(pg_url, cipher=cipher)
    first = moved.get(1)
    assert moved.token_of(first) == make_post()["access_token"]
    assert first.spec.caption == "post 0"
    created = igautopost.schedule(moved, [make_post(caption="new")], now=NOW).created
    assert created[0].id == 31  # the id sequence continues after the copied rows
    moved.close()


def test_a_target_with_rows_is_refused_unless_forced(
    any_database: Callable[[], str], tmp_path, cipher: TokenCipher, make_post
):
    source = f"sqlite:///{tmp_path / 'source.db'}"
    fill(source, cipher, make_post, count=5).close()
    target = any_database()
    fill(target, cipher, make_post, count=2).close()

    with pytest.raises(TargetNotEmpty, match="posts"):
        copy_database(source, target)
    copy_database(source, target, force=True)

    assert rows(target)["posts"] == rows(source)["posts"]


def test_a_source_behind_the_newest_schema_is_refused(tmp_path, pg_database):
    from igautopost.storage.sql import create_engine, migrate

    source = f"sqlite:///{tmp_path / 'old.db'}"
    engine = create_engine(source)
    migrate.upgrade(engine, "0001")
    engine.dispose()

    with pytest.raises(igautopost.IgAutopostError, match="schema revision 0001") as refused:
        copy_database(source, pg_database())
    assert isinstance(refused.value, SchemaOutdated) and refused.value.revision == "0001"


def test_the_db_copy_command_prints_what_it_copied(
    cli, tmp_path, pg_database: Callable[[], str], cipher: TokenCipher, make_post
):
    source = f"sqlite:///{tmp_path / 'cli.db'}"
    fill(source, cipher, make_post, count=4).close()
    target = pg_database()

    first = cli("db", "copy", source, target)
    again = cli("db", "copy", source, target)

    assert first.exit_code == 0, first.output
    assert "posts: 4 rows" in first.output
    assert again.exit_code == 1
    assert "--force" in again.output
