"""The `Store` on SQLModel/SQLAlchemy: SQLite by default (WAL, busy timeout), PostgreSQL at scale.

Hot paths (adding many posts, the scheduler's due query) use SQLAlchemy Core statements on the
SQLModel tables: the ORM's unit of work keeps per-row state these paths never use
(docs/benchmarks.md).
"""

from __future__ import annotations

import builtins
import functools
import logging
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from functools import cached_property
from itertools import islice, pairwise
from typing import Any

import sqlalchemy as sa

from ...crypto import TokenCipher
from ...errors import InvalidPost, InvalidTransition, PostNotFound, Problem
from ...models import ACTIVE_STATUS_VALUES, Event, Post, PostSpec, Status
from ..protocols import MediaUse, PostQuery, PostsInSpan
from ..records import PendingRows, new_post_row, new_post_rows, spec_columns
from . import documents, migrate
from .accounts import SqlAccountStore
from .claims import ClaimsMixin
from .files import private_sqlite_file, sqlite_file
from .media_refs import insert_refs, media_keys, media_uses, post_media, replace_refs
from .plain_inserts import insert_row
from .rows import UNREADABLE, read_post, to_post
from .sqlite_writes import read_connection, write_transaction
from .tables import UTCDateTime, events, posts

SQLITE_BUSY_TIMEOUT_MS = 10_000
log = logging.getLogger("igautopost.storage")


def create_engine(url: str, *, pool_size: int = 10, max_overflow: int | None = None) -> sa.Engine:
    """An engine with igautopost's connection settings for SQLite or PostgreSQL.

    Its errors never carry a statement's values (`hide_parameters`): they may be token
    ciphertexts, and errors end up in logs. A SQLite file is the owner's only (see `files`).

    On PostgreSQL, `pool_size` connections stay open, and `max_overflow` more (by default as
    many again) are opened under load and closed when given back. A
    connection idle for a while is pinged when taken from the pool, so that after a database
    restart the dead ones are replaced instead of failing the next statement; one used in
    the last second is not (a ping per checkout was a fifth of a publishing step). A dead one
    that slips through fails one statement, and SQLAlchemy then replaces the whole pool."""
    if url.startswith("sqlite"):
        if (database := sqlite_file(url)) is not None:
            private_sqlite_file(database)
            pool: dict[str, Any] = {"pool_size": 64, "max_overflow": 64}
        else:  # in memory: one connection, or each would see a database of its own
            pool = {"poolclass": sa.pool.StaticPool}
        engine = sa.create_engine(
            url, connect_args={"check_same_thread": False}, hide_parameters=True, **pool
        )
        sa.event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    overflow = pool_size if max_overflow is None else max_overflow
    engine = sa.create_engine(url, pool_size=pool_size, max_overflow=overflow, hide_parameters=True)
    sa.event.listen(engine, "handle_error", _hide_row_values)
    sa.event.listen(engine, "checkin", _note_checkin)
    sa.event.listen(engine, "checkout", _ping_if_idle)
    return engine


def _hide_row_values(context: sa.engine.ExceptionContext) -> None:
    """PostgreSQL's errors quote values in their DETAIL ("Failing row contains (...)", with
    any token ciphertext in the row), which `hide_parameters` does not reach: drop it, from
    the driver's error too (a logged traceback shows both)."""
    diag = getattr(context.original_exception, "diag", None)
    detail = getattr(diag, "message_detail", None)
    if not detail:
        return
    for error in (context.original_exception, context.sqlalchemy_exception):
        if error is not None and error.args and isinstance(error.args[0], str):
            error.args = (error.args[0].replace(detail, "(details hidden)"), *error.args[1:])


PING_AFTER_IDLE_SECONDS = 1.0


def _note_checkin(_dbapi_connection: Any, record: Any) -> None:
    if record is not None:
        record.info["checked_in"] = time.monotonic()


