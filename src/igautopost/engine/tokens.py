"""Which token a step uses, and what a post does while its account's token is refused.

The engine's view of accounts (`igautopost.accounts` stores and refreshes them): the token
for a step, the Instagram Login host it belongs to, and waiting instead of failing while
an account needs reconnection.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from ..accounts.service import describe_token_error, mark_needs_reconnect, reconnect_message
from ..clock import Clock
from ..graph.errors import GraphError
from ..models import Account, Credentials, Post, Status, guess_login
from ..storage.protocols import AccountStore
from .outcomes import Outcome

RECONNECT_RECHECK = timedelta(minutes=15)  # how often a waiting post looks at its account again


class TokenGate:
    """The publisher's view of accounts: the token for a step, and waiting instead of
    failing while an account needs reconnection."""

    def __init__(self, store: AccountStore, clock: Clock) -> None:
        self.store = store
        self.clock = clock

    def credentials(self, post: Post, *, fresh: bool = False) -> Credentials | None:
        return self.store.credentials(post.owner_id, post.account, fresh=fresh)

    @staticmethod
    def unmarked(post: Post, next_attempt_at: datetime) -> dict[str, object]:
        """Changes for a post that made no publish call in this step and tries again at
        `next_attempt_at`: the publish attempt its claim stored is taken back."""
        changes: dict[str, object] = {"next_attempt_at": next_attempt_at}
        if post.status is Status.READY and post.publish_marked:
            changes["publish_attempted_at"] = None  # marked by the claim; no call went through
        return changes

    def wait(self, post: Post, account: Account, *, subcode: int | None = None) -> Outcome:
        """The post waits for a working token: status kept, next look in a while."""
        message = reconnect_message(account, account.health_reason)
        changes = {
            **self.unmarked(post, self.clock.now() + RECONNECT_RECHECK),
            "error_message": message,
            "error_code": 190,
            "error_subcode": subcode,
        }
        first = post.error is None or post.error.message != message
        return Outcome(post.status, changes, f"waiting: {message}" if first else "")

    def refused(self, post: Post, exc: GraphError, token: str) -> Outcome:
        """Instagram refused the account's token (the post's, or the same token sent with
        the post): mark the account (once) and make the post wait."""
        now = self.clock.now()
        found = self.store.credentials(post.owner_id, post.account, fresh=True)
        if found is None or found.token != token:
            # The account was removed, or a new token stored while this step ran: look again.
            return Outcome(post.status, {"next_attempt_at": now}, "")
        mark_needs_reconnect(self.store, found, describe_token_error(exc), now)
        account = self.store.get(post.owner_id, post.account)
        return self.wait(post, account, subcode=exc.subcode)

    @staticmethod
    def host_for(
        token: str, found: Credentials | None, instagram_base_url: str | None
    ) -> str | None:
        """The API host `token`'s calls go to: the Instagram Login host for an Instagram Login
        token (the account says so for its own token, the token's prefix for a post's own
        token), else None (the client's default host)."""
        login = found.account.login if found is not None and found.token == token else None
        if (login or guess_login(token)) == "instagram" and instagram_base_url:
            return instagram_base_url
        return None
