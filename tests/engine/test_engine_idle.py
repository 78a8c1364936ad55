"""`next_due` answers from one snapshot: a step saved while it reads cannot make a waiting
post vanish (`worker --exit-when-idle` once exited before a ready post's publish time)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from enginetest import WorldFactory

from igautopost.models import Status
from igautopost.storage.sql import SqlStore


@contextmanager
def between_statements(store: SqlStore, action: Any) -> Iterator[list[str]]:
    """Run `action` once, right after the store's first SQL statement inside the block."""
    statements: list[str] = []

    def after(*args: Any) -> None:
        statements.append(args[2])
        if len(statements) == 1:
            action()

    sa.event.listen(store.engine, "after_cursor_execute", after)
    try:
        yield statements
    finally:
        sa.event.remove(store.engine, "after_cursor_execute", after)


def test_a_step_saved_while_next_due_reads_leaves_the_post_due(
    make_sql_world: WorldFactory,
) -> None:
    world = make_sql_world()
    post = world.schedule(caption="ready soon")
    prepare_at = world.policy.leads.prepare_at(post.spec)
    world.clock.set(prepare_at)
    lease = timedelta(seconds=30)
    claimed = world.store.claim(post.id, owner="other-worker", now=prepare_at, lease=lease)
    assert claimed is not None
    other = world.another_worker("other-worker")  # its own connections: a separate process

    def step_ends() -> None:  # the other worker's step ends: lease released, post ready
        assert other.store.save_step(
            claimed,
            Status.READY,
            owner="other-worker",
            now=prepare_at,
            changes={"next_attempt_at": post.publish_at},
            detail="container finished",
        )

    with between_statements(world.store, step_ends) as statements:
        due = world.store.next_due(prepare_at)

    assert statements, "next_due ran no statement"
    assert world.get(post).status is Status.READY
    assert due is not None, "a ready post waiting for its publish time read as nothing due"
    assert due in (prepare_at + lease, post.publish_at)


def test_next_due_reports_a_live_lease_a_free_post_and_nothing(make_world: WorldFactory) -> None:
    world = make_world()
    now = world.clock.now()
    assert world.store.next_due(now) is None
    post = world.schedule(caption="due later", publish_at=now + timedelta(hours=2))
    prepare_at = world.policy.leads.prepare_at(post.spec)
    assert world.store.next_due(now) == prepare_at
    world.clock.set(prepare_at)
    lease = timedelta(seconds=15)
    assert world.store.claim(post.id, owner="x", now=prepare_at, lease=lease) is not None
    assert world.store.next_due(prepare_at) == prepare_at + lease
