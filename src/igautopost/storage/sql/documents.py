"""Stored posts as JSON documents, read straight from their rows: what `igautopost list --json`
writes, without building a `Post` for each (issue 14).

A post's document (`post_document`) is its spec without the token, its state and its error
summary, times as ISO 8601 in UTC. Reading 100,000 of them through `Post`s cost 72 µs a post:
SQLAlchemy's processing of eleven datetime columns a row, `read_post` building the model, and
turning it back into a dict. Here a row's columns are read as the database stores them (on
SQLite, text: a stored time becomes its ISO form by slicing), and the spec is checked against
the form igautopost stores it in (`STORED_SPEC`, in pydantic-core alone), which is already the
document's part: a spec in that form is one `PostSpec` reads unchanged.

A row in any other form (a spec that `PostSpec` would refuse, or read differently from its
text, an unknown status, malformed carousel containers, a time not as igautopost writes it)
is read again the ordinary way, `read_post` then `post_document`: an unreadable post is
reported as it always was (issue 12), and every document is the one `post_document` gives of
the `Post` that `list` reads (tests/storage/test_post_documents.py compares them).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from pydantic import ValidationError
from pydantic_core import SchemaValidator
from pydantic_core import core_schema as cs

from ...models import Post, Status
from ..protocols import PostQuery
from .rows import to_post
from .tables import posts

PAGE_SIZE = 1000  # rows read per query: a list holds one page, however long it is

_STATUSES = {status.value: status for status in Status}


def post_document(post: Post) -> dict[str, Any]:
    """A post for scripts: the spec (never the token) and its state. Every store's
    `post_documents` and the CLI's JSON give exactly this."""
    return {
        "id": post.id,
        "status": post.status.value,
        **post.spec.public_dict(),
        "publish_at": post.publish_at.isoformat(),
        "next_attempt_at": post.next_attempt_at.isoformat() if post.next_attempt_at else None,
        "attempts": post.attempts,
        "container_id": post.container_id,
        "media_id": post.media_id,
        "permalink": post.permalink,
        "error": post.error_summary(),
        "created_at": post.created_at.isoformat(),
        "updated_at": post.updated_at.isoformat(),
    }


class _NotCanonical(Exception):
    """A row the fast path leaves to `read_post`."""


# The spec as igautopost stores it (`records.spec_json`: `PostSpec.public_dict`), and nothing
# else: strict types, no nulls (the stored form leaves them out), every field that has a
# default present, no name a validator would change. pydantic-core checks it without a line
# of Python, and gives the fields in `PostSpec`'s order, as `public_dict` does. A spec that
# passes is one `PostSpec` reads unchanged; any other (an older version's, a hand edit, one
# that cannot be read at all) is left to `read_post`. A test keeps these fields those of
# `PostSpec` and `CarouselItem`.
def _record(*fields: tuple[str, cs.CoreSchema, bool]) -> cs.TypedDictSchema:
    """A JSON object of exactly these (name, schema, required) fields, given back in this
    order whatever the order of the text."""
    return cs.typed_dict_schema(
        {name: cs.typed_dict_field(schema, required=required) for name, schema, required in fields},
        extra_behavior="forbid",
        strict=True,
    )


