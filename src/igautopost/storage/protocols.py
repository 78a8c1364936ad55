"""What the rest of igautopost needs from storage: the protocols it is typed to.

The store is the truth (docs/architecture.md): every status change, container id and publish
attempt is written here before anything acts on it. Two implementations keep these
promises and one contract suite (tests/storage/test_store_contract.py) checks both:
`SqlStore` (SQLite by default, PostgreSQL at scale; `storage.sql`) and `InMemoryStore`
(`storage.memory`, for tests and experiments in one process).

- `PostStore`: posts and their events, as the library, the CLI and the HTTP API see them.
- `ClaimStore`: what the engine needs to take a due post, save a step and let it go, under a
  lease that names the process holding it.
- `AccountStore`: Instagram accounts and their tokens, encrypted at rest.
- `UserStore`: users of the HTTP API and their API tokens (hashes only).
- `Store`: a `PostStore` and a `ClaimStore` with its `accounts`: what the engine, the posts
  functions and the HTTP API are given.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal, Protocol

from ..crypto import TokenCipher
from ..models import (
    Account,
    ApiToken,
    Credentials,
    DeletedUser,
    Event,
    Login,
    Post,
    PostSpec,
    Status,
    TokenCandidate,
    User,
)

ZERO = timedelta(0)


@dataclass(frozen=True)
class PostQuery:
    """Filters for `PostStore.list`; every field narrows the result, None means any."""

    statuses: frozenset[Status] | None = None
    account: str | None = None
    owner_id: int | None = None
    publish_from: datetime | None = None
    publish_until: datetime | None = None
    limit: int | None = None
    offset: int = 0
    # Keyset paging: only posts after this (publish time, id), in the list's own order, so
    # that a page costs the same however deep it is.
    after: tuple[datetime, int] | None = None


@dataclass(frozen=True)
class Budget:
    """How many failed logins a window allows: per address and username, and per address."""

    window: timedelta
    per_pair: int
    per_address: int


@dataclass(frozen=True)
class QuotaSlot:
    """One account's publishing quota as last read from Instagram: `usage` of `total` at
    `read_at`. A store reserves a slot against it for every process at once."""

    account: str
    usage: int
    total: int
    read_at: datetime


@dataclass(frozen=True)
class MediaUse:
    """A post that uses a media copy (`PostStore.media_uses`): what the served route and the
    pruner decide on. `updated_at` is when its status last changed, for the grace period."""

    post_id: int
    status: Status
    updated_at: datetime


@dataclass(frozen=True)
class PostsInSpan:
    """The posts of one span of time (`PostStore.spans`): how many match, and the first few
    of them by publish time, then id."""

    start: datetime  # included
    end: datetime  # excluded
    total: int
    first: builtins.list[Post]


class PendingPosts(Protocol):
    """Posts whose rows are made, to be stored by `store` (`PostStore.prepare_add`)."""

    def store(self) -> builtins.list[Post]:
        """Store them as `PostStore.add` would, all or none; the posts with their ids."""
        ...


class PostStore(Protocol):
    """Posts and their history."""

    def prepare_add(
        self,
        specs: Sequence[PostSpec],
        *,
        now: datetime,
        owner_id: int | None = None,
        prepare_at: Sequence[datetime] | None = None,
        ciphertexts: Mapping[str, str] | None = None,
    ) -> PendingPosts:
        """`add` in two steps: the posts' rows are made now (the token encrypted, the post
        as JSON) and stored by the result's `store`, so that a writer holding the write
        gate spends it on the inserts only (`igautopost.posts.plan_schedule`)."""
        ...

    def add(
        self,
        specs: Sequence[PostSpec],
        *,
        now: datetime,
        owner_id: int | None = None,
        prepare_at: Sequence[datetime] | None = None,
        ciphertexts: Mapping[str, str] | None = None,
    ) -> builtins.list[Post]:
        """Store all posts as scheduled in one transaction: all or nothing. `ciphertexts`
        maps a post's token to its encrypted form, when the caller encrypted it already."""
        ...

    def add_many(
        self,
        specs: Iterable[PostSpec],
        *,
        now: datetime,
        owner_id: int | None = None,
        prepare_at: Callable[[PostSpec], datetime] | None = None,
    ) -> builtins.list[int]:
        """`add` for more posts than memory should hold: the specs are consumed as they
        come and written in chunks, all in one transaction, and only their ids come back.
        An exception raised by `specs` stores none of them. Each post is first due at
        `prepare_at(spec)`, by default its publish time."""
        ...

    def get(self, post_id: int, *, owner_id: int | None = None) -> Post:
        """One post; `PostNotFound` if missing or owned by someone else."""
        ...

    def list(self, query: PostQuery) -> builtins.list[Post]:
        """Posts matching `query`, by publish time, then id."""
        ...

    def post_documents(self, query: PostQuery) -> Iterable[dict[str, Any]]:
        """`list` as JSON-ready documents (`storage.sql.documents.post_document`, what the
        CLI's `--json` writes), read as they are consumed: a store may build them from its
        rows without the `Post`s, a page at a time, however many match (issue 14)."""
        ...

    def spans(
        self, query: PostQuery, bounds: Sequence[datetime], *, first: int
    ) -> builtins.list[PostsInSpan]:
        """The posts matching `query` in each span ``[bounds[i], bounds[i + 1])``: how many,
        and the first `first` of them. One read, and only the shown posts are built, however
        many a span holds: a calendar's days, with hundreds of posts on one (issue 17).
        `bounds` are increasing; the query's own publish_from/publish_until narrow further."""
        ...

    def events(self, post_id: int) -> builtins.list[Event]:
        """A post's history, oldest first."""
        ...

    def transition(
        self,
        post_id: int,
        to: Status,
        *,
        now: datetime,
        detail: str = "",
        expect: frozenset[Status] | None = None,
        changes: Mapping[str, Any] | None = None,
        check: Callable[[Post], None] | None = None,
    ) -> Post:
        """Change a post's status (and columns) and log the event, atomically.

        With `expect`, the change happens only while the status is one of those, else
        `InvalidTransition`; `check` sees the post inside the same write and may raise to
        refuse it (editability rules).
        """
        ...

    def counts(self, *, owner_id: int | None = None) -> dict[str, int]:
        """How many posts are in each status."""
        ...

    def similar_posts(
        self,
        account: str,
        fingerprints: Iterable[str],
        start: datetime,
        end: datetime,
        *,
        limit: int | None = None,
    ) -> builtins.list[tuple[int, datetime, str]]:
        """(id, publish time, fingerprint) of the account's active posts due in [start, end]
        whose `PostSpec.content_fingerprint` is one of these, at most `limit` of them: the
        near-duplicate warning's lookup, whose cost must not depend on the other posts of
        that hour (nor, with `limit`, on how many copies of this one it holds)."""
        ...

    def media_uses(self, keys: Iterable[str]) -> dict[str, builtins.list[MediaUse]]:
        """The posts that use each of these media copies (`PostSpec.media_file` and its
        carousel items'), by post id; a key no post uses is left out. One indexed lookup per
        key, whatever else is stored: the served route asks on every fetch."""
        ...

    def client_keys(
        self, account: str, keys: Iterable[str], *, owner_id: int | None = None
    ) -> dict[str, int]:
        """The posts already stored under these client keys (idempotent scheduling)."""
        ...

    def access_token(self, post_id: int) -> str | None:
        """The token a post was stored with, decrypted; None when it names a stored account."""
        ...

    def token_of(self, post: Post) -> str | None:
        """`access_token` of a post already loaded."""
        ...

    def ping(self) -> None:
        """Raise when the store cannot be reached."""
        ...

    def close(self) -> None: ...


