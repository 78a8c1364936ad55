"""The accounts of an `InMemoryStore`: an `AccountStore` in memory, tokens encrypted at rest.

It mirrors `sql.accounts.SqlAccountStore` (the contract suite checks both): one account per
(owner, IG user id), owner 0 standing for the local operator; a changed token or health is
written only while the stored token is still the `expected` one; storing a working token
makes the account's posts that waited for one due at once.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from contextlib import suppress
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal, overload

from ...crypto import TokenCipher
from ...errors import AccountExists, AccountNotFound
from ...models import (
    LOCAL_OWNER,
    Account,
    Credentials,
    Health,
    Login,
    Status,
    guess_login,
    owner_key,
)

if TYPE_CHECKING:
    from .tables import Tables

TOKEN_ERROR_CODES = (190, 102)


@dataclass(frozen=True)
class _Stored:
    account: Account
    ciphertext: str


@dataclass
class _Accounts:
    rows: dict[tuple[int, str], _Stored] = field(default_factory=dict)
    last_id: int = 0


class InMemoryAccountStore:
    """Instagram accounts of an `InMemoryStore`, under the store's lock."""

    def __init__(self, tables: Tables, cipher: TokenCipher) -> None:
        self._tables = tables
        self._lock: threading.RLock = tables.lock
        self._cipher = cipher
        self._accounts = _Accounts()

    # -- reading ---------------------------------------------------------------------------

    def get(self, owner_id: int | None, ig_user_id: str) -> Account:
        found = self.find(owner_id, ig_user_id)
        if found is None:
            raise AccountNotFound(ig_user_id)
        return found

    def find(self, owner_id: int | None, ig_user_id: str) -> Account | None:
        with self._lock:
            stored = self._accounts.rows.get((owner_key(owner_id), ig_user_id))
        return None if stored is None else stored.account

    def list_accounts(self, owner_id: int | Literal["all"] | None = "all") -> list[Account]:
        with self._lock:
            keys = sorted(self._accounts.rows)
            if owner_id != "all":
                keys = [key for key in keys if key[0] == owner_key(owner_id)]
            return [self._accounts.rows[key].account for key in keys]

    def credentials(
        self, owner_id: int | None, ig_user_id: str, *, fresh: bool = False
    ) -> Credentials | None:
        """The account and its token (always fresh: no other process changes it)."""
        with self._lock:
            stored = self._accounts.rows.get((owner_key(owner_id), ig_user_id))
        if stored is None:
            return None
        token = self._cipher.decrypt(stored.ciphertext)
        return Credentials(stored.account, token, stored.ciphertext)

    def token(self, owner_id: int | None, ig_user_id: str) -> str:
        found = self.credentials(owner_id, ig_user_id)
        if found is None:
            raise AccountNotFound(ig_user_id)
        return found.token

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
        """Store the account with a working token; `AccountExists` unless `replace`. Its
        posts waiting for a reconnection are due again at once."""
        now = _utc(now)
        values: dict[str, Any] = {
            "token_stored_at": now,
            "expires_at": _utc(expires_at),
            "login": login,
            "health": Health.OK,
            "health_reason": None,
            "warned_at": None,
        }
        if username is not None:
            values["username"] = username
        ciphertext = self._cipher.encrypt(token)
        key = (owner_key(owner_id), ig_user_id)
        with self._lock:
            stored = self._accounts.rows.get(key)
            if stored is not None and not replace:
                raise AccountExists(ig_user_id)
            account = self._updated(stored, key, values, now)
            self._accounts.rows[key] = _Stored(account, ciphertext)
            self._resume(owner_id, ig_user_id, now)
        return account

    def _updated(
        self, stored: _Stored | None, key: tuple[int, str], values: dict[str, Any], now: datetime
    ) -> Account:
        if stored is not None:
            return replace(stored.account, **values)
        self._accounts.last_id += 1
        blank = {"username": None, "last_refresh_at": None, "checked_at": None}
        owner = None if key[0] == LOCAL_OWNER else key[0]
        return Account(
            id=self._accounts.last_id,
            owner_id=owner,
            ig_user_id=key[1],
            created_at=now,
            **(blank | values),
        )

    def attach(
        self, pairs: Iterable[tuple[int | None, str, str]], *, now: datetime
    ) -> dict[str, str]:
        """An account record for each post's (owner, account, token) that has none; an
        existing account's token is never replaced. The ciphertexts of the tokens that are
        their account's, for the posts to reuse (see `SqlAccountStore.attach`)."""
        latest = {(owner_key(o), account): token for o, account, token in pairs}
        ciphertexts: dict[str, str] = {}
        for (owner, account), token in latest.items():
            found = self.credentials(owner, account)
            if found is not None:
                if found.token == token:
                    ciphertexts[token] = found.ciphertext
                continue
            with suppress(AccountExists):
                self.put(owner, account, token, now=now, login=guess_login(token))
        return ciphertexts

    def remove(self, owner_id: int | None, ig_user_id: str) -> Account:
        with self._lock:
            account = self.get(owner_id, ig_user_id)
            del self._accounts.rows[(owner_key(owner_id), ig_user_id)]
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
        """Keep a refreshed token, unless another token was stored meanwhile."""
        now = _utc(now)
        values = {
            "token_stored_at": now,
            "last_refresh_at": now,
            "expires_at": _utc(expires_at),
            "checked_at": now,
        }
        return self._set(account, values, expected, ciphertext=self._cipher.encrypt(token))

    def mark_needs_reconnect(
        self, account: Account, reason: str, *, expected: str, now: datetime
    ) -> bool:
        """Record that the token stopped working, unless a new one was stored meanwhile;
        True if this call changed the account's health."""
        if account.needs_reconnect:
            return False
        values = {
            "health": Health.NEEDS_RECONNECT,
            "health_reason": reason,
            "checked_at": _utc(now),
        }
        return self._set(account, values, expected, health=Health.OK)

    def mark_ok(self, account: Account, *, expected: str, now: datetime) -> bool:
        """The token works (again); posts waiting for it are due at once."""
        values = {"health": Health.OK, "health_reason": None, "checked_at": _utc(now)}
        with self._lock:
            done = self._set(account, values, expected)
            if done and account.needs_reconnect:
                self._resume(account.owner_id, account.ig_user_id, _utc(now))
        return done

    def set_times(self, account: Account, **times: datetime | None) -> None:
        """Update `checked_at` / `warned_at` bookkeeping."""
        key = (owner_key(account.owner_id), account.ig_user_id)
        with self._lock:
            stored = self._accounts.rows.get(key)
            if stored is not None:
                values: dict[str, Any] = {k: _utc(v) for k, v in times.items()}
                changed = replace(stored.account, **values)
                self._accounts.rows[key] = _Stored(changed, stored.ciphertext)

    def _set(
        self,
        account: Account,
        values: dict[str, Any],
        expected: str,
        *,
        health: Health | None = None,
        ciphertext: str | None = None,
    ) -> bool:
        key = (owner_key(account.owner_id), account.ig_user_id)
        with self._lock:
            stored = self._accounts.rows.get(key)
            if stored is None or stored.ciphertext != expected:
                return False
            if health is not None and stored.account.health is not health:
                return False
            changed = replace(stored.account, **values)
            self._accounts.rows[key] = _Stored(changed, ciphertext or stored.ciphertext)
            return True

    def _resume(self, owner_id: int | None, ig_user_id: str, now: datetime) -> None:
        """Posts of the account waiting for a working token: due now, the reason cleared."""
        owner = None if owner_id in (None, LOCAL_OWNER) else owner_id
        for row in self._tables.posts.values():
            if (
                row["owner_id"] == owner
                and row["account"] == ig_user_id
                and Status(row["status"]).is_active
                and row["error_code"] in TOKEN_ERROR_CODES
            ):
                row.update(
                    next_attempt_at=now, error_code=None, error_subcode=None, error_message=None
                )
                detail = f"account {ig_user_id} has a working token again: resuming"
                self._tables.log(row["id"], now, row["status"], row["status"], detail)


@overload
def _utc(value: datetime) -> datetime: ...
@overload
def _utc(value: None) -> None: ...
def _utc(value: datetime | None) -> datetime | None:
    """Times as stored: aware UTC; a naive one is refused, as `SqlStore` does."""
    if value is not None and value.tzinfo is None:
        raise ValueError("naive datetime given to the store: times must be timezone-aware")
    return None if value is None else value.astimezone(UTC)
