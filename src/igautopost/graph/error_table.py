"""The one table from Graph error codes to exception classes and actions, and its readers.

`ERROR_TABLE` has a row for every row of the error table in ``graph-api.md``, in the same
order. Lookup order: the exact (code, subcode) pair; then the subcode alone when it is one of
Instagram's unique ``2207xxx`` subcodes (so a container's ERROR status text, which only gives
the subcode, maps too); then the code alone; then the HTTP status.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .errors import (
    AccountRestricted,
    Action,
    ContainerNotReady,
    GraphError,
    GraphServerError,
    InvalidParameter,
    MediaRejected,
    PermissionMissing,
    PublishingLimitReached,
    RateLimited,
    TokenInvalid,
    TransientError,
)
from .ratelimit import retry_after_from_headers


@dataclass(frozen=True)
class ErrorRule:
    """One row: which codes and subcodes, the class to raise, and what to do."""

    codes: tuple[int, ...]  # () for subcodes only seen in a container's ERROR status
    subcodes: tuple[int, ...]  # () matches the codes whatever the subcode
    error_class: type[GraphError]
    action: Action
    meaning: str
    then: Action = Action.FAIL  # once a bounded number of attempts of `action` failed


R, W, N, F = Action.RETRY, Action.WAIT, Action.NEW_CONTAINER, Action.FAIL

ERROR_TABLE: tuple[ErrorRule, ...] = (
    ErrorRule((1, 2), (), TransientError, R, "unknown / temporary service error"),
    ErrorRule((4, 17, 32, 613, 80001, 80002), (), RateLimited, W, "rate limited"),
    ErrorRule((341,), (), RateLimited, W, "application limit reached; retry much later"),
    ErrorRule((368,), (), AccountRestricted, F, "temporarily blocked for policy violations"),
    ErrorRule((10, *range(200, 300)), (), PermissionMissing, F, "permission missing"),
    ErrorRule(
        (102, 190),
        (458, 459, 460, 463, 467),
        TokenInvalid,
        F,
        "token invalid: app not installed, checkpoint, password changed, expired, invalid",
    ),
    ErrorRule((102, 190), (), TokenInvalid, F, "token invalid or expired (other subcodes)"),
    ErrorRule((100,), (), InvalidParameter, F, "invalid parameter"),
    ErrorRule((100,), (33,), TransientError, R, "object not found yet (seen in Meta outages)"),
    ErrorRule((-1,), (2207001,), GraphServerError, R, "Instagram server error"),
    ErrorRule(
        (-1,),
        (2207032, 2207053),
        MediaRejected,
        N,
        "container creation failed / unknown video upload error",
    ),
    ErrorRule((-2,), (2207003,), MediaRejected, R, "media download timed out", then=N),
    ErrorRule((-2,), (2207020,), MediaRejected, N, "media expired; create a new container"),
    ErrorRule((1,), (2207057,), InvalidParameter, F, "thumb_offset out of the video's range"),
    ErrorRule(
        (4,),
        (2207051,),
        AccountRestricted,
        F,
        "activity restricted (suspected spam); the post may be live: check the container first",
    ),
    ErrorRule((9,), (2207042,), PublishingLimitReached, W, "publishing quota reached"),
    ErrorRule((24,), (2207006,), PermissionMissing, F, "media not found (permission or token)"),
    ErrorRule((24,), (2207008,), TransientError, R, "container temporarily unavailable", then=N),
    ErrorRule((25,), (2207050,), AccountRestricted, F, "account restricted (checkpoint)"),
    ErrorRule(
        (100,),
        (2207023, 2207028),
        InvalidParameter,
        F,
        "unknown media type / a carousel needs 2-10 items",
    ),
    ErrorRule(
        (100,),
        tuple(range(2207035, 2207041)),
        InvalidParameter,
        F,
        "product tag or tag count error",
    ),
    ErrorRule((352,), (2207026,), MediaRejected, F, "video format not supported (re-encode)"),
    ErrorRule(
        (9004,),
        (2207052,),
        MediaRejected,
        R,
        "media could not be fetched from its URL; check the media host",
    ),
    ErrorRule((9007,), (2207027,), ContainerNotReady, W, "media not ready for publishing"),
    ErrorRule((36000,), (2207004,), MediaRejected, F, "image larger than 8 MiB"),
    ErrorRule((36001,), (2207005,), MediaRejected, F, "image format not supported (JPEG only)"),
    ErrorRule((36003,), (2207009,), MediaRejected, F, "aspect ratio outside 4:5 .. 1.91:1"),
    ErrorRule(
        (36004,),
        (2207010,),
        InvalidParameter,
        F,
        "caption too long, or too many hashtags or mentions",
    ),
    ErrorRule((), (2207018,), InvalidParameter, F, "a collaborator cannot be tagged"),
    ErrorRule((), (2207077,), MediaRejected, F, "video download failed"),
    ErrorRule((), (2207081,), InvalidParameter, F, "account not eligible for trial reels"),
    ErrorRule((), (2207082,), MediaRejected, F, "audio added to a silent video"),
    ErrorRule((), (2207085,), MediaRejected, F, "video could not be processed"),
)

INSTAGRAM_SUBCODES = range(2207000, 2208000)  # unique across codes: a subcode alone suffices
STATUS_SUBCODE = re.compile(r"error code (\d+)", re.IGNORECASE)
EXCERPT_CHARS = 160


def _index() -> tuple[dict[tuple[int, int], ErrorRule], dict[int, ErrorRule], dict[int, ErrorRule]]:
    by_pair: dict[tuple[int, int], ErrorRule] = {}
    by_subcode: dict[int, ErrorRule] = {}
    by_code: dict[int, ErrorRule] = {}
    for rule in ERROR_TABLE:
        for subcode in rule.subcodes:
            by_pair.update({(code, subcode): rule for code in rule.codes})
            if subcode in INSTAGRAM_SUBCODES:
                by_subcode[subcode] = rule
        if not rule.subcodes:
            by_code.update(dict.fromkeys(rule.codes, rule))
    return by_pair, by_subcode, by_code


_BY_PAIR, _BY_SUBCODE, _BY_CODE = _index()


def rule_for(code: int | None, subcode: int | None) -> ErrorRule | None:
    """The table row for a code and subcode, or None when the table does not know them."""
    if code is not None and subcode is not None and (code, subcode) in _BY_PAIR:
        return _BY_PAIR[(code, subcode)]
    if subcode is not None and subcode in _BY_SUBCODE:
        return _BY_SUBCODE[subcode]
    return _BY_CODE.get(code) if code is not None else None


def error_from_response(
    status: int, headers: Mapping[str, str], body: bytes, method: str, path: str
) -> GraphError:
    """The exception for an error answer: by Graph code and subcode, else by HTTP status."""
    where: dict[str, Any] = {"http_status": status, "method": method, "path": path}
    payload = _error_payload(body)
    if payload is None:
        return _from_status(status, headers, body, where)
    code, subcode = _int(payload.get("code")), _int(payload.get("error_subcode"))
    rule = rule_for(code, subcode)
    error_class, action, then = _classify(rule, status)
    fields: dict[str, Any] = {
        **where,
        "code": code,
        "subcode": subcode,
        "type": _text(payload.get("type")),
        "user_title": _text(payload.get("error_user_title")),
        "user_message": _text(payload.get("error_user_msg")),
        "fbtrace_id": _text(payload.get("fbtrace_id")),
        "action": action,
        "then": then,
        "meta_is_transient": _bool(payload.get("is_transient")),
    }
    if issubclass(error_class, RateLimited):
        fields["retry_after"] = retry_after_from_headers(headers)
    return error_class(_text(payload.get("message")), **fields)


def error_from_status(status_text: str, *, container_id: str | None = None) -> GraphError:
    """The exception for a container whose status_code is ERROR, from its ``status`` text.

    >>> error_from_status("Error: Media upload has failed with error code 2207026").subcode
    2207026
    """
    subcode = parse_status_subcode(status_text)
    rule = rule_for(None, subcode)
    error_class, action, then = (
        (rule.error_class, rule.action, rule.then)
        if rule
        else (MediaRejected, Action.FAIL, Action.FAIL)
    )
    path = f"/{container_id}" if container_id else None
    return error_class(
        status_text or None,
        subcode=subcode,
        method="GET" if path else None,
        path=path,
        action=action,
        then=then,
    )


def parse_status_subcode(status_text: str | None) -> int | None:
    """The subcode in a container status such as ``Error: ... error code 2207026``."""
    found = STATUS_SUBCODE.search(status_text or "")
    return int(found.group(1)) if found else None


def _classify(rule: ErrorRule | None, status: int) -> tuple[type[GraphError], Action, Action]:
    if rule is None:
        return (
            (GraphServerError, Action.RETRY, Action.FAIL)
            if status >= 500
            else (GraphError, Action.FAIL, Action.FAIL)
        )
    if status >= 500 and rule.error_class is TransientError:
        return GraphServerError, rule.action, rule.then
    return rule.error_class, rule.action, rule.then


def _from_status(
    status: int, headers: Mapping[str, str], body: bytes, where: dict[str, Any]
) -> GraphError:
    excerpt = _excerpt(body)
    message = f"HTTP {status} from the Graph API" + (f": {excerpt}" if excerpt else "")
    if status == 429:
        return RateLimited(message, retry_after=retry_after_from_headers(headers), **where)
    if status >= 500:
        return GraphServerError(message, **where)
    return GraphError(message, **where)


def _error_payload(body: bytes) -> dict[str, Any] | None:
    try:
        data = json.loads(body)
    except ValueError:  # also UnicodeDecodeError
        return None
    error = data.get("error") if isinstance(data, dict) else None
    return error if isinstance(error, dict) else None


def _excerpt(body: bytes) -> str:
    text = body[: EXCERPT_CHARS * 20].decode("utf-8", errors="replace")
    text = re.sub(r"(?is)<(script|style)\b.*?</\1>", " ", text)
    text = " ".join(re.sub(r"<[^>]*>", " ", text).split())
    return text if len(text) <= EXCERPT_CHARS else text[: EXCERPT_CHARS - 3] + "..."


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    return None


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _bool(value: Any) -> bool | None:
    return value if isinstance(value, bool) else None
