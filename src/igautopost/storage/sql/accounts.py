"""Instagram accounts and their long-lived tokens (encrypted), one per (owner, IG user id).

Plain SQLAlchemy Core on the `accounts` table (migration 0003). The token is encrypted with
the store's `TokenCipher` and leaves this module only through `credentials` and `token`,
which the publisher and the account commands use; `Account` never carries it.
Owner 0 stands for "no owner": the local operator's CLI and library use (posts whose
``owner_id`` is NULL).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from datetime import datetime
from typing import Any, Literal

import sqlalchemy as sa

from ...crypto import TokenCipher
from ...errors import AccountExists, AccountNotFound
from ...models import (
    ACTIVE_STATUS_VALUES,
    LOCAL_OWNER,
    Account,
    Credentials,
    Health,
    Login,
    guess_login,
    owner_key,
)
from .sqlite_writes import read_connection, write_transaction
from .tables import accounts, events, posts

TOKEN_ERROR_CODES = (190, 102)


_ACCOUNT_ROW = sa.select(accounts).where(
    accounts.c.owner_id == sa.bindparam("owner"),
    accounts.c.ig_user_id == sa.bindparam("ig_user_id"),
)


CREDENTIALS_TTL = 5.0  # seconds another process's change of an account may go unseen here


class SqlAccountStore:
    def __init__(self, engine: sa.Engine, cipher: TokenCipher) -> None:
        self.engine = engine
        self._cipher = cipher
        # Every publishing step needs its account's token; reading it from the database just
        # before the publish call cost a GIL round trip per thread in a burst. Writes made by
        # this process clear the cache; other processes' changes show within the TTL.
        self._credentials: dict[tuple[int, str], tuple[float, Credentials | None]] = {}
        self._cache_lock = threading.Lock()

    @contextmanager
    def _begin(self) -> Iterator[sa.Connection]:
        with self._cache_lock:
            self._credentials.clear()
        with write_transaction(self.engine) as conn:
            yield conn
        with self._cache_lock:
            self._credentials.clear()

    # -- reading ---------------------------------------------------------------------------

    def get(self, owner_id: int | None, ig_user_id: str) -> Account:
        row = self._row(owner_id, ig_user_id)
        if row is None:
            raise AccountNotFound(ig_user_id)
        return _account(row)

    def find(self, owner_id: int | None, ig_user_id: str) -> Account | None:
        row = self._row(owner_id, ig_user_id)
        return None if row is None else _account(row)

    def list_accounts(self, owner_id: int | Literal["all"] | None = "all") -> list[Account]:
        statement = sa.select(accounts).order_by(accounts.c.owner_id, accounts.c.ig_user_id)
        if owner_id != "all":
            statement = statement.where(accounts.c.owner_id == owner_key(owner_id))
        with read_connection(self.engine) as conn:
            return [_account(row._mapping) for row in conn.execute(statement)]

    def credentials(
        self, owner_id: int | None, ig_user_id: str, *, fresh: bool = False
    ) -> Credentials | None:
        """The account and its token; up to `CREDENTIALS_TTL` old unless `fresh`."""
        key = (owner_key(owner_id), ig_user_id)
        now = time.monotonic()
        with self._cache_lock:
            cached = self._credentials.get(key)
        if cached is not None and not fresh and now - cached[0] < CREDENTIALS_TTL:
            return cached[1]
        row = self._row(owner_id, ig_user_id)
        found = None
        if row is not None:
            ciphertext = row["token_ciphertext"]
            found = Credentials(_account(row), self._cipher.decrypt(ciphertext), ciphertext)
        with self._cache_lock:
            if len(self._credentials) > 10_000:
                self._credentials.clear()
            self._credentials[key] = (now, found)
        return found

    def token(self, owner_id: int | None, ig_user_id: str) -> str:
        found = self.credentials(owner_id, ig_user_id)
        if found is None:
            raise AccountNotFound(ig_user_id)
        return found.token

    def _row(self, owner_id: int | None, ig_user_id: str) -> Any:
        # Prebuilt: every post scheduled in the old form looks its account up.
        with read_connection(self.engine) as conn:
            row = conn.execute(
                _ACCOUNT_ROW, {"owner": owner_key(owner_id), "ig_user_id": ig_user_id}
            ).first()
        return None if row is None else row._mapping

    # -- writing ---------------------------------------------------------------------------

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
    ) -> Account:
        """Store the account with a working token (health ok); `AccountExists` unless
        `replace`. Its posts waiting for a reconnection are due again at once."""
        values: dict[str, Any] = {
            "token_ciphertext": self._cipher.encrypt(token),
            "token_stored_at": now,
            "expires_at": expires_at,
            "login": login,
            "health": Health.OK.value,
            "health_reason": None,
            "warned_at": None,
            "updated_at": now,
        }
        if username is not None:
            values["username"] = username
        try:
            self._write_account(owner_id, ig_user_id, values, replace=replace, now=now)
        except sa.exc.IntegrityError:  # stored concurrently: the newest token wins
            if not replace:
                raise AccountExists(ig_user_id) from None
            self._write_account(owner_id, ig_user_id, values, replace=True, now=now)
        return self.get(owner_id, ig_user_id)

    def attach(
        self, pairs: Iterable[tuple[int | None, str, str]], *, now: datetime
    ) -> dict[str, str]:
        """The old form: a post's (owner, account, token) gives the owner an account record
        with that token when it has none. An existing account's token is never replaced:
        the post is published with its own token, and a bad one must not break the
        account's other posts.

        Returns the ciphertext of each token that is its account's, for the posts to reuse."""
        latest = {(owner_key(o), account): token for o, account, token in pairs}
        ciphertexts: dict[str, str] = {}
        for (owner, account), token in latest.items():
            found = self.credentials(owner, account)
            if found is None:
                found = self.credentials(owner, account, fresh=True)
            if found is not None:
                if found.token == token:
                    ciphertexts[token] = found.ciphertext
                continue
            with suppress(AccountExists):  # stored meanwhile by another request: it stays
                self.put(owner, account, token, now=now, login=guess_login(token))
        return ciphertexts

    def _write_account(
        self,
        owner_id: int | None,
        ig_user_id: str,
        values: dict[str, Any],
        *,
        replace: bool,
        now: datetime,
    ) -> None:
        with self._begin() as conn:
            if self._exists(conn, owner_id, ig_user_id):
                if not replace:
                    raise AccountExists(ig_user_id)
                conn.execute(self._update(owner_id, ig_user_id).values(values))
            else:
                row = {"owner_id": owner_key(owner_id), "ig_user_id": ig_user_id, **values}
                conn.execute(accounts.insert().values(created_at=now, **row))
            self._resume(conn, owner_id, ig_user_id, now)

    def remove(self, owner_id: int | None, ig_user_id: str) -> Account:
        account = self.get(owner_id, ig_user_id)
        with self._begin() as conn:
            conn.execute(accounts.delete().where(accounts.c.id == account.id))
        return account

    def store_refreshed(
        self,
        account: Account,
        token: str,
        *,
        expected: str,
        now: datetime,
        expires_at: datetime | None,
    ) -> bool:
        """Keep a refreshed token, unless another token was stored meanwhile (`expected` is
        the ciphertext that was refreshed)."""
        values = {
            "token_ciphertext": self._cipher.encrypt(token),
            "token_stored_at": now,
            "last_refresh_at": now,
            "expires_at": expires_at,
            "checked_at": now,
            "updated_at": now,
        }
        return self._set(account, values, expected)

    def mark_needs_reconnect(
        self, account: Account, reason: str, *, expected: str, now: datetime
    ) -> bool:
        """Record that the token stopped working, unless a new one was stored meanwhile;
        True if this call changed the account's health."""
        if account.needs_reconnect:
            return False
        values = {
            "health": Health.NEEDS_RECONNECT.value,
            "health_reason": reason,
            "checked_at": now,
            "updated_at": now,
        }
        return self._set(account, values, expected, health=Health.OK)

    def mark_ok(self, account: Account, *, expected: str, now: datetime) -> bool:
        """The token works (again); posts waiting for it are due at once."""
        values = {"health": Health.OK.value, "health_reason": None, "checked_at": now}
        with self._begin() as conn:
            done = conn.execute(
                self._update(account.owner_id, account.ig_user_id)
                .where(accounts.c.token_ciphertext == expected)
                .values(values)
            ).rowcount
            if done and account.needs_reconnect:
                self._resume(conn, account.owner_id, account.ig_user_id, now)
        return bool(done)

    def set_times(self, account: Account, **times: datetime | None) -> None:
        """Update `checked_at` / `warned_at` bookkeeping."""
        with self._begin() as conn:
            conn.execute(self._update(account.owner_id, account.ig_user_id).values(times))

    def _set(
        self,
        account: Account,
        values: dict[str, Any],
        expected: str,
        health: Health | None = None,
    ) -> bool:
        statement = (
            self._update(account.owner_id, account.ig_user_id)
            .where(accounts.c.token_ciphertext == expected)
            .values(values)
        )
        if health is not None:
            statement = statement.where(accounts.c.health == health.value)
        with self._begin() as conn:
            return bool(conn.execute(statement).rowcount)

    def _exists(self, conn: sa.Connection, owner_id: int | None, ig_user_id: str) -> bool:
        statement = sa.select(accounts.c.id).where(
            accounts.c.owner_id == owner_key(owner_id), accounts.c.ig_user_id == ig_user_id
        )
        return conn.execute(statement).first() is not None

    @staticmethod
    def _update(owner_id: int | None, ig_user_id: str) -> sa.Update:
        statement: sa.Update = accounts.update().where(
            accounts.c.owner_id == owner_key(owner_id), accounts.c.ig_user_id == ig_user_id
        )
        return statement

    @staticmethod
    def _resume(conn: sa.Connection, owner_id: int | None, ig_user_id: str, now: datetime) -> None:
        """Posts of the account waiting for a working token: due now, the reason cleared."""
        owner = (
            posts.c.owner_id.is_(None)
            if owner_id in (None, LOCAL_OWNER)
            else (posts.c.owner_id == owner_id)
        )
        waiting = sa.and_(
            owner,
            posts.c.account == ig_user_id,
            posts.c.status.in_(ACTIVE_STATUS_VALUES),
            posts.c.error_code.in_(TOKEN_ERROR_CODES),
        )
        rows = conn.execute(sa.select(posts.c.id, posts.c.status).where(waiting)).all()
        if not rows:
            return
        conn.execute(
            posts.update()
            .where(posts.c.id.in_([r.id for r in rows]))
            .values(next_attempt_at=now, error_code=None, error_subcode=None, error_message=None)
        )
        conn.execute(
            events.insert(),
            [
                {
                    "post_id": r.id,
                    "at": now,
                    "from_status": r.status,
                    "to_status": r.status,
                    "detail": f"account {ig_user_id} has a working token again: resuming",
                }
                for r in rows
            ],
        )


def _account(row: Any) -> Account:
    owner = row["owner_id"]
    return Account(
        id=row["id"],
        owner_id=None if owner == LOCAL_OWNER else owner,
        ig_user_id=row["ig_user_id"],
        username=row["username"],
        login=row["login"],
        health=Health(row["health"]),
        health_reason=row["health_reason"],
        token_stored_at=row["token_stored_at"],
        expires_at=row["expires_at"],
        last_refresh_at=row["last_refresh_at"],
        checked_at=row["checked_at"],
        warned_at=row["warned_at"],
        created_at=row["created_at"],
    )
