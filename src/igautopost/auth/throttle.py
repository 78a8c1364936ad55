"""Failed-login throttling per client address and username, on the injected clock.

An attempt is counted as a failure before its password is checked, in the same step that
decides whether it may be checked (`LoginThrottle.attempt`); a correct password takes the
count back (`succeeded`). After `per_pair` failures of one username from one address, or
`per_address` from one address whatever the names, within `window` of the first, further
attempts from that address (for that name, or for any) are refused until the window ends;
the caller answers 429 with ``Retry-After``. Counting per address and username means that a
stranger's wrong guesses never lock the rightful user out from another address. The counts
live in the database (`storage.protocols.LoginFailures`), so every server process shares them.

IPv6 addresses count by their /64 network: one subscriber usually holds a whole /64, and
would otherwise get a fresh budget from each of its 2^64 addresses.
"""

from __future__ import annotations

import ipaddress
import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from ..errors import LoginThrottled
from ..storage.protocols import Budget, LoginFailures

ADDRESS_MAX_CHARS = 64  # the column's width; an IPv6 address has at most 45
UNKNOWN_ADDRESS = "unknown"  # no client address (a Unix socket, a test client without one)


@dataclass(frozen=True)
class ThrottlePolicy:
    window: timedelta = timedelta(minutes=15)
    per_pair: int = 5
    per_address: int = 20


@dataclass(frozen=True)
class Attempt:
    """A login attempt the throttle let through, counted as a failure until it succeeds."""

    username: str
    address: str
    at: datetime


class LoginThrottle:
    def __init__(self, store: LoginFailures, policy: ThrottlePolicy | None = None) -> None:
        self.store = store
        self.policy = policy or ThrottlePolicy()
        self._budget = Budget(self.policy.window, self.policy.per_pair, self.policy.per_address)

    def attempt(self, username: str, address: str | None, now: datetime) -> Attempt:
        """Count an attempt as a failure, or raise `LoginThrottled` (counting nothing) when the
        address has used up its failures, for this username or for all."""
        key = address_key(address)
        until = self.store.count(username, key, now=now, budget=self._budget)
        if until is not None:
            raise LoginThrottled(max(1, math.ceil((until - now).total_seconds())))
        return Attempt(username, key, now)

    def succeeded(self, attempt: Attempt) -> None:
        """The password was right: forget the failures of this username from this address,
        and this attempt's failure in the address's count."""
        self.store.forgive(attempt.username, attempt.address, counted_at=attempt.at)


def address_key(address: str | None) -> str:
    """What failures are counted by: the address, an IPv6 one by its /64 network."""
    if not address:
        return UNKNOWN_ADDRESS
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address[:ADDRESS_MAX_CHARS]
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)
