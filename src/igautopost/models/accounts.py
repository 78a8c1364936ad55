"""Instagram accounts as the service and the stores see them: never with their token in clear
except inside `Credentials`, which only the publisher and the account commands read."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

Login = Literal["facebook", "instagram"]

LOCAL_OWNER = 0  # "no owner": the local operator's CLI and library use (posts with owner_id NULL)


class Health(StrEnum):
    OK = "ok"
    NEEDS_RECONNECT = "needs_reconnect"


def owner_key(owner_id: int | None) -> int:
    return LOCAL_OWNER if owner_id is None else owner_id


@dataclass(frozen=True)
class Account:
    """What may be shown about an account: never its token."""

    id: int
    owner_id: int | None
    ig_user_id: str
    username: str | None
    login: Login
    health: Health
    health_reason: str | None
    token_stored_at: datetime
    expires_at: datetime | None
    last_refresh_at: datetime | None
    checked_at: datetime | None
    warned_at: datetime | None
    created_at: datetime

    @property
    def needs_reconnect(self) -> bool:
        return self.health is Health.NEEDS_RECONNECT

    def public_dict(self) -> dict[str, Any]:
        """JSON-ready, for the CLI and the HTTP API (there is no token to leave out)."""

        def iso(moment: datetime | None) -> str | None:
            return moment.isoformat() if moment else None

        return {
            "ig_user_id": self.ig_user_id,
            "username": self.username,
            "login": self.login,
            "health": self.health.value,
            "health_reason": self.health_reason,
            "expires_at": iso(self.expires_at),
            "last_refresh_at": iso(self.last_refresh_at),
            "token_stored_at": iso(self.token_stored_at),
            "checked_at": iso(self.checked_at),
            "created_at": iso(self.created_at),
        }


@dataclass(frozen=True)
class Credentials:
    """What the publisher needs for one step: the token, and whether it may be used."""

    account: Account
    token: str
    ciphertext: str


def guess_login(token: str) -> Login:
    """Instagram Login tokens start with "IG" (IGQV..., IGAA...); Facebook's with "EAA"."""
    return "instagram" if token.startswith("IG") else "facebook"
