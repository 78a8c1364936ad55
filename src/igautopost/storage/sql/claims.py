"""What the publishing engine asks of the store: claims with a lease, and leased writes.

A claim is one conditional UPDATE: it succeeds only for an active post that is due and not
leased by a live worker, so duplicate or stale wake-ups are harmless. Every write of a step is
conditional on still holding the lease: a worker that lost its lease (it stalled past the
lease, and another took over) cannot overwrite the newer state.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from ...models import ACTIVE_STATUS_VALUES, Post, Status
from ..protocols import QuotaSlot
from .media_refs import copy_refs
from .tables import UTCDateTime, events, posts

# A published post with a next attempt time has follow-up work: its permalink, first comment.
STEPPED = [*ACTIVE_STATUS_VALUES, Status.PUBLISHED.value]
ZERO = timedelta(0)


# Prebuilt statements for the writes every step makes: the SET clause comes from the keys of
# the parameters, so one statement serves every step (every step writes, and building a
# statement is Python work on that path).
# The lease is held by one claim, not by its worker: the worker's other threads may claim the
# post again once a user's change took it away (same owner name), and the older step's write
# must then fail. A post read otherwise than from a claim has no claim time to match.
_CLAIMED_AT = sa.bindparam("b_claimed_at", type_=UTCDateTime)
_LEASED_UPDATE = posts.update().where(
    posts.c.id == sa.bindparam("b_id"),
    posts.c.lease_owner == sa.bindparam("b_owner"),
    sa.or_(_CLAIMED_AT.is_(None), posts.c.claimed_at == _CLAIMED_AT),
)
_EVENT_INSERT = events.insert()


# Claims are prebuilt too: building the UPDATE and its cache key on every claim was half of
# a Celery worker's Python time in a burst. `c_horizon` is now + ahead: a ready post due by
# then is claimed; any other post only when due by now.
_NOW = sa.bindparam("c_now", type_=UTCDateTime)
_HORIZON = sa.bindparam("c_horizon", type_=UTCDateTime)
_CLAIMABLE = sa.and_(
    posts.c.status.in_(STEPPED),
    # one index range (ix_posts_due) up to the horizon, then a filter: an OR of two ranges
    # would not use the index
    posts.c.next_attempt_at <= _HORIZON,
    sa.or_(posts.c.next_attempt_at <= _NOW, posts.c.status == Status.READY.value),
    # A lease until T is over at T: `next_due` reports T, and a claim at T succeeds.
    sa.or_(posts.c.lease_until.is_(None), posts.c.lease_until <= _NOW),
)
# What a claim sets. A ready post whose publish time has come (or comes by the horizon) is
# marked as about to be published by the claim itself: one write for a whole batch, instead
# of one per post before its publish call (see `Steps.publish`). Its lease covers the wait
# for the mark and the call's leaving (`c_hold_until`, see leases.py), so that the step need
# not extend it with a write of its own just before the call.
_PUBLISHING = sa.and_(posts.c.status == Status.READY.value, posts.c.publish_at <= _HORIZON)
_MARKS = sa.and_(_PUBLISHING, posts.c.publish_attempted_at.is_(None))
_LEASE = {
    "lease_owner": sa.bindparam("c_owner"),
    "lease_until": sa.case(
        (_PUBLISHING, sa.bindparam("c_hold_until", type_=UTCDateTime)),
        else_=sa.bindparam("c_until", type_=UTCDateTime),
    ),
    "claimed_at": _NOW,
    "publish_attempted_at": sa.case(
        (_MARKS, _NOW),
        else_=posts.c.publish_attempted_at,
    ),
    # Said in so many words, for the step (`Post.publish_marked`): the SET clause sees the
    # row as it was, so this is the same condition as the line above.
    "claim_marked_publish": sa.case((_MARKS, sa.true()), else_=sa.false()),
}
# A claim's rows carry its flag as `publish_marked` (other reads of the row do not: the flag
# says what this claim did, not what the post is).
_RETURNED = (*posts.c, posts.c.claim_marked_publish.label("publish_marked"))
_CLAIM_ONE = (
    posts.update()
    .where(posts.c.id == sa.bindparam("c_id"), _CLAIMABLE)
    .values(_LEASE)
    .returning(*_RETURNED)
)
_CLAIM_MANY = (
    posts.update()
    .where(posts.c.id.in_(sa.bindparam("c_ids", expanding=True)), _CLAIMABLE)
    .values(_LEASE)
    .returning(*_RETURNED)
)


def _claim_due_statement(*, skip_locked: bool) -> sa.Update:
    due = (
        sa.select(posts.c.id)
        .where(_CLAIMABLE)
        .order_by(posts.c.next_attempt_at)
        .limit(sa.bindparam("c_limit", type_=sa.Integer))
    )
    if skip_locked:
        # PostgreSQL: workers claiming at once take different rows. The picked ids are
        # materialized first: as `id IN (subquery)`, the subquery may run again for rows
        # the statement has locked meanwhile, skip them and take more than the limit.
        picked = due.with_for_update(skip_locked=True).cte("picked").prefix_with("MATERIALIZED")
        locked: sa.Update = (
            posts.update()
            .where(posts.c.id == picked.c.id, _CLAIMABLE)
            .values(_LEASE)
            .returning(*_RETURNED)
        )
        return locked
    statement: sa.Update = (
        posts.update()
        .where(posts.c.id.in_(due.scalar_subquery()), _CLAIMABLE)
        .values(_LEASE)
        .returning(*_RETURNED)
    )
    return statement


_CLAIM_DUE = _claim_due_statement(skip_locked=False)
_CLAIM_DUE_LOCKED = _claim_due_statement(skip_locked=True)


def _next_due_statement() -> sa.Select[Any]:
    """The earliest next attempt of a free post, the earliest end of a live lease, and the
    earliest next attempt of a free ready post: three columns of one row (`next_due`)."""
    now = sa.bindparam("n_now", type_=UTCDateTime)
    free = sa.or_(posts.c.lease_until.is_(None), posts.c.lease_until <= now)
    # One index walk per status (ix_posts_due), stopping at the first free post: a plain
    # min() over all active posts reads every row of a large backlog.
    firsts = [
        sa.select(posts.c.next_attempt_at.label("at"))
        .where(posts.c.status == status, posts.c.next_attempt_at.is_not(None), free)
        .order_by(posts.c.next_attempt_at)
        .limit(1)
        .subquery()
        for status in STEPPED
    ]
    earliest = sa.union_all(*[sa.select(f.c.at) for f in firsts]).subquery()
    due = sa.select(sa.func.min(earliest.c.at))
    # Only a post in a step holds a lease into the future: every write that ends a step or
    # changes a post clears it. So the lease index alone answers, one range: with the
    # status and next attempt tested too, SQLite without statistics walked ix_posts_due
    # instead, every scheduled post (532 ms with a million stored; docs/benchmarks.md).
    lease_end = sa.select(sa.func.min(posts.c.lease_until)).where(posts.c.lease_until > now)
    ready = sa.select(sa.func.min(posts.c.next_attempt_at)).where(
        posts.c.status == Status.READY.value, free
    )
    return sa.select(due.scalar_subquery(), lease_end.scalar_subquery(), ready.scalar_subquery())


_NEXT_DUE = _next_due_statement()


def _claim_params(
    owner: str, now: datetime, lease: timedelta, ahead: timedelta, hold: timedelta
) -> dict[str, Any]:
    return {
        "c_now": now,
        "c_horizon": now + ahead,
        "c_owner": owner,
        "c_until": now + lease,
        "c_hold_until": now + max(lease, ahead + hold),
    }


# A renewal never shortens a lease: a post held over its publish call keeps that hold.
_UNTIL = sa.bindparam("r_until", type_=UTCDateTime)
_RENEW = (
    posts.update()
    .where(
        posts.c.id.in_(sa.bindparam("r_ids", expanding=True)),
        posts.c.lease_owner == sa.bindparam("r_owner"),
        posts.c.lease_until < _UNTIL,
    )
    .values(lease_until=_UNTIL)
)


class ClaimsMixin:
    """Mixed into `SqlStore`; relies on its ``engine`` and ``_taken``."""

    engine: sa.Engine

    def _write(self) -> AbstractContextManager[sa.Connection]:
        raise NotImplementedError

    def _taken(self, rows: Sequence[sa.Row[Any]], *, owner: str, now: datetime) -> list[Post]:
        """The claimed rows as posts, those that cannot be read left out (and failed)."""
        raise NotImplementedError

    def _in_due_order(self, rows: Sequence[sa.Row[Any]], owner: str, now: datetime) -> list[Post]:
        taken = self._taken(rows, owner=owner, now=now)
        return sorted(taken, key=lambda p: p.next_attempt_at or now)

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
        """Take the lease on one due post; None if it is not due, not active or leased.
        With `ahead`, a ready post due within it is taken too (see `claim_due`)."""
        params = _claim_params(owner, now, lease, ahead, hold) | {"c_id": post_id}
        with self._write() as conn:
            row = conn.execute(_CLAIM_ONE, params).first()
        taken = self._taken([row], owner=owner, now=now) if row else []
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
    ) -> list[Post]:
        """`claim` of several posts in one statement (a Celery task's batch); the posts
        taken, in due order. Those not due, not active or leased are left out."""
        if not post_ids:
            return []
        params = _claim_params(owner, now, lease, ahead, hold) | {"c_ids": list(post_ids)}
        with self._write() as conn:
            rows = conn.execute(_CLAIM_MANY, params).all()
        return self._in_due_order(rows, owner, now)

    def claim_due(
        self,
        *,
        owner: str,
        now: datetime,
        lease: timedelta,
        limit: int,
        ahead: timedelta = ZERO,
        hold: timedelta = ZERO,
    ) -> list[Post]:
        """Take the lease on up to `limit` due posts, most overdue first; with `ahead`, also
        ready posts due within it (the scheduler then publishes them on their mark).

        `hold`: by when, after its mark, a publish call has surely left; a ready post about
        to be published is leased until the horizon plus that (see leases.py)."""
        statement = _CLAIM_DUE_LOCKED if self.engine.dialect.name == "postgresql" else _CLAIM_DUE
        params = _claim_params(owner, now, lease, ahead, hold) | {"c_limit": limit}
        with self._write() as conn:
            rows = conn.execute(statement, params).all()
        return self._in_due_order(rows, owner, now)

    def due_by(
        self, until: datetime, *, limit: int, ahead: timedelta = ZERO
    ) -> list[tuple[int, datetime]]:
        """Posts a claim will take by `until`, and from when: what a distributed sweeper sends
        to workers. With `ahead`, a ready post is taken `ahead` of its time (as `claim`
        with the same `ahead` takes it). An index range on ix_posts_due: its cost follows
        the due posts only."""
        ready = Status.READY.value
        statement = (
            sa.select(posts.c.id, posts.c.status, posts.c.next_attempt_at, posts.c.lease_until)
            .where(
                posts.c.status.in_(STEPPED),
                posts.c.next_attempt_at <= until + ahead,
                sa.or_(posts.c.next_attempt_at <= until, posts.c.status == ready),
                sa.or_(posts.c.lease_until.is_(None), posts.c.lease_until <= until),
            )
            .order_by(posts.c.next_attempt_at)
            .limit(limit)
        )
        with self.engine.connect() as conn:
            rows = conn.execute(statement).all()
        due: list[tuple[int, datetime]] = []
        for row in rows:
            at = row.next_attempt_at - ahead if row.status == ready else row.next_attempt_at
            due.append((row.id, max(at, row.lease_until or at)))
        return due

    def next_due(self, now: datetime, ahead: timedelta = ZERO) -> datetime | None:
        """When the next claim may succeed: the earliest next attempt of a free post (of a
        ready one, `ahead` of it, as `claim_due` takes them), or the earliest end of a live
        lease (a worker that died leaves its posts to be taken over).

        One statement, so one snapshot: read in parts, a step that saved between two of
        them (releasing its lease) made a post waiting for its publish time vanish from the
        answer, and `worker --exit-when-idle` stopped before publishing it."""
        with self.engine.connect() as conn:
            row = conn.execute(_NEXT_DUE, {"n_now": now}).one()
        due, lease_end, ready = (_aware(value) for value in row)
        if ahead > ZERO and ready is not None:
            ready -= ahead
        known = [t for t in (due, lease_end, ready if ahead > ZERO else None) if t is not None]
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
        """Write a step's outcome and release the lease, if `owner` still holds it.

        With `next_occurrence` (publish time, prepare time), the recurring post's next
        occurrence is created in the same transaction, so that a crash cannot lose or double it.
        """
        values = {
            **changes,
            "status": to.value,
            "updated_at": now,
            "lease_owner": None,
            "lease_until": None,
        }
        if "child_container_ids" in values and isinstance(values["child_container_ids"], list):
            values["child_container_ids"] = json.dumps(values["child_container_ids"])
        with self._write() as conn:
            result = conn.execute(_LEASED_UPDATE, {**values, **_held_by(post, owner)})
            if result.rowcount != 1:
                return False
            if to is not post.status or detail:
                conn.execute(
                    _EVENT_INSERT,
                    {
                        "post_id": post.id,
                        "at": now,
                        "from_status": post.status.value,
                        "to_status": to.value,
                        "detail": detail,
                    },
                )
            if next_occurrence is not None:
                self._insert_occurrence(conn, post.id, *next_occurrence, now)
        return True

    def save_progress(self, post: Post, *, owner: str, changes: Mapping[str, Any]) -> bool:
        """Persist ids as soon as Instagram hands them out, keeping the lease."""
        values = dict(changes)
        if isinstance(values.get("child_container_ids"), list):
            values["child_container_ids"] = json.dumps(values["child_container_ids"])
        with self._write() as conn:
            result = conn.execute(_LEASED_UPDATE, {**values, **_held_by(post, owner)})
        return result.rowcount == 1

    def renew_leases(self, post_ids: Sequence[int], *, owner: str, until: datetime) -> int:
        """Extend `owner`'s leases on these posts to `until` (a worker's heartbeat); never
        shortens one. How many were extended: a post taken over by another worker, or
        released, is left alone."""
        if not post_ids:
            return 0
        params = {"r_ids": list(post_ids), "r_owner": owner, "r_until": until}
        with self._write() as conn:
            return conn.execute(_RENEW, params).rowcount

    def hold_lease(
        self, post_id: int, *, owner: str, claimed_at: datetime | None, until: datetime
    ) -> bool:
        """Whether `owner` still holds the claim it took at `claimed_at`, and if so keep the
        post until at least `until` (over a publish call). False when another worker took
        it over, or this worker claimed it again meanwhile (a stale step must not publish)."""
        held = sa.and_(posts.c.id == post_id, posts.c.lease_owner == owner)
        if claimed_at is not None:
            held = sa.and_(held, posts.c.claimed_at == claimed_at)
        until_ = sa.bindparam("h_until", until, type_=UTCDateTime)
        longer = sa.case((posts.c.lease_until > until_, posts.c.lease_until), else_=until_)
        with self._write() as conn:
            result = conn.execute(posts.update().where(held).values(lease_until=longer))
        return result.rowcount == 1

    def release(self, post_id: int, *, owner: str) -> None:
        """Give up a lease without changing anything (shutdown, or a step that did nothing)."""
        with self._write() as conn:
            conn.execute(
                posts.update()
                .where(posts.c.id == post_id, posts.c.lease_owner == owner)
                .values(lease_owner=None, lease_until=None)
            )

    def reserve_quota(
        self, post_id: int, slot: QuotaSlot, *, owner: str, now: datetime, until: datetime
    ) -> bool:
        """Hold one of the account's publishing slots for `post_id` until `until`, counted in
        the same transaction as the slots every other process holds (see QuotaSlot)."""
        published_after_read = sa.select(sa.func.count()).where(
            posts.c.account == slot.account,
            posts.c.status == Status.PUBLISHED.value,
            posts.c.published_at > slot.read_at,
        )
        held_by_others = sa.select(sa.func.count()).where(
            posts.c.account == slot.account,
            posts.c.quota_held_until > now,
            posts.c.status != Status.PUBLISHED.value,
            posts.c.id != post_id,
        )
        with self._write() as conn:
            if conn.dialect.name == "postgresql":
                # One account's reservations in turn: READ COMMITTED would let two
                # transactions each count the other's slot as free. SQLite writes one at a
                # time already (sqlite_writes.py).
                conn.execute(
                    sa.select(sa.func.pg_advisory_xact_lock(_QUOTA_LOCKS, _lock_key(slot)))
                )
            used = slot.usage + conn.execute(published_after_read).scalar_one()
            used += conn.execute(held_by_others).scalar_one()
            if used >= slot.total:
                return False
            conn.execute(posts.update().where(posts.c.id == post_id).values(quota_held_until=until))
            return True

    def free_quota(self, post_id: int) -> None:
        """Give back the post's slot; once published, the post counts by its publish time."""
        with self._write() as conn:
            conn.execute(
                posts.update()
                .where(posts.c.id == post_id, posts.c.quota_held_until.is_not(None))
                .values(quota_held_until=None)
            )

    def published_since(self, account: str, since: datetime) -> list[datetime]:
        """When the account's posts were published after `since`: the local quota ledger."""
        statement = (
            sa.select(posts.c.published_at)
            .where(
                posts.c.account == account,
                posts.c.status == Status.PUBLISHED.value,
                posts.c.published_at >= since,
            )
            .order_by(posts.c.published_at)
        )
        with self.engine.connect() as conn:
            return [_aware(v) for v in conn.execute(statement).scalars()]  # type: ignore[misc]

    def recorded_media(self, account: str, *, since: datetime) -> set[str]:
        """The media ids stored for the account's posts published since `since`: a media
        another post has recorded is not the one a post with a lost answer looks for."""
        statement = sa.select(posts.c.media_id).where(
            posts.c.account == account,
            posts.c.media_id.is_not(None),
            posts.c.published_at >= since,
        )
        with self.engine.connect() as conn:
            return {str(v) for v in conn.execute(statement).scalars()}

    def _insert_occurrence(
        self,
        conn: sa.Connection,
        post_id: int,
        publish_at: datetime,
        prepare_at: datetime,
        now: datetime,
    ) -> None:
        source = conn.execute(sa.select(posts).where(posts.c.id == post_id)).one()._mapping
        spec = json.loads(source["spec_json"])
        if _has_occurrence(conn, source, spec.get("recurrence"), publish_at):
            return  # made when this post failed, before it was retried and published
        spec["publish_at"] = publish_at.isoformat()
        key = source["client_key"]
        new_key = f"{key}@{publish_at.isoformat()}" if key else None
        spec["client_key"] = new_key
        new_id = conn.execute(
            posts.insert().values(
                owner_id=source["owner_id"],
                account=source["account"],
                media_type=source["media_type"],
                status=Status.SCHEDULED.value,
                spec_json=json.dumps({k: v for k, v in spec.items() if v is not None}),
                token_ciphertext=source["token_ciphertext"],
                client_key=new_key,
                fingerprint=source["fingerprint"],  # the same media and caption
                publish_at=publish_at,
                next_attempt_at=prepare_at,
                attempts=0,
                containers_created=0,
                created_at=now,
                updated_at=now,
            )
        ).inserted_primary_key[0]  # type: ignore[index]
        conn.execute(
            events.insert().values(
                post_id=new_id,
                at=now,
                from_status=None,
                to_status=Status.SCHEDULED.value,
                detail=f"next occurrence of recurring post {post_id}",
            )
        )
        copy_refs(conn, post_id, new_id)  # the same media copies


