"""Instagram accounts: registering a token, checking and refreshing it, and what the
publisher does when a token stops working.

An account is stored once per (owner, IG user id) with its long-lived token, encrypted
(`igautopost.storage.sql.accounts`). Posts name the account; the publisher reads its token at
every step. A token that Instagram refuses (Graph error 190 or 102) marks the account as
needing reconnection: its posts wait instead of failing (`igautopost.engine.tokens`), and
continue as soon as a working token is stored in its place (`Accounts.add` with
``replace=True``). Messages here name the account and the reason, never a command: the CLI
and the HTTP API say what to do in their own words.

A post sent with its own token (the old form) is published with that token while Instagram
accepts it, then with its account's; a post's token never replaces the account's stored
token, and marks the account only when it is that same token (see docs/security.md).

>>> accounts = Accounts(store.accounts, client, clock)                    # doctest: +SKIP
>>> accounts.add(None, "17841400000000000", token, login="instagram")     # doctest: +SKIP
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from ..clock import Clock
from ..errors import TokenNotRefreshable
from ..graph.client import GraphClient
from ..graph.errors import GraphError, TokenInvalid
from ..graph.responses import PublishingLimit
from ..models import Account, Credentials, Login, guess_login
from ..storage.protocols import AccountStore

log = logging.getLogger("igautopost.accounts.service")


def reconnect_message(account: Account | str, reason: str | None) -> str:
    """What an operator reads: which account, why, and that its posts wait."""
    ig_user_id = account if isinstance(account, str) else account.ig_user_id
    why = f" ({reason})" if reason else ""
    return (
        f"account {ig_user_id} needs reconnecting{why}: its posts wait until a working token "
        "is stored in its place"
    )


@dataclass(frozen=True)
class AccountCheck:
    """What `Accounts.check` learned: the token works, and the publishing quota."""

    account: Account
    limit: PublishingLimit


class Accounts:
    """Account operations the CLI and the HTTP API share."""

    def __init__(
        self,
        store: AccountStore,
        client: GraphClient,
        clock: Clock,
        *,
        app_id: str | None = None,
        app_secret: str | None = None,
        instagram_base_url: str | None = None,
    ) -> None:
        self.store = store
        self.client = client
        self.clock = clock
        self.app_id = app_id
        self.app_secret = app_secret
        self.instagram_base_url = instagram_base_url

    def add(
        self,
        owner_id: int | None,
        ig_user_id: str,
        token: str,
        *,
        login: Login | None = None,
        username: str | None = None,
        exchange: bool = False,
        replace: bool = False,
    ) -> Account:
        """Store the account's token; with `exchange` (and an app secret configured), trade a
        short-lived token for a long-lived one first."""
        login = login or guess_login(token)
        now = self.clock.now()
        expires_at = None
        if exchange:
            token, expires_at = self._exchange(token, login, now)
        return self.store.put(
            owner_id,
            ig_user_id,
            token,
            now=now,
            login=login,
            username=username,
            expires_at=expires_at,
            replace=replace,
        )

    def _exchange(self, token: str, login: Login, now: datetime) -> tuple[str, datetime | None]:
        if not self.app_secret:
            raise ValueError("exchanging a token needs IGAUTOPOST_APP_SECRET (and _APP_ID)")
        found = self.client.exchange_token(
            token, app_id=self.app_id, app_secret=self.app_secret, login=login
        )
        expires = now + timedelta(seconds=found.expires_in) if found.expires_in else None
        return found.access_token.get_secret_value(), expires

    def check(self, owner_id: int | None, ig_user_id: str) -> AccountCheck:
        """Call the API with the stored token and read the publishing quota; a refused token
        marks the account as needing reconnection, a working one as healthy again."""
        found = self._credentials(owner_id, ig_user_id)
        now = self.clock.now()
        try:
            limit = self.client.publishing_limit(
                ig_user_id, token=found.token, host=api_host(found, self.instagram_base_url)
            )
        except TokenInvalid as exc:
            mark_needs_reconnect(self.store, found, describe_token_error(exc), now)
            raise
        self.store.mark_ok(found.account, expected=found.ciphertext, now=now)
        return AccountCheck(self.store.get(owner_id, ig_user_id), limit)

    def refresh(self, owner_id: int | None, ig_user_id: str) -> Account:
        """Refresh an Instagram Login token now (it must be at least 24 h old)."""
        found = self._credentials(owner_id, ig_user_id)
        refresh_token(self.store, self.client, found, self.clock.now())
        return self.store.get(owner_id, ig_user_id)

    def _credentials(self, owner_id: int | None, ig_user_id: str) -> Credentials:
        found = self.store.credentials(owner_id, ig_user_id)
        if found is None:
            self.store.get(owner_id, ig_user_id)  # raises AccountNotFound
            raise AssertionError("unreachable")
        return found


def refresh_token(
    store: AccountStore, client: GraphClient, found: Credentials, now: datetime
) -> None:
    """Trade the account's Instagram Login token for a fresh one (60 more days)."""
    if found.account.login != "instagram":
        raise TokenNotRefreshable(found.account.ig_user_id)
    try:
        fresh = client.refresh_token(found.token)
    except TokenInvalid as exc:
        mark_needs_reconnect(store, found, describe_token_error(exc), now)
        raise
    expires = now + timedelta(seconds=fresh.expires_in) if fresh.expires_in else None
    token = fresh.access_token.get_secret_value()
    store.store_refreshed(
        found.account, token, expected=found.ciphertext, now=now, expires_at=expires
    )
    log.info(
        "account %s: token refreshed; expires %s",
        found.account.ig_user_id,
        f"{expires:%Y-%m-%d}" if expires else "never",
    )


def describe_token_error(exc: GraphError) -> str:
    code = f"Graph error {exc.code}" + (f"/{exc.subcode}" if exc.subcode else "")
    return f"{exc.user_message or exc.message} ({code})"


def mark_needs_reconnect(
    store: AccountStore, found: Credentials, reason: str, now: datetime
) -> None:
    """Record a refused token once, with one warning that names the account and why."""
    if store.mark_needs_reconnect(found.account, reason, expected=found.ciphertext, now=now):
        log.warning("%s", reconnect_message(found.account, reason))


def api_host(found: Credentials, instagram_base_url: str | None) -> str | None:
    """The API host the account's calls must go to: the Instagram Login host when the
    account logged in that way, else None (the client's default host)."""
    if found.account.login == "instagram" and instagram_base_url:
        return instagram_base_url
    return None
