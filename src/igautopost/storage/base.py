"""The `Store` protocol: where posts and their history live. The store is the truth."""

from __future__ import annotations

import builtins
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

import sqlalchemy as sa

from ..models import Event, Post, PostSpec, Status


def sqlite_file(url: str | sa.URL) -> str | None:
    """The database file a SQLite URL names; None for an in-memory database or another
    database system."""
    parsed = sa.engine.make_url(url)
    database = parsed.database
    if parsed.get_backend_name() != "sqlite" or not database:
        return None
    if database == ":memory:" or database.startswith("file::memory:"):
        return None
    return database


@dataclass(frozen=True)
class PostQuery:
    """Filters for `Store.list`; every field narrows the result, None means any."""

    statuses: frozenset[Status] | None = None
    account: str | None = None
    owner_id: int | None = None
    publish_from: datetime | None = None
    publish_until: datetime | None = None
    limit: int | None = None
    offset: int = 0


class Store(Protocol):
    def add(
        self,
        specs: Sequence[PostSpec],
        *,
        now: datetime,
        owner_id: int | None = None,
        prepare_at: Sequence[datetime] | None = None,
    ) -> builtins.list[Post]:
        """Store all posts as scheduled in one transaction: all or nothing."""
        ...

    def get(self, post_id: int, *, owner_id: int | None = None) -> Post:
        """One post; `PostNotFound` if missing or owned by someone else."""
        ...

    def list(self, query: PostQuery) -> builtins.list[Post]:
        """Posts matching `query`, by publish time."""
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
    ) -> Post:
        """Change a post's status (and columns) and log the event, atomically.

        With `expect`, the change happens only while the status is one of those, else
        `InvalidTransition`.
        """
        ...
