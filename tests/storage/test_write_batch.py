"""Several callers' writes in one SQLite transaction (`WriteBatch`, issue 14): each call
is kept apart by its savepoint, the batch commits once, and a failed commit stores none."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa

from igautopost import schedule
from igautopost.errors import InvalidPost
from igautopost.storage.protocols import PostQuery
from igautopost.storage.sql import SqlStore
from igautopost.storage.sql.sqlite_writes import WriteBatch, gate_for, read_connection

NOW = datetime(2030, 1, 1, tzinfo=UTC)


def _commits(store: SqlStore) -> list[int]:
    counted: list[int] = []
    sa.event.listen(store.engine, "commit", lambda conn: counted.append(1))
    return counted


def _stored_captions(store: SqlStore) -> list[str]:
    return sorted(post.spec.caption or "" for post in store.list(PostQuery()))


def test_calls_in_a_batch_are_stored_by_one_commit(
    store: SqlStore, make_post: Callable[..., dict[str, Any]]
) -> None:
    commits = _commits(store)
    batch = WriteBatch(store.engine)
    results = [
        batch.run(lambda i=i: schedule(store, [make_post(caption=f"one of {i}")], now=NOW))
        for i in range(5)
    ]
    with ThreadPoolExecutor(1) as elsewhere:  # another thread reads what is committed
        assert elsewhere.submit(_stored_captions, store).result() == []
    batch.close()
    assert len(commits) == 1
    assert _stored_captions(store) == [f"one of {i}" for i in range(5)]  # ...all of it after
    ids = [result.created[0].id for result in results]
    assert len(set(ids)) == 5
    events = {post_id: store.events(post_id) for post_id in ids}
    assert all(
        [event.to_status.value for event in found] == ["scheduled"] for found in events.values()
    )


def test_a_call_that_fails_undoes_only_its_own_writes(
    store: SqlStore, make_post: Callable[..., dict[str, Any]]
) -> None:
    batch = WriteBatch(store.engine)
    batch.run(lambda: schedule(store, [make_post(caption="before")], now=NOW))

    def writes_then_fails() -> None:
        schedule(store, [make_post(caption="undone")], now=NOW)
        raise RuntimeError("after its write")

    with pytest.raises(RuntimeError, match="after its write"):
        batch.run(writes_then_fails)
    with pytest.raises(InvalidPost):  # refused before it wrote anything
        batch.run(lambda: schedule(store, [make_post(caption="x", media_url="")], now=NOW))
    batch.run(lambda: schedule(store, [make_post(caption="after")], now=NOW))
    batch.close()
    assert _stored_captions(store) == ["after", "before"]


def test_a_later_call_sees_what_an_earlier_one_wrote(
    store: SqlStore, make_post: Callable[..., dict[str, Any]]
) -> None:
    """The same client key twice in one batch: the second is the first post, not a second
    one (nor a refusal by the unique index), as it would be one transaction apart; and the
    second copy of a post gets the near-duplicate warning."""
    post = make_post(caption="same", client_key="key-1")
    batch = WriteBatch(store.engine)
    first = batch.run(lambda: schedule(store, [post], now=NOW))
    again = batch.run(lambda: schedule(store, [post], now=NOW))
    copy = batch.run(lambda: schedule(store, [{**post, "client_key": "key-2"}], now=NOW))
    batch.close()
    assert [p.id for p in again.existing] == [first.created[0].id] and not again.created
    assert copy.created and "same media and caption" in copy.warnings[0]
    assert len(store.list(PostQuery())) == 2


def test_a_failed_commit_stores_nothing_of_the_batch(
    store: SqlStore, make_post: Callable[..., dict[str, Any]]
) -> None:
    """A foreign key checked at commit (deferred) makes the commit itself fail: every call's
    post is gone, and the gate is free for the next writer."""
    batch = WriteBatch(store.engine)
    batch.run(lambda: schedule(store, [make_post(caption="lost 1")], now=NOW))

    def breaks_the_commit() -> None:
        with read_connection(store.engine) as shared:  # inside the batch: its connection
            driver = shared.connection.driver_connection
            assert driver is not None
            driver.execute("PRAGMA defer_foreign_keys=ON")
            driver.execute("INSERT INTO post_media (post_id, media_key) VALUES (999999, 'x')")

    batch.run(breaks_the_commit)
    batch.run(lambda: schedule(store, [make_post(caption="lost 2")], now=NOW))
    with pytest.raises(sa.exc.IntegrityError, match="FOREIGN KEY"):
        batch.close()
    assert _stored_captions(store) == []
    gate = gate_for(store.engine)
    assert gate is not None and gate._depth == 0
    schedule(store, [make_post(caption="next")], now=NOW)  # the next writer gets in
    assert _stored_captions(store) == ["next"]


def test_a_batch_holds_the_gate_from_its_first_call_to_its_commit(
    store: SqlStore, make_post: Callable[..., dict[str, Any]]
) -> None:
    gate = gate_for(store.engine)
    assert gate is not None
    batch = WriteBatch(store.engine)
    assert gate._depth == 0  # opening it takes nothing
    batch.run(lambda: schedule(store, [make_post()], now=NOW))
    assert gate._depth == 1
    batch.close()
    assert gate._depth == 0
    WriteBatch(store.engine).close()  # no call: nothing to commit, nothing held


def test_a_batch_needs_sqlite() -> None:
    pg = sa.create_engine("postgresql+psycopg://postgres@127.0.0.1:5432/test")  # not connected
    with pytest.raises(ValueError, match="SQLite"):
        WriteBatch(pg)
    pg.dispose()