_TEXT = cs.str_schema(strict=True)
_INT = cs.int_schema(strict=True)
_NAME = cs.str_schema(pattern=r"^[A-Za-z0-9._]+$", strict=True)  # nothing a validator strips
_KIND = cs.literal_schema(["image", "video"])
_TAG = _record(
    ("username", _NAME, True),
    ("x", cs.float_schema(allow_inf_nan=False, strict=True), False),
    ("y", cs.float_schema(allow_inf_nan=False, strict=True), False),
)
_TAGS = cs.list_schema(_TAG, strict=True)
_ITEM = _record(
    ("media_url", _TEXT, False),
    ("media_path", _TEXT, False),
    ("media_file", _TEXT, False),
    ("kind", _KIND, False),
    ("user_tags", _TAGS, True),
    ("alt_text", _TEXT, False),
    ("thumb_offset", _INT, False),
)
STORED_SPEC = _record(
    ("account", _TEXT, True),
    ("media_type", cs.literal_schema(["image", "reel", "story", "carousel"]), True),
    ("media_url", _TEXT, False),
    ("media_path", _TEXT, False),
    ("media_file", _TEXT, False),
    ("media_kind", _KIND, False),
    ("children", cs.list_schema(_ITEM, strict=True), True),
    ("caption", _TEXT, True),
    ("location_id", _TEXT, False),
    ("user_tags", _TAGS, True),
    ("thumb_offset", _INT, False),
    ("cover_url", _TEXT, False),
    ("share_to_feed", cs.bool_schema(strict=True), False),
    ("collaborators", cs.list_schema(_NAME, strict=True), True),
    ("alt_text", _TEXT, False),
    ("first_comment", _TEXT, False),
    ("timezone", _TEXT, True),  # a known zone: `_known_zone`
    ("publish_at", _TEXT, True),  # ISO 8601, read in the zone: `_publish_iso`
    ("recurrence", _TEXT, False),
    ("prepare_ahead", _INT, False),
    ("client_key", _TEXT, False),
)
_read_stored_spec = SchemaValidator(STORED_SPEC).validate_json


def _as_text(column: sa.Column[Any]) -> sa.ColumnElement[Any]:
    """A time column without `UTCDateTime`'s processing: SQLite gives its stored text, other
    databases' drivers a naive datetime (`_iso` reads either)."""
    return sa.type_coerce(column, sa.String).label(column.name)


# The columns a document needs, in this order (`_document` unpacks them).
_COLUMNS = (
    posts.c.id,
    posts.c.status,
    posts.c.spec_json,
    _as_text(posts.c.next_attempt_at),
    posts.c.attempts,
    posts.c.container_id,
    posts.c.media_id,
    posts.c.permalink,
    posts.c.error_message,
    posts.c.error_code,
    posts.c.error_subcode,
    _as_text(posts.c.created_at),
    _as_text(posts.c.updated_at),
    posts.c.child_container_ids,
    _as_text(posts.c.publish_at),  # the next page's keyset
)


def post_documents(
    engine: sa.Engine,
    query: PostQuery,
    conditions: Callable[[PostQuery], Sequence[sa.ColumnElement[bool]]],
) -> Iterator[dict[str, Any]]:
    """`post_document` of each post `query` finds (by the store's `conditions`, those of its
    `list`), by publish time then id, read a page at a time as they are consumed: keyset
    pages (`PostQuery.after`), each in a connection of its own, so that a long list neither
    holds a read transaction open nor costs more per page the deeper it goes."""
    remaining = query.limit
    while remaining is None or remaining > 0:
        size = PAGE_SIZE if remaining is None else min(PAGE_SIZE, remaining)
        statement = sa.select(*_COLUMNS).order_by(posts.c.publish_at, posts.c.id).limit(size)
        for condition in conditions(query):
            statement = statement.where(condition)
        if query.offset:
            statement = statement.offset(query.offset)
        with engine.connect() as conn:
            rows = conn.execute(statement).fetchall()
            documents = [_document_or_read(conn, row) for row in rows]
        yield from documents
        if len(rows) < size:
            return
        if remaining is not None:
            remaining -= size
        last = rows[-1]
        query = replace(query, after=(_moment(last[-1]), last[0]), offset=0)


def _document_or_read(conn: sa.Connection, row: Any) -> dict[str, Any]:
    try:
        return _document(*row)
    except (_NotCanonical, ValidationError, ValueError, KeyError, OverflowError):
        full = conn.execute(sa.select(posts).where(posts.c.id == row[0])).one()
        return post_document(to_post(full._asdict()))