def _ping_if_idle(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
    idle = time.monotonic() - record.info.get("checked_in", 0.0)
    if idle < PING_AFTER_IDLE_SECONDS:
        return
    try:
        cursor = dbapi_connection.cursor()
        cursor.execute("SELECT 1")
        cursor.close()
        dbapi_connection.rollback()
    except Exception as exc:  # the pool retries the checkout with a fresh connection
        raise sa.exc.DisconnectionError() from exc


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA wal_autocheckpoint=0")  # igautopost checkpoints: see sqlite_writes
    cursor.close()


class SqlStore(ClaimsMixin):
    """A `Store` on any SQLAlchemy database that the migrations support."""

    def __init__(self, engine: sa.Engine, *, cipher: TokenCipher) -> None:
        self.engine = engine
        self._cipher = cipher

    def _write(self) -> AbstractContextManager[sa.Connection]:
        """A write transaction; on SQLite, one at a time across processes (see sqlite_writes)."""
        return write_transaction(self.engine)

    @classmethod
    def open(
        cls,
        url: str,
        *,
        cipher: TokenCipher,
        upgrade: bool = True,
        pool_size: int = 10,
        max_overflow: int | None = None,
    ) -> SqlStore:
        """Connect to `url`, applying pending migrations first unless `upgrade` is False."""
        engine = create_engine(url, pool_size=pool_size, max_overflow=max_overflow)
        if upgrade and migrate.current_revision(engine) != migrate.head_revision():
            migrate.upgrade(engine)
        return cls(engine, cipher=cipher)

    def close(self) -> None:
        self.engine.dispose()

    @property
    def cipher(self) -> TokenCipher:
        """The cipher of every secret in this store (see `igautopost secrets rotate`)."""
        return self._cipher

    @cached_property
    def accounts(self) -> SqlAccountStore:
        """The Instagram accounts and their tokens, on the same database."""
        return SqlAccountStore(self.engine, self._cipher)

    # -- writing -------------------------------------------------------------------------

    def add(
        self,
        specs: Sequence[PostSpec],
        *,
        now: datetime,
        owner_id: int | None = None,
        prepare_at: Sequence[datetime] | None = None,
        ciphertexts: Mapping[str, str] | None = None,
    ) -> builtins.list[Post]:
        """Store posts as scheduled, all or none; each is first due at its `prepare_at`
        (when its container should be created), by default its publish time. `ciphertexts`
        are tokens' ciphertexts already made (an account's), reused instead of encrypting."""
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
        if not specs:
            return []
        try:
            with self._write() as conn:
                if len(rows) == 1 and conn.dialect.name == "sqlite":
                    ids = [_add_one_on_sqlite(conn, rows[0], specs[0], now)]
                else:
                    ids = self._insert_posts(conn, rows)
                    conn.execute(_INSERT_EVENT, _scheduled_events(ids, now))
                    insert_refs(conn, ids, specs)
        except (sa.exc.IntegrityError, sqlite3.IntegrityError):
            raise _stored_concurrently() from None
        return [
            self._to_post({**row, "id": i}, spec)
            for row, i, spec in zip(rows, ids, specs, strict=True)
        ]

    def add_many(
        self,
        specs: Iterable[PostSpec],
        *,
        now: datetime,
        owner_id: int | None = None,
        prepare_at: Callable[[PostSpec], datetime] | None = None,
    ) -> builtins.list[int]:
        """`add` in chunks of `ADD_CHUNK` posts inside one transaction, keeping only ids: a
        50 MB file's rows and posts, all at once, were most of its gigabyte."""
        encrypted: dict[str, str] = {}
        ids: builtins.list[int] = []
        try:
            with self._write() as conn:
                for chunk in _chunks(specs, ADD_CHUNK):
                    rows = [self._new_row(spec, now, owner_id, encrypted) for spec in chunk]
                    if prepare_at is not None:
                        for row, spec in zip(rows, chunk, strict=True):
                            row["next_attempt_at"] = prepare_at(spec)
                    chunk_ids = self._insert_posts(conn, rows)
                    conn.execute(_INSERT_EVENT, _scheduled_events(chunk_ids, now))
                    insert_refs(conn, chunk_ids, chunk)
                    ids.extend(chunk_ids)
        except sa.exc.IntegrityError:
            raise _stored_concurrently() from None
        return ids

    def _insert_posts(self, conn: sa.Connection, rows: list[dict[str, Any]]) -> builtins.list[int]:
        # One row (a POST) is a plain insert and its new id: RETURNING through SQLAlchemy's
        # many-rows machinery cost about 30 us more for the same row.
        many = len(rows) > 1
        if many and conn.dialect.insert_returning and conn.dialect.insert_executemany_returning:
            return [row.id for row in conn.execute(_INSERT_POSTS_RETURNING_IDS, rows)]
        return [
            conn.execute(_INSERT_POST, row).inserted_primary_key[0]  # type: ignore[index]
            for row in rows
        ]

    def _new_row(
        self, spec: PostSpec, now: datetime, owner_id: int | None, encrypted: dict[str, str]
    ) -> dict[str, Any]:
        return new_post_row(
            spec, now=now, owner_id=owner_id, cipher=self._cipher, encrypted=encrypted
        )

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
        """A user's change of a post. `check` runs on the post as stored, inside the write
        (the row locked): the rules that allow the change hold when it is made, whatever a
        worker claimed meanwhile. It raises (e.g. `InvalidTransition`) to refuse."""
        # A user's change takes the post from any worker running a step for it: that step's
        # leased write then fails, and its result is discarded instead of undoing this change.
        values = {
            **(changes or {}),
            "status": to.value,
            "updated_at": now,
            "lease_owner": None,
            "lease_until": None,
        }
        new_spec = "spec" in values
        if new_spec:
            spec: PostSpec = values.pop("spec")
            values.update(self._spec_columns(spec))
        with self._write() as conn:
            before = self._row(conn, post_id, owner_id=None, lock=True)
            if expect is not None and Status(before["status"]) not in expect:
                raise InvalidTransition(
                    f"post {post_id} is {before['status']}; this needs it to be "
                    + " or ".join(sorted(s.value for s in expect))
                )
            if check is not None:
                check(self._to_post(before))
            if new_spec and (problem := read_post(before)[1]) is not None:
                # its new spec was made from what could be salvaged: never publish that
                raise InvalidTransition(f"post {post_id}: {UNREADABLE.format(problem)}")
            conn.execute(posts.update().where(posts.c.id == post_id).values(values))
            if new_spec:
                replace_refs(conn, post_id, spec)
            conn.execute(
                events.insert().values(
                    post_id=post_id,
                    at=now,
                    from_status=before["status"],
                    to_status=to.value,
                    detail=detail,
                )
            )
            return self._to_post(self._row(conn, post_id, owner_id=None))

    def _spec_columns(self, spec: PostSpec) -> dict[str, Any]:
        return spec_columns(spec, self._cipher)

    # -- reading -------------------------------------------------------------------------

    def get(self, post_id: int, *, owner_id: int | None = None) -> Post:
        with read_connection(self.engine) as conn:
            return self._to_post(self._row(conn, post_id, owner_id=owner_id))

    def list(self, query: PostQuery) -> builtins.list[Post]:
        statement = sa.select(posts).order_by(posts.c.publish_at, posts.c.id)
        for condition in _conditions(query):
            statement = statement.where(condition)
        if query.limit is not None:
            statement = statement.limit(query.limit)
        if query.offset:
            statement = statement.offset(query.offset)
        with read_connection(self.engine) as conn:
            return [self._to_post(row._asdict()) for row in conn.execute(statement)]

    def post_documents(self, query: PostQuery) -> Iterator[dict[str, Any]]:
        """Documents read straight from the rows, a page at a time (`documents`), found by
        the conditions `list` uses."""
        return documents.post_documents(self.engine, query, _conditions)

    def spans(
        self, query: PostQuery, bounds: Sequence[datetime], *, first: int
    ) -> builtins.list[PostsInSpan]:
        """Two statements, each one index range per span: the spans' counts, and each span's
        first `first` ids joined to their rows. Both are built once per number of spans and
        set of filters (`_span_statements`): building them anew cost more than running them.
        (One statement ranking every post with window functions over a CASE of the bounds
        cost 45 ms of SQLite's CPU for 10,000 posts in a month.)"""
        pairs = builtins.list(pairwise(bounds))
        if not pairs:
            return []
        params = _filter_params(query)
        counts, firsts = _span_statements(len(pairs), frozenset(params))
        params.update({f"b{index}": bound for index, bound in enumerate(bounds)})
        shown: dict[int, builtins.list[Post]] = {}
        with read_connection(self.engine) as conn:
            totals = conn.execute(counts, params).one()
            if first > 0 and any(totals):
                for row in conn.execute(firsts, {**params, "first": first}):
                    values = row._asdict()
                    shown.setdefault(values.pop("span"), []).append(self._to_post(values))
        return [
            PostsInSpan(low, high, total, shown.get(index, []))
            for index, ((low, high), total) in enumerate(zip(pairs, totals, strict=True))
        ]

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
        and `end` whose content has one of these fingerprints: one range of an index on
        (account, fingerprint, publish time), whatever else is due in that hour."""
        wanted = sorted(set(fingerprints))
        if not wanted:
            return []
        # Prebuilt, one fingerprint without an IN list: a POST's one lookup was 118 us of
        # SQLAlchemy (a new LIMIT statement each time, two expanding lists) for 2 us of SQLite.
        if len(wanted) == 1 and limit is not None and self.engine.dialect.name == "sqlite":
            return _similar_on_sqlite(self.engine, account, wanted[0], start, end, limit)
        params: dict[str, Any] = {"account": account, "start": start, "end": end}
        if len(wanted) == 1:
            statement = _SIMILAR_POST if limit is None else _SIMILAR_POST_LIMITED
            params["fingerprint"] = wanted[0]
        else:
            statement = _SIMILAR_POSTS if limit is None else _SIMILAR_POSTS_LIMITED
            params["fingerprints"] = wanted
        if limit is not None:
            params["limit"] = limit
        with read_connection(self.engine) as conn:
            rows = conn.execute(statement, params).all()
        # Sorted here: an ORDER BY would make SQLite walk (account, publish_at) instead, every
        # post of the hour, the cost this lookup exists to avoid.
        found = [(row.id, row.publish_at, row.fingerprint) for row in rows]
        return sorted(found, key=lambda row: (row[1], row[0]))

    def media_uses(self, keys: Iterable[str]) -> dict[str, builtins.list[MediaUse]]:
        with read_connection(self.engine) as conn:
            return media_uses(conn, keys)

    def ping(self) -> None:
        """Raise unless the database answers (what a health check asks)."""
        with read_connection(self.engine) as conn:
            conn.execute(sa.text("SELECT 1"))

    def counts(self, *, owner_id: int | None = None) -> dict[str, int]:
        """How many posts are in each status."""
        statement = sa.select(posts.c.status, sa.func.count()).group_by(posts.c.status)
        if owner_id is not None:
            statement = statement.where(posts.c.owner_id == owner_id)
        with read_connection(self.engine) as conn:
            return {status: count for status, count in conn.execute(statement)}

    def events(self, post_id: int) -> builtins.list[Event]:
        statement = sa.select(events).where(events.c.post_id == post_id).order_by(events.c.id)
        with read_connection(self.engine) as conn:
            return [
                Event(
                    post_id=row.post_id,
                    at=row.at,
                    from_status=Status(row.from_status) if row.from_status else None,
                    to_status=Status(row.to_status),
                    detail=row.detail,
                )
                for row in conn.execute(statement)
            ]

    def access_token(self, post_id: int) -> str | None:
        """The post's Instagram token, decrypted: for the publisher only, never for display."""
        with read_connection(self.engine) as conn:
            ciphertext = conn.execute(
                sa.select(posts.c.token_ciphertext).where(posts.c.id == post_id)
            ).scalar_one_or_none()
        return self._cipher.decrypt(ciphertext) if ciphertext else None

    def token_of(self, post: Post) -> str | None:
        """The post's Instagram token, decrypted from the row the claim returned."""
        if post.token_ciphertext is not None:
            return self._cipher.decrypt(post.token_ciphertext)
        return self.access_token(post.id)

    def client_keys(
        self, account: str, keys: Iterable[str], *, owner_id: int | None = None
    ) -> dict[str, int]:
        """Which of `keys` the owner (None: the local operator) already stored for `account`,
        with their post ids. Keys are per owner: another user's are neither seen nor blocked."""
        wanted = list(set(keys))
        found: dict[str, int] = {}
        owner = posts.c.owner_id.is_(None) if owner_id is None else posts.c.owner_id == owner_id
        with read_connection(self.engine) as conn:
            for start in range(0, len(wanted), 500):
                statement = sa.select(posts.c.client_key, posts.c.id).where(
                    owner,
                    posts.c.account == account,
                    posts.c.client_key.in_(wanted[start : start + 500]),
                )
                found.update({row.client_key: row.id for row in conn.execute(statement)})
        return found

    def _row(
        self, conn: sa.Connection, post_id: int, *, owner_id: int | None, lock: bool = False
    ) -> Mapping[Any, Any]:
        # Prebuilt: built per call, SQLAlchemy computed its cache key (every column of posts)
        # each time, about a third of a GET's read.
        params: dict[str, Any] = {"post_id": post_id}
        if owner_id is not None:
            params["owner_id"] = owner_id
        row = conn.execute(_POST_ROW[owner_id is not None, lock], params).first()
        if row is None:
            raise PostNotFound(post_id)
        return row._mapping

    _to_post = staticmethod(to_post)

    def _taken(
        self, rows: Sequence[sa.Row[Any]], *, owner: str, now: datetime
    ) -> builtins.list[Post]:
        """Claimed rows as posts. A row that cannot be read is set aside, failed with the
        reason (see `rows`), and left out: one bad row must not stop its batch."""
        taken = []
        for row in rows:
            post, problem = read_post(row._asdict())
            if problem is None:
                taken.append(post)
            else:
                self._set_aside(post, Status(row.status), problem, owner=owner, now=now)
        return taken

    def _set_aside(
        self, post: Post, stored: Status, problem: str, *, owner: str, now: datetime
    ) -> None:
        log.error("post %s cannot be read back: %s", post.id, problem)
        changes: dict[str, Any] = {"next_attempt_at": None}
        if stored is Status.PUBLISHED:  # live already: only its follow-up work is dropped
            to, detail = Status.PUBLISHED, f"follow-up skipped: {problem}"
        else:
            assert post.error is not None
            to, detail = Status.FAILED, f"failed: {problem}"
            changes.update(error_message=post.error.message, error_code=None, error_subcode=None)
        try:
            as_stored = post.model_copy(update={"status": stored})
            self.save_step(as_stored, to, owner=owner, now=now, changes=changes, detail=detail)
        except Exception:  # its lease runs out and the next claim tries again
            log.exception("post %s: storing that it cannot be read failed", post.id)


ADD_CHUNK = 1000  # posts built and inserted at a time by `add_many`


def _chunks(specs: Iterable[PostSpec], size: int) -> Iterator[builtins.list[PostSpec]]:
    iterator = iter(specs)
    while chunk := builtins.list(islice(iterator, size)):
        yield chunk


def _scheduled_events(post_ids: Iterable[int], now: datetime) -> builtins.list[dict[str, Any]]:
    return [
        {
            "post_id": post_id,
            "at": now,
            "from_status": None,
            "to_status": Status.SCHEDULED.value,
            "detail": "scheduled",
        }
        for post_id in post_ids
    ]


def _add_one_on_sqlite(
    conn: sa.Connection, row: dict[str, Any], spec: PostSpec, now: datetime
) -> int:
    """One post's rows (the post, its "scheduled" event, its media references) on SQLite's
    own cursor, in `conn`'s transaction: SQLAlchemy's execution of the same three inserts
    cost a POST more than SQLite's work on them (see `plain_inserts`)."""
    sqlite = conn.connection.driver_connection
    assert isinstance(sqlite, sqlite3.Connection)  # the caller checked the dialect
    cursor = sqlite.cursor()
    try:
        post_id = insert_row(cursor, conn.dialect, posts, row)
        (event,) = _scheduled_events([post_id], now)
        insert_row(cursor, conn.dialect, events, event)
        for key in sorted(media_keys(spec)):
            insert_row(cursor, conn.dialect, post_media, {"post_id": post_id, "media_key": key})
    finally:
        cursor.close()
    return post_id


def _stored_concurrently() -> InvalidPost:
    """Another process stored the same client key between the caller's check and the insert."""
    return InvalidPost(
        [Problem("client_key", "is already stored for this account (stored concurrently)")]
    )


# Built once: a new statement per POST made SQLAlchemy compute its cache key (every column
# of posts) on every execution before finding the compiled form in its cache.
_INSERT_POST = posts.insert()
_INSERT_POSTS_RETURNING_IDS = posts.insert().returning(posts.c.id, sort_by_parameter_order=True)
_INSERT_EVENT = events.insert()

_POST_BY_ID = sa.select(posts).where(posts.c.id == sa.bindparam("post_id"))
_POST_BY_ID_AND_OWNER = _POST_BY_ID.where(posts.c.owner_id == sa.bindparam("owner_id"))
_POST_ROW = {  # (whose post it must be, whether to lock the row): the statement
    (False, False): _POST_BY_ID,
    (True, False): _POST_BY_ID_AND_OWNER,
    (False, True): _POST_BY_ID.with_for_update(),
    (True, True): _POST_BY_ID_AND_OWNER.with_for_update(),
}

# The active statuses written into the SQL (they are igautopost's own constants): a list
# expanded on every execution cost more than the lookup itself.
_ACTIVE = sa.text(
    "posts.status IN (" + ", ".join(f"'{value}'" for value in ACTIVE_STATUS_VALUES) + ")"
)
_SIMILAR_COLUMNS = (posts.c.id, posts.c.publish_at, posts.c.fingerprint)
_IN_WINDOW = (
    posts.c.account == sa.bindparam("account"),
    posts.c.publish_at.between(
        sa.bindparam("start", type_=UTCDateTime), sa.bindparam("end", type_=UTCDateTime)
    ),
    _ACTIVE,
)
_SIMILAR_POSTS = sa.select(*_SIMILAR_COLUMNS).where(
    posts.c.fingerprint.in_(sa.bindparam("fingerprints", expanding=True)), *_IN_WINDOW
)
_SIMILAR_POST = sa.select(*_SIMILAR_COLUMNS).where(
    posts.c.fingerprint == sa.bindparam("fingerprint"), *_IN_WINDOW
)
_SIMILAR_POSTS_LIMITED = _SIMILAR_POSTS.limit(sa.bindparam("limit", type_=sa.Integer))
_SIMILAR_POST_LIMITED = _SIMILAR_POST.limit(sa.bindparam("limit", type_=sa.Integer))


# One post's lookup (the API's), written for SQLite's own cursor: its 8 us of SQLite took
# 80-100 us through SQLAlchemy's execution (the compiled-cache lookup, bind and result
# processing), on every POST (docs/benchmarks.md, "The HTTP API").
_SIMILAR_POST_SQLITE = (
    "SELECT id, publish_at, fingerprint FROM posts WHERE account = ? AND fingerprint = ?"
    " AND publish_at BETWEEN ? AND ? AND status IN ("
    + ", ".join(f"'{value}'" for value in ACTIVE_STATUS_VALUES)
    + ") LIMIT ?"
)


def _similar_on_sqlite(
    engine: sa.Engine, account: str, fingerprint: str, start: datetime, end: datetime, limit: int
) -> builtins.list[tuple[int, datetime, str]]:
    """`SqlStore.similar_posts` of one fingerprint on SQLite, with the times as SQLAlchemy
    stores them there (`UTCDateTime`: naive UTC, SQLite's text form)."""
    params = (account, fingerprint, _sqlite_time(start), _sqlite_time(end), limit)
    with read_connection(engine) as conn:
        sqlite = conn.connection.driver_connection
        assert isinstance(sqlite, sqlite3.Connection)  # the engine is SQLite's (the caller)
        rows = sqlite.execute(_SIMILAR_POST_SQLITE, params).fetchall()
    found = [(row[0], _utc(datetime.fromisoformat(row[1])), row[2]) for row in rows]
    return sorted(found, key=lambda row: (row[1], row[0]))


def _sqlite_time(moment: datetime) -> str:
    naive = moment.astimezone(UTC).replace(tzinfo=None)
    return naive.isoformat(sep=" ", timespec="microseconds")


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC)


