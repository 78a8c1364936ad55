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
from bisect import bisect_right
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime
from itertools import pairwise
from typing import Any

from ...crypto import TokenCipher
from ...errors import InvalidPost, InvalidTransition, PostNotFound, Problem
from ...models import Event, Post, PostSpec, Status
from ..protocols import PostQuery, PostsInSpan
from ..records import PendingRows, new_post_row, new_post_rows, spec_columns
from ..sql.documents import post_document
from ..sql.rows import UNREADABLE, read_post
from .accounts import InMemoryAccountStore
from .claims import ClaimsMixin
from .media_refs import MediaRefsMixin
from .tables import ACTIVE, Row, Tables, blank_row, utc


class InMemoryStore(ClaimsMixin, MediaRefsMixin):
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
        pending = self.prepare_add(
            specs, now=now, owner_id=owner_id, prepare_at=prepare_at, ciphertexts=ciphertexts
        )
        return pending.store()

    def prepare_add(
        self,
        specs: Sequence[PostSpec],
        *,
        now: datetime,
        owner_id: int | None = None,
        prepare_at: Sequence[datetime] | None = None,
        ciphertexts: Mapping[str, str] | None = None,
    ) -> PendingRows:
        rows = new_post_rows(
            specs,
            now=now,
            owner_id=owner_id,
            cipher=self._cipher,
            prepare_at=prepare_at,
            ciphertexts=ciphertexts,
        )
        return PendingRows(list(specs), rows, now, self._store_rows)

    def _store_rows(
        self, specs: Sequence[PostSpec], rows: builtins.list[dict[str, Any]], now: datetime
    ) -> builtins.list[Post]:
        with self._locked() as t:
            self._refuse_stored_keys(t, rows)
            ids = [t.insert_post(blank_row() | utc(row)) for row in rows]
            for post_id in ids:
                t.log(post_id, now, None, Status.SCHEDULED.value, "scheduled")
            return [read_post(t.posts[i], spec)[0] for i, spec in zip(ids, specs, strict=True)]

    def add_many(
        self,
        specs: Iterable[PostSpec],
        *,
        now: datetime,
        owner_id: int | None = None,
        prepare_at: Callable[[PostSpec], datetime] | None = None,
    ) -> builtins.list[int]:
        """`add` of an iterable. Its rows are built before the lock is taken: `specs` may
        read this store as it goes (a caller's checks), and sees none of them stored."""
        encrypted: dict[str, str] = {}
        rows = []
        for spec in specs:
            row = new_post_row(
                spec, now=now, owner_id=owner_id, cipher=self._cipher, encrypted=encrypted
            )
            if prepare_at is not None:
                row["next_attempt_at"] = prepare_at(spec)
            rows.append(row)
        with self._locked() as t:
            self._refuse_stored_keys(t, rows)
            ids = [t.insert_post(blank_row() | utc(row)) for row in rows]
            for post_id in ids:
                t.log(post_id, now, None, Status.SCHEDULED.value, "scheduled")
            return ids

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

    def post_documents(self, query: PostQuery) -> Iterator[dict[str, Any]]:
        """`list`'s posts as documents: the memory holds them all already."""
        return (post_document(post) for post in self.list(query))

    def spans(
        self, query: PostQuery, bounds: Sequence[datetime], *, first: int
    ) -> builtins.list[PostsInSpan]:
        spans = [PostsInSpan(low, high, 0, []) for low, high in pairwise(bounds)]
        totals = [0] * len(spans)
        for post in self.list(replace(query, limit=None, offset=0)) if spans else ():
            if bounds[0] <= post.publish_at < bounds[-1]:
                index = bisect_right(bounds, post.publish_at) - 1
                totals[index] += 1
                if len(spans[index].first) < first:
                    spans[index].first.append(post)
        return [replace(span, total=total) for span, total in zip(spans, totals, strict=True)]

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

    def similar_posts(
        self,
        account: str,
        fingerprints: Iterable[str],
        start: datetime,
        end: datetime,
        *,
        limit: int | None = None,
    ) -> builtins.list[tuple[int, datetime, str]]:
        """(id, publish time, fingerprint) of the account's active posts due between `start`
        and `end`, both included (as SQL's BETWEEN), with one of these fingerprints."""
        wanted = set(fingerprints)
        with self._locked() as t:
            found = [
                (row["id"], row["publish_at"], row["fingerprint"])
                for row in t.posts.values()
                if row["account"] == account
                and row.get("fingerprint") in wanted
                and Status(row["status"]) in ACTIVE
                and start <= row["publish_at"] <= end
            ]
        return sorted(found, key=lambda found: (found[1], found[0]))[:limit]

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


def _matches(row: Row, query: PostQuery) -> bool:
    return (
        (query.statuses is None or Status(row["status"]) in query.statuses)
        and (query.account is None or row["account"] == query.account)
        and (query.owner_id is None or row["owner_id"] == query.owner_id)
        and (query.publish_from is None or row["publish_at"] >= query.publish_from)
        and (query.publish_until is None or row["publish_at"] <= query.publish_until)
        and (query.after is None or (row["publish_at"], row["id"]) > query.after)
    )