def _document(
    post_id: int,
    status_value: str,
    spec_json: str,
    next_attempt_at: Any,
    attempts: int,
    container_id: str | None,
    media_id: str | None,
    permalink: str | None,
    error_message: str | None,
    error_code: int | None,
    error_subcode: int | None,
    created_at: Any,
    updated_at: Any,
    child_container_ids: str | None,
    publish_at_stored: Any,
) -> dict[str, Any]:
    """`post_document(read_post(row))` for a row that reads without a problem; raises for
    one that would not (see the module's docstring)."""
    status = _STATUSES[status_value]
    if child_container_ids is not None and child_container_ids != "[]":
        _check_children(child_container_ids)
    spec: dict[str, Any] = _read_stored_spec(spec_json)
    if not _known_zone(spec["timezone"]):
        raise _NotCanonical("timezone")
    publish_at = _publish_iso(spec["publish_at"], publish_at_stored)
    next_attempt = _iso(next_attempt_at)
    error = None
    if error_message:
        if type(error_message) is not str or not _ints_or_none(error_code, error_subcode):
            raise _NotCanonical("error")  # `PostError` would convert or refuse them
        waiting = status.is_active and next_attempt is not None
        error = {
            "message": error_message,
            "code": error_code,
            "subcode": error_subcode,
            "retry_at": next_attempt if waiting else None,
        }
    return {
        "id": post_id,
        "status": status_value,
        **spec,
        "publish_at": publish_at,
        "next_attempt_at": next_attempt,
        "attempts": attempts,
        "container_id": container_id,
        "media_id": media_id,
        "permalink": permalink,
        "error": error,
        "created_at": _iso(created_at),
        "updated_at": _iso(updated_at),
    }


def _ints_or_none(*values: Any) -> bool:
    return all(value is None or type(value) is int for value in values)


def _iso(stored: Any) -> str | None:
    """A stored time as `datetime.isoformat` writes it in UTC. SQLite's text is always
    `YYYY-MM-DD HH:MM:SS.ffffff` when SQLAlchemy wrote it; anything else goes the slow way."""
    if stored is None:
        return None
    if type(stored) is str:
        if len(stored) != 26 or stored[10] != " " or stored[19] != ".":
            raise _NotCanonical(stored)
        if stored.endswith(".000000"):  # isoformat leaves out a zero microsecond
            return f"{stored[:10]}T{stored[11:19]}+00:00"
        return f"{stored[:10]}T{stored[11:]}+00:00"
    if isinstance(stored, datetime) and stored.tzinfo is None:
        return stored.replace(tzinfo=UTC).isoformat()
    raise _NotCanonical(type(stored).__name__)


@cache
def _known_zone(name: str) -> bool:
    """`PostSpec`'s check of its zone, once per name: a list repeats a few."""
    try:
        ZoneInfo(name)
    except (ValueError, KeyError, OSError):  # ZoneInfoNotFoundError is a KeyError
        return False
    return True


def _publish_iso(text: str, stored: Any) -> str:
    """`PostSpec.publish_at.isoformat()` of its stored text: read as `PostSpec` reads a time
    in its zone (`datetime.fromisoformat`), which must carry an offset, then in UTC. The
    usual text, a whole second in UTC the same as the row's own column, is rewritten."""
    if (
        len(text) == 20
        and text[19] == "Z"
        and type(stored) is str
        and stored.endswith(".000000")
        and text[:10] == stored[:10]
        and text[10] == "T"
        and text[11:19] == stored[11:19]
    ):
        return f"{text[:19]}+00:00"
    digits = text.strip().lstrip("-")
    if digits.isascii() and digits.isdigit():  # PostSpec would read Unix seconds
        raise _NotCanonical("publish_at")
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise _NotCanonical("publish_at")
    return moment.astimezone(UTC).isoformat()


def _moment(stored: Any) -> datetime:
    """A stored publish time as the aware datetime a keyset condition binds."""
    moment = datetime.fromisoformat(stored) if isinstance(stored, str) else stored
    assert isinstance(moment, datetime)
    return moment.replace(tzinfo=UTC)


def _check_children(text: str) -> None:
    """Carousel containers that `read_post` would call malformed make the row a slow one."""
    if not isinstance(json.loads(text), list):
        raise _NotCanonical("child_container_ids")
