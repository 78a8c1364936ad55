"""Users and API tokens for the HTTP API: argon2id passwords, API keys kept only as hashes.

An API key is 40 hex characters (``secrets.token_hex(20)``, like Django REST Framework's).
The store keeps its SHA-256 hash and its first 8 characters; a presented key is looked up by
that prefix and its hash compared in constant time (`hmac.compare_digest`). A key is shown
once, when it is created. The token endpoint's key is the exception that DRF compatibility
needs: it is also kept encrypted (with the `TokenCipher` that protects Instagram tokens), so
that logging in again returns the same working key.

>>> users = Users(SqlUserStore(store.engine), cipher, SystemClock())          # doctest: +SKIP
>>> alice = users.create("alice", "correct horse battery staple")          # doctest: +SKIP
>>> key = users.login_key(alice)                                           # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from ..clock import Clock
from ..crypto import TokenCipher
from ..errors import InvalidCredentials
from ..models import ApiToken, DeletedUser, User
from ..storage.protocols import UserStore
from .throttle import LoginThrottle

if TYPE_CHECKING:
    from argon2 import PasswordHasher

KEY_PREFIX_CHARS = 8
PASSWORD_MIN_CHARS = 8
USERNAME_MAX_CHARS = 150
CACHE_TTL = timedelta(seconds=30)  # a key revoked by another process stops working within this
CACHE_MAX = 10_000


def password_hasher() -> PasswordHasher:
    """argon2id (memory-hard) with argon2-cffi's defaults: RFC 9106's low-memory profile."""
    from argon2 import PasswordHasher

    return PasswordHasher()


def verify_password(hasher: PasswordHasher, password_hash: str, password: str) -> bool:
    from argon2.exceptions import InvalidHashError, VerificationError

    try:
        return hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def new_key() -> str:
    return secrets.token_hex(20)


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Authenticated:
    """Who a key belongs to: the user's id and the token's id."""

    user_id: int
    token_id: int


@dataclass
class _Cached:
    who: Authenticated
    until: datetime


class Users:
    """User and token operations the CLI and the HTTP app share; safe across threads."""

    def __init__(
        self,
        store: UserStore,
        cipher: TokenCipher,
        clock: Clock,
        *,
        hasher: PasswordHasher | None = None,
        throttle: LoginThrottle | None = None,
    ) -> None:
        self.store = store
        self.throttle = throttle or LoginThrottle(store.login_failures())
        self._hasher = hasher or password_hasher()
        self._cipher = cipher
        self._clock = clock
        self._cache: dict[str, _Cached] = {}
        self._lock = threading.Lock()
        self._dummy_hash: str | None = None

    # -- users -----------------------------------------------------------------------------

    def create(self, username: str, password: str) -> User:
        _check_username(username)
        _check_password(password)
        return self.store.add_user(username, self._hasher.hash(password), now=self._clock.now())

    def set_password(self, username: str, password: str) -> None:
        _check_password(password)
        self.store.set_password_hash(username, self._hasher.hash(password))

    def delete(self, username: str, *, with_posts_and_accounts: bool = False) -> DeletedUser:
        """Delete the user, their tokens, posts and accounts together; see
        `UserStore.delete_user` for when it is refused."""
        deleted = self.store.delete_user(
            username, now=self._clock.now(), with_posts_and_accounts=with_posts_and_accounts
        )
        self._forget(lambda who: who.user_id == deleted.user.id)
        return deleted

    def authenticate(self, username: str, password: str) -> User | None:
        """The user if the password is theirs. An unknown name costs a hash check too, so
        that timing does not tell which names exist."""
        found = self.store.password_hash(username)
        if found is None:
            verify_password(self._hasher, self._dummy(), password)
            return None
        user, password_hash = found
        if not verify_password(self._hasher, password_hash, password):
            return None
        if self._hasher.check_needs_rehash(password_hash):  # the parameters were raised
            self.store.set_password_hash(username, self._hasher.hash(password))
        return user

    def login(self, username: str, password: str, address: str | None = None) -> User | None:
        """`authenticate`, throttled per client address and username: `LoginThrottled` (with
        `retry_after` seconds) once either has failed too often. A username longer than any
        user's is refused (`InvalidCredentials`) before it is counted or hashed."""
        if len(username) > USERNAME_MAX_CHARS:
            raise InvalidCredentials(f"username: at most {USERNAME_MAX_CHARS} characters")
        attempt = self.throttle.attempt(username, address, self._clock.now())
        user = self.authenticate(username, password)
        if user is not None:
            self.throttle.succeeded(attempt)
        return user

    def _dummy(self) -> str:
        if self._dummy_hash is None:
            self._dummy_hash = self._hasher.hash(secrets.token_hex(16))
        return self._dummy_hash

    # -- tokens ----------------------------------------------------------------------------

    def create_key(
        self, username: str, *, expires_in: timedelta | None = None
    ) -> tuple[ApiToken, str]:
        """A new key for the user (shown once: only its hash is kept) and its record; with
        `expires_in`, the key stops working after that long."""
        user = self.store.user(username)
        key = new_key()
        now = self._clock.now()
        token_id = self.store.add_token(
            user.id,
            key_hash=hash_key(key),
            prefix=key[:KEY_PREFIX_CHARS],
            now=now,
            expires_at=now + expires_in if expires_in is not None else None,
        )
        return next(t for t in self.store.tokens(user.id) if t.id == token_id), key

    def login_key(self, user: User) -> str:
        """The key the token endpoint gave this user before, or a new one it can give again."""
        ciphertext = self.store.reusable_key(user.id)
        if ciphertext is not None:
            return self._cipher.decrypt(ciphertext)
        key = new_key()
        self.store.add_token(
            user.id,
            key_hash=hash_key(key),
            prefix=key[:KEY_PREFIX_CHARS],
            now=self._clock.now(),
            key_ciphertext=self._cipher.encrypt(key),
        )
        return key

    def tokens(self, username: str | None = None) -> list[ApiToken]:
        user_id = self.store.user(username).id if username is not None else None
        return self.store.tokens(user_id)

    def revoke(self, token_id: int) -> None:
        self.store.revoke(token_id)
        self._forget(lambda who: who.token_id == token_id)

    def known(self, key: str) -> Authenticated | None:
        """`identify`'s answer when this process's cache holds it, else None (ask `identify`).
        It never touches the store, so the API calls it on its event loop: a thread hop per
        request for a dictionary lookup was a third of a POST's CPU (docs/benchmarks.md)."""
        if len(key) != 40:
            return None
        cached = self._cache.get(hash_key(key))
        if cached is not None and cached.until > self._clock.now():
            return cached.who
        return None

    def identify(self, key: str) -> Authenticated | None:
        """Whose key this is, or None. Answers from a per-process cache for `CACHE_TTL`; a cache
        miss reads the store and records the token's last use."""
        if len(key) != 40:
            return None
        digest = hash_key(key)
        now = self._clock.now()
        cached = self._cache.get(digest)
        if cached is not None and cached.until > now:
            return cached.who
        found = self._lookup(key[:KEY_PREFIX_CHARS], digest, now)
        if found is None:
            return None
        who, expires_at = found
        self.store.touch(who.token_id, now=now)
        until = now + CACHE_TTL if expires_at is None else min(now + CACHE_TTL, expires_at)
        with self._lock:
            if len(self._cache) >= CACHE_MAX:
                self._cache.clear()
            self._cache[digest] = _Cached(who, until)
        return who

    def _lookup(
        self, prefix: str, digest: str, now: datetime
    ) -> tuple[Authenticated, datetime | None] | None:
        found = None
        for candidate in self.store.candidates(prefix):
            if hmac.compare_digest(candidate.key_hash, digest):
                found = (Authenticated(candidate.user_id, candidate.id), candidate.expires_at)
        if found is not None and found[1] is not None and now >= found[1]:
            return None  # expired
        return found

    def _forget(self, match: Callable[[Authenticated], bool]) -> None:
        with self._lock:
            for digest, cached in list(self._cache.items()):
                if match(cached.who):
                    del self._cache[digest]


def _check_username(username: str) -> None:
    if not username or len(username) > USERNAME_MAX_CHARS or username != username.strip():
        raise InvalidCredentials(
            f"a username is 1 to {USERNAME_MAX_CHARS} characters, without surrounding spaces"
        )


def _check_password(password: str) -> None:
    if len(password) < PASSWORD_MIN_CHARS:
        raise InvalidCredentials(f"a password needs at least {PASSWORD_MIN_CHARS} characters")
