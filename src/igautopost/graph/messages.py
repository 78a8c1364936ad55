"""The values a `Transport` carries: one `Request` out, one `Response` back."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

Timeout = float | tuple[float, float]


@dataclass(frozen=True)
class Request:
    """One Graph API request, ready to send. Its URL carries no token (the header does)."""

    method: str
    path: str  # what logs and errors show: no host, no query
    url: str = field(repr=False)
    headers: dict[str, str] = field(repr=False)
    body: bytes | None = field(repr=False)
    timeout: Timeout
    # A body too big to hold in memory (a video upload), read as it is sent; its length is
    # in the Content-Length header. A request has `body` or `stream`, never both.
    stream: Iterable[bytes] | None = field(default=None, repr=False)


@dataclass(frozen=True)
class Response:
    """The HTTP answer to a `Request`: status, headers and the raw body."""

    status: int
    headers: Mapping[str, str]
    body: bytes


def split_timeout(timeout: Timeout) -> tuple[float, float]:
    """``(connect, read)`` seconds from a single number or a pair."""
    return timeout if isinstance(timeout, tuple) else (timeout, timeout)
