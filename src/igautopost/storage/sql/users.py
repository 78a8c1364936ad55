"""Users of the HTTP API and their API tokens, on the same database as the posts.

Plain SQLAlchemy Core: these are a handful of small rows, read on every request's cache
miss. Hashing and key generation live in `igautopost.auth.users`; this module only stores
what it is given.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa

from ...errors import Holdings, TokenNotFound, UserExists, UserHasData, UserNotFound
from ...models import ACTIVE_STATUS_VALUES, ApiToken, DeletedUser, TokenCandidate, User
from .logins import LoginFailureStore
from .sqlite_writes import write_transaction
from .tables import accounts, api_tokens, events, posts, users


class SqlUserStore:
    """The users and api_tokens tables (created by migration 0002); deleting a user also
    deletes their posts and accounts."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
        self._login_failures = LoginFailureStore(engine)

    def login_failures(self) -> LoginFailureStore:
        return self._login_failures

    # -- users -----------------------------------------------------------------------------

    def add_user(self, username: str, password_hash: str, *, now: datetime) -> User:
        try:
            with write_transaction(self.engine) as conn:
                result = conn.execute(
                    users.insert().values(
                        username=username, password_hash=password_hash, created_at=now
                    )
                )
        except sa.exc.IntegrityError:
            raise UserExists(username) from None
        return User(id=_new_id(result), username=username, created_at=now)

    def user(self, username: str) -> User:
        row = self._user_row(username)
        return User(id=row.id, username=row.username, created_at=row.created_at)

    def password_hash(self, username: str) -> tuple[User, str] | None:
        """The user and their password hash, or None when there is no such user."""
        try:
            row = self._user_row(username)
        except UserNotFound:
            return None
        return User(id=row.id, username=row.username, created_at=row.created_at), row.password_hash

    def users(self) -> list[User]:
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(users).order_by(users.c.username))
            return [User(id=r.id, username=r.username, created_at=r.created_at) for r in rows]

    def set_password_hash(self, username: str, password_hash: str) -> None:
        with write_transaction(self.engine) as conn:
            done = conn.execute(
                users.update()
                .where(users.c.username == username)
                .values(password_hash=password_hash)
            )
        if done.rowcount == 0:
            raise UserNotFound(username)

    def delete_user(
        self, username: str, *, now: datetime, with_posts_and_accounts: bool = False
    ) -> DeletedUser:
        """Delete the user with everything of theirs, in one transaction: their API tokens,
        their posts (with their event logs) and their Instagram accounts. Refused
        (`UserHasData`) while they have posts still to publish or accounts, unless
        `with_posts_and_accounts`: those posts are then deleted unpublished. Refused in any
        case while one of their posts is being published (a publish call may be in flight)."""
        with write_transaction(self.engine) as conn:
            found = conn.execute(
                sa.select(users).where(users.c.username == username).with_for_update()
            ).first()
            if found is None:
                raise UserNotFound(username)
            user = User(id=found.id, username=found.username, created_at=found.created_at)
            holdings = _holdings(conn, user.id, now)
            if holdings.publishing or (holdings.keeps_user and not with_posts_and_accounts):
                raise UserHasData(username, holdings)
            return _delete_everything(conn, user)

    def _user_row(self, username: str) -> Any:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(users).where(users.c.username == username)).first()
        if row is None:
            raise UserNotFound(username)
        return row

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
        with write_transaction(self.engine) as conn:
            result = conn.execute(
                api_tokens.insert().values(
                    user_id=user_id,
                    key_hash=key_hash,
                    prefix=prefix,
                    created_at=now,
                    key_ciphertext=key_ciphertext,
                    expires_at=expires_at,
                )
            )
        return _new_id(result)

    def tokens(self, user_id: int | None = None) -> list[ApiToken]:
        statement = (
            sa.select(api_tokens, users.c.username)
            .join(users, users.c.id == api_tokens.c.user_id)
            .order_by(api_tokens.c.id)
        )
        if user_id is not None:
            statement = statement.where(api_tokens.c.user_id == user_id)
        with self.engine.connect() as conn:
            return [
                ApiToken(
                    id=r.id,
                    user_id=r.user_id,
                    username=r.username,
                    prefix=r.prefix,
                    created_at=r.created_at,
                    last_used_at=r.last_used_at,
                    reusable=r.key_ciphertext is not None,
                    expires_at=r.expires_at,
                )
                for r in conn.execute(statement)
            ]

    def revoke(self, token_id: int) -> None:
        with write_transaction(self.engine) as conn:
            done = conn.execute(api_tokens.delete().where(api_tokens.c.id == token_id))
        if done.rowcount == 0:
            raise TokenNotFound(token_id)

    def reusable_key(self, user_id: int) -> str | None:
        """The encrypted key the token endpoint issued to this user, if it still exists."""
        statement = (
            sa.select(api_tokens.c.key_ciphertext)
            .where(api_tokens.c.user_id == user_id, api_tokens.c.key_ciphertext.is_not(None))
            .order_by(api_tokens.c.id.desc())
            .limit(1)
        )
        with self.engine.connect() as conn:
            value = conn.execute(statement).scalar_one_or_none()
        return str(value) if value is not None else None

    def candidates(self, prefix: str) -> list[TokenCandidate]:
        columns = (api_tokens.c.id, api_tokens.c.user_id, api_tokens.c.key_hash)
        statement = sa.select(*columns, api_tokens.c.expires_at).where(
            api_tokens.c.prefix == prefix
        )
        with self.engine.connect() as conn:
            return [
                TokenCandidate(r.id, r.user_id, r.key_hash, r.expires_at)
                for r in conn.execute(statement)
            ]

    def touch(self, token_id: int, *, now: datetime) -> None:
        """Record that the token was used (callers do this at most about once a minute)."""
        with write_transaction(self.engine) as conn:
            conn.execute(
                api_tokens.update().where(api_tokens.c.id == token_id).values(last_used_at=now)
            )


def _holdings(conn: sa.Connection, user_id: int, now: datetime) -> Holdings:
    mine = sa.and_(posts.c.owner_id == user_id, posts.c.status.in_(ACTIVE_STATUS_VALUES))
    in_flight = sa.and_(mine, posts.c.publish_attempted_at.is_not(None), posts.c.lease_until > now)
    count = sa.func.count()
    return Holdings(
        active_posts=conn.execute(sa.select(count).where(mine)).scalar_one(),
        accounts=conn.execute(sa.select(count).where(accounts.c.owner_id == user_id)).scalar_one(),
        publishing=conn.execute(sa.select(count).where(in_flight)).scalar_one(),
    )


def _delete_everything(conn: sa.Connection, user: User) -> DeletedUser:
    theirs = sa.select(posts.c.id).where(posts.c.owner_id == user.id)
    conn.execute(events.delete().where(events.c.post_id.in_(theirs)))
    deleted = DeletedUser(
        user=user,
        posts=conn.execute(posts.delete().where(posts.c.owner_id == user.id)).rowcount,
        accounts=conn.execute(accounts.delete().where(accounts.c.owner_id == user.id)).rowcount,
        tokens=conn.execute(api_tokens.delete().where(api_tokens.c.user_id == user.id)).rowcount,
    )
    conn.execute(users.delete().where(users.c.id == user.id))
    return deleted


def _new_id(result: sa.CursorResult[Any]) -> int:
    key = result.inserted_primary_key
    assert key is not None
    return int(key[0])