def _conditions(query: PostQuery) -> builtins.list[sa.ColumnElement[bool]]:
    conditions: list[sa.ColumnElement[bool]] = []
    if query.statuses is not None:
        conditions.append(posts.c.status.in_([s.value for s in query.statuses]))
    if query.account is not None:
        conditions.append(posts.c.account == query.account)
    if query.owner_id is not None:
        conditions.append(posts.c.owner_id == query.owner_id)
    if query.publish_from is not None:
        conditions.append(posts.c.publish_at >= query.publish_from)
    if query.publish_until is not None:
        conditions.append(posts.c.publish_at <= query.publish_until)
    if query.after is not None:
        moment, post_id = query.after
        # `publish_at >= moment` first: one index range from the page's start. As an OR
        # alone, the planner read every post before the page (153 ms deep in a million).
        conditions.append(posts.c.publish_at >= moment)
        conditions.append(sa.or_(posts.c.publish_at > moment, posts.c.id > post_id))
    return conditions


def _filter_params(query: PostQuery) -> dict[str, Any]:
    """The filters of `query` that `spans` applies, as bound parameters by name."""
    params: dict[str, Any] = {
        "statuses": None if query.statuses is None else sorted(s.value for s in query.statuses),
        "account": query.account,
        "owner_id": query.owner_id,
        "publish_from": query.publish_from,
        "publish_until": query.publish_until,
    }
    return {name: value for name, value in params.items() if value is not None}


