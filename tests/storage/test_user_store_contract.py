"""One contract for the user stores: `InMemoryUserStore` and `SqlUserStore` on SQLite and on
PostgreSQL keep the promises of `UserStore` in the same way (PostgreSQL required under
CI=true, skipped elsewhere when unreachable: tests/services.py)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from igautopost.crypto import TokenCipher
from igautopost.errors import TokenNotFound, UserExists, UserHasData, UserNotFound
from igautopost.models import PostSpec, Status
from igautopost.storage import InMemoryStore, InMemoryUserStore, SqlStore, Store, UserStore
from igautopost.storage.protocols import Budget
from igautopost.storage.sql import SqlUserStore
from services import postgres_schemas

NOW = datetime(2031, 1, 10, 9, 0, tzinfo=UTC)
ACCOUNT = "17841400000000001"


@dataclass
class Stores:
    posts: Store
    users: UserStore


@pytest.fixture(params=["memory", "sqlite", "postgresql"])
def stores(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Stores]:
    cipher = TokenCipher([TokenCipher.generate_key()])
    if request.param == "memory":
        memory = InMemoryStore(cipher=cipher)
        yield Stores(memory, InMemoryUserStore(memory))
        return
    if request.param == "sqlite":
        sql = SqlStore.open(f"sqlite:///{tmp_path / 'users.db'}", cipher=cipher)
        yield Stores(sql, SqlUserStore(sql.engine))
        sql.close()
        return
    with postgres_schemas() as schemas:
        sql = SqlStore.open(schemas.new(), cipher=cipher)
        yield Stores(sql, SqlUserStore(sql.engine))
        sql.close()


def test_users_are_unique_listed_by_name_and_keep_their_password_hash(stores: Stores) -> None:
    users = stores.users
    bob = users.add_user("bob", "hash-b", now=NOW)
    alice = users.add_user("alice", "hash-a", now=NOW)
    assert bob.id != alice.id and bob.created_at == NOW
    with pytest.raises(UserExists):
        users.add_user("bob", "other", now=NOW)
    assert [u.username for u in users.users()] == ["alice", "bob"]
    assert users.user("bob") == bob
    assert users.password_hash("alice") == (alice, "hash-a")
    assert users.password_hash("nobody") is None
    with pytest.raises(UserNotFound):
        users.user("nobody")
    users.set_password_hash("alice", "hash-a2")
    assert users.password_hash("alice") == (alice, "hash-a2")
    with pytest.raises(UserNotFound):
        users.set_password_hash("nobody", "x")


def test_tokens_are_listed_found_by_prefix_touched_and_revoked(stores: Stores) -> None:
    users = stores.users
    alice = users.add_user("alice", "h", now=NOW)
    bob = users.add_user("bob", "h", now=NOW)
    expires = NOW + timedelta(days=30)
    first = users.add_token(alice.id, key_hash="ha1", prefix="ab12", now=NOW)
    reusable = users.add_token(
        alice.id, key_hash="ha2", prefix="cd34", now=NOW, key_ciphertext="enc", expires_at=expires
    )
    users.add_token(bob.id, key_hash="hb1", prefix="ab12", now=NOW)
    listed = users.tokens(alice.id)
    assert [(t.id, t.username, t.reusable) for t in listed] == [
        (first, "alice", False),
        (reusable, "alice", True),
    ]
    assert listed[1].expires_at == expires and listed[0].last_used_at is None
    assert len(users.tokens()) == 3
    assert {(c.user_id, c.key_hash) for c in users.candidates("ab12")} == {
        (alice.id, "ha1"),
        (bob.id, "hb1"),
    }
    assert users.reusable_key(alice.id) == "enc" and users.reusable_key(bob.id) is None
    users.touch(first, now=NOW + timedelta(minutes=1))
    assert users.tokens(alice.id)[0].last_used_at == NOW + timedelta(minutes=1)
    users.revoke(reusable)
    assert users.reusable_key(alice.id) is None
    with pytest.raises(TokenNotFound):
        users.revoke(reusable)


def test_deleting_a_user_with_posts_or_accounts_needs_consent(stores: Stores) -> None:
    users, posts = stores.users, stores.posts
    carol = users.add_user("carol", "h", now=NOW)
    dave = users.add_user("dave", "h", now=NOW)
    spec = PostSpec.model_validate(
        {
            "account": ACCOUNT,
            "access_token": "EAAB-user-token",
            "media_type": "image",
            "media_url": "https://example.com/a.jpg",
            "publish_at": NOW + timedelta(hours=1),
        }
    )
    [mine] = posts.add([spec], now=NOW, owner_id=carol.id)
    [theirs] = posts.add([spec], now=NOW, owner_id=dave.id)
    posts.accounts.put(carol.id, ACCOUNT, "EAAB-user-token", now=NOW, login="facebook")
    users.add_token(carol.id, key_hash="hc", prefix="ef56", now=NOW)
    with pytest.raises(UserHasData) as refused:
        users.delete_user("carol", now=NOW)
    assert (refused.value.holdings.active_posts, refused.value.holdings.accounts) == (1, 1)
    deleted = users.delete_user("carol", now=NOW, with_posts_and_accounts=True)
    assert (deleted.user, deleted.posts, deleted.accounts, deleted.tokens) == (carol, 1, 1, 1)
    assert posts.events(mine.id) == []
    assert posts.get(theirs.id).status is Status.SCHEDULED
    assert posts.accounts.find(carol.id, ACCOUNT) is None
    assert users.tokens() == []
    with pytest.raises(UserNotFound):
        users.delete_user("carol", now=NOW)
    assert users.add_user("carol", "h", now=NOW).id not in (carol.id, dave.id)


def test_a_user_whose_post_is_being_published_cannot_be_deleted(stores: Stores) -> None:
    users, posts = stores.users, stores.posts
    erin = users.add_user("erin", "h", now=NOW)
    spec = PostSpec.model_validate(
        {
            "account": ACCOUNT,
            "access_token": "EAAB-user-token",
            "media_type": "image",
            "media_url": "https://example.com/a.jpg",
            "publish_at": NOW,
        }
    )
    [post] = posts.add([spec], now=NOW - timedelta(hours=1), owner_id=erin.id)
    taken = posts.claim(post.id, owner="w", now=NOW, lease=timedelta(minutes=1))
    assert taken is not None
    posts.save_progress(taken, owner="w", changes={"publish_attempted_at": NOW})
    with pytest.raises(UserHasData) as refused:
        users.delete_user("erin", now=NOW, with_posts_and_accounts=True)
    assert refused.value.holdings.publishing == 1


def test_login_failures_count_per_pair_and_address_within_a_window(stores: Stores) -> None:
    failures = stores.users.login_failures()
    budget = Budget(window=timedelta(minutes=10), per_pair=2, per_address=3)
    assert failures.count("ann", "10.0.0.1", now=NOW, budget=budget) is None
    assert failures.count("ann", "10.0.0.1", now=NOW, budget=budget) is None
    assert failures.failures("ann", "10.0.0.1") == 2
    refused = failures.count("ann", "10.0.0.1", now=NOW + timedelta(minutes=1), budget=budget)
    assert refused == NOW + timedelta(minutes=10)
    assert failures.failures("ann", "10.0.0.1") == 2  # a refused attempt is not counted
    assert failures.count("ben", "10.0.0.1", now=NOW, budget=budget) is None
    assert failures.count("cat", "10.0.0.1", now=NOW, budget=budget) == NOW + budget.window
    failures.forgive("ben", "10.0.0.1", counted_at=NOW)
    assert failures.failures("ben", "10.0.0.1") == 0
    assert failures.count("cat", "10.0.0.1", now=NOW, budget=budget) is None  # one given back
    later = NOW + budget.window
    assert failures.count("ann", "10.0.0.1", now=later, budget=budget) is None  # a new window
    assert failures.failures("ann", "10.0.0.1") == 1
    assert failures.failures("ann", "10.0.0.2") == 0