def _has_occurrence(
    conn: sa.Connection, source: Mapping[Any, Any], rule: object, publish_at: datetime
) -> bool:
    """Whether the series already has a post at `publish_at`: a post that failed gave the
    series its next occurrence, and must not give it a second one when published later."""
    owner = source["owner_id"]
    same_owner = posts.c.owner_id.is_(None) if owner is None else posts.c.owner_id == owner
    statement = sa.select(posts.c.spec_json).where(
        same_owner,
        posts.c.account == source["account"],
        posts.c.publish_at == publish_at,
        posts.c.id != source["id"],
    )
    return any(_rule_of(text) == rule for text in conn.execute(statement).scalars())


def _rule_of(spec_json: str) -> object:
    try:
        return json.loads(spec_json).get("recurrence")
    except (ValueError, AttributeError):
        return None


def _aware(value: datetime | None) -> datetime | None:
    from datetime import UTC

    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _held_by(post: Post, owner: str) -> dict[str, Any]:
    return {"b_id": post.id, "b_owner": owner, "b_claimed_at": post.claimed_at}


_QUOTA_LOCKS = 0x1A0  # the advisory lock namespace of quota reservations (PostgreSQL)


def _lock_key(slot: QuotaSlot) -> int:
    """The account as a signed 32-bit advisory lock key: collisions only serialize more."""
    return zlib.crc32(slot.account.encode()) - 2**31
