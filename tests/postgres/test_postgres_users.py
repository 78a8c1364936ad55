"""Deleting a user, on SQLite and PostgreSQL: ids are never given twice, and a user's posts,
events, accounts and tokens go with them in one transaction, or the deletion is refused."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from argon2 import PasswordHasher

import igautopost
from igautopost.auth.users import Users
from igautopost.clock import FakeClock
from igautopost.crypto import TokenCipher
from igautopost.errors import InvalidPost, UserHasData
from igautopost.models import PostSpec
from igautopost.storage import PostQuery
from igautopost.storage.sql import SqlStore, create_engine, migrate
from igautopost.storage.sql.tables import accounts, api_tokens, events, posts, users
from igautopost.storage.sql.users import SqlUserStore

NOW = datetime(2030, 5, 1, 12, tzinfo=UTC)
CHEAP = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
PASSWORD = "correct horse battery"


@pytest.fixture
def world(any_database: Callable[[], str], cipher: TokenCipher) -> Iterator[tuple[SqlStore, Users]]:
    store = SqlStore.open(any_database(), cipher=cipher)
    yield store, Users(SqlUserStore(store.engine), cipher, FakeClock(NOW), hasher=CHEAP)
    store.close()


def schedule(store: SqlStore, owner_id: int, caption: str, *, in_hours: float = 1) -> int:
    post = {
        "account": "17841400000000002",
        "access_token": f"EAAB-token-of-{owner_id}",
        "media_type": "image",
        "media_url": "https://example.com/a.jpg",
        "caption": caption,
        "publish_at": NOW + timedelta(hours=in_hours),
        "client_key": f"key-{caption}",
    }
    return igautopost.schedule(store, [post], now=NOW, owner_id=owner_id).created[0].id


def rows_of(store: SqlStore, user_id: int) -> dict[str, int]:
    count = sa.func.count()
    queries = {
        "posts": sa.select(count).where(posts.c.owner_id == user_id),
        "events": sa.select(count)
        .select_from(events.join(posts, posts.c.id == events.c.post_id))
        .where(posts.c.owner_id == user_id),
        "accounts": sa.select(count).where(accounts.c.owner_id == user_id),
        "tokens": sa.select(count).where(api_tokens.c.user_id == user_id),
        "users": sa.select(count).where(users.c.id == user_id),
    }
    with store.engine.connect() as conn:
        return {name: conn.execute(q).scalar_one() for name, q in queries.items()}


def test_a_new_user_never_gets_a_deleted_users_id(world):
    _, people = world
    people.create("alice", PASSWORD)
    bob = people.create("bob", PASSWORD)  # the newest: SQLite would hand out his id again
    people.delete("bob")

    carol = people.create("carol", PASSWORD)

    assert carol.id > bob.id


def test_carol_sees_nothing_of_deleted_bobs(world):
    store, people = world
    bob = people.create("bob", PASSWORD)
    people.create_key("bob")
    for caption in ("one", "two"):
        schedule(store, bob.id, caption)

    deleted = people.delete("bob", with_posts_and_accounts=True)
    carol = people.create("carol", PASSWORD)

    assert (deleted.posts, deleted.accounts, deleted.tokens) == (2, 1, 1)
    assert rows_of(store, bob.id) == dict.fromkeys(rows_of(store, bob.id), 0)
    assert store.list(PostQuery(owner_id=carol.id)) == []
    assert store.accounts.list_accounts(carol.id) == []
    assert store.client_keys("17841400000000002", ["key-one"], owner_id=carol.id) == {}


def test_deleting_a_user_with_active_posts_or_accounts_is_refused(world):
    store, people = world
    bob = people.create("bob", PASSWORD)
    schedule(store, bob.id, "active")
    before = rows_of(store, bob.id)

    with pytest.raises(UserHasData, match=r"1 active post.* and 1 Instagram account") as refused:
        people.delete("bob")

    assert (refused.value.holdings.active_posts, refused.value.holdings.accounts) == (1, 1)
    assert rows_of(store, bob.id) == before


def test_a_user_with_only_finished_posts_is_deleted_with_them(world):
    store, people = world
    bob = people.create("bob", PASSWORD)
    post_id = schedule(store, bob.id, "done")
    igautopost.cancel(store, post_id, now=NOW, owner_id=bob.id)
    store.accounts.remove(bob.id, "17841400000000002")

    deleted = people.delete("bob")

    assert (deleted.posts, deleted.accounts) == (1, 0)
    assert rows_of(store, bob.id)["posts"] == 0


def test_deleting_is_refused_while_a_publish_call_may_be_in_flight(world):
    store, people = world
    bob = people.create("bob", PASSWORD)
    post_id = schedule(store, bob.id, "going out")
    with store.engine.begin() as conn:
        conn.execute(
            posts.update()
            .where(posts.c.id == post_id)
            .values(status="ready", publish_attempted_at=NOW, lease_until=NOW + timedelta(1))
        )

    with pytest.raises(UserHasData, match="being published right now"):
        people.delete("bob", with_posts_and_accounts=True)
    assert rows_of(store, bob.id)["posts"] == 1


def test_the_database_keeps_client_keys_unique_per_owner_and_account(world, make_post):
    store, _ = world
    spec = PostSpec.model_validate(make_post(client_key="k"))
    for owner_id in (1, 2, None):  # the same key, each owner once: no conflict
        store.add([spec], now=NOW, owner_id=owner_id)

    for owner_id in (1, None):  # the same owner twice: the unique index refuses it
        with pytest.raises(InvalidPost, match="client_key"):
            store.add([spec], now=NOW, owner_id=owner_id)
    assert len(store.list(PostQuery())) == 3


def test_the_migration_starts_user_ids_above_every_owner_still_in_use(
    any_database: Callable[[], str], cipher: TokenCipher
):
    """A database from before: bob (id 2, the newest) deleted, his posts left behind."""
    url = any_database()
    engine = create_engine(url)
    migrate.upgrade(engine, "0003")
    with engine.begin() as conn:
        for name in ("alice", "bob"):
            conn.execute(users.insert().values(username=name, password_hash="x", created_at=NOW))
        conn.execute(
            api_tokens.insert().values(user_id=1, key_hash="h" * 64, prefix="p", created_at=NOW)
        )
        conn.execute(sa.text("DELETE FROM users WHERE username = 'bob'"))
        conn.execute(posts.insert().values(owner_id=2, **LEFT_BEHIND))  # as `user delete` did
    engine.dispose()
    store = SqlStore.open(url, cipher=cipher)

    carol = SqlUserStore(store.engine).add_user("carol", "x", now=NOW)

    assert carol.id == 3
    assert [t.username for t in SqlUserStore(store.engine).tokens()] == ["alice"]
    with store.engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    store.close()


LEFT_BEHIND = {
    "account": "17841400000000002",
    "media_type": "image",
    "status": "scheduled",
    "spec_json": "{}",
    "publish_at": NOW,
    "attempts": 0,
    "containers_created": 0,
    "created_at": NOW,
    "updated_at": NOW,
}