class ClaimStore(Protocol):
    """The engine's side: claims under a lease, steps saved only while the lease is held."""

    def claim(
        self,
        post_id: int,
        *,
        owner: str,
        now: datetime,
        lease: timedelta,
        ahead: timedelta = ZERO,
        hold: timedelta = ZERO,
    ) -> Post | None:
        """Take one post if it is due (within `ahead`) and nobody holds it; None otherwise.
        The returned post's `publish_marked` says whether this claim marked a publish."""
        ...

    def claim_many(
        self,
        post_ids: Sequence[int],
        *,
        owner: str,
        now: datetime,
        lease: timedelta,
        ahead: timedelta = ZERO,
        hold: timedelta = ZERO,
    ) -> builtins.list[Post]: ...

    def claim_due(
        self,
        *,
        owner: str,
        now: datetime,
        lease: timedelta,
        limit: int,
        ahead: timedelta = ZERO,
        hold: timedelta = ZERO,
    ) -> builtins.list[Post]:
        """Take up to `limit` due posts nobody holds, earliest first."""
        ...

    def due_by(
        self, until: datetime, *, limit: int, ahead: timedelta = ZERO
    ) -> builtins.list[tuple[int, datetime]]:
        """(id, due time) of posts due by `until`, earliest first, claimed or not."""
        ...

    def next_due(self, now: datetime, ahead: timedelta = ZERO) -> datetime | None:
        """When the next post is due (in the past when one is overdue); None when none is."""
        ...

    def save_step(
        self,
        post: Post,
        to: Status,
        *,
        owner: str,
        now: datetime,
        changes: Mapping[str, Any],
        detail: str,
        next_occurrence: tuple[datetime, datetime] | None = None,
    ) -> bool:
        """Save a step's outcome and let the lease go, only while `owner` holds it."""
        ...

    def save_progress(self, post: Post, *, owner: str, changes: Mapping[str, Any]) -> bool:
        """Save columns mid-step (a container id), keeping the lease."""
        ...

    def renew_leases(self, post_ids: Sequence[int], *, owner: str, until: datetime) -> int: ...

    def hold_lease(
        self, post_id: int, *, owner: str, claimed_at: datetime | None, until: datetime
    ) -> bool:
        """Extend the lease of the claim made at `claimed_at`; False when it was lost."""
        ...

    def release(self, post_id: int, *, owner: str) -> None: ...

    def published_since(self, account: str, since: datetime) -> builtins.list[datetime]:
        """Publish times of the account's posts since `since`, oldest first."""
        ...

    def recorded_media(self, account: str, *, since: datetime) -> set[str]:
        """Media ids already recorded for the account's posts published since `since`."""
        ...

    def reserve_quota(
        self, post_id: int, slot: QuotaSlot, *, owner: str, now: datetime, until: datetime
    ) -> bool:
        """Hold one of the account's publishing slots for this post until `until`, for every
        process at once: True when `slot.usage`, the posts published since `slot.read_at`
        and the slots held by other posts leave room under `slot.total`."""
        ...

    def free_quota(self, post_id: int) -> None:
        """Give back the post's slot (a publish that went through counts as published)."""
        ...


