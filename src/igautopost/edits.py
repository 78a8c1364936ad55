"""Editing a stored post (the HTTP API's PUT and PATCH): re-validated, and re-prepared when
its content changes after a container was made for the old content."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from .models import Post, PostSpec, Status
from .policy import LeadTimes
from .posts import DEFAULT_LEADS, EDITABLE, attach_tokens, check_editable
from .storage.sql import SqlStore
from .validation import parse_post


def _alias_table() -> dict[str, str]:
    """Every accepted input name (old names included) -> the field's own name."""
    table: dict[str, str] = {}
    for name, info in PostSpec.model_fields.items():
        table[name] = name
        choices = getattr(info.validation_alias, "choices", ())
        for alias in choices:
            table[str(alias)] = name
    return table


def canonical(data: dict[str, Any]) -> dict[str, Any]:
    """`data` with old field names (``url``, ``date_pub``, ...) renamed to the current ones."""
    table = _alias_table()
    return {table.get(key, key): value for key, value in data.items()}


def edit(
    store: SqlStore,
    post_id: int,
    data: dict[str, Any],
    *,
    now: datetime,
    owner_id: int | None = None,
    replace: bool = False,
    leads: LeadTimes = DEFAULT_LEADS,
) -> Post:
    """Change a post's fields (all of them with `replace`, as PUT does; else only those given).

    A content change on a post whose container is prepared discards that container; the post
    is prepared again ahead of its publish time. A failed post becomes scheduled again.
    """
    post = store.get(post_id, owner_id=owner_id)
    check_editable(post, now=now)
    base = {} if replace else post.spec.model_dump(exclude={"access_token"}, exclude_none=True)
    spec = parse_post({**base, **canonical(data)}, now=now)
    content_changed = _content(spec) != _content(post.spec)
    changes: dict[str, Any] = {
        "spec": spec,
        "error_message": None,
        "error_code": None,
        "error_subcode": None,
        "attempts": 0,
    }
    status = post.status
    if content_changed or status is Status.FAILED:
        changes.update(container_id=None, child_container_ids=None, container_created_at=None)
        status = Status.SCHEDULED
    next_at = spec.publish_at if status is Status.READY else leads.prepare_at(spec)
    if status is Status.PROCESSING:
        next_at = now  # poll the container again at once
    changes["next_attempt_at"] = next_at
    discarded = content_changed and (post.container_id or post.child_container_ids)
    detail = "edited" + ("; the prepared container is discarded" if discarded else "")
    edited = store.transition(
        post_id, status, now=now, detail=detail, expect=EDITABLE, changes=changes
    )
    attach_tokens(store, [spec], post.owner_id, now)
    return edited


def _content(spec: PostSpec) -> dict[str, Any]:
    return spec.model_dump(
        exclude={
            "access_token",
            "publish_at",
            "client_key",
            "recurrence",
            "timezone",
            "prepare_ahead",
        }
    )
