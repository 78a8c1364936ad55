"""What the engine asks of an `InMemoryStore`: claims with a lease, and leased writes, as
`storage.sql.claims` does them (the contract suite checks that they agree)."""

from __future__ import annotations

import builtins
import json
import logging
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from datetime import datetime, timedelta
from typing import Any

from ...models import Post, Status
from ..protocols import ZERO, QuotaSlot
from ..sql.rows import read_post
from .tables import STEPPED, Row, Tables, blank_row, claimable, free, utc

log = logging.getLogger("igautopost.storage")


class ClaimsMixin:
    """Mixed into `InMemoryStore`; relies on its ``_locked``."""

    def _locked(self) -> AbstractContextManager[Tables]:
        raise NotImplementedError

    def claim(
        self,
        post_id: int,
        *,
        owner: str,
        now: datetime,
        lease: timedelta,
        ahead: timedelta = ZERO,
        hold: timedelta = ZERO,
    ) -> Post | None:
        taken = self.claim_many(
            [post_id], owner=owner, now=now, lease=lease, ahead=ahead, hold=hold
        )
        return taken[0] if taken else None

    def claim_many(
        self,
        post_ids: Sequence[int],
        *,
        owner: str,
        now: datetime,
        lease: timedelta,
        ahead: timedelta = ZERO,
        hold: timedelta = ZERO,
    ) -> builtins.list[Post]:
        with self._locked() as t:
            rows = [t.posts[i] for i in dict.fromkeys(post_ids) if i in t.posts]
            due = [r for r in rows if claimable(r, now, now + ahead)]
            return self._take(due, owner, now, lease, ahead, hold)

    def claim_due(
        self,
        *,
        owner: str,
        now: datetime,
        lease: timedelta,
        limit: int,
        ahead: timedelta = ZERO,
        hold: timedelta = ZERO,
    ) -> builtins.list[Post]:
        with self._locked() as t:
            due = [r for r in t.posts.values() if claimable(r, now, now + ahead)]
            due.sort(key=lambda r: (r["next_attempt_at"], r["id"]))
            return self._take(due[:limit], owner, now, lease, ahead, hold)

    def _take(
        self,
        rows: builtins.list[Row],
        owner: str,
        now: datetime,
        lease: timedelta,
        ahead: timedelta,
        hold: timedelta,
    ) -> builtins.list[Post]:
        """Lease the rows; a ready post due by the horizon is marked as about to be published
        by the claim itself, and held over its publish call (see `sql.claims`)."""
        taken = []
        for row in rows:
            publishing = row["status"] == Status.READY.value and row["publish_at"] <= now + ahead
            row["lease_owner"] = owner
            row["lease_until"] = now + max(lease, ahead + hold) if publishing else now + lease
            row["claimed_at"] = now
            marks = publishing and row["publish_attempted_at"] is None
            if marks:
                row["publish_attempted_at"] = now
            row["claim_marked_publish"] = marks
            post, problem = read_post({**row, "publish_marked": marks})
            if problem is None:
                taken.append(post)
            else:
                self._set_aside(post, Status(row["status"]), problem, owner=owner, now=now)
        return sorted(taken, key=lambda p: p.next_attempt_at or now)

    def _set_aside(
        self, post: Post, stored: Status, problem: str, *, owner: str, now: datetime
    ) -> None:
        """A post that cannot be read is failed with the reason (see `SqlStore._set_aside`)."""
        log.error("post %s cannot be read back: %s", post.id, problem)
        changes: Row = {"next_attempt_at": None}
        if stored is Status.PUBLISHED:
            to, detail = Status.PUBLISHED, f"follow-up skipped: {problem}"
        else:
            assert post.error is not None
            to, detail = Status.FAILED, f"failed: {problem}"
            changes.update(error_message=post.error.message, error_code=None, error_subcode=None)
        as_stored = post.model_copy(update={"status": stored})
        self.save_step(as_stored, to, owner=owner, now=now, changes=changes, detail=detail)

    def due_by(
        self, until: datetime, *, limit: int, ahead: timedelta = ZERO
    ) -> builtins.list[tuple[int, datetime]]:
        with self._locked() as t:
            rows = sorted(
                (r for r in t.posts.values() if claimable(r, until, until + ahead)),
                key=lambda r: (r["next_attempt_at"], r["id"]),
            )[:limit]
            due = []
            for row in rows:
                at = row["next_attempt_at"]
                if row["status"] == Status.READY.value:
                    at -= ahead
                due.append((row["id"], max(at, row["lease_until"] or at)))
            return due

    def next_due(self, now: datetime, ahead: timedelta = ZERO) -> datetime | None:
        """The earliest next attempt of a free post (of a ready one, `ahead` of it), or the
        earliest end of a live lease (see `SqlStore.next_due`)."""
        with self._locked() as t:
            stepped = [
                r
                for r in t.posts.values()
                if Status(r["status"]) in STEPPED and r["next_attempt_at"] is not None
            ]
            due = [r["next_attempt_at"] for r in stepped if free(r, now)]
            lease_ends = [r["lease_until"] for r in stepped if not free(r, now)]
            ready = [
                r["next_attempt_at"] - ahead
                for r in stepped
                if r["status"] == Status.READY.value and free(r, now)
            ]
        known = [*due, *lease_ends, *(ready if ahead > ZERO else [])]
        return min(known) if known else None

    def save_step(
        self,
        post: Post,
        to: Status,
        *,
        owner: str,
        now: datetime,
        changes: Mapping[str, Any],
        detail: str,
        next_occurrence: tuple[datetime, datetime] | None = None,
    ) -> bool:
        values = utc({**changes, "status": to.value, "updated_at": now})
        with self._locked() as t:
            row = t.posts.get(post.id)
            if row is None or not _held(row, post, owner):
                return False
            row.update(values, lease_owner=None, lease_until=None)
            if to is not post.status or detail:
                t.log(post.id, now, post.status.value, to.value, detail)
            if next_occurrence is not None:
                self._add_occurrence(t, row, *next_occurrence, now)
        return True

    def save_progress(self, post: Post, *, owner: str, changes: Mapping[str, Any]) -> bool:
        values = utc(changes)
        with self._locked() as t:
            row = t.posts.get(post.id)
            if row is None or not _held(row, post, owner):
                return False
            row.update(values)
        return True

    def renew_leases(self, post_ids: Sequence[int], *, owner: str, until: datetime) -> int:
        """Extend `owner`'s leases to `until`; never shortens one. How many were extended."""
        renewed = 0
        with self._locked() as t:
            for post_id in set(post_ids):
                row = t.posts.get(post_id)
                if row is None or row["lease_owner"] != owner or row["lease_until"] is None:
                    continue
                if row["lease_until"] < until:
                    row["lease_until"] = until
                    renewed += 1
        return renewed

    def hold_lease(
        self, post_id: int, *, owner: str, claimed_at: datetime | None, until: datetime
    ) -> bool:
        with self._locked() as t:
            row = t.posts.get(post_id)
            if row is None or row["lease_owner"] != owner:
                return False
            if claimed_at is not None and row["claimed_at"] != claimed_at:
                return False
            if row["lease_until"] is None or row["lease_until"] <= until:
                row["lease_until"] = until
            return True

    def release(self, post_id: int, *, owner: str) -> None:
        with self._locked() as t:
            row = t.posts.get(post_id)
            if row is not None and row["lease_owner"] == owner:
                row.update(lease_owner=None, lease_until=None)

    def published_since(self, account: str, since: datetime) -> builtins.list[datetime]:
        with self._locked() as t:
            return sorted(
                r["published_at"]
                for r in t.posts.values()
                if r["account"] == account
                and r["status"] == Status.PUBLISHED.value
                and r["published_at"] is not None
                and r["published_at"] >= since
            )

    def recorded_media(self, account: str, *, since: datetime) -> set[str]:
        with self._locked() as t:
            return {
                str(r["media_id"])
                for r in t.posts.values()
                if r["account"] == account
                and r["media_id"] is not None
                and r["published_at"] is not None
                and r["published_at"] >= since
            }

    def reserve_quota(
        self, post_id: int, slot: QuotaSlot, *, owner: str, now: datetime, until: datetime
    ) -> bool:
        """Hold a publishing slot for the post until `until`, counting the usage read, the
        account's posts published since the read and the live slots of its other posts."""
        with self._locked() as t:
            mine = [r for r in t.posts.values() if r["account"] == slot.account]
            published = Status.PUBLISHED.value
            used = slot.usage + sum(
                r["status"] == published
                and r["published_at"] is not None
                and r["published_at"] > slot.read_at
                for r in mine
            )
            used += sum(
                r["status"] != published
                and r["id"] != post_id
                and r["quota_held_until"] is not None
                and r["quota_held_until"] > now
                for r in mine
            )
            if used >= slot.total:
                return False
            if post_id in t.posts:
                t.posts[post_id].update(utc({"quota_held_until": until}))
            return True

    def free_quota(self, post_id: int) -> None:
        with self._locked() as t:
            if post_id in t.posts:
                t.posts[post_id]["quota_held_until"] = None

    def _add_occurrence(
        self, t: Tables, source: Row, publish_at: datetime, prepare_at: datetime, now: datetime
    ) -> None:
        """The recurring post's next occurrence, unless the series has one at `publish_at`
        already (made when this post failed, before it was retried and published)."""
        spec = json.loads(source["spec_json"])
        if any(
            other["owner_id"] == source["owner_id"]
            and other["account"] == source["account"]
            and other["publish_at"] == publish_at
            and other["id"] != source["id"]
            and _rule_of(other["spec_json"]) == spec.get("recurrence")
            for other in t.posts.values()
        ):
            return
        key = source["client_key"]
        new_key = f"{key}@{publish_at.isoformat()}" if key else None
        spec.update(publish_at=publish_at.isoformat(), client_key=new_key)
        # the same content as its source: the same fingerprint
        row = {name: source[name] for name in ("owner_id", "account", "media_type", "fingerprint")}
        row |= {
            "status": Status.SCHEDULED.value,
            "spec_json": json.dumps({k: v for k, v in spec.items() if v is not None}),
            "token_ciphertext": source["token_ciphertext"],
            "client_key": new_key,
            "publish_at": publish_at,
            "next_attempt_at": prepare_at,
            "created_at": now,
            "updated_at": now,
        }
        new_id = t.insert_post(blank_row() | utc(row))
        detail = f"next occurrence of recurring post {source['id']}"
        t.log(new_id, now, None, Status.SCHEDULED.value, detail)


def _rule_of(spec_json: str) -> object:
    try:
        return json.loads(spec_json).get("recurrence")
    except (ValueError, AttributeError):
        return None


def _held(row: Row, post: Post, owner: str) -> bool:
    """The lease is the claim's that read `post`, not only its worker's (as in SQL)."""
    if row["lease_owner"] != owner:
        return False
    return post.claimed_at is None or row["claimed_at"] == post.claimed_at
