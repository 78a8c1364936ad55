"""The tables, as SQLModel classes. Their schema is created and changed by Alembic migrations
(storage/sql/migrations), never by ``create_all``; a test checks the two agree."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel


class UTCDateTime(TypeDecorator[datetime]):
    """Stores naive UTC (portable across SQLite and PostgreSQL); returns aware UTC."""

    impl = sa.DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store: times must be timezone-aware")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


def _time(*, index: bool = False, nullable: bool = True) -> Any:
    return Field(default=None, sa_type=UTCDateTime, index=index, nullable=nullable)


def _partial(name: str, column: str) -> sa.Index:
    """(account, `column`) for the rows where `column` is set."""
    where = sa.text(f"{column} IS NOT NULL")
    return sa.Index(name, "account", column, sqlite_where=where, postgresql_where=where)


def _client_key_index(name: str, owners: str, *columns: str) -> sa.Index:
    where = sa.text(f"client_key IS NOT NULL AND {owners}")
    return sa.Index(
        name,
        *columns,
        "account",
        "client_key",
        unique=True,
        sqlite_where=where,
        postgresql_where=where,
    )


# SQLite reuses the highest id of a deleted row unless told not to; an owner id handed out
# twice would give the new user the deleted one's posts and accounts.
NEVER_REUSE_IDS = {"sqlite_autoincrement": True}


class PostRow(SQLModel, table=True):
    __tablename__ = "posts"

    id: int | None = Field(default=None, primary_key=True)
    owner_id: int | None = Field(default=None, index=True)
    account: str = Field(max_length=64)
    media_type: str = Field(max_length=16)
    status: str = Field(max_length=16)
    spec_json: str  # the PostSpec without its token
    token_ciphertext: str | None = None
    client_key: str | None = Field(default=None, max_length=200)
    fingerprint: str | None = Field(default=None, max_length=32)  # PostSpec.content_fingerprint
    publish_at: datetime = _time(nullable=False)
    next_attempt_at: datetime | None = _time()
    attempts: int = 0  # tries in the current status: polls, or retries after transient errors
    containers_created: int = 0
    lease_owner: str | None = Field(default=None, max_length=100)
    lease_until: datetime | None = _time()
    claimed_at: datetime | None = _time()
    container_id: str | None = Field(default=None, max_length=64)
    child_container_ids: str | None = None  # JSON array
    container_created_at: datetime | None = _time()
    publish_attempted_at: datetime | None = _time()
    # Whether the last claim stored the publish attempt itself (`Post.publish_marked`).
    claim_marked_publish: bool = Field(
        default=False,
        # no default of its own in INSERTs: rows written before migration 0006 work alike
        sa_column=sa.Column(sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    quota_held_until: datetime | None = _time()  # a publishing slot held (migration 0006)
    media_id: str | None = Field(default=None, max_length=64)
    permalink: str | None = None
    published_at: datetime | None = _time()
    comment_id: str | None = Field(default=None, max_length=64)
    comment_attempted_at: datetime | None = _time()
    error_code: int | None = None
    error_subcode: int | None = None
    error_message: str | None = None
    created_at: datetime = _time(nullable=False)
    updated_at: datetime = _time(nullable=False)

    __table_args__ = (
        sa.Index("ix_posts_due", "status", "next_attempt_at"),
        sa.Index("ix_posts_lease_until", "lease_until"),
        sa.Index("ix_posts_account_publish_at", "account", "publish_at"),
        sa.Index("ix_posts_account_fingerprint", "account", "fingerprint", "publish_at"),
        sa.Index("ix_posts_owner_publish_at", "owner_id", "publish_at", "id"),
        sa.Index("ix_posts_publish_at", "publish_at", "id"),
        # Partial: only the few posts holding a slot, or published, are in them, so that a
        # new post's INSERT (under SQLite's one write lock) does not write them.
        _partial("ix_posts_account_quota_held_until", "quota_held_until"),
        _partial("ix_posts_account_published_at", "published_at"),
        # A client key is the caller's: unique per owner and account, so that one user can
        # neither see nor block another's keys. Posts without an owner are the local operator's.
        _client_key_index("uq_posts_owner_account_client_key", "owner_id IS NOT NULL", "owner_id"),
        _client_key_index("uq_posts_local_account_client_key", "owner_id IS NULL"),
    )


class EventRow(SQLModel, table=True):
    __tablename__ = "post_events"

    id: int | None = Field(default=None, primary_key=True)
    post_id: int = Field(foreign_key="posts.id", index=True)
    at: datetime = _time(nullable=False)
    from_status: str | None = Field(default=None, max_length=16)
    to_status: str = Field(max_length=16)
    detail: str = ""


posts = PostRow.__table__  # type: ignore[attr-defined]
events = EventRow.__table__  # type: ignore[attr-defined]


class UserRow(SQLModel, table=True):
    """A person who may use the HTTP API; created by an operator (`igautopost user create`)."""

    __tablename__ = "users"
    __table_args__ = NEVER_REUSE_IDS

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=150, index=True, unique=True)
    password_hash: str  # argon2id, in the PHC string format
    created_at: datetime = _time(nullable=False)


class ApiTokenRow(SQLModel, table=True):
    """An API key, stored only as its SHA-256 hash; `prefix` lets people tell keys apart.

    `key_ciphertext` is kept (encrypted) only for the key the token endpoint issues, so that
    asking again returns the same working key, as Django REST Framework does."""

    __tablename__ = "api_tokens"
    __table_args__ = NEVER_REUSE_IDS

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="users.id", index=True)
    key_hash: str = Field(max_length=64, unique=True)
    prefix: str = Field(max_length=8, index=True)  # the key's first characters: the lookup
    key_ciphertext: str | None = None
    created_at: datetime = _time(nullable=False)
    last_used_at: datetime | None = _time()
    expires_at: datetime | None = _time()  # None: until revoked


users = UserRow.__table__  # type: ignore[attr-defined]
api_tokens = ApiTokenRow.__table__  # type: ignore[attr-defined]


class AccountRow(SQLModel, table=True):
    """An Instagram professional account and its long-lived token (encrypted), per owner.

    `owner_id` 0 is the local operator (CLI and library use, posts without an owner)."""

    __tablename__ = "accounts"

    id: int | None = Field(default=None, primary_key=True)
    owner_id: int = 0
    ig_user_id: str = Field(max_length=64)
    username: str | None = Field(default=None, max_length=150)
    login: str = Field(max_length=16)  # facebook | instagram: which API host and refresh rules
    token_ciphertext: str
    token_stored_at: datetime = _time(nullable=False)  # when this token was issued or stored
    expires_at: datetime | None = _time()
    last_refresh_at: datetime | None = _time()
    health: str = Field(max_length=32)  # ok | needs_reconnect
    health_reason: str | None = None
    checked_at: datetime | None = _time()
    warned_at: datetime | None = _time()  # the last expiry warning (Facebook Login tokens)
    created_at: datetime = _time(nullable=False)
    updated_at: datetime = _time(nullable=False)

    __table_args__ = (
        sa.Index("uq_accounts_owner_ig_user", "owner_id", "ig_user_id", unique=True),
        NEVER_REUSE_IDS,
    )


accounts = AccountRow.__table__  # type: ignore[attr-defined]


class LoginFailureRow(SQLModel, table=True):
    """Failed logins counted for the login throttle: one row per client address and username,
    and one per address alone (`username` ''), each for the window that began at
    `window_start`. Rows are shared by every server process on the database."""

    __tablename__ = "login_failures"

    address: str = Field(max_length=64, primary_key=True)
    username: str = Field(max_length=150, primary_key=True)
    failures: int
    window_start: datetime = _time(index=True, nullable=False)


login_failures = LoginFailureRow.__table__  # type: ignore[attr-defined]
