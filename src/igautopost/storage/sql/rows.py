"""Turning a stored row of the posts table into a `Post`, even when the row cannot be read.

Every row was written by igautopost, yet one may not read back: text that JSON can carry but
a strict reader refuses (a lone surrogate written by an older version), a row written by a
newer version, a hand-edited database. One such row must never break a list, a show, or a
scheduler's batch of a hundred posts, so reading never raises. `read_post` returns the post
with what could be saved of its spec and the reason it cannot be read; a post still to be
published then reads as failed, with that reason, since it can never be published as
stored. The claims store that failure (`SqlStore._taken`); editing such a post is refused.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from pydantic import ValidationError

from ...models import MediaType, Post, PostError, PostSpec, Status
from ..construct import constructed

UNREADABLE = "the stored post cannot be read back ({}): cancel it and schedule it again"
_SURROGATE = re.compile("[\ud800-\udfff]")


def read_post(row: Mapping[Any, Any], spec: PostSpec | None = None) -> tuple[Post, str | None]:
    """The row as a `Post`, and why it cannot be read as stored (None when it can).

    `spec`, when the caller has it (it just wrote the row), saves parsing it again."""
    # A plain dict: a `RowMapping`'s lookups, and its misses (a list's rows have no
    # `publish_marked`), cost more than the rest of reading a row.
    columns = row if type(row) is dict else dict(row)
    get = columns.get
    problem = None
    if spec is None:
        parsed = _parse_spec(columns["spec_json"])
        spec, problem = (parsed, None) if isinstance(parsed, PostSpec) else (_salvage(row), parsed)
    status = _status(columns["status"])
    if status is None:
        problem = problem or f"unknown status {str(columns['status'])[:20]!r}"
    children, children_problem = _children(get("child_container_ids"))
    problem = problem or children_problem
    error = _error(columns)
    if problem is not None and (status is None or status.is_active):
        status = Status.FAILED
        error = PostError(message=UNREADABLE.format(problem))
    assert status is not None
    # Rows come from our own writes, valid already: every claim and list reads them, so
    # build the post without validation.
    values = {name: get(name) for name in _POST_COLUMNS}
    values.update(
        spec=spec,
        status=status,
        has_token=values["token_ciphertext"] is not None,
        containers_created=values["containers_created"] or 0,
        publish_marked=bool(get("publish_marked")),  # only a claim's rows say so
        child_container_ids=children,
        error=error,
    )
    return constructed(Post, values), problem


# The columns a `Post` takes as they are stored.
_POST_COLUMNS = (
    "id",
    "owner_id",
    "next_attempt_at",
    "attempts",
    "container_id",
    "containers_created",
    "container_created_at",
    "publish_attempted_at",
    "published_at",
    "lease_until",
    "claimed_at",
    "token_ciphertext",
    "comment_id",
    "comment_attempted_at",
    "media_id",
    "permalink",
    "created_at",
    "updated_at",
)


def to_post(row: Mapping[Any, Any], spec: PostSpec | None = None) -> Post:
    """`read_post` without the reason: what lists and shows need."""
    return read_post(row, spec)[0]


@lru_cache(maxsize=4096)
def _parse_spec(text: str) -> PostSpec | str:
    """The spec, or what is wrong with its JSON. Specs are frozen and change rarely: the
    scheduler re-reads the same ones at every step. Validated, unlike the rest of the row:
    pydantic-core validates a spec faster than Python code can rebuild it unvalidated."""
    try:
        return PostSpec.model_validate_json(text)
    except ValidationError as exc:
        return _describe(text, exc)


def _describe(text: str, exc: ValidationError) -> str:
    """What is wrong, naming the field; never the stored values (they may be anyone's)."""
    try:
        data = json.loads(text)  # Python's reader accepts lone surrogates
    except ValueError:
        return "its stored JSON is malformed"
    where = _surrogate_path(data, "")
    if where is not None:
        return f"{where} holds a lone surrogate escape, which is not text"
    first = exc.errors(include_input=False, include_url=False)[0]
    field = ".".join(str(part) for part in first["loc"]) or "the post"
    return f"{field}: {first['msg']}"


def _surrogate_path(value: Any, path: str) -> str | None:
    if isinstance(value, str):
        return (path or "the post") if _SURROGATE.search(value) else None
    if isinstance(value, dict):
        items: Any = value.items()
    elif isinstance(value, list):
        items = enumerate(value)
    else:
        return None
    for key, item in items:
        found = _surrogate_path(item, f"{path}.{key}" if path else str(key))
        if found is not None:
            return found
    return None


def _salvage(row: Mapping[Any, Any]) -> PostSpec:
    """What can be shown of a spec that cannot be read: its JSON with unpaired surrogates
    replaced (U+FFFD), or else only what the row's own columns hold."""
    try:
        data = json.loads(row["spec_json"], object_hook=_clean_dict)
        return PostSpec.model_validate(_clean(data))
    except (ValueError, TypeError):
        pass
    try:
        media_type = MediaType(row["media_type"])
    except ValueError:
        media_type = MediaType.IMAGE
    return PostSpec.model_construct(
        account=row["account"],
        media_type=media_type,
        publish_at=row["publish_at"],
        client_key=row.get("client_key"),
    )


def _clean(value: Any) -> Any:
    if isinstance(value, str):
        return _SURROGATE.sub("\ufffd", value)
    if isinstance(value, list):
        return [_clean(item) for item in value]
    return value


def _clean_dict(value: dict[str, Any]) -> dict[str, Any]:
    return {_clean(key): _clean(item) for key, item in value.items()}


def _status(value: Any) -> Status | None:
    try:
        return Status(value)
    except ValueError:
        return None


def _children(value: str | None) -> tuple[list[str], str | None]:
    if value is None or value == "[]":  # most posts: no carousel, or not prepared yet
        return [], None
    try:
        children = json.loads(value or "[]")
    except ValueError:
        return [], "its carousel item containers are malformed"
    if not isinstance(children, list):
        return [], "its carousel item containers are malformed"
    return [str(child) for child in children], None


def _error(row: dict[str, Any]) -> PostError | None:
    if not row.get("error_message"):
        return None
    return PostError(
        message=row["error_message"], code=row["error_code"], subcode=row["error_subcode"]
    )
