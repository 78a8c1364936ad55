"""A failed post's error in plain words: what happened, Instagram's code, and what to do.

The text is the CLI's (`igautopost show`: the message with its ``Graph error CODE/SUBCODE``
once); what to do follows the class the Graph error table gives the code
(`igautopost.graph.error_table`), in the words an operator at the web page acts on.
"""

from __future__ import annotations

from dataclasses import dataclass

from ...graph.error_table import rule_for
from ...graph.errors import (
    AccountRestricted,
    ContainerNotReady,
    GraphError,
    InvalidParameter,
    MediaRejected,
    PermissionMissing,
    PublishingLimitReached,
    RateLimited,
    TokenInvalid,
    TransientError,
)
from ...models import Post, Status

# The first class in this list that the code's class is (a subclass of) says what to do.
ADVICE: tuple[tuple[type[GraphError], str], ...] = (
    (
        TokenInvalid,
        "Reconnect the account: store a new token for it (see Accounts). Its posts wait "
        "until then.",
    ),
    (
        PermissionMissing,
        "Log in with Meta again granting the missing permission, store the new token, then "
        "retry the post.",
    ),
    (
        AccountRestricted,
        "Open the Instagram app: the account is restricted and only its owner can lift that. "
        "Retry the post afterwards.",
    ),
    (
        PublishingLimitReached,
        "Nothing to do: the account's 24-hour publishing limit is used up and the post is "
        "published when the window frees.",
    ),
    (
        ContainerNotReady,
        "Nothing to do: Instagram is still processing the media; igautopost keeps asking.",
    ),
    (
        RateLimited,
        "Nothing to do: Instagram asked to slow down; igautopost tries again after the wait.",
    ),
    (
        MediaRejected,
        "Fix the media (its format, size, shape or URL), then reschedule or retry the post.",
    ),
    (InvalidParameter, "Fix the post's fields, then schedule it again."),
    (
        TransientError,
        "Nothing to do while the post waits: igautopost tries again by itself. A failed post "
        "can be retried.",
    ),
)
UNKNOWN_ADVICE = "Check the message above; when the cause is fixed, retry the post."
WAITING_ADVICE = "Nothing to do: igautopost tries again at the next attempt time."


@dataclass(frozen=True)
class PlainError:
    """What the queue and the post page show of a post's last error."""

    text: str  # the message, with Instagram's code once (as `igautopost show` prints it)
    code: str | None  # "Graph error 190/463", or None when Instagram gave no code
    meaning: str | None  # the error table's meaning of the code, when it knows it
    advice: str  # what to do


def graph_code(code: int | None, subcode: int | None) -> str | None:
    """``Graph error 190/463``; a container's ERROR status gives only Instagram's subcode."""
    if code is None:
        return None if subcode is None else f"Instagram error {subcode}"
    return f"Graph error {code}" + (f"/{subcode}" if subcode is not None else "")


def error_text(message: str, code: int | None, subcode: int | None) -> str:
    """The CLI's `error_text`: the message with its Graph code once (the engine's messages
    already end with it); a subcode alone is added unless the message names it."""
    named = graph_code(code, subcode)
    if named is None or named in message or (code is None and str(subcode) in message):
        return message
    return f"{message} ({named})"


def plain_error(post: Post) -> PlainError | None:
    """`post`'s last error in plain words, or None when it has none."""
    if post.error is None:
        return None
    code, subcode = post.error.code, post.error.subcode
    rule = rule_for(code, subcode)
    advice = next(
        (words for kind, words in ADVICE if rule and issubclass(rule.error_class, kind)), None
    )
    if advice is None:
        advice = WAITING_ADVICE if post.status.is_active else UNKNOWN_ADVICE
    elif post.status is Status.FAILED and advice.startswith("Nothing to do"):
        advice = "igautopost stopped trying; retry the post when Instagram works again."
    return PlainError(
        text=error_text(post.error.message, code, subcode),
        code=graph_code(code, subcode),
        meaning=rule.meaning if rule else None,
        advice=advice,
    )
