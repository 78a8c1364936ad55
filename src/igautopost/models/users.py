"""Users of the HTTP API and their API tokens, as the auth service and the stores see them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class User:
    id: int
    username: str
    created_at: datetime


@dataclass(frozen=True)
class DeletedUser:
    """A deleted user and how many of their rows went with them."""

    user: User
    posts: int
    accounts: int
    tokens: int


@dataclass(frozen=True)
class ApiToken:
    """What may be shown about a token: never the key, nor its hash."""

    id: int
    user_id: int
    username: str
    prefix: str
    created_at: datetime
    last_used_at: datetime | None
    reusable: bool  # issued by the token endpoint, which hands it out again
    expires_at: datetime | None = None  # None: until revoked


@dataclass(frozen=True)
class TokenCandidate:
    """A stored token whose prefix matches a presented key: compare `key_hash` to decide."""

    id: int
    user_id: int
    key_hash: str
    expires_at: datetime | None = None
