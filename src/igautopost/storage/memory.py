"""A `Store` in one process's memory: for tests, examples and experiments without a database.

It keeps the promises `SqlStore` keeps (the contract suite in tests/storage checks both):
the same statuses, events, leases and errors, tokens encrypted with its cipher at rest. Posts
are kept as the same columns the SQL table holds (`records`) and read back by the same code
(`sql.rows.read_post`). One lock makes every method one transaction; nothing outlives the
process.

>>> store = InMemoryStore(cipher=TokenCipher([TokenCipher.generate_key()]))  # doctest: +SKIP
"""

from __future__ import annotations

import builtins
import json
import logging
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from ..crypto import TokenCipher
from ..errors import InvalidPost, InvalidTransition, PostNotFound, Problem
from ..models import Event, Post, PostSpec, Status
from .memory_accounts import InMemoryAccountStore
from .protocols import ZERO, PostQuery, QuotaSlot
from .records import new_post_row, spec_columns
from .sql.rows import UNREADABLE, read_post

if TYPE_CHECKING:
    import sqlalchemy as sa

    from .protocols import AccountStore, Store, UserStore
    from .sql import SqlStore, SqlUserStore

log = logging.getLogger("igautopost.storage")

# A published post with a next attempt time has follow-up work: its permalink, first comment.
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


def _free(row: Row, now: datetime) -> bool:
    return row["lease_until"] is None or row["lease_until"] <= now


