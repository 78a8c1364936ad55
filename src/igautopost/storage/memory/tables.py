"""What an `InMemoryStore` holds: posts as the SQL table's columns (`storage.records`), their
events, and the one lock every method holds while it reads or writes them."""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ...models import Event, Status

STEPPED = frozenset({Status.SCHEDULED, Status.PROCESSING, Status.READY, Status.PUBLISHED})
ACTIVE = frozenset(s for s in Status if s.is_active)
COLUMNS = frozenset(
    [
        "owner_id",
        "account",
        "media_type",
        "status",
        "spec_json",
        "token_ciphertext",
        "client_key",
        "fingerprint",
        "publish_at",
        "next_attempt_at",
        "attempts",
        "containers_created",
        "lease_owner",
        "lease_until",
        "claimed_at",
        "container_id",
        "child_container_ids",
        "container_created_at",
        "publish_attempted_at",
        "quota_held_until",
        "claim_marked_publish",
        "media_id",
        "permalink",
        "published_at",
        "comment_id",
        "comment_attempted_at",
        "error_code",
        "error_subcode",
        "error_message",
        "created_at",
        "updated_at",
    ]
)
Row = dict[str, Any]


@dataclass
class Tables:
    """What an `InMemoryStore` holds, under its one lock (shared with its accounts)."""

    lock: threading.RLock = field(default_factory=threading.RLock)
    posts: dict[int, Row] = field(default_factory=dict)
    events: list[Event] = field(default_factory=list)
    last_post_id: int = 0

    def insert_post(self, row: Row) -> int:
        self.last_post_id += 1
        self.posts[self.last_post_id] = {**row, "id": self.last_post_id}
        return self.last_post_id

    def log(self, post_id: int, at: datetime, before: str | None, to: str, detail: str) -> None:
        from_status = Status(before) if before else None
        at = at.astimezone(UTC)
        event = Event(
            post_id=post_id, at=at, from_status=from_status, to_status=Status(to), detail=detail
        )
        self.events.append(event)


def utc(values: Mapping[str, Any]) -> Row:
    """Column values as stored: times aware UTC (a naive one refused, as `SqlStore` does),
    carousel children as their JSON text."""
    stored: Row = {}
    for name, value in values.items():
        if name not in COLUMNS:
            raise ValueError(f"posts have no column {name!r}")
        if isinstance(value, datetime):
            if value.tzinfo is None:
                raise ValueError("naive datetime given to the store: times must be aware")
            value = value.astimezone(UTC)
        elif name == "child_container_ids" and isinstance(value, list):
            value = json.dumps(value)
        stored[name] = value
    return stored


def free(row: Row, now: datetime) -> bool:
    return row["lease_until"] is None or row["lease_until"] <= now


def blank_row() -> Row:
    row: Row = dict.fromkeys(COLUMNS)
    row.update(attempts=0, containers_created=0, claim_marked_publish=False)
    return row


def claimable(row: Row, now: datetime, horizon: datetime) -> bool:
    """Active (or with follow-up work), due by `now` (a ready post by `horizon`), and free."""
    at = row["next_attempt_at"]
    return (
        Status(row["status"]) in STEPPED
        and at is not None
        and at <= horizon
        and (at <= now or row["status"] == Status.READY.value)
        and free(row, now)
    )
