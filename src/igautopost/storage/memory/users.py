"""Users of the HTTP API, their API tokens and failed logins, in memory: a `UserStore` beside
an `InMemoryStore`, as `sql.users.SqlUserStore` and `sql.logins` are beside a `SqlStore`
(the contract suite in tests/storage checks that they agree).

Deleting a user deletes their posts and accounts, so the user store shares the post store's
tables and lock.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from ...errors import Holdings, TokenNotFound, UserExists, UserHasData, UserNotFound
from ...models import ApiToken, DeletedUser, Status, TokenCandidate, User
from ..protocols import Budget
from .store import InMemoryStore

ADDRESS_ALONE = ""  # the username of an address's own failed-login counter


@dataclass(frozen=True)
class _Token:
    id: int
    user_id: int
    key_hash: str
    prefix: str
    key_ciphertext: str | None
    created_at: datetime
    last_used_at: datetime | None
    expires_at: datetime | None


class InMemoryUserStore:
    """The users of one `InMemoryStore`'s posts and accounts."""

    def __init__(self, store: InMemoryStore) -> None:
        self._store = store
        self._lock = store._tables.lock
        self._users: dict[str, tuple[User, str]] = {}  # username: (user, password hash)
        self._tokens: dict[int, _Token] = {}
        self._last_user_id = 0
        self._last_token_id = 0
        self._login_failures = InMemoryLoginFailures()

    def login_failures(self) -> InMemoryLoginFailures:
        return self._login_failures

    # -- users -----------------------------------------------------------------------------

    def add_user(self, username: str, password_hash: str, *, now: datetime) -> User:
        with self._lock:
            if username in self._users:
                raise UserExists(username)
            self._last_user_id += 1  # never reused: a new user must not get old posts
            user = User(id=self._last_user_id, username=username, created_at=_utc(now))
            self._users[username] = (user, password_hash)
        return user

    def user(self, username: str) -> User:
        found = self.password_hash(username)
        if found is None:
            raise UserNotFound(username)
        return found[0]

    def password_hash(self, username: str) -> tuple[User, str] | None:
        with self._lock:
            return self._users.get(username)

    def users(self) -> list[User]:
        with self._lock:
            return [self._users[name][0] for name in sorted(self._users)]

    def set_password_hash(self, username: str, password_hash: str) -> None:
        with self._lock:
            user = self.user(username)
            self._users[username] = (user, password_hash)

    def delete_user(
        self, username: str, *, now: datetime, with_posts_and_accounts: bool = False
    ) -> DeletedUser:
        """Delete the user with their tokens, posts (and events) and accounts; refused
        (`UserHasData`) as `SqlUserStore.delete_user` refuses it."""
        with self._lock:
            user = self.user(username)
            holdings = self._holdings(user.id, _utc(now))
            if holdings.publishing or (holdings.keeps_user and not with_posts_and_accounts):
                raise UserHasData(username, holdings)
            return self._delete_everything(user)

    def _holdings(self, user_id: int, now: datetime) -> Holdings:
        tables = self._store._tables
        mine = [
            row
            for row in tables.posts.values()
            if row["owner_id"] == user_id and Status(row["status"]).is_active
        ]
        in_flight = [
            row
            for row in mine
            if row["publish_attempted_at"] is not None
            and row["lease_until"] is not None
            and row["lease_until"] > now
        ]
        accounts = self._store.accounts.list_accounts(user_id)
        return Holdings(active_posts=len(mine), accounts=len(accounts), publishing=len(in_flight))

    def _delete_everything(self, user: User) -> DeletedUser:
        tables = self._store._tables
        theirs = {i for i, row in tables.posts.items() if row["owner_id"] == user.id}
        tables.events[:] = [e for e in tables.events if e.post_id not in theirs]
        for post_id in theirs:
            del tables.posts[post_id]
        accounts = self._store.accounts.list_accounts(user.id)
        for account in accounts:
            self._store.accounts.remove(user.id, account.ig_user_id)
        tokens = [i for i, token in self._tokens.items() if token.user_id == user.id]
        for token_id in tokens:
            del self._tokens[token_id]
        del self._users[user.username]
        return DeletedUser(user, posts=len(theirs), accounts=len(accounts), tokens=len(tokens))

    # -- tokens ----------------------------------------------------------------------------

    def add_token(
        self,
        user_id: int,
        *,
        key_hash: str,
        prefix: str,
        now: datetime,
        key_ciphertext: str | None = None,
        expires_at: datetime | None = None,
    ) -> int:
        expires = None if expires_at is None else _utc(expires_at)
        with self._lock:
            self._last_token_id += 1
            self._tokens[self._last_token_id] = _Token(
                self._last_token_id,
                user_id,
                key_hash,
                prefix,
                key_ciphertext,
                _utc(now),
                None,
                expires,
            )
            return self._last_token_id

    def tokens(self, user_id: int | None = None) -> list[ApiToken]:
        with self._lock:
            names = {user.id: user.username for user, _hash in self._users.values()}
            return [
                ApiToken(
                    id=t.id,
                    user_id=t.user_id,
                    username=names[t.user_id],
                    prefix=t.prefix,
                    created_at=t.created_at,
                    last_used_at=t.last_used_at,
                    reusable=t.key_ciphertext is not None,
                    expires_at=t.expires_at,
                )
                for t in sorted(self._tokens.values(), key=lambda t: t.id)
                if (user_id is None or t.user_id == user_id) and t.user_id in names
            ]

    def revoke(self, token_id: int) -> None:
        with self._lock:
            if self._tokens.pop(token_id, None) is None:
                raise TokenNotFound(token_id)

    def reusable_key(self, user_id: int) -> str | None:
        """The encrypted key the token endpoint issued to this user, if it still exists."""
        with self._lock:
            keys = [
                (t.id, t.key_ciphertext)
                for t in self._tokens.values()
                if t.user_id == user_id and t.key_ciphertext is not None
            ]
        return max(keys)[1] if keys else None

    def candidates(self, prefix: str) -> list[TokenCandidate]:
        with self._lock:
            return [
                TokenCandidate(t.id, t.user_id, t.key_hash, t.expires_at)
                for t in self._tokens.values()
                if t.prefix == prefix
            ]

    def touch(self, token_id: int, *, now: datetime) -> None:
        with self._lock:
            token = self._tokens.get(token_id)
            if token is not None:
                self._tokens[token_id] = replace(token, last_used_at=_utc(now))