class AccountStore(Protocol):
    """Instagram accounts, one per (owner, IG user id), each with its token encrypted."""

    def get(self, owner_id: int | None, ig_user_id: str) -> Account: ...

    def find(self, owner_id: int | None, ig_user_id: str) -> Account | None: ...

    def list_accounts(
        self, owner_id: int | Literal["all"] | None = "all"
    ) -> builtins.list[Account]: ...

    def credentials(
        self, owner_id: int | None, ig_user_id: str, *, fresh: bool = False
    ) -> Credentials | None: ...

    def token(self, owner_id: int | None, ig_user_id: str) -> str: ...

    def put(
        self,
        owner_id: int | None,
        ig_user_id: str,
        token: str,
        *,
        now: datetime,
        login: Login,
        username: str | None = None,
        expires_at: datetime | None = None,
        replace: bool = False,
    ) -> Account: ...

    def attach(
        self, pairs: Iterable[tuple[int | None, str, str]], *, now: datetime
    ) -> dict[str, str]: ...

    def remove(self, owner_id: int | None, ig_user_id: str) -> Account: ...

    def store_refreshed(
        self,
        account: Account,
        token: str,
        *,
        expected: str,
        now: datetime,
        expires_at: datetime | None,
    ) -> bool: ...

    def mark_needs_reconnect(
        self, account: Account, reason: str, *, expected: str, now: datetime
    ) -> bool: ...

    def mark_ok(self, account: Account, *, expected: str, now: datetime) -> bool: ...

    def set_times(self, account: Account, **times: datetime | None) -> None: ...


class Store(PostStore, ClaimStore, Protocol):
    """Posts, claims and the accounts they name: what the engine and the services use."""

    @property
    def cipher(self) -> TokenCipher: ...

    @property
    def accounts(self) -> AccountStore: ...


class LoginFailures(Protocol):
    """Failed logins counted per (username, address) and per address, shared by every
    process that serves the API."""

    def count(
        self, username: str, address: str, *, now: datetime, budget: Budget
    ) -> datetime | None:
        """Count a failure and return None; or, when the budget is used up, count nothing
        and return when another attempt is allowed."""
        ...

    def forgive(self, username: str, address: str, *, counted_at: datetime) -> None: ...

    def failures(self, username: str, address: str) -> int: ...


class UserStore(Protocol):
    """Users of the HTTP API and their API tokens (hashes; a reusable key encrypted)."""

    def add_user(self, username: str, password_hash: str, *, now: datetime) -> User: ...

    def user(self, username: str) -> User: ...

    def password_hash(self, username: str) -> tuple[User, str] | None: ...

    def users(self) -> builtins.list[User]: ...

    def set_password_hash(self, username: str, password_hash: str) -> None: ...

    def delete_user(
        self, username: str, *, now: datetime, with_posts_and_accounts: bool = False
    ) -> DeletedUser: ...

    def add_token(
        self,
        user_id: int,
        *,
        key_hash: str,
        prefix: str,
        now: datetime,
        key_ciphertext: str | None = None,
        expires_at: datetime | None = None,
    ) -> int: ...

    def tokens(self, user_id: int | None = None) -> builtins.list[ApiToken]: ...

    def revoke(self, token_id: int) -> None: ...

    def reusable_key(self, user_id: int) -> str | None: ...

    def candidates(self, prefix: str) -> builtins.list[TokenCandidate]: ...

    def touch(self, token_id: int, *, now: datetime) -> None: ...

    def login_failures(self) -> LoginFailures:
        """Where the login throttle counts, next to the users."""
        ...