_SPAN_FILTERS: dict[str, Callable[[], sa.ColumnElement[bool]]] = {
    "statuses": lambda: posts.c.status.in_(sa.bindparam("statuses", expanding=True)),
    "account": lambda: posts.c.account == sa.bindparam("account"),
    "owner_id": lambda: posts.c.owner_id == sa.bindparam("owner_id"),
    "publish_from": lambda: posts.c.publish_at >= sa.bindparam("publish_from", type_=UTCDateTime),
    "publish_until": lambda: posts.c.publish_at <= sa.bindparam("publish_until", type_=UTCDateTime),
}


@functools.lru_cache(maxsize=64)
def _span_statements(spans: int, filters: frozenset[str]) -> tuple[sa.Select[Any], sa.Select[Any]]:
    """`spans`' two statements for this many spans and these filters, with the bounds as
    parameters ``b0``...``b{spans}`` and the number to show as ``first``."""
    conditions = [_SPAN_FILTERS[name]() for name in sorted(filters)]

    def within(index: int) -> builtins.list[sa.ColumnElement[bool]]:
        low = sa.bindparam(f"b{index}", type_=UTCDateTime)
        high = sa.bindparam(f"b{index + 1}", type_=UTCDateTime)
        return [*conditions, posts.c.publish_at >= low, posts.c.publish_at < high]

    counts = sa.select(
        *(
            sa.select(sa.func.count()).where(*within(index)).scalar_subquery()
            for index in range(spans)
        )
    )
    firsts = [
        sa.select(
            sa.select(posts.c.id, sa.literal(index).label("span"))
            .where(*within(index))
            .order_by(posts.c.publish_at, posts.c.id)
            .limit(sa.bindparam("first", type_=sa.Integer))
            .subquery()
        )
        for index in range(spans)
    ]
    chosen = sa.union_all(*firsts).subquery()
    rows = (
        sa.select(posts, chosen.c.span)
        .join(chosen, chosen.c.id == posts.c.id)
        .order_by(chosen.c.span, posts.c.publish_at, posts.c.id)
    )
    return counts, rows