class InMemoryLoginFailures:
    """Failed logins per (address, username) and per address, each counted in a window that
    starts at its first failure (see `sql.logins`)."""

    def __init__(self) -> None:
        self._counters: dict[tuple[str, str], tuple[int, datetime]] = {}
        self._lock = threading.Lock()

    def count(
        self, username: str, address: str, *, now: datetime, budget: Budget
    ) -> datetime | None:
        """Count a failure for the pair and the address and return None; or, when either has
        used up its budget, count nothing and return when both allow another attempt."""
        now = _utc(now)
        cutoff = now - budget.window
        with self._lock:
            return self._count(username, address, now, cutoff, budget)

    def _count(
        self, username: str, address: str, now: datetime, cutoff: datetime, budget: Budget
    ) -> datetime | None:
        pair = self._added((address, username), now, cutoff)
        alone = self._added((address, ADDRESS_ALONE), now, cutoff)
        blocked = [
            start + budget.window
            for (failures, start), limit in ((pair, budget.per_pair), (alone, budget.per_address))
            if failures > limit
        ]
        if blocked:
            return max(blocked)
        self._counters[(address, username)] = pair
        self._counters[(address, ADDRESS_ALONE)] = alone
        self._counters = {k: v for k, v in self._counters.items() if v[1] > cutoff}
        return None

    def _added(self, key: tuple[str, str], now: datetime, cutoff: datetime) -> tuple[int, datetime]:
        failures, start = self._counters.get(key, (0, now))
        return (1, now) if start <= cutoff else (failures + 1, start)

    def forgive(self, username: str, address: str, *, counted_at: datetime) -> None:
        """Take back the failure counted at `counted_at` (its password was right)."""
        with self._lock:
            self._counters.pop((address, username), None)
            alone = self._counters.get((address, ADDRESS_ALONE))
            if alone is not None and alone[1] <= _utc(counted_at) and alone[0] > 0:
                self._counters[(address, ADDRESS_ALONE)] = (alone[0] - 1, alone[1])

    def failures(self, username: str, address: str) -> int:
        with self._lock:
            counter = self._counters.get((address, username))
        return 0 if counter is None else counter[0]


def _utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("naive datetime given to the store: times must be timezone-aware")
    return value.astimezone(UTC)
