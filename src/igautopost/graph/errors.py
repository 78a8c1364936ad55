"""Graph API errors: one class per thing a caller does differently.

    IgAutopostError
    └── GraphError                    Instagram, or the way to it, answered with an error
        ├── TransientError            the same call may work later: retry with backoff
        │   ├── RateLimited           stop calling that account for `retry_after` seconds
        │   ├── GraphServerError      HTTP 5xx or an Instagram server error
        │   └── GraphNetworkError     no answer at all
        │       ├── GraphTimeout
        │       └── GraphConnectionError
        ├── ContainerNotReady         keep polling the container, then publish
        ├── PublishingLimitReached    wait until the 24 h publishing window frees
        ├── TokenInvalid              reconnect the account (new token)
        ├── PermissionMissing         re-authorize with the missing permissions
        ├── MediaRejected             fix the media; see `retryable`, `needs_new_container`
        ├── InvalidParameter          fix the input
        └── AccountRestricted         the user must act in the Instagram app

Every error carries ``action`` (what to do first) and ``then`` (what to do once a bounded
number of attempts of ``action`` failed), taken from the one table in
`igautopost.graph.error_table`. ``is_transient`` is our classification: Meta's own
``is_transient`` flag is false even for retryable errors and is kept as ``meta_is_transient``.
Errors keep the request's method and path, never the token or a query string.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from igautopost.errors import IgAutopostError


class Action(StrEnum):
    """What a caller should do about an error."""

    RETRY = "retry"  # the same call again, after an exponential backoff
    WAIT = "wait"  # the same call again after a known window (rate limit, quota, processing)
    NEW_CONTAINER = "new_container"  # create a new container (never after a publish attempt)
    FAIL = "fail"  # give up; a person must fix something


_FIELDS = (
    "http_status",
    "code",
    "subcode",
    "type",
    "user_title",
    "user_message",
    "fbtrace_id",
    "method",
    "path",
    "action",
    "then",
    "meta_is_transient",
)


class GraphError(IgAutopostError):
    """The Graph API answered with an error."""

    default_action = Action.FAIL

    def __init__(
        self,
        message: str | None = None,
        *,
        http_status: int | None = None,
        code: int | None = None,
        subcode: int | None = None,
        type: str | None = None,
        user_title: str | None = None,
        user_message: str | None = None,
        fbtrace_id: str | None = None,
        method: str | None = None,
        path: str | None = None,
        action: Action | None = None,
        then: Action = Action.FAIL,
        meta_is_transient: bool | None = None,
    ) -> None:
        super().__init__(message)
        self.message: str = self.args[0]
        self.http_status = http_status
        self.code = code
        self.subcode = subcode
        self.type = type
        self.user_title = user_title
        self.user_message = user_message
        self.fbtrace_id = fbtrace_id
        self.method = method
        self.path = path.split("?", 1)[0] if path else path  # never a query string
        self.action = action or self.default_action
        self.then = then
        self.meta_is_transient = meta_is_transient

    @property
    def is_transient(self) -> bool:
        """The same call may succeed later without anyone changing anything."""
        return self.action in (Action.RETRY, Action.WAIT)

    @property
    def needs_new_container(self) -> bool:
        """Recovering needs a new container (right away, or once retries are used up)."""
        return Action.NEW_CONTAINER in (self.action, self.then)

    def redact(self, *secrets: str) -> None:
        """Replace every occurrence of the secrets in the texts Meta sent back."""
        for secret in filter(None, secrets):
            self.message = self.message.replace(secret, "[redacted]")
            for name in ("user_title", "user_message"):
                value = getattr(self, name)
                if value:
                    setattr(self, name, value.replace(secret, "[redacted]"))
        self.args = (self.message, *self.args[1:])

    def __str__(self) -> str:
        details = []
        if self.code is not None:
            details.append(f"code {self.code}" + (f"/{self.subcode}" if self.subcode else ""))
        if self.method and self.path:
            details.append(f"{self.method} {self.path}")
        if self.http_status is not None:
            details.append(f"HTTP {self.http_status}")
        if self.fbtrace_id:
            details.append(f"fbtrace_id {self.fbtrace_id}")
        return f"{self.message} ({', '.join(details)})" if details else self.message

    def __reduce__(self) -> tuple[Any, ...]:
        # Keyword-only fields do not survive the default pickling (Celery pickles errors).
        state = {name: getattr(self, name) for name in _FIELDS}
        return (_rebuild, (type(self), self.message, state), self.__dict__)


def _rebuild(cls: type[GraphError], message: str, state: dict[str, Any]) -> GraphError:
    return cls(message, **state)


class TransientError(GraphError):
    """A temporary failure at Instagram or on the way there; retry with backoff."""

    default_action = Action.RETRY


class RateLimited(TransientError):
    """Rate limit reached; stop calling for this account until the limit resets."""

    default_action = Action.WAIT

    def __init__(
        self, message: str | None = None, *, retry_after: float | None = None, **fields: Any
    ) -> None:
        super().__init__(message, **fields)
        self.retry_after = retry_after  # seconds, from the usage headers; None if unknown

    def __reduce__(self) -> tuple[Any, ...]:
        function, (cls, message, state), extra = super().__reduce__()
        return (function, (cls, message, {**state, "retry_after": self.retry_after}), extra)


class GraphServerError(TransientError):
    """Instagram had a server error; retry with backoff."""


class GraphNetworkError(TransientError):
    """No answer from the Graph API; retry with backoff (a POST may have been applied)."""


class GraphTimeout(GraphNetworkError):
    """The Graph API did not answer in time."""


class GraphConnectionError(GraphNetworkError):
    """Could not reach the Graph API, or the connection broke."""


class ContainerNotReady(GraphError):
    """The media container is still processing; poll its status again before publishing."""

    default_action = Action.WAIT


class PublishingLimitReached(GraphError):
    """The account's publishing quota for the rolling 24 hours is used up; wait for the window."""

    default_action = Action.WAIT


class TokenInvalid(GraphError):
    """The access token is invalid or expired; reconnect the account to get a new one."""


class PermissionMissing(GraphError):
    """The token lacks a permission; re-authorize the app with the required permissions."""


class MediaRejected(GraphError):
    """Instagram could not fetch or accept the media (download, format, size, aspect, ...)."""

    @property
    def retryable(self) -> bool:
        """The media host may be at fault: the same call may work after a pause, a few times."""
        return self.is_transient


class InvalidParameter(GraphError):
    """A request parameter is invalid; fix the post's data."""


class AccountRestricted(GraphError):
    """The Instagram account is restricted or blocked; the user must act in the Instagram app."""
