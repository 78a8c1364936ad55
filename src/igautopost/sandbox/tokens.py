"""Access tokens as the sandbox sees them: which account, still valid, and why not.

Only short hashes of tokens are kept here and in the inspection output, so a sandbox log or
`/_sandbox/*` answer never shows a token, yet tokens can still be told apart.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Literal

from igautopost.sandbox.errors import GraphErrorAnswer

RevokeReason = Literal["expired", "password_changed", "deauthorized", "invalid"]

# Subcodes and messages the real API answers for each way a token stops working.
_REASONS: dict[str, tuple[int, str]] = {
    "expired": (463, "Error validating access token: Session has expired."),
    "password_changed": (
        460,
        "Error validating access token: The session has been invalidated because the user "
        "changed their password or Facebook has changed the session for security reasons.",
    ),
    "deauthorized": (
        458,
        "Error validating access token: The user has not authorized application.",
    ),
    "invalid": (467, "Error validating access token: The access token is invalid."),
}


@lru_cache(maxsize=4096)
def token_hash(token: str) -> str:
    """A short, stable fingerprint of a token, safe to log."""
    return hashlib.sha256(token.encode()).hexdigest()[:12]


@dataclass
class TokenInfo:
    account_id: str | None  # None: any account (open mode)
    issued_at: datetime | None = None
    expires_at: datetime | None = None
    revoked: str | None = None


class TokenRegistry:
    """Configured, issued and revoked tokens, keyed by hash. Not thread-safe: the state locks."""

    def __init__(self, configured: dict[str, str]) -> None:
        self._known = {token_hash(t): TokenInfo(account) for t, account in configured.items()}
        self._open = not configured
        self._revoked: dict[str, str] = {}

    def check(self, token: str | None, now: datetime) -> TokenInfo:
        """The token's info, or the 190/104 error the real API answers."""
        if not token:
            raise GraphErrorAnswer(
                104, None, "An access token is required to request this resource."
            )
        digest = token_hash(token)
        reason = self._revoked.get(digest)
        if reason:
            raise _revoked_error(reason)
        info = self._known.get(digest)
        if info is not None and info.expires_at is not None and now >= info.expires_at:
            raise _revoked_error("expired")
        if info is None and not self._open:
            raise GraphErrorAnswer(
                190, None, "Invalid OAuth access token - Cannot parse access token"
            )
        return info or TokenInfo(None)

    def add(self, token: str, account_id: str | None) -> None:
        self._known[token_hash(token)] = TokenInfo(account_id)
        self._revoked.pop(token_hash(token), None)

    def revoke(self, token: str, reason: RevokeReason = "expired") -> None:
        self._revoked[token_hash(token)] = reason

    def revoke_account(self, account_id: str, reason: RevokeReason = "expired") -> int:
        """Revoke every known token of one account; answers how many."""
        hashes = [h for h, info in self._known.items() if info.account_id == account_id]
        for digest in hashes:
            self._revoked[digest] = reason
        return len(hashes)

    def issue(self, account_id: str | None, now: datetime, lifetime: timedelta) -> str:
        """A new long-lived token (as the exchange endpoints hand out)."""
        token = "IGSB" + secrets.token_urlsafe(32)
        self._known[token_hash(token)] = TokenInfo(account_id, now, now + lifetime)
        return token

    def info(self, token: str) -> TokenInfo | None:
        return self._known.get(token_hash(token))

    def snapshot(self) -> dict[str, dict[str, str | None]]:
        """Known tokens by hash, for inspection."""
        return {
            digest: {
                "account_id": info.account_id,
                "expires_at": info.expires_at.isoformat() if info.expires_at else None,
                "revoked": self._revoked.get(digest),
            }
            for digest, info in self._known.items()
        } | {
            d: {"account_id": None, "expires_at": None, "revoked": r}
            for d, r in self._revoked.items()
            if d not in self._known
        }


def _revoked_error(reason: str) -> GraphErrorAnswer:
    subcode, message = _REASONS[reason]
    return GraphErrorAnswer(190, subcode, message, user_msg=None)