class InMemoryStore:
    """A thread-safe `Store` in memory: posts, claims and `accounts`, gone with the process."""

    def __init__(self, *, cipher: TokenCipher) -> None:
        self._cipher = cipher
        self._tables = Tables()
        self._accounts = InMemoryAccountStore(self._tables, cipher)

    @property
    def cipher(self) -> TokenCipher:
        return self._cipher

    @property
    def accounts(self) -> InMemoryAccountStore:
        return self._accounts

    @contextmanager
    def _locked(self) -> Iterator[Tables]:
        with self._tables.lock:
            yield self._tables

    def ping(self) -> None:
        """Always reachable."""

    def close(self) -> None:
        """Nothing to close: the posts stay readable until the store is dropped."""

    def leases(self) -> dict[int, tuple[str | None, datetime | None]]:
        """Every post's (lease owner, lease end): what a test inspects."""
        with self._locked() as t:
            return {i: (row["lease_owner"], row["lease_until"]) for i, row in t.posts.items()}

    # -- posts ---------------------------------------------------------------------------

    def add(
        self,
        specs: Sequence[PostSpec],
        *,
        now: datetime,
        owner_id: int | None = None,
        prepare_at: Sequence[datetime] | None = None,
        ciphertexts: Mapping[str, str] | None = None,
    ) -> builtins.list[Post]:
        encrypted = dict(ciphertexts or {})
        rows = [
            new_post_row(spec, now=now, owner_id=owner_id, cipher=self._cipher, encrypted=encrypted)
            for spec in specs
        ]
        for row, due in zip(rows, prepare_at or (), strict=False):
            row["next_attempt_at"] = due
        with self._locked() as t:
            self._refuse_stored_keys(t, rows)
            ids = [t.insert_post(_blank_row() | utc(row)) for row in rows]
            for post_id in ids:
                t.log(post_id, now, None, Status.SCHEDULED.value, "scheduled")
            return [read_post(t.posts[i], spec)[0] for i, spec in zip(ids, specs, strict=True)]

    def _refuse_stored_keys(self, t: Tables, rows: builtins.list[Row]) -> None:
        """Client keys are unique per owner and account, as the SQL table's unique indexes say."""
        taken = {(r["owner_id"], r["account"], r["client_key"]) for r in t.posts.values()}
        for row in rows:
            key = (row["owner_id"], row["account"], row["client_key"])
            if row["client_key"] is not None and key in taken:
                problem = "is already stored for this account (stored concurrently)"
                raise InvalidPost([Problem("client_key", problem)])
            taken.add(key)

    def transition(
        self,
        post_id: int,
        to: Status,
        *,
        now: datetime,
        detail: str = "",
        expect: frozenset[Status] | None = None,
        changes: Mapping[str, Any] | None = None,
        check: Callable[[Post], None] | None = None,
    ) -> Post:
        """A user's change: takes the post from any worker's lease (see `SqlStore`)."""
        values: Row = {**(changes or {}), "status": to.value, "updated_at": now}
        values.update(lease_owner=None, lease_until=None)
        new_spec = "spec" in values
        if new_spec:
            values.update(spec_columns(values.pop("spec"), self._cipher))
        with self._locked() as t:
            before = self._row(t, post_id, owner_id=None)
            if expect is not None and Status(before["status"]) not in expect:
                raise InvalidTransition(
                    f"post {post_id} is {before['status']}; this needs it to be "
                    + " or ".join(sorted(s.value for s in expect))
                )
            if check is not None:
                check(read_post(before)[0])
            if new_spec and (problem := read_post(before)[1]) is not None:
                raise InvalidTransition(f"post {post_id}: {UNREADABLE.format(problem)}")
            before_status = before["status"]
            before.update(utc(values))
            t.log(post_id, now, before_status, to.value, detail)
            return read_post(before)[0]

    def get(self, post_id: int, *, owner_id: int | None = None) -> Post:
        with self._locked() as t:
            return read_post(self._row(t, post_id, owner_id=owner_id))[0]

    def list(self, query: PostQuery) -> builtins.list[Post]:
        with self._locked() as t:
            rows = sorted(
                (row for row in t.posts.values() if _matches(row, query)),
                key=lambda row: (row["publish_at"], row["id"]),
            )
            end = None if query.limit is None else query.offset + query.limit
            return [read_post(row)[0] for row in rows[query.offset : end]]

    def events(self, post_id: int) -> builtins.list[Event]:
        with self._locked() as t:
            return [event for event in t.events if event.post_id == post_id]

    def counts(self, *, owner_id: int | None = None) -> dict[str, int]:
        counts: dict[str, int] = {}
        with self._locked() as t:
            for row in t.posts.values():
                if owner_id is None or row["owner_id"] == owner_id:
                    counts[row["status"]] = counts.get(row["status"], 0) + 1
        return counts

    def similar_candidates(
        self, account: str, start: datetime, end: datetime
    ) -> builtins.list[tuple[int, datetime, str | None, str]]:
        """(id, publish time, media URL, caption) of the account's active posts due between
        `start` and `end`, both included (as SQL's BETWEEN)."""
        found = []
        with self._locked() as t:
            for row in t.posts.values():
                if (
                    row["account"] == account
                    and Status(row["status"]) in ACTIVE
                    and start <= row["publish_at"] <= end
                ):
                    spec = json.loads(row["spec_json"])
                    media_url, caption = spec.get("media_url"), spec.get("caption", "")
                    found.append((row["id"], row["publish_at"], media_url, caption))
        return found

    def client_keys(
        self, account: str, keys: Iterable[str], *, owner_id: int | None = None
    ) -> dict[str, int]:
        wanted = set(keys)
        with self._locked() as t:
            return {
                row["client_key"]: row["id"]
                for row in t.posts.values()
                if row["owner_id"] == owner_id
                and row["account"] == account
                and row["client_key"] in wanted
            }

    def access_token(self, post_id: int) -> str | None:
        with self._locked() as t:
            row = t.posts.get(post_id)
            ciphertext = None if row is None else row["token_ciphertext"]
        return self._cipher.decrypt(ciphertext) if ciphertext else None

    def token_of(self, post: Post) -> str | None:
        if post.token_ciphertext is not None:
            return self._cipher.decrypt(post.token_ciphertext)
        return self.access_token(post.id)

    @staticmethod
    def _row(t: Tables, post_id: int, *, owner_id: int | None) -> Row:
        row = t.posts.get(post_id)
        if row is None or (owner_id is not None and row["owner_id"] != owner_id):
            raise PostNotFound(post_id)
        return row

    # -- claims ----------------------------------------------------------------------------

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
            claimable = [r for r in rows if _claimable(r, now, now + ahead)]
            return self._take(claimable, owner, now, lease, ahead, hold)

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
            claimable = [r for r in t.posts.values() if _claimable(r, now, now + ahead)]
            claimable.sort(key=lambda r: (r["next_attempt_at"], r["id"]))
            return self._take(claimable[:limit], owner, now, lease, ahead, hold)

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
        by the claim itself, and held over its publish call (see claims.py)."""
        taken = []
        for row in rows:
            publishing = row["status"] == Status.READY.value and row["publish_at"] <= now + ahead
            row["lease_owner"] = owner
            row["lease_until"] = now + max(lease, ahead + hold) if publishing else now + lease
            row["claimed_at"] = now
            if publishing and row["publish_attempted_at"] is None:
                row["publish_attempted_at"] = now
            post, problem = read_post({**row, "publish_marked": row["publish_attempted_at"] == now})
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
                (r for r in t.posts.values() if _claimable(r, until, until + ahead)),
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
            due = [r["next_attempt_at"] for r in stepped if _free(r, now)]
            lease_ends = [r["lease_until"] for r in stepped if not _free(r, now)]
            ready = [
                r["next_attempt_at"] - ahead
                for r in stepped
                if r["status"] == Status.READY.value and _free(r, now)
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
            if row is None or row["lease_owner"] != owner:
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
            if row is None or row["lease_owner"] != owner:
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
        row = {name: source[name] for name in ("owner_id", "account", "media_type")}
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
        new_id = t.insert_post(_blank_row() | utc(row))
        detail = f"next occurrence of recurring post {source['id']}"
        t.log(new_id, now, None, Status.SCHEDULED.value, detail)


def _blank_row() -> Row:
    row: Row = dict.fromkeys(COLUMNS)
    row.update(attempts=0, containers_created=0)
    return row


def _claimable(row: Row, now: datetime, horizon: datetime) -> bool:
    """Active (or with follow-up work), due by `now` (a ready post by `horizon`), and free."""
    at = row["next_attempt_at"]
    return (
        Status(row["status"]) in STEPPED
        and at is not None
        and at <= horizon
        and (at <= now or row["status"] == Status.READY.value)
        and _free(row, now)
    )


def _matches(row: Row, query: PostQuery) -> bool:
    return (
        (query.statuses is None or Status(row["status"]) in query.statuses)
        and (query.account is None or row["account"] == query.account)
        and (query.owner_id is None or row["owner_id"] == query.owner_id)
        and (query.publish_from is None or row["publish_at"] >= query.publish_from)
        and (query.publish_until is None or row["publish_at"] <= query.publish_until)
    )


def _rule_of(spec_json: str) -> object:
    try:
        return json.loads(spec_json).get("recurrence")
    except (ValueError, AttributeError):
        return None


if TYPE_CHECKING:  # mypy checks that both stores keep the protocols' promises

    def _conformance(cipher: TokenCipher, engine: sa.Engine) -> None:
        in_memory: Store = InMemoryStore(cipher=cipher)
        in_sql: Store = SqlStore(engine, cipher=cipher)
        accounts: tuple[AccountStore, AccountStore] = (in_memory.accounts, in_sql.accounts)
        users: UserStore = SqlUserStore(engine)
        del in_memory, in_sql, accounts, users
