"""Editing a stored post (the HTTP API's PUT and PATCH): re-validated, and re-prepared when
its content changes after a container was made for the old content."""

from __future__ import annotations

from datetime import datetime, tzinfo
from typing import Any

from .engine.policy import LeadTimes
from .models import Post, PostSpec, Status
from .posts import (
    DEFAULT_LEADS,
    EDITABLE,
    attach_tokens,
    check_editable,
    may_be_published,
    replanned,
    unchanged_since,
)
from .storage.protocols import Store
from .validation import parse_post
from .zones import default_zone


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
    store: Store,
    post_id: int,
    data: dict[str, Any],
    *,
    now: datetime,
    owner_id: int | None = None,
    replace: bool = False,
    leads: LeadTimes = DEFAULT_LEADS,
    zone: tzinfo | None = None,
) -> Post:
    """Change a post's fields (all of them with `replace`, as PUT does; else only those given).

    Times without an offset are read in the post's `timezone` (kept unless `data` names
    another); a replacement without one takes `zone` (None: `igautopost.zones.default_zone`),
    as a new post does.

    A content change on a post whose container is prepared discards that container; the post
    is prepared again ahead of its publish time. A failed post becomes scheduled again. A
    failed post whose publish call may have gone through keeps its container until the
    engine has asked Instagram about it: published, it is recorded as published.
    """

    reader = zone or default_zone()

    def change() -> Post:
        post = store.get(post_id, owner_id=owner_id)
        check_editable(post, now=now)
        keep = {} if replace else post.spec.model_dump(exclude={"access_token"}, exclude_none=True)
        spec = parse_post({**keep, **canonical(data)}, now=now, zone=reader)
        status, changes, detail = _plan(post, spec, now=now, leads=leads)
        edited = store.transition(
            post_id,
            status,
            now=now,
            detail=detail,
            expect=EDITABLE,
            changes=changes,
            check=unchanged_since(post, now=now),
        )
        attach_tokens(store, [spec], post.owner_id, now)
        return edited

    return replanned(change)


def _plan(
    post: Post, spec: PostSpec, *, now: datetime, leads: LeadTimes
) -> tuple[Status, dict[str, Any], str]:
    """The edited post's status, the columns to write and the event's detail."""
    content_changed = _content(spec) != _content(post.spec)
    changes: dict[str, Any] = {
        "spec": spec,
        "error_message": None,
        "error_code": None,
        "error_subcode": None,
        "attempts": 0,
    }
    if post.status is Status.FAILED and may_be_published(post):
        # Its container is asked about at once: a content change replaces it only once
        # Instagram says it is not published (`Steps.prepare`); otherwise it is polled.
        changes["next_attempt_at"] = now
        status = Status.SCHEDULED if content_changed else Status.PROCESSING
        return status, changes, "edited; a publish call may have gone through: asking Instagram"
    status = post.status
    if content_changed or status is Status.FAILED:
        changes.update(container_id=None, child_container_ids=None, container_created_at=None)
        status = Status.SCHEDULED
    next_at = spec.publish_at if status is Status.READY else leads.prepare_at(spec)
    if status is Status.PROCESSING:
        next_at = now  # poll the container again at once
    changes["next_attempt_at"] = next_at
    discarded = content_changed and (post.container_id or post.child_container_ids)
    return (
        status,
        changes,
        "edited" + ("; the prepared container is discarded" if discarded else ""),
    )


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
