"""Graph API error answers with the real body shape (see shared/graph-api.md, "Errors").

Handlers raise `GraphErrorAnswer`; the app turns it into
`{"error": {"message", "type", "code", "error_subcode", "is_transient", "error_user_title",
"error_user_msg", "fbtrace_id"}}` with the optional keys present only when they have values,
as Meta does.
"""

from __future__ import annotations

import secrets
from typing import Any

# (code, subcode) -> (message, user title, user message): the texts the real API sends.
_CATALOGUE: dict[tuple[int, int | None], tuple[str, str | None, str | None]] = {
    (1, None): ("An unknown error has occurred.", None, None),
    (2, None): ("An unexpected error has occurred. Please retry your request later.", None, None),
    (4, None): ("(#4) Application request limit reached", None, None),
    (9, 2207042): (
        "Application request limit reached",
        "The account has reached its publishing limit",
        "You reached the maximum number of posts that are allowed to be published by the API "
        "in 24 hours.",
    ),
    (17, None): ("(#17) User request limit reached", None, None),
    (24, 2207006): (
        "The media with the id cannot be found",
        "Media not found",
        "The media could not be found; check the id and the access token's permissions.",
    ),
    (32, None): ("(#32) Page request limit reached", None, None),
    (-1, 2207001): (
        "An unexpected error has occurred. Please retry your request later.",
        "Instagram server error",
        "Instagram encountered an error; try again.",
    ),
    (-2, 2207020): (
        "The media you are trying to publish has expired. Please try creating a new media",
        "Media expired",
        "The media container has expired; create a new one.",
    ),
    (100, 2207023): ("The media type entered is not valid", "Unknown media type", None),
    (100, 2207028): (
        "Invalid parameter",
        "Carousel validation failed",
        "A carousel needs between 2 and 10 photos or videos.",
    ),
    (36001, 2207005): (
        "Invalid parameter",
        "Unsupported format",
        "The image format is not supported. Only JPEG images can be used.",
    ),
    (36004, 2207010): ("Invalid parameter", "Caption too long", None),
    (9004, 2207052): (
        "Media download has failed. The media URI doesn't meet our requirements.",
        "Media could not be fetched from the URI",
        "The media could not be fetched from this URI; check that it is public.",
    ),
    (9007, 2207027): (
        "Media ID is not available",
        "Media Not Ready For Publishing",
        "The media is not ready for publishing, please wait for a moment",
    ),
}


def new_fbtrace_id() -> str:
    """A random trace id shaped like Meta's (11 base64-ish characters)."""
    return secrets.token_urlsafe(8)[:11]


class GraphErrorAnswer(Exception):
    """A Graph API error answer: raised by handlers, rendered by the app. The emulator's own
    (`igautopost.GraphError` is what the client raises when it reads such an answer)."""

    def __init__(
        self,
        code: int,
        subcode: int | None = None,
        message: str | None = None,
        *,
        http_status: int = 400,
        error_type: str = "OAuthException",
        user_msg: str | None = None,
    ) -> None:
        default_message, title, default_user_msg = _CATALOGUE.get(
            (code, subcode), ("Invalid parameter", None, None)
        )
        self.code = code
        self.subcode = subcode
        self.message = message or default_message
        self.user_title = title
        self.user_msg = user_msg or default_user_msg
        self.http_status = http_status
        self.error_type = error_type
        super().__init__(f"({code}/{subcode}) {self.message}")

    def body(self, error_type: str | None = None) -> dict[str, Any]:
        """The JSON answer; `error_type` overrides the type (IGApiException on that host)."""
        error: dict[str, Any] = {"message": self.message, "type": error_type or self.error_type}
        error["code"] = self.code
        if self.subcode is not None:
            error["error_subcode"] = self.subcode
            error["is_transient"] = False
        if self.user_title:
            error["error_user_title"] = self.user_title
        if self.user_msg:
            error["error_user_msg"] = self.user_msg
        error["fbtrace_id"] = new_fbtrace_id()
        return {"error": error}


def invalid_parameter(message: str, subcode: int | None = None) -> GraphErrorAnswer:
    """Code 100: the caller sent something the API rejects (fix the input)."""
    return GraphErrorAnswer(100, subcode, message)


def missing_parameter(name: str) -> GraphErrorAnswer:
    return GraphErrorAnswer(100, None, f"The parameter {name} is required")


def object_not_found(object_id: str, method: str = "get") -> GraphErrorAnswer:
    """100/33: the id does not exist or this token cannot see it."""
    return GraphErrorAnswer(
        100,
        33,
        f"Unsupported {method} request. Object with ID '{object_id}' does not exist, cannot be "
        "loaded due to missing permissions, or does not support this operation. Please read "
        "the Graph API documentation at https://developers.facebook.com/docs/graph-api",
        error_type="GraphMethodException",
    )
