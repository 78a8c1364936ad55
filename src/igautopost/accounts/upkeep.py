"""`AccountKeeper`: keeps every stored account's token alive, every few minutes.

- Instagram Login tokens are refreshed while valid, once at least 24 h old and when less than
  `refresh_when_left` of their life remains (or their expiry is unknown): well before expiry.
- Facebook Login tokens cannot be refreshed: a warning is logged ahead of their expiry,
  once a day, naming the command that stores a new one.
- A token past its expiry marks its account as needing reconnection without a call.
- An account that needs reconnection is probed now and then: a token that works again (a
  passing Meta glitch) resumes the account's posts.

Each pass is a pure decision per account (`decide`) on the injected clock, then the calls it
needs; the worker runs passes on a thread (`start`), tests call `run_once` on simulated time.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from ..clock import Clock
from ..graph.client import GraphClient
from ..graph.errors import GraphError, TokenInvalid
from ..models import Account, Credentials
from ..periodic import Periodic
from ..storage.protocols import AccountStore
from .service import (
    api_host,
    describe_token_error,
    mark_needs_reconnect,
    refresh_token,
)

log = logging.getLogger("igautopost.accounts.service")


class Chore(StrEnum):
    NOTHING = "nothing"
    REFRESH = "refresh"
    WARN = "warn"
    EXPIRE = "expire"
    PROBE = "probe"


@dataclass(frozen=True)
class KeeperPolicy:
    interval: timedelta = timedelta(minutes=5)
    refresh_min_age: timedelta = timedelta(hours=24)  # Instagram refuses younger tokens
    refresh_when_left: timedelta = timedelta(days=30)
    retry_refresh_after: timedelta = timedelta(hours=1)
    warn_before: timedelta = timedelta(days=7)
    warn_every: timedelta = timedelta(days=1)
    probe_every: timedelta = timedelta(minutes=30)


def decide(account: Account, now: datetime, policy: KeeperPolicy) -> Chore:
    """What the keeper should do about one account now."""
    if account.needs_reconnect:
        due = account.checked_at is None or now - account.checked_at >= policy.probe_every
        return Chore.PROBE if due else Chore.NOTHING
    if account.expires_at is not None and now >= account.expires_at:
        return Chore.EXPIRE
    if account.login == "instagram":
        return Chore.REFRESH if _refresh_due(account, now, policy) else Chore.NOTHING
    if account.expires_at is not None and account.expires_at - now <= policy.warn_before:
        quiet = account.warned_at is not None and now - account.warned_at < policy.warn_every
        return Chore.NOTHING if quiet else Chore.WARN
    return Chore.NOTHING


def _refresh_due(account: Account, now: datetime, policy: KeeperPolicy) -> bool:
    if now - account.token_stored_at < policy.refresh_min_age:
        return False
    if account.checked_at is not None and now - account.checked_at < policy.retry_refresh_after:
        return False  # the last attempt failed recently (or just succeeded)
    return account.expires_at is None or account.expires_at - now <= policy.refresh_when_left


class AccountKeeper:
    def __init__(
        self,
        store: AccountStore,
        client: GraphClient,
        clock: Clock,
        *,
        policy: KeeperPolicy | None = None,
        instagram_base_url: str | None = None,
    ) -> None:
        self.store = store
        self.client = client
        self.instagram_base_url = instagram_base_url
        self.clock = clock
        self.policy = policy or KeeperPolicy()
        self._periodic = Periodic(
            self.run_once,
            every=lambda: self.policy.interval.total_seconds(),
            name="igautopost-keeper",
            failure="account keeper pass failed",
            log=log,
        )

    def run_once(self) -> dict[str, Chore]:
        """One pass over every account; what was done, by IG user id (chores only)."""
        done: dict[str, Chore] = {}
        for account in self.store.list_accounts():
            chore = decide(account, self.clock.now(), self.policy)
            if chore is Chore.NOTHING:
                continue
            try:
                self._do(chore, account)
            except Exception:  # one account's trouble must not stop the others'
                log.exception("account %s: %s failed", account.ig_user_id, chore)
            done[account.ig_user_id] = chore
        return done

    def _do(self, chore: Chore, account: Account) -> None:
        found = self.store.credentials(account.owner_id, account.ig_user_id)
        if found is None:  # removed meanwhile
            return
        now = self.clock.now()
        if chore is Chore.EXPIRE:
            assert account.expires_at is not None
            reason = f"the token expired at {account.expires_at:%Y-%m-%d %H:%M} UTC"
            mark_needs_reconnect(self.store, found, reason, now)
        elif chore is Chore.WARN:
            self._warn(account, now)
        elif chore is Chore.REFRESH:
            self._refresh(found, now)
        else:
            self._probe(found, now)

    def _warn(self, account: Account, now: datetime) -> None:
        assert account.expires_at is not None
        days = max((account.expires_at - now) / timedelta(days=1), 0)
        log.warning(
            "account %s: its Facebook Login token expires in %.1f days (%s UTC) and cannot be "
            "refreshed: log in again and store the new token in its place",
            account.ig_user_id,
            days,
            f"{account.expires_at:%Y-%m-%d %H:%M}",
        )
        self.store.set_times(account, warned_at=now)

    def _refresh(self, found: Credentials, now: datetime) -> None:
        try:
            refresh_token(self.store, self.client, found, now)
        except TokenInvalid:
            return  # marked by refresh_token, with its warning
        except GraphError as exc:
            log.warning(
                "account %s: token refresh failed, will retry: %s",
                found.account.ig_user_id,
                exc.message,
            )
            self.store.set_times(found.account, checked_at=now)

    def _probe(self, found: Credentials, now: datetime) -> None:
        try:
            self.client.publishing_limit(
                found.account.ig_user_id,
                token=found.token,
                host=api_host(found, self.instagram_base_url),
            )
        except TokenInvalid as exc:
            log.debug(
                "account %s: token still refused (%s)",
                found.account.ig_user_id,
                describe_token_error(exc),
            )
            self.store.set_times(found.account, checked_at=now)
            return
        except GraphError:
            self.store.set_times(found.account, checked_at=now)
            return
        if self.store.mark_ok(found.account, expected=found.ciphertext, now=now):
            log.warning(
                "account %s: its token works again; its posts resume", found.account.ig_user_id
            )

    # -- running on a thread -----------------------------------------------------------------

    def start(self) -> AccountKeeper:
        self._periodic.start()
        return self

    def stop(self, timeout: float | None = None) -> None:
        self._periodic.stop(timeout)
